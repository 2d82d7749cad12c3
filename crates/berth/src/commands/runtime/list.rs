//! `berth runtime list`.

use berth_runtime::container;
use berth_runtime::state::StateRoot;
use clap::{Args, ValueEnum};

use crate::commands::output::print_table;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Print only the ids.
    #[arg(long, short = 'q')]
    quiet: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
}

pub fn run(root: &StateRoot, args: ListArgs) -> anyhow::Result<i32> {
    let containers = container::list(root)?;
    if args.quiet {
        for c in &containers {
            println!("{}", c.state.id);
        }
        return Ok(0);
    }
    match args.format {
        Format::Json => {
            let states: Vec<_> = containers
                .iter()
                .map(|c| c.state.oci_state(c.status))
                .collect();
            println!("{}", serde_json::to_string(&states)?);
        }
        Format::Table => {
            let mut rows =
                vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from)];
            for c in &containers {
                let s = c.state.oci_state(c.status);
                rows.push([
                    s.id,
                    s.pid.to_string(),
                    s.status.to_string(),
                    s.bundle.display().to_string(),
                    s.created,
                    s.owner,
                ]);
            }
            print_table(&rows);
        }
    }
    Ok(0)
}

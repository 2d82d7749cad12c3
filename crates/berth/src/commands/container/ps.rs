//! `berth ps`: list containers in docker's table, or as `--format` says.

use berth_client::{Filters, ListContainersOptions};
use clap::Args;

use super::present::{ps_row, short_id, PS_HEADERS, PS_TABLE};
use crate::commands::format::{self, Format};
use crate::commands::{async_rt, daemon_client, Context};

/// `berth ps` arguments.
#[derive(Debug, Args)]
pub struct PsArgs {
    /// Stopped containers too.
    #[arg(short, long)]
    all: bool,
    /// Only IDs.
    #[arg(short, long)]
    quiet: bool,
    /// The newest N (stopped too).
    #[arg(short = 'n', long)]
    last: Option<u32>,
    /// The newest one (stopped too).
    #[arg(short, long)]
    latest: bool,
    /// Sizes.
    #[arg(short, long)]
    size: bool,
    /// Filters (`status=exited`, `label=k=v`, `name=web`).
    #[arg(short, long)]
    filter: Vec<String>,
    /// Full IDs and commands.
    #[arg(long)]
    no_trunc: bool,
    /// `table`, `json` or a Go template.
    #[arg(long)]
    format: Option<String>,
}

/// Parses `key=value` filter flags.
pub fn filters(flags: &[String]) -> anyhow::Result<Filters> {
    let mut filters = Filters::new();
    for flag in flags {
        let (key, value) = flag
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("bad format of filter (expected name=value): {flag}"))?;
        filters
            .entry(key.to_string())
            .or_default()
            .push(value.to_string());
    }
    Ok(filters)
}

/// Lists the containers.
pub fn run(ctx: &Context, args: PsArgs) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let limit = if args.latest { Some(1) } else { args.last };
        let format = Format::parse(args.format.as_deref());
        let wants_size = args.size
            || matches!(&format, Format::Table(Some(t)) | Format::Template(t) if t.contains(".Size"));
        let options = ListContainersOptions {
            all: args.all || limit.is_some(),
            limit,
            size: wants_size,
            filters: filters(&args.filter)?,
        };
        let containers = client.list_containers(&options).await?;
        if args.quiet {
            for c in &containers {
                println!(
                    "{}",
                    if args.no_trunc {
                        c.id.clone()
                    } else {
                        short_id(&c.id)
                    }
                );
            }
            return Ok(0);
        }
        let rows: Vec<_> = containers
            .iter()
            .map(|c| ps_row(c, args.no_trunc))
            .collect();
        let default = if args.size {
            format!("{PS_TABLE}\t{{{{.Size}}}}")
        } else {
            PS_TABLE.to_string()
        };
        format::print(&format, &rows, &default, PS_HEADERS)?;
        Ok(0)
    })?
}

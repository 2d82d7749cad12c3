//! `berth top`: the processes of a container.

use clap::Args;

use crate::commands::format::tabwriter;
use crate::commands::{async_rt, daemon_client, Context};

/// `berth top` arguments.
#[derive(Debug, Args)]
pub struct TopArgs {
    /// The container.
    container: String,
    /// `ps` options.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    ps_args: Vec<String>,
}

/// Prints the process table.
pub fn run(ctx: &Context, args: TopArgs) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let ps_args = args.ps_args.join(" ");
        let top = client
            .top_container(
                &args.container,
                (!ps_args.is_empty()).then_some(ps_args.as_str()),
            )
            .await?;
        let mut lines = vec![top.titles.join("\t")];
        lines.extend(top.processes.iter().map(|p| p.join("\t")));
        print!("{}", tabwriter(&lines.join("\n")));
        Ok(0)
    })?
}

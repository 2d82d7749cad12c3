//! `berth network prune`.

use clap::Args;

use crate::commands::container::ps::filters;
use crate::commands::{async_rt, daemon_client, Context};

/// `berth network prune` arguments.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not ask for confirmation.
    #[arg(short, long)]
    force: bool,
    /// Filters (`label=`, `until=`).
    #[arg(long)]
    filter: Vec<String>,
}

/// Removes unused networks and lists them.
pub fn run(ctx: &Context, args: PruneArgs) -> anyhow::Result<i32> {
    if !args.force
        && !crate::commands::system::prune::confirm(
            "WARNING! This will remove all custom networks not used by at least one container.",
        )?
    {
        return Ok(0);
    }
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let report = client.prune_networks(&filters(&args.filter)?).await?;
        if !report.deleted.is_empty() {
            println!("Deleted Networks:");
            for name in &report.deleted {
                println!("{name}");
            }
        }
        Ok(0)
    })?
}

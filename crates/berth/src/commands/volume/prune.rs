//! `berth volume prune`.

use clap::Args;

use crate::commands::container::ps::filters;
use crate::commands::output::human_size;
use crate::commands::system::prune::{confirm, print_deleted};
use crate::commands::{async_rt, daemon_client, Context};

/// `berth volume prune` arguments.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Named volumes too, not only anonymous ones.
    #[arg(short, long)]
    all: bool,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    force: bool,
    /// Filters (`label=`).
    #[arg(long)]
    filter: Vec<String>,
}

/// Removes unused volumes and lists them.
pub fn run(ctx: &Context, args: PruneArgs) -> anyhow::Result<i32> {
    if !args.force
        && !confirm(
            "WARNING! This will remove anonymous local volumes not used by at least one container.",
        )?
    {
        return Ok(0);
    }
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let mut filters = filters(&args.filter)?;
        // Before API 1.42 prune took named volumes too and knew no `all` filter.
        let knows_all =
            client.api_version().await? >= berth_client::types::version::ApiVersion::new(1, 42);
        if args.all && knows_all {
            filters.insert("all".to_string(), vec!["true".to_string()]);
        }
        let report = client.prune_volumes(&filters).await?;
        print_deleted("Deleted Volumes", &report.deleted);
        println!(
            "Total reclaimed space: {}",
            human_size(report.space_reclaimed)
        );
        Ok(0)
    })?
}

//! `berth volume rm`.

use clap::Args;

use crate::commands::output::each_name;
use crate::commands::{async_rt, daemon_client, Context};

/// `berth volume rm` arguments.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Remove even if in use.
    #[arg(short, long)]
    force: bool,
    /// The volumes.
    #[arg(required = true)]
    volumes: Vec<String>,
}

/// Removes each volume, printing its name.
pub fn run(ctx: &Context, args: RmArgs) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        Ok(each_name(&args.volumes, |name| client.remove_volume(name, args.force)).await)
    })?
}

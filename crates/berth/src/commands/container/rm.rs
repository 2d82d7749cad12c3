//! `berth rm`: remove containers.

use berth_client::RemoveContainerOptions;
use clap::Args;

use crate::commands::output::each_name;
use crate::commands::{async_rt, daemon_client, Context};

/// `berth rm` arguments.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Kill running containers first.
    #[arg(short, long)]
    force: bool,
    /// Remove their anonymous volumes.
    #[arg(short, long)]
    volumes: bool,
    /// The containers.
    #[arg(required = true)]
    containers: Vec<String>,
}

/// Removes each container, printing its name.
pub fn run(ctx: &Context, args: RmArgs) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let options = RemoveContainerOptions {
            force: args.force,
            volumes: args.volumes,
        };
        Ok(each_name(&args.containers, |name| {
            client.remove_container(name, options)
        })
        .await)
    })?
}

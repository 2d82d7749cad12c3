//! `berth pause` and `berth unpause`: freeze and thaw all processes of containers.

use clap::Args;

use crate::commands::output::each_name;
use crate::commands::{async_rt, daemon_client, Context};

/// `berth pause` / `berth unpause` arguments.
#[derive(Debug, Args)]
pub struct PauseArgs {
    /// The containers.
    #[arg(required = true)]
    containers: Vec<String>,
}

/// Pauses (or unpauses) each container, printing its name.
pub fn run(ctx: &Context, args: PauseArgs, pause: bool) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let client = &client;
        let status = each_name(&args.containers, |name| async move {
            if pause {
                client.pause_container(name).await
            } else {
                client.unpause_container(name).await
            }
        })
        .await;
        Ok(status)
    })?
}

//! `berth kill`: send a signal (SIGKILL by default).

use clap::Args;

use crate::commands::output::each_name;
use crate::commands::{async_rt, daemon_client, Context};

/// `berth kill` arguments.
#[derive(Debug, Args)]
pub struct KillArgs {
    /// The signal.
    #[arg(short, long, default_value = "KILL")]
    signal: String,
    /// The containers.
    #[arg(required = true)]
    containers: Vec<String>,
}

/// Signals each container, printing its name.
pub fn run(ctx: &Context, args: KillArgs) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        Ok(each_name(&args.containers, |name| {
            client.kill_container(name, Some(&args.signal))
        })
        .await)
    })?
}

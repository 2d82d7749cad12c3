//! `berth wait`: block until containers stop; print their exit codes.

use berth_client::types::containers::WaitCondition;
use clap::Args;

use crate::commands::{async_rt, daemon_client, Context};

/// `berth wait` arguments.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The containers.
    #[arg(required = true)]
    containers: Vec<String>,
}

/// Waits for each container and prints its exit code.
pub fn run(ctx: &Context, args: WaitArgs) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let mut failed = false;
        for name in &args.containers {
            match client.wait_container(name, WaitCondition::NotRunning).await {
                Ok(exit) => println!("{}", exit.status_code),
                Err(e) => {
                    eprintln!("Error response from daemon: {e}");
                    failed = true;
                }
            }
        }
        Ok(i32::from(failed))
    })?
}

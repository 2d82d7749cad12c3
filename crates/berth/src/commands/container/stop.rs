//! `berth stop` and `berth restart`: the stop signal, then SIGKILL after a timeout.

use berth_client::StopOptions;
use clap::Args;

use crate::commands::output::each_name;
use crate::commands::{async_rt, daemon_client, Context};

/// `berth stop` / `berth restart` arguments.
#[derive(Debug, Args)]
pub struct StopArgs {
    /// Seconds to wait before killing.
    #[arg(short = 't', long = "timeout", alias = "time")]
    timeout: Option<i64>,
    /// The signal to stop with.
    #[arg(short, long)]
    signal: Option<String>,
    /// The containers.
    #[arg(required = true)]
    containers: Vec<String>,
}

/// Stops (or, with `restart`, restarts) each container, printing its name.
pub fn run(ctx: &Context, args: StopArgs, restart: bool) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let options = StopOptions {
            timeout: args.timeout,
            signal: args.signal.clone(),
        };
        let client = &client;
        let options = &options;
        let status = each_name(&args.containers, |name| async move {
            if restart {
                client.restart_container(name, options).await
            } else {
                client.stop_container_with(name, options).await
            }
        })
        .await;
        Ok(status)
    })?
}

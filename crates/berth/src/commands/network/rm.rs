//! `berth network rm`.

use clap::Args;

use crate::commands::output::each_name;
use crate::commands::{async_rt, daemon_client, Context};

/// `berth network rm` arguments.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// The networks.
    #[arg(required = true)]
    networks: Vec<String>,
}

/// Removes each network, printing its name.
pub fn run(ctx: &Context, args: RmArgs) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        Ok(each_name(&args.networks, |name| client.remove_network(name)).await)
    })?
}

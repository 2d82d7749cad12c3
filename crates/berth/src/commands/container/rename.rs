//! `berth rename`: give a container a new name.

use clap::Args;

use crate::commands::{async_rt, daemon_client, Context};

/// `berth rename` arguments.
#[derive(Debug, Args)]
pub struct RenameArgs {
    /// The container.
    container: String,
    /// Its new name.
    new_name: String,
}

/// Renames the container.
pub fn run(ctx: &Context, args: RenameArgs) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        client
            .rename_container(&args.container, &args.new_name)
            .await?;
        Ok(0)
    })?
}

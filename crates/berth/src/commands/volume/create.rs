//! `berth volume create`.

use berth_client::types::volumes::VolumeCreateRequest;
use clap::Args;

use crate::commands::container::config::key_values;
use crate::commands::{async_rt, daemon_client, Context};

/// `berth volume create` arguments.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Driver (`local`).
    #[arg(short, long)]
    driver: Option<String>,
    /// Driver options.
    #[arg(short, long = "opt")]
    opt: Vec<String>,
    /// Labels.
    #[arg(long)]
    label: Vec<String>,
    /// The name (random if absent).
    name: Option<String>,
}

/// Creates the volume and prints its name.
pub fn run(ctx: &Context, args: CreateArgs) -> anyhow::Result<i32> {
    let request = VolumeCreateRequest {
        name: args.name.clone(),
        driver: args.driver.clone(),
        driver_opts: key_values(&args.opt),
        labels: key_values(&args.label),
    };
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let volume = client.create_volume(&request).await?;
        println!("{}", volume.name);
        Ok(0)
    })?
}

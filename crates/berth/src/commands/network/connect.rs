//! `berth network connect` and `disconnect`.

use berth_client::types::networks::{EndpointIpamConfig, EndpointSettings};
use clap::Args;

use crate::commands::{async_rt, daemon_client, Context};

/// `berth network connect` arguments.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Aliases on the network.
    #[arg(long)]
    alias: Vec<String>,
    /// IPv4 address.
    #[arg(long)]
    ip: Option<String>,
    /// The network.
    network: String,
    /// The container.
    container: String,
}

/// `berth network disconnect` arguments.
#[derive(Debug, Args)]
pub struct DisconnectArgs {
    /// Even if the container is not running.
    #[arg(short, long)]
    force: bool,
    /// The network.
    network: String,
    /// The container.
    container: String,
}

/// Connects the container.
pub fn connect(ctx: &Context, args: ConnectArgs) -> anyhow::Result<i32> {
    let endpoint = (!args.alias.is_empty() || args.ip.is_some()).then(|| EndpointSettings {
        aliases: (!args.alias.is_empty()).then(|| args.alias.clone()),
        ipam_config: args.ip.as_ref().map(|ip| EndpointIpamConfig {
            ipv4_address: Some(ip.clone()),
            ..EndpointIpamConfig::default()
        }),
        ..EndpointSettings::default()
    });
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        client
            .connect_network(&args.network, &args.container, endpoint)
            .await?;
        Ok(0)
    })?
}

/// Disconnects the container.
pub fn disconnect(ctx: &Context, args: DisconnectArgs) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        client
            .disconnect_network(&args.network, &args.container, args.force)
            .await?;
        Ok(0)
    })?
}

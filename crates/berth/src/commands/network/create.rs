//! `berth network create`.

use berth_client::types::networks::{Ipam, IpamConfig, NetworkCreateRequest};
use clap::Args;

use crate::commands::container::config::key_values;
use crate::commands::{async_rt, daemon_client, Context};

/// `berth network create` arguments.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Driver (`bridge`).
    #[arg(short, long)]
    driver: Option<String>,
    /// Subnet in CIDR form.
    #[arg(long)]
    subnet: Vec<String>,
    /// Gateway of the subnet.
    #[arg(long)]
    gateway: Vec<String>,
    /// Range to allocate from.
    #[arg(long)]
    ip_range: Vec<String>,
    /// No outside access.
    #[arg(long)]
    internal: bool,
    /// Enable IPv6.
    #[arg(long)]
    ipv6: bool,
    /// Containers can attach by hand.
    #[arg(long)]
    attachable: bool,
    /// Driver options.
    #[arg(short, long = "opt")]
    opt: Vec<String>,
    /// Labels.
    #[arg(long)]
    label: Vec<String>,
    /// The name.
    name: String,
}

/// Creates the network and prints its ID.
pub fn run(ctx: &Context, args: CreateArgs) -> anyhow::Result<i32> {
    let config: Vec<IpamConfig> = args
        .subnet
        .iter()
        .enumerate()
        .map(|(i, subnet)| IpamConfig {
            subnet: Some(subnet.clone()),
            gateway: args.gateway.get(i).cloned(),
            ip_range: args.ip_range.get(i).cloned(),
            ..IpamConfig::default()
        })
        .collect();
    let request = NetworkCreateRequest {
        name: args.name.clone(),
        driver: Some(args.driver.clone().unwrap_or_else(|| "bridge".to_string())),
        internal: args.internal.then_some(true),
        attachable: args.attachable.then_some(true),
        enable_ipv6: args.ipv6.then_some(true),
        ipam: (!config.is_empty()).then(|| Ipam {
            driver: Some("default".to_string()),
            config: Some(config),
            options: None,
        }),
        options: key_values(&args.opt),
        labels: key_values(&args.label),
        ..NetworkCreateRequest::default()
    };
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let created = client.create_network(&request).await?;
        if let Some(warning) = created.warning.filter(|w| !w.is_empty()) {
            eprintln!("WARNING: {warning}");
        }
        println!("{}", created.id);
        Ok(0)
    })?
}

//! `berth port`: a container's published ports.

use clap::Args;

use crate::commands::{async_rt, daemon_client, Context};

/// `berth port` arguments.
#[derive(Debug, Args)]
pub struct PortArgs {
    /// The container.
    container: String,
    /// Only this container port (`80` or `80/tcp`).
    port: Option<String>,
}

/// Prints `80/tcp -> 0.0.0.0:8080` lines, or only the host addresses of one port.
pub fn run(ctx: &Context, args: PortArgs) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let inspect = client.inspect_container(&args.container).await?;
        let ports = inspect
            .network_settings
            .and_then(|n| n.ports)
            .unwrap_or_default();
        let wanted = args.port.as_ref().map(|p| {
            if p.contains('/') {
                p.clone()
            } else {
                format!("{p}/tcp")
            }
        });
        let mut printed = false;
        for (port, bindings) in &ports {
            if wanted.as_ref().is_some_and(|w| w != port) {
                continue;
            }
            for binding in bindings.iter().flatten() {
                let ip = binding.host_ip.as_deref().unwrap_or("0.0.0.0");
                let ip = if ip.contains(':') {
                    format!("[{ip}]")
                } else {
                    ip.to_string()
                };
                let host = format!("{ip}:{}", binding.host_port.as_deref().unwrap_or(""));
                if wanted.is_some() {
                    println!("{host}");
                } else {
                    println!("{port} -> {host}");
                }
                printed = true;
            }
        }
        if let (Some(port), false) = (&args.port, printed) {
            anyhow::bail!("no public port '{port}' published for {}", args.container);
        }
        Ok(0)
    })?
}

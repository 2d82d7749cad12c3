//! `berth start`: start stopped containers, optionally attached.

use berth_client::types::containers::WaitCondition;
use berth_client::AttachOptions;
use clap::Args;

use super::stdio::{self, PumpOptions, RawMode, ResizeTarget};
use crate::commands::{async_rt, daemon_client, Context};

/// `berth start` arguments.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// Attach stdout/stderr and exit with the container's code.
    #[arg(short, long)]
    attach: bool,
    /// Attach stdin.
    #[arg(short, long)]
    interactive: bool,
    /// The containers.
    #[arg(required = true)]
    containers: Vec<String>,
}

/// Starts each container; attached, returns the container's exit code.
pub fn run(ctx: &Context, args: StartArgs) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        if !(args.attach || args.interactive) {
            let mut failed = false;
            for name in &args.containers {
                match client.start_container(name).await {
                    Ok(()) => println!("{name}"),
                    Err(e) => {
                        eprintln!("Error response from daemon: {e}");
                        failed = true;
                    }
                }
            }
            return Ok(i32::from(failed));
        }
        let [name] = args.containers.as_slice() else {
            anyhow::bail!("you cannot start and attach multiple containers at once");
        };
        let inspect = client.inspect_container(name).await?;
        let tty = inspect.config.as_ref().and_then(|c| c.tty).unwrap_or(false);
        let waiter = {
            let client = client.clone();
            let id = inspect.id.clone();
            tokio::spawn(async move { client.wait_container(&id, WaitCondition::NextExit).await })
        };
        let options = AttachOptions {
            stdin: args.interactive,
            stdout: true,
            stderr: true,
            ..AttachOptions::default()
        };
        let hijacked = client.attach_container(&inspect.id, &options, tty).await?;
        let _raw = if tty && args.interactive {
            RawMode::enable()?
        } else {
            None
        };
        client.start_container(&inspect.id).await?;
        let resize = tty.then(|| ResizeTarget::Container(inspect.id.clone()));
        if let Some(target) = &resize {
            stdio::resize(&client, target).await;
        }
        let pump = PumpOptions {
            stdin: args.interactive,
            resize,
            proxy_signals_to: (!tty).then(|| inspect.id.clone()),
        };
        stdio::pump(&client, hijacked, pump).await?;
        Ok(waiter.await??.status_code as i32)
    })?
}

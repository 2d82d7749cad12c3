//! `berth attach`: connect this terminal to a running container's stdio.

use berth_client::types::containers::WaitCondition;
use berth_client::AttachOptions;
use clap::Args;

use super::stdio::{self, PumpOptions, RawMode, ResizeTarget};
use crate::commands::{async_rt, daemon_client, Context};

/// `berth attach` arguments.
#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Do not attach stdin.
    #[arg(long)]
    no_stdin: bool,
    /// Pass signals on to the container.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    sig_proxy: bool,
    /// The container.
    container: String,
}

/// Attaches until the container's output ends; returns its exit code.
pub fn run(ctx: &Context, args: AttachArgs) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let inspect = client.inspect_container(&args.container).await?;
        if !inspect.state.running {
            anyhow::bail!("you cannot attach to a stopped container, start it first");
        }
        let config = inspect.config.clone().unwrap_or_default();
        let tty = config.tty.unwrap_or(false);
        let stdin = !args.no_stdin && config.open_stdin.unwrap_or(false);
        let options = AttachOptions {
            stdin,
            stdout: true,
            stderr: true,
            ..AttachOptions::default()
        };
        let hijacked = client.attach_container(&inspect.id, &options, tty).await?;
        let _raw = if tty && stdin {
            RawMode::enable()?
        } else {
            None
        };
        let resize = tty.then(|| ResizeTarget::Container(inspect.id.clone()));
        if let Some(target) = &resize {
            stdio::resize(&client, target).await;
        }
        let pump = PumpOptions {
            stdin,
            resize,
            proxy_signals_to: (args.sig_proxy && !tty).then(|| inspect.id.clone()),
        };
        stdio::pump(&client, hijacked, pump).await?;
        let exit = client
            .wait_container(&inspect.id, WaitCondition::NotRunning)
            .await?;
        Ok(exit.status_code as i32)
    })?
}

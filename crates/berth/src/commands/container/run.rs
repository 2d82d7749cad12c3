//! `berth run`: create, attach, start, and (unless detached) stay with the container until
//! it exits, then exit with its code.

use berth_client::types::containers::WaitCondition;
use berth_client::{AttachOptions, DockerClient};
use clap::Args;

use super::config::CreateFlags;
use super::create::create;
use super::stdio::{self, PumpOptions, RawMode, ResizeTarget};
use crate::commands::{async_rt, daemon_client, Context};

/// `berth run` arguments.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run in the background and print the container's ID.
    #[arg(short, long)]
    detach: bool,
    /// Pass signals on to the container (without a TTY).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    sig_proxy: bool,
    #[command(flatten)]
    flags: CreateFlags,
}

/// Runs the container; returns its exit code (0 when detached).
pub fn run(ctx: &Context, args: RunArgs) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        run_container(&client, &args).await
    })?
}

async fn run_container(client: &DockerClient, args: &RunArgs) -> anyhow::Result<i32> {
    let flags = &args.flags;
    let request = flags.request(!args.detach)?;
    let id = create(client, flags, &request).await?;
    if args.detach {
        client.start_container(&id).await?;
        println!("{id}");
        return Ok(0);
    }
    // Wait from before the start, or a short-lived container may be gone (with --rm)
    // before the wait is registered.
    let condition = if flags.rm {
        WaitCondition::Removed
    } else {
        WaitCondition::NextExit
    };
    let waiter = {
        let client = client.clone();
        let id = id.clone();
        tokio::spawn(async move { client.wait_container(&id, condition).await })
    };
    let options = AttachOptions {
        stdin: flags.interactive,
        stdout: true,
        stderr: true,
        logs: false,
        detach_keys: None,
    };
    let hijacked = client.attach_container(&id, &options, flags.tty).await?;
    let _raw = if flags.tty && flags.interactive {
        RawMode::enable()?
    } else {
        None
    };
    client.start_container(&id).await?;
    let resize = flags.tty.then(|| ResizeTarget::Container(id.clone()));
    if let Some(target) = &resize {
        stdio::resize(client, target).await;
    }
    let pump = PumpOptions {
        stdin: flags.interactive,
        resize,
        proxy_signals_to: (args.sig_proxy && !flags.tty).then(|| id.clone()),
    };
    stdio::pump(client, hijacked, pump).await?;
    let exit = waiter.await??;
    if let Some(error) = exit.error.filter(|e| !e.message.is_empty()) {
        anyhow::bail!("waiting for the container failed: {}", error.message);
    }
    Ok(exit.status_code as i32)
}

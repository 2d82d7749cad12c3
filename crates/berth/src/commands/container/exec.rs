//! `berth exec`: run a command in a running container.

use berth_client::types::exec::ExecConfig;
use clap::Args;

use super::stdio::{self, PumpOptions, RawMode, ResizeTarget};
use crate::commands::{async_rt, daemon_client, Context};

/// `berth exec` arguments.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Run in the background.
    #[arg(short, long)]
    detach: bool,
    /// Keep stdin open.
    #[arg(short, long)]
    interactive: bool,
    /// Allocate a pseudo-TTY.
    #[arg(short, long)]
    tty: bool,
    /// Environment variables.
    #[arg(short, long = "env")]
    env: Vec<String>,
    /// `USER[:GROUP]`.
    #[arg(short, long)]
    user: Option<String>,
    /// Working directory.
    #[arg(short, long)]
    workdir: Option<String>,
    /// All capabilities.
    #[arg(long)]
    privileged: bool,
    /// The container.
    container: String,
    /// The command.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

/// Runs the command; returns its exit code.
pub fn run(ctx: &Context, args: ExecArgs) -> anyhow::Result<i32> {
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let attach = !args.detach;
        let config = ExecConfig {
            attach_stdin: Some(attach && args.interactive),
            attach_stdout: Some(attach),
            attach_stderr: Some(attach),
            console_size: if args.tty {
                stdio::terminal_size().map(|(r, c)| [u32::from(r), u32::from(c)])
            } else {
                None
            },
            detach_keys: None,
            tty: Some(args.tty),
            env: (!args.env.is_empty()).then(|| args.env.clone()),
            cmd: args.command.clone(),
            privileged: Some(args.privileged),
            user: args.user.clone(),
            working_dir: args.workdir.clone(),
        };
        let id = client.create_exec(&args.container, &config).await?;
        if args.detach {
            client.start_exec_detached(&id).await?;
            return Ok(0);
        }
        let hijacked = client
            .start_exec_hijacked(&id, args.tty, config.console_size)
            .await?;
        let _raw = if args.tty && args.interactive {
            RawMode::enable()?
        } else {
            None
        };
        let resize = args.tty.then(|| ResizeTarget::Exec(id.clone()));
        if let Some(target) = &resize {
            stdio::resize(&client, target).await;
        }
        let pump = PumpOptions {
            stdin: args.interactive,
            resize,
            proxy_signals_to: None,
        };
        stdio::pump(&client, hijacked, pump).await?;
        // The output can end a moment before the daemon records the exit.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let inspect = client.inspect_exec(&id).await?;
            if !inspect.running || std::time::Instant::now() > deadline {
                return Ok(inspect.exit_code.unwrap_or(0) as i32);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })?
}

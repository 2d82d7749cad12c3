//! `berth runtime run`: create, start and (unless detached) wait, then delete.

use std::os::fd::AsFd;

use berth_runtime::container::{self, Container, SignalForwarder};
use berth_runtime::state::{StateRoot, Status};
use clap::Args;
use nix::unistd::Pid;

use super::create::CreateArgs;
use super::terminal;

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    create: CreateArgs,
    /// Return once the program started; do not wait for it.
    #[arg(long, short = 'd')]
    detach: bool,
    /// Keep the container's state after it exits (no delete).
    #[arg(long)]
    keep: bool,
}

pub fn run(root: &StateRoot, args: RunArgs) -> anyhow::Result<i32> {
    let mut options = args.create.options(true)?;
    // A terminal with nobody to hand it to: berth holds it and copies to its own stdio.
    // `create` uses the socket only if the process asks for a terminal.
    let receiver = if options.console.is_none() && !args.detach {
        let (receiver, theirs) = terminal::console_pair()?;
        options.console = Some(theirs);
        Some(receiver)
    } else {
        None
    };
    let state = container::create(root, options)?;
    let wants_terminal = state
        .config
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    let master = receiver
        .filter(|_| wants_terminal)
        .map(|r| r.receive())
        .transpose()?;
    // Started at once: no need to read back the state just written.
    let container = Container {
        dir: root.dir(&state.id),
        status: Status::Running,
        state,
    };
    let state = &container.state;
    super::warn_hook(container::run_poststart(&container));
    if args.detach {
        return Ok(0);
    }
    let forwarder = SignalForwarder::install()?;
    let proxy = master
        .as_ref()
        .map(|m| {
            m.try_clone()
                .map_err(anyhow::Error::from)
                .and_then(terminal::Proxy::start)
        })
        .transpose()?;
    let status = forwarder.wait(Pid::from_raw(state.pid), master.as_ref().map(|m| m.as_fd()));
    drop(master);
    if let Some(proxy) = proxy {
        proxy.finish();
    }
    let status = status?;
    if !args.keep {
        super::warn_hook(container::delete(root, &state.id, true)?);
    }
    Ok(container::exit_code(status))
}

//! `berth runtime run`: create, start and (unless detached) wait, then delete.

use berth_runtime::container::{self, Container};
use berth_runtime::state::StateRoot;
use clap::Args;
use nix::unistd::Pid;

use super::create::CreateArgs;

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
    let state = container::create(root, args.create.options(true)?)?;
    let container = Container::load(root, &state.id)?;
    super::warn_hook(container::run_poststart(&container));
    if args.detach {
        return Ok(0);
    }
    let status = container::wait_forwarding_signals(Pid::from_raw(state.pid))?;
    if !args.keep {
        super::warn_hook(container::delete(root, &state.id, true)?);
    }
    Ok(container::exit_code(status))
}

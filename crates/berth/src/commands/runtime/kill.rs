//! `berth runtime kill`.

use berth_runtime::state::StateRoot;
use berth_runtime::{container, signal};
use clap::Args;

#[derive(Debug, Args)]
pub struct KillArgs {
    /// Signal every process of the container, not only its init.
    #[arg(long, short = 'a')]
    all: bool,
    /// The container id.
    id: String,
    /// The signal: a name (TERM, SIGKILL) or a number.
    #[arg(default_value = "SIGTERM")]
    signal: String,
}

pub fn run(root: &StateRoot, args: KillArgs) -> anyhow::Result<i32> {
    let signal = signal::parse(&args.signal)?;
    container::kill(root, &args.id, signal, args.all)?;
    Ok(0)
}

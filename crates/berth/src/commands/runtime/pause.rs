//! `berth runtime pause` and `resume`.

use berth_runtime::container;
use berth_runtime::state::StateRoot;
use clap::Args;

#[derive(Debug, Args)]
pub struct PauseArgs {
    /// The container id.
    id: String,
}

pub fn pause(root: &StateRoot, args: PauseArgs) -> anyhow::Result<i32> {
    container::pause(root, &args.id)?;
    Ok(0)
}

pub fn resume(root: &StateRoot, args: PauseArgs) -> anyhow::Result<i32> {
    container::resume(root, &args.id)?;
    Ok(0)
}

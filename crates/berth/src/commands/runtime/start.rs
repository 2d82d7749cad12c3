//! `berth runtime start`.

use berth_runtime::container;
use berth_runtime::state::StateRoot;
use clap::Args;

#[derive(Debug, Args)]
pub struct StartArgs {
    /// The container id.
    id: String,
}

pub fn run(root: &StateRoot, args: StartArgs) -> anyhow::Result<i32> {
    super::warn_hook(container::start(root, &args.id)?);
    Ok(0)
}

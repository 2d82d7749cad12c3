//! `berth runtime delete`.

use berth_runtime::container;
use berth_runtime::state::StateRoot;
use clap::Args;

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Kill a running container first.
    #[arg(long, short = 'f')]
    force: bool,
    /// The container id.
    id: String,
}

pub fn run(root: &StateRoot, args: DeleteArgs) -> anyhow::Result<i32> {
    super::warn_hook(container::delete(root, &args.id, args.force)?);
    Ok(0)
}

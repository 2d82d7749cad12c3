//! `berth shim`: the per-container supervisor the daemon starts (not for users).

use clap::Args;

/// The flags of `berth shim` (see `berth_shim::ShimArgs`).
#[derive(Debug, Args)]
pub struct ShimCommandArgs {
    /// The container id.
    #[arg(long)]
    pub id: String,
}

/// Runs the shim; returns its exit code.
pub fn run(args: ShimCommandArgs) -> anyhow::Result<i32> {
    let _ = args;
    anyhow::bail!("berth shim is not built yet")
}

//! `berth daemon`: the engine, serving the Docker Engine API.

use clap::Args;

use super::Context;

/// `berth daemon` flags (dockerd's names). `--data-root`, `--exec-root` and `-H` are the
/// global flags.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Do not keep containers running when the daemon stops (live-restore is on by default).
    #[arg(long)]
    pub no_live_restore: bool,
}

/// Runs the daemon until SIGTERM/SIGINT.
pub fn run(ctx: &Context, args: DaemonArgs) -> anyhow::Result<i32> {
    let _ = (&ctx.exec_root, ctx.host(), args);
    anyhow::bail!("berth daemon is not built yet")
}

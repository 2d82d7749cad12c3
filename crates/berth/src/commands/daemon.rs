//! `berth daemon`: the engine, serving the Docker Engine API.

use clap::Args;

use super::Context;

/// `berth daemon` flags (dockerd's names). `--data-root`, `--exec-root` and `-H` are the
/// global flags.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Stop containers when the daemon stops (by default they keep running: live-restore).
    #[arg(long)]
    pub no_live_restore: bool,
    /// The cgroup parent of containers.
    #[arg(long, default_value = "/berth")]
    pub cgroup_parent: String,
    /// Ownership tag of host network objects (nftables table, bridge `<name>0`): lets
    /// several daemons share a host (tests).
    #[arg(long, default_value = "berth", hide = true)]
    pub instance: String,
}

/// Runs the daemon until SIGTERM/SIGINT.
pub fn run(ctx: &Context, args: DaemonArgs) -> anyhow::Result<i32> {
    if args.instance.is_empty()
        || args.instance.len() > 12
        || !args.instance.chars().all(|c| c.is_ascii_alphanumeric())
    {
        anyhow::bail!(
            "--instance `{}` must be 1-12 letters or digits (it names the bridge `<instance>0`)",
            args.instance
        );
    }
    // The daemon's log on stderr: warnings by default, more with RUST_LOG (e.g.
    // `RUST_LOG=berth_engine=debug`).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let mut config = berth_engine::DaemonConfig::new(ctx.data_root.clone(), ctx.exec_root.clone());
    config.hosts = vec![ctx.host()];
    config.live_restore = !args.no_live_restore;
    config.cgroup_parent = args.cgroup_parent;
    config.network_instance = args.instance;
    berth_engine::daemon::run(config)?;
    Ok(0)
}

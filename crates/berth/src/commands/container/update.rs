//! `berth update`: change a running container's resources or restart policy.

use berth_client::types::containers::ContainerUpdateRequest;
use clap::Args;

use super::config::parse_bytes;
use crate::commands::{async_rt, daemon_client, Context};

/// `berth update` arguments.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Memory limit.
    #[arg(short, long)]
    memory: Option<String>,
    /// Memory plus swap (`-1` unlimited).
    #[arg(long)]
    memory_swap: Option<String>,
    /// Soft memory limit.
    #[arg(long)]
    memory_reservation: Option<String>,
    /// CPUs.
    #[arg(long)]
    cpus: Option<f64>,
    /// Relative CPU weight.
    #[arg(short = 'c', long)]
    cpu_shares: Option<i64>,
    /// CPUs allowed.
    #[arg(long)]
    cpuset_cpus: Option<String>,
    /// Process limit.
    #[arg(long)]
    pids_limit: Option<i64>,
    /// Restart policy.
    #[arg(long)]
    restart: Option<String>,
    /// The containers.
    #[arg(required = true)]
    containers: Vec<String>,
}

/// Updates each container, printing its name.
pub fn run(ctx: &Context, args: UpdateArgs) -> anyhow::Result<i32> {
    let bytes = |v: &Option<String>| -> anyhow::Result<Option<i64>> {
        v.as_deref()
            .map(|t| if t == "-1" { Ok(-1) } else { parse_bytes(t) })
            .transpose()
    };
    let update = ContainerUpdateRequest {
        memory: bytes(&args.memory)?,
        memory_swap: bytes(&args.memory_swap)?,
        memory_reservation: bytes(&args.memory_reservation)?,
        nano_cpus: args.cpus.map(|c| (c * 1e9) as i64),
        cpu_shares: args.cpu_shares,
        cpuset_cpus: args.cpuset_cpus.clone(),
        pids_limit: args.pids_limit,
        blkio_weight: None,
        restart_policy: args
            .restart
            .as_deref()
            .map(super::config::parse_restart)
            .transpose()?,
    };
    async_rt::block_on(async {
        let client = daemon_client::connect(ctx).await?;
        let mut failed = false;
        for name in &args.containers {
            match client.update_container(name, &update).await {
                Ok(answer) => {
                    for warning in answer.warnings {
                        eprintln!("WARNING: {warning}");
                    }
                    println!("{name}");
                }
                Err(e) => {
                    eprintln!("Error response from daemon: {e}");
                    failed = true;
                }
            }
        }
        Ok(i32::from(failed))
    })?
}

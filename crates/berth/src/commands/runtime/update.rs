//! `berth runtime update`: new resource limits for a live container.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{bail, Context};
use berth_runtime::container;
use berth_runtime::state::StateRoot;
use clap::Args;
use oci_spec::runtime::{LinuxCpu, LinuxPids, LinuxResources};

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// A JSON file (`-` for stdin) with `linux.resources`; flags override it.
    #[arg(long, short = 'r')]
    resources: Option<PathBuf>,
    /// Memory limit, in bytes or with a unit (512m, 1g).
    #[arg(long)]
    memory: Option<String>,
    /// Memory plus swap limit (-1: unlimited).
    #[arg(long)]
    memory_swap: Option<String>,
    /// Memory soft limit.
    #[arg(long)]
    memory_reservation: Option<String>,
    /// CPU shares (relative weight).
    #[arg(long)]
    cpu_shares: Option<u64>,
    /// CPU CFS period, microseconds.
    #[arg(long)]
    cpu_period: Option<u64>,
    /// CPU CFS quota, microseconds (-1: none).
    #[arg(long, allow_hyphen_values = true)]
    cpu_quota: Option<i64>,
    /// CPU realtime period, microseconds.
    #[arg(long)]
    cpu_rt_period: Option<u64>,
    /// CPU realtime runtime, microseconds.
    #[arg(long)]
    cpu_rt_runtime: Option<i64>,
    /// CPUs allowed (0-3, 0,1).
    #[arg(long)]
    cpuset_cpus: Option<String>,
    /// Memory nodes allowed.
    #[arg(long)]
    cpuset_mems: Option<String>,
    /// Maximum number of processes (-1 or 0: unlimited).
    #[arg(long, allow_hyphen_values = true)]
    pids_limit: Option<i64>,
    /// Block IO weight (10-1000).
    #[arg(long)]
    blkio_weight: Option<u16>,
    /// The container id.
    id: String,
}

pub fn run(root: &StateRoot, args: UpdateArgs) -> anyhow::Result<i32> {
    let mut resources: LinuxResources = match &args.resources {
        Some(path) => {
            let mut text = Vec::new();
            if path.as_os_str() == "-" {
                std::io::stdin()
                    .read_to_end(&mut text)
                    .context("read resources from stdin")?;
            } else {
                text = std::fs::read(path).with_context(|| format!("read `{}`", path.display()))?;
            }
            serde_json::from_slice(&text)
                .context("parse the resources JSON (the shape of `linux.resources`)")?
        }
        None => LinuxResources::default(),
    };
    let mut memory = resources.memory().unwrap_or_default();
    let mut memory_set = resources.memory().is_some();
    if let Some(v) = &args.memory {
        memory.set_limit(Some(parse_size(v)?));
        memory_set = true;
    }
    if let Some(v) = &args.memory_swap {
        memory.set_swap(Some(parse_size(v)?));
        memory_set = true;
    }
    if let Some(v) = &args.memory_reservation {
        memory.set_reservation(Some(parse_size(v)?));
        memory_set = true;
    }
    if memory_set {
        resources.set_memory(Some(memory));
    }
    let mut cpu: LinuxCpu = resources.cpu().clone().unwrap_or_default();
    let cpu_flags = [
        args.cpu_shares.is_some(),
        args.cpu_period.is_some(),
        args.cpu_quota.is_some(),
        args.cpu_rt_period.is_some(),
        args.cpu_rt_runtime.is_some(),
        args.cpuset_cpus.is_some(),
        args.cpuset_mems.is_some(),
    ];
    if args.cpu_shares.is_some() {
        cpu.set_shares(args.cpu_shares);
    }
    if args.cpu_period.is_some() {
        cpu.set_period(args.cpu_period);
    }
    if args.cpu_quota.is_some() {
        cpu.set_quota(args.cpu_quota);
    }
    if args.cpu_rt_period.is_some() {
        cpu.set_realtime_period(args.cpu_rt_period);
    }
    if args.cpu_rt_runtime.is_some() {
        cpu.set_realtime_runtime(args.cpu_rt_runtime);
    }
    if args.cpuset_cpus.is_some() {
        cpu.set_cpus(args.cpuset_cpus.clone());
    }
    if args.cpuset_mems.is_some() {
        cpu.set_mems(args.cpuset_mems.clone());
    }
    if resources.cpu().is_some() || cpu_flags.contains(&true) {
        resources.set_cpu(Some(cpu));
    }
    if let Some(limit) = args.pids_limit {
        let mut pids = LinuxPids::default();
        pids.set_limit(limit);
        resources.set_pids(Some(pids));
    }
    if let Some(weight) = args.blkio_weight {
        let mut blkio = resources.block_io().clone().unwrap_or_default();
        blkio.set_weight(Some(weight));
        resources.set_block_io(Some(blkio));
    }
    container::update(root, &args.id, &resources)?;
    Ok(0)
}

/// `512`, `64k`, `512m`, `1g` (binary units, as docker and runc read them); -1 stays -1.
fn parse_size(text: &str) -> anyhow::Result<i64> {
    let lower = text.trim().to_ascii_lowercase();
    if lower == "-1" {
        return Ok(-1);
    }
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(digits_end);
    let number: i64 = number
        .parse()
        .with_context(|| format!("`{text}` is not a size"))?;
    let multiplier: i64 = match unit.trim_end_matches('b').trim_end_matches('i') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => bail!("`{text}`: unknown unit (use b, k, m, g or t)"),
    };
    number
        .checked_mul(multiplier)
        .with_context(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512").unwrap(), 512);
        assert_eq!(parse_size("64k").unwrap(), 65536);
        assert_eq!(parse_size("16M").unwrap(), 16 << 20);
        assert_eq!(parse_size("1gb").unwrap(), 1 << 30);
        assert_eq!(parse_size("-1").unwrap(), -1);
        assert!(parse_size("12q").is_err());
    }
}

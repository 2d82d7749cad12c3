//! Resource limits (memory, CPU, pids, blkio) with dockerd's validation and messages.
//!
//! Docker's translation: `--cpus` becomes a CFS quota over a 100 ms period; `--memory`
//! without `--memory-swap` allows as much swap as memory (swap limit = 2 x memory);
//! `--memory-swap -1` is unlimited swap; `--pids-limit` of 0 or less is unlimited;
//! `--memory-swappiness -1` means the host's. On a pure cgroup v2 host swappiness and
//! `--oom-kill-disable` do not exist and are dropped, as dockerd drops them (with a
//! warning berth has no channel for).

use std::path::Path;

use berth_client::types::host_config::HostConfig;
use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxPids, LinuxResources};

use super::SpecError;

/// The smallest memory limit dockerd accepts (6 MiB).
pub const MIN_MEMORY: i64 = 6 * 1024 * 1024;

/// The CFS period `--cpus` uses, in microseconds.
const NANO_CPUS_PERIOD: u64 = 100_000;

/// The CFS period and quota `NanoCpus` (`--cpus` in billionths) stands for.
pub(crate) fn nano_cpus_cfs(nano: i64) -> (u64, i64) {
    // NANO_CPUS_PERIOD is 1e5: the product stays far below i64::MAX for any real CPU
    // count (validation caps `nano` at the host's); saturating keeps absurd input sane.
    (
        NANO_CPUS_PERIOD,
        nano.saturating_mul(NANO_CPUS_PERIOD as i64) / 1_000_000_000,
    )
}

/// What the host offers, for validation.
#[derive(Debug, Clone)]
pub struct HostResources {
    /// Number of usable CPUs.
    pub cpus: usize,
    /// Online CPUs (`0-3`), for `--cpuset-cpus`.
    pub online_cpus: String,
    /// Online memory nodes (`0`), for `--cpuset-mems`.
    pub online_mems: String,
    /// Only the unified cgroup v2 hierarchy.
    pub cgroup_v2_only: bool,
    /// The daemon's hard `RLIMIT_NOFILE`, which caps the containers' default.
    pub nofile_hard: u64,
}

impl HostResources {
    /// Reads them from the running host.
    pub fn detect() -> Self {
        let online = |path: &str, fallback: &str| {
            std::fs::read_to_string(path)
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| fallback.to_string())
        };
        let cpus = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0))
            .map(|set| {
                (0..nix::sched::CpuSet::count())
                    .filter(|&i| set.is_set(i).unwrap_or(false))
                    .count()
            })
            .ok()
            .filter(|&n| n > 0)
            .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
            .unwrap_or(1);
        HostResources {
            cpus,
            online_cpus: online("/sys/devices/system/cpu/online", "0"),
            online_mems: online("/sys/devices/system/node/online", "0"),
            cgroup_v2_only: Path::new("/sys/fs/cgroup/cgroup.controllers").exists(),
            nofile_hard: nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
                .map(|(_, hard)| hard)
                .unwrap_or(u64::MAX),
        }
    }
}

fn invalid(message: impl Into<String>) -> SpecError {
    SpecError::Invalid(message.into())
}

/// The resources of `host` (device rules are added by the caller), validated.
pub fn resources(host: &HostConfig, system: &HostResources) -> Result<LinuxResources, SpecError> {
    let mut resources = LinuxResources::default();
    resources.set_memory(memory(host, system)?);
    resources.set_cpu(cpu(host, system)?);
    if let Some(limit) = host.pids_limit.filter(|&l| l > 0) {
        let mut pids = LinuxPids::default();
        pids.set_limit(limit);
        resources.set_pids(Some(pids));
    }
    check_blkio_weight(host)?;
    if let Some(weight) = host.blkio_weight.filter(|&w| w > 0) {
        let mut blkio = LinuxBlockIo::default();
        blkio.set_weight(Some(weight));
        resources.set_block_io(Some(blkio));
    }
    Ok(resources)
}

/// The blkio weight's range check, shared with `docker update`.
pub(crate) fn check_blkio_weight(host: &HostConfig) -> Result<(), SpecError> {
    match host.blkio_weight.filter(|&w| w > 0) {
        Some(weight) if !(10..=1000).contains(&weight) => {
            Err(invalid("Range of blkio weight is from 10 to 1000"))
        }
        _ => Ok(()),
    }
}

/// dockerd's checks of the memory values (`verifyPlatformContainerResources`), shared
/// with `docker update`. `update`: the values change a container's, and a swap limit
/// alone is allowed (the memory limit in force stays).
pub(crate) fn check_memory(host: &HostConfig, update: bool) -> Result<(), SpecError> {
    let limit = host.memory.unwrap_or(0);
    let reservation = host.memory_reservation.unwrap_or(0);
    let swap = host.memory_swap.unwrap_or(0);
    let swappiness = host.memory_swappiness.filter(|&s| s != -1);
    if limit != 0 && limit < MIN_MEMORY {
        return Err(invalid("Minimum memory limit allowed is 6MB"));
    }
    if limit > 0 && swap > 0 && swap < limit {
        return Err(invalid(
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ));
    }
    if limit == 0 && swap > 0 && !update {
        return Err(invalid(
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        ));
    }
    if let Some(s) = swappiness {
        if !(0..=100).contains(&s) {
            return Err(invalid(format!(
                "Invalid value: {s}, valid memory swappiness range is 0-100"
            )));
        }
    }
    if reservation > 0 && reservation < MIN_MEMORY {
        return Err(invalid("Minimum memory reservation allowed is 6MB"));
    }
    if limit > 0 && reservation > 0 && limit < reservation {
        return Err(invalid(
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        ));
    }
    Ok(())
}

fn memory(host: &HostConfig, system: &HostResources) -> Result<Option<LinuxMemory>, SpecError> {
    check_memory(host, false)?;
    let limit = host.memory.unwrap_or(0);
    let reservation = host.memory_reservation.unwrap_or(0);
    let swap = host.memory_swap.unwrap_or(0);
    let swappiness = host.memory_swappiness.filter(|&s| s != -1);
    let oom_kill_disable = host.oom_kill_disable.unwrap_or(false) && !system.cgroup_v2_only;
    let swappiness = swappiness.filter(|_| !system.cgroup_v2_only);
    if limit == 0 && reservation == 0 && swap == 0 && swappiness.is_none() && !oom_kill_disable {
        return Ok(None);
    }
    let mut memory = LinuxMemory::default();
    if limit > 0 {
        memory.set_limit(Some(limit));
        // dockerd's default when only --memory is given: as much swap as memory.
        memory.set_swap(Some(if swap == 0 { limit * 2 } else { swap }));
    } else if swap != 0 {
        memory.set_swap(Some(swap));
    }
    if reservation > 0 {
        memory.set_reservation(Some(reservation));
    }
    memory.set_swappiness(swappiness.and_then(|s| u64::try_from(s).ok()));
    if oom_kill_disable {
        memory.set_disable_oom_killer(Some(true));
    }
    Ok(Some(memory))
}

/// dockerd's checks of the CPU values on a host with `cpus` CPUs, shared with
/// `docker update` (the cpusets, which update does not check, are checked by [`cpu`]).
pub(crate) fn check_cpu(host: &HostConfig, cpus: usize) -> Result<(), SpecError> {
    let nano = host.nano_cpus.unwrap_or(0);
    let period = host.cpu_period.unwrap_or(0);
    let quota = host.cpu_quota.unwrap_or(0);
    let shares = host.cpu_shares.unwrap_or(0);
    if nano > 0 && period > 0 {
        return Err(invalid(
            "Conflicting options: Nano CPUs and CPU Period cannot both be set",
        ));
    }
    if nano > 0 && quota > 0 {
        return Err(invalid(
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set",
        ));
    }
    let max_nano = i64::try_from(cpus)
        .unwrap_or(i64::MAX)
        .saturating_mul(1_000_000_000);
    if nano < 0 || nano > max_nano {
        return Err(invalid(format!(
            "Range of CPUs is from 0.01 to {cpus}.00, as there are only {cpus} CPUs available"
        )));
    }
    if period != 0 && !(1000..=1_000_000).contains(&period) {
        return Err(invalid(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        ));
    }
    if quota > 0 && quota < 1000 {
        return Err(invalid(
            "CPU cfs quota can not be less than 1ms (i.e. 1000)",
        ));
    }
    if shares < 0 {
        return Err(invalid("shares: invalid argument"));
    }
    Ok(())
}

fn cpu(host: &HostConfig, system: &HostResources) -> Result<Option<LinuxCpu>, SpecError> {
    check_cpu(host, system.cpus)?;
    let nano = host.nano_cpus.unwrap_or(0);
    let period = host.cpu_period.unwrap_or(0);
    let quota = host.cpu_quota.unwrap_or(0);
    let shares = host.cpu_shares.unwrap_or(0);
    let cpus = non_empty(&host.cpuset_cpus);
    let mems = non_empty(&host.cpuset_mems);
    if let Some(cpus) = cpus {
        check_cpuset(cpus, &system.online_cpus, "cpus", "CPUs")?;
    }
    if let Some(mems) = mems {
        check_cpuset(mems, &system.online_mems, "mems", "memory nodes")?;
    }
    if nano == 0 && period == 0 && quota == 0 && shares == 0 && cpus.is_none() && mems.is_none() {
        return Ok(None);
    }
    let mut cpu = LinuxCpu::default();
    if nano > 0 {
        let (period, quota) = nano_cpus_cfs(nano);
        cpu.set_period(Some(period));
        cpu.set_quota(Some(quota));
    }
    if period > 0 {
        cpu.set_period(u64::try_from(period).ok());
    }
    if quota != 0 {
        cpu.set_quota(Some(quota));
    }
    if shares > 0 {
        cpu.set_shares(u64::try_from(shares).ok());
    }
    cpu.set_cpus(cpus.map(str::to_string));
    cpu.set_mems(mems.map(str::to_string));
    Ok(Some(cpu))
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

/// Parses a cpuset list (`0-3,5`) into its members.
fn parse_list(list: &str) -> Option<Vec<u32>> {
    let mut members = Vec::new();
    for part in list.split(',') {
        match part.split_once('-') {
            Some((from, to)) => {
                let (from, to): (u32, u32) = (from.parse().ok()?, to.parse().ok()?);
                if from > to {
                    return None;
                }
                members.extend(from..=to);
            }
            None => members.push(part.parse().ok()?),
        }
    }
    Some(members)
}

fn check_cpuset(requested: &str, online: &str, field: &str, what: &str) -> Result<(), SpecError> {
    let wanted = parse_list(requested)
        .ok_or_else(|| invalid(format!("Invalid value {requested} for cpuset {field}")))?;
    let available = parse_list(online).unwrap_or_default();
    if wanted.iter().all(|w| available.contains(w)) {
        Ok(())
    } else {
        Err(invalid(format!(
            "Requested {what} are not available - requested {requested}, available: {online}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn system() -> HostResources {
        HostResources {
            cpus: 2,
            online_cpus: "0-1".into(),
            online_mems: "0".into(),
            cgroup_v2_only: false,
            nofile_hard: u64::MAX,
        }
    }

    fn err(host: HostConfig) -> String {
        resources(&host, &system()).unwrap_err().to_string()
    }

    #[test]
    fn nothing_set_gives_no_limits() {
        let r = resources(&HostConfig::default(), &system()).unwrap();
        assert_eq!(r, LinuxResources::default());
        // dockerd's CLI sends zeros and -1 swappiness for unset values.
        let zeros = HostConfig {
            memory: Some(0),
            memory_swap: Some(0),
            memory_swappiness: Some(-1),
            nano_cpus: Some(0),
            cpu_shares: Some(0),
            pids_limit: Some(0),
            blkio_weight: Some(0),
            cpuset_cpus: Some(String::new()),
            ..Default::default()
        };
        assert_eq!(
            resources(&zeros, &system()).unwrap(),
            LinuxResources::default()
        );
    }

    #[test]
    fn memory_limits_and_swap_default() {
        let r = resources(
            &HostConfig {
                memory: Some(64 << 20),
                memory_reservation: Some(32 << 20),
                memory_swappiness: Some(10),
                oom_kill_disable: Some(true),
                ..Default::default()
            },
            &system(),
        )
        .unwrap();
        let m = r.memory().unwrap();
        assert_eq!(m.limit(), Some(64 << 20));
        assert_eq!(m.swap(), Some(128 << 20));
        assert_eq!(m.reservation(), Some(32 << 20));
        assert_eq!(m.swappiness(), Some(10));
        assert_eq!(m.disable_oom_killer(), Some(true));
        let unlimited = resources(
            &HostConfig {
                memory: Some(64 << 20),
                memory_swap: Some(-1),
                ..Default::default()
            },
            &system(),
        )
        .unwrap();
        assert_eq!(unlimited.memory().unwrap().swap(), Some(-1));
    }

    #[test]
    fn memory_validation_messages() {
        assert_eq!(
            err(HostConfig {
                memory: Some(1 << 20),
                ..Default::default()
            }),
            "Minimum memory limit allowed is 6MB"
        );
        assert_eq!(
            err(HostConfig {
                memory: Some(64 << 20),
                memory_swap: Some(32 << 20),
                ..Default::default()
            }),
            "Minimum memoryswap limit should be larger than memory limit, see usage"
        );
        assert_eq!(
            err(HostConfig {
                memory_swap: Some(64 << 20),
                ..Default::default()
            }),
            "You should always set the Memory limit when using Memoryswap limit, see usage"
        );
        assert_eq!(
            err(HostConfig {
                memory_swappiness: Some(101),
                ..Default::default()
            }),
            "Invalid value: 101, valid memory swappiness range is 0-100"
        );
        assert_eq!(
            err(HostConfig {
                memory: Some(10 << 20),
                memory_reservation: Some(20 << 20),
                ..Default::default()
            }),
            "Minimum memory limit can not be less than memory reservation limit, see usage"
        );
    }

    #[test]
    fn v2_drops_swappiness_and_oom_kill_disable() {
        let v2 = HostResources {
            cgroup_v2_only: true,
            ..system()
        };
        let r = resources(
            &HostConfig {
                memory_swappiness: Some(10),
                oom_kill_disable: Some(true),
                ..Default::default()
            },
            &v2,
        )
        .unwrap();
        assert_eq!(r.memory(), &None);
    }

    #[test]
    fn nano_cpus_become_quota_over_100ms() {
        let r = resources(
            &HostConfig {
                nano_cpus: Some(1_500_000_000),
                cpu_shares: Some(512),
                cpuset_cpus: Some("0-1".into()),
                cpuset_mems: Some("0".into()),
                ..Default::default()
            },
            &system(),
        )
        .unwrap();
        let cpu = r.cpu().as_ref().unwrap();
        assert_eq!(cpu.period(), Some(100_000));
        assert_eq!(cpu.quota(), Some(150_000));
        assert_eq!(cpu.shares(), Some(512));
        assert_eq!(cpu.cpus().as_deref(), Some("0-1"));
        assert_eq!(cpu.mems().as_deref(), Some("0"));
        let explicit = resources(
            &HostConfig {
                cpu_quota: Some(50_000),
                cpu_period: Some(200_000),
                ..Default::default()
            },
            &system(),
        )
        .unwrap();
        let cpu = explicit.cpu().as_ref().unwrap();
        assert_eq!((cpu.quota(), cpu.period()), (Some(50_000), Some(200_000)));
    }

    #[test]
    fn cpu_validation_messages() {
        assert_eq!(
            err(HostConfig {
                nano_cpus: Some(1_000_000_000),
                cpu_period: Some(100_000),
                ..Default::default()
            }),
            "Conflicting options: Nano CPUs and CPU Period cannot both be set"
        );
        assert_eq!(
            err(HostConfig {
                nano_cpus: Some(1_000_000_000),
                cpu_quota: Some(100_000),
                ..Default::default()
            }),
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set"
        );
        assert_eq!(
            err(HostConfig {
                nano_cpus: Some(3_000_000_000),
                ..Default::default()
            }),
            "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"
        );
        assert_eq!(
            err(HostConfig {
                cpu_period: Some(10),
                ..Default::default()
            }),
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"
        );
        assert_eq!(
            err(HostConfig {
                cpu_quota: Some(10),
                ..Default::default()
            }),
            "CPU cfs quota can not be less than 1ms (i.e. 1000)"
        );
        assert_eq!(
            err(HostConfig {
                cpuset_cpus: Some("0-7".into()),
                ..Default::default()
            }),
            "Requested CPUs are not available - requested 0-7, available: 0-1"
        );
        assert_eq!(
            err(HostConfig {
                cpuset_cpus: Some("x".into()),
                ..Default::default()
            }),
            "Invalid value x for cpuset cpus"
        );
        assert_eq!(
            err(HostConfig {
                cpuset_mems: Some("1".into()),
                ..Default::default()
            }),
            "Requested memory nodes are not available - requested 1, available: 0"
        );
    }

    #[test]
    fn pids_and_blkio() {
        let r = resources(
            &HostConfig {
                pids_limit: Some(100),
                blkio_weight: Some(300),
                ..Default::default()
            },
            &system(),
        )
        .unwrap();
        assert_eq!(r.pids().as_ref().unwrap().limit(), 100);
        assert_eq!(r.block_io().as_ref().unwrap().weight(), Some(300));
        let unlimited = resources(
            &HostConfig {
                pids_limit: Some(-1),
                ..Default::default()
            },
            &system(),
        )
        .unwrap();
        assert_eq!(unlimited.pids(), &None);
        assert_eq!(
            err(HostConfig {
                blkio_weight: Some(5),
                ..Default::default()
            }),
            "Range of blkio weight is from 10 to 1000"
        );
    }
}

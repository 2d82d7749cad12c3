//! Limits on cgroup v1 hierarchies: one function per controller, each writing the
//! files of that controller in the container's directory.

use std::path::Path;
use std::time::Duration;

use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxDeviceCgroup, LinuxDeviceType, LinuxHugepageLimit, LinuxMemory,
    LinuxNetwork, LinuxThrottleDevice,
};

use super::fs::{wait_until, Dir};
use super::CgroupError;

/// A new v1 cpuset cgroup starts with empty `cpuset.cpus`/`cpuset.mems` and refuses
/// tasks (ENOSPC); copy them down from the nearest ancestor that has them, level by
/// level, since every level on the way must be non-empty too.
pub(crate) fn init_cpuset(dir: &Path) -> Result<(), CgroupError> {
    let mut chain: Vec<&Path> = dir
        .ancestors()
        .take_while(|p| Dir(p).has("cpuset.cpus"))
        .collect();
    chain.reverse();
    for pair in chain.windows(2) {
        let (parent, child) = (Dir(pair[0]), Dir(pair[1]));
        for file in ["cpuset.cpus", "cpuset.mems"] {
            if child.read(file)?.is_empty() {
                child.write(file, &parent.read(file)?)?;
            }
        }
    }
    Ok(())
}

/// Memory limits. The memory limit may never exceed memory+swap (`memsw`), so when
/// both change the order of the writes depends on whether they grow or shrink.
pub(crate) fn memory(dir: Dir<'_>, memory: &LinuxMemory) -> Result<(), CgroupError> {
    let limit = memory.limit().filter(|&l| l != 0);
    let mut swap = memory.swap().filter(|&s| s != 0);
    // As runc: an unlimited memory update without a swap value also unlimits swap.
    if limit == Some(-1) && swap.is_none() && dir.has("memory.memsw.limit_in_bytes") {
        swap = Some(-1);
    }
    if let Some(swap) = swap {
        if !dir.has("memory.memsw.limit_in_bytes") && Some(swap) != limit && swap != -1 {
            return Err(CgroupError::InvalidResource {
                resource: "memory.swap",
                reason: "the kernel has no swap accounting (memory.memsw.limit_in_bytes)"
                    .to_owned(),
            });
        }
    }
    let swap = swap.filter(|_| dir.has("memory.memsw.limit_in_bytes"));
    match (limit, swap) {
        (Some(limit), Some(swap)) => {
            let current = dir.read_u64("memory.limit_in_bytes")?;
            let grows = swap == -1 || u64::try_from(swap).is_ok_and(|s| current < s);
            if grows {
                dir.write("memory.memsw.limit_in_bytes", &swap.to_string())?;
                dir.write("memory.limit_in_bytes", &limit.to_string())?;
            } else {
                dir.write("memory.limit_in_bytes", &limit.to_string())?;
                dir.write("memory.memsw.limit_in_bytes", &swap.to_string())?;
            }
        }
        (Some(limit), None) => dir.write("memory.limit_in_bytes", &limit.to_string())?,
        (None, Some(swap)) => dir.write("memory.memsw.limit_in_bytes", &swap.to_string())?,
        (None, None) => {}
    }
    if let Some(reservation) = memory.reservation().filter(|&r| r != 0) {
        dir.write("memory.soft_limit_in_bytes", &reservation.to_string())?;
    }
    if let Some(swappiness) = memory.swappiness() {
        if swappiness > 100 {
            return Err(CgroupError::InvalidResource {
                resource: "memory.swappiness",
                reason: format!("{swappiness} is above 100"),
            });
        }
        dir.write("memory.swappiness", &swappiness.to_string())?;
    }
    if memory.disable_oom_killer() == Some(true) {
        dir.write("memory.oom_control", "1")?;
    }
    // Kernel memory limits are deprecated and gone from recent kernels; write them only
    // where the files still exist.
    if let Some(kernel) = memory.kernel().filter(|&k| k != 0) {
        if dir.has("memory.kmem.limit_in_bytes") {
            dir.write("memory.kmem.limit_in_bytes", &kernel.to_string())?;
        }
    }
    if let Some(tcp) = memory.kernel_tcp().filter(|&k| k != 0) {
        if dir.has("memory.kmem.tcp.limit_in_bytes") {
            dir.write("memory.kmem.tcp.limit_in_bytes", &tcp.to_string())?;
        }
    }
    Ok(())
}

/// CPU bandwidth and weight.
pub(crate) fn cpu(dir: Dir<'_>, cpu: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(shares) = cpu.shares().filter(|&s| s != 0) {
        dir.write("cpu.shares", &shares.to_string())?;
    }
    if let Some(period) = cpu.period().filter(|&p| p != 0) {
        // A period write is refused when the current quota does not fit the new period;
        // runc then writes the quota first and the period again.
        if let Err(e) = dir.write("cpu.cfs_period_us", &period.to_string()) {
            match cpu.quota().filter(|&q| q != 0) {
                Some(quota) => {
                    dir.write("cpu.cfs_quota_us", &quota.to_string())?;
                    dir.write("cpu.cfs_period_us", &period.to_string())?;
                }
                None => return Err(e),
            }
        }
    }
    if let Some(quota) = cpu.quota().filter(|&q| q != 0) {
        dir.write("cpu.cfs_quota_us", &quota.to_string())?;
    }
    if let Some(burst) = cpu.burst() {
        dir.write("cpu.cfs_burst_us", &burst.to_string())?;
    }
    // The realtime period bounds the runtime, so it goes first.
    if let Some(period) = cpu.realtime_period().filter(|&p| p != 0) {
        dir.write("cpu.rt_period_us", &period.to_string())?;
    }
    if let Some(runtime) = cpu.realtime_runtime().filter(|&r| r != 0) {
        dir.write("cpu.rt_runtime_us", &runtime.to_string())?;
    }
    if let Some(idle) = cpu.idle() {
        dir.write("cpu.idle", &idle.to_string())?;
    }
    Ok(())
}

/// CPU and memory-node pinning (same file names on v1 and v2).
pub(crate) fn cpuset(dir: Dir<'_>, cpu: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(cpus) = cpu.cpus().as_deref().filter(|c| !c.is_empty()) {
        dir.write("cpuset.cpus", cpus)?;
    }
    if let Some(mems) = cpu.mems().as_deref().filter(|m| !m.is_empty()) {
        dir.write("cpuset.mems", mems)?;
    }
    Ok(())
}

/// Whether a blockIO section asks for nothing (runtimes often send `{}`).
pub(crate) fn blkio_is_empty(io: &LinuxBlockIo) -> bool {
    let none = |v: &Option<Vec<LinuxThrottleDevice>>| v.as_ref().is_none_or(Vec::is_empty);
    io.weight().unwrap_or(0) == 0
        && io.leaf_weight().unwrap_or(0) == 0
        && io.weight_device().as_ref().is_none_or(Vec::is_empty)
        && none(io.throttle_read_bps_device())
        && none(io.throttle_write_bps_device())
        && none(io.throttle_read_iops_device())
        && none(io.throttle_write_iops_device())
}

/// Block I/O weight and throttling. CFQ's `blkio.weight` is gone from kernels using
/// BFQ, whose `blkio.bfq.weight` takes the same range.
pub(crate) fn blkio(dir: Dir<'_>, io: &LinuxBlockIo) -> Result<(), CgroupError> {
    let prefix = if dir.has("blkio.weight") {
        "blkio."
    } else {
        "blkio.bfq."
    };
    // A zero weight means "unset" in runtime specs, as in runc.
    if let Some(weight) = io.weight().filter(|&w| w != 0) {
        dir.write(&format!("{prefix}weight"), &weight.to_string())?;
    }
    if let Some(weight) = io.leaf_weight().filter(|&w| w != 0) {
        dir.write("blkio.leaf_weight", &weight.to_string())?;
    }
    for device in io.weight_device().iter().flatten() {
        let (major, minor) = (device.major(), device.minor());
        if let Some(weight) = device.weight().filter(|&w| w != 0) {
            let file = format!("{prefix}weight_device");
            dir.write(&file, &format!("{major}:{minor} {weight}"))?;
        }
        if let Some(weight) = device.leaf_weight().filter(|&w| w != 0) {
            dir.write(
                "blkio.leaf_weight_device",
                &format!("{major}:{minor} {weight}"),
            )?;
        }
    }
    let throttles = [
        (
            "blkio.throttle.read_bps_device",
            io.throttle_read_bps_device(),
        ),
        (
            "blkio.throttle.write_bps_device",
            io.throttle_write_bps_device(),
        ),
        (
            "blkio.throttle.read_iops_device",
            io.throttle_read_iops_device(),
        ),
        (
            "blkio.throttle.write_iops_device",
            io.throttle_write_iops_device(),
        ),
    ];
    for (file, devices) in throttles {
        for d in devices.iter().flatten() {
            dir.write(file, &format!("{}:{} {}", d.major(), d.minor(), d.rate()))?;
        }
    }
    Ok(())
}

/// Huge page limits, `hugetlb.<size>.limit_in_bytes` (and the reservation limit where
/// the kernel has one, as runc does, so that reserved-but-unfaulted pages count too).
pub(crate) fn hugetlb(dir: Dir<'_>, limits: &[LinuxHugepageLimit]) -> Result<(), CgroupError> {
    for limit in limits {
        let size = limit.page_size();
        let value = limit.limit().to_string();
        dir.write(&format!("hugetlb.{size}.limit_in_bytes"), &value)?;
        let reserved = format!("hugetlb.{size}.rsvd.limit_in_bytes");
        if dir.has(&reserved) {
            dir.write(&reserved, &value)?;
        }
    }
    Ok(())
}

/// Network class id and interface priorities (net_cls / net_prio exist only on v1).
pub(crate) fn network(
    net_cls: Option<Dir<'_>>,
    net_prio: Option<Dir<'_>>,
    network: &LinuxNetwork,
) -> Result<(), CgroupError> {
    if let Some(class_id) = network.class_id() {
        let dir = net_cls.ok_or(CgroupError::MissingController {
            resource: "network.classID",
            controller: "net_cls",
        })?;
        dir.write("net_cls.classid", &class_id.to_string())?;
    }
    for priority in network.priorities().iter().flatten() {
        let dir = net_prio.ok_or(CgroupError::MissingController {
            resource: "network.priorities",
            controller: "net_prio",
        })?;
        let line = format!("{} {}", priority.name(), priority.priority());
        dir.write("net_prio.ifpriomap", &line)?;
    }
    Ok(())
}

/// The device allow-list: deny everything, then replay the spec's rules in order, as
/// each write to `devices.allow`/`devices.deny` amends the list the previous left.
pub(crate) fn devices(dir: Dir<'_>, rules: &[LinuxDeviceCgroup]) -> Result<(), CgroupError> {
    dir.write("devices.deny", "a")?;
    for rule in rules {
        let Some(line) = device_rule(rule) else {
            continue;
        };
        let file = if rule.allow() {
            "devices.allow"
        } else {
            "devices.deny"
        };
        dir.write(file, &line)?;
    }
    Ok(())
}

/// A rule in the kernel's `type major:minor access` syntax; missing numbers are
/// wildcards, missing access means all of `rwm`. `None` for FIFOs, which the device
/// controller never checks (and whose type letter it refuses).
pub(crate) fn device_rule(rule: &LinuxDeviceCgroup) -> Option<String> {
    let kind = match rule.typ().unwrap_or_default() {
        // The kernel takes "a" alone: all types, all numbers, all access.
        LinuxDeviceType::A => return Some("a".to_owned()),
        LinuxDeviceType::B => "b",
        // Unbuffered character devices are character devices to the kernel.
        LinuxDeviceType::C | LinuxDeviceType::U => "c",
        LinuxDeviceType::P => return None,
    };
    let number = |n: Option<i64>| {
        n.filter(|&n| n >= 0)
            .map_or("*".to_owned(), |n| n.to_string())
    };
    let access = rule
        .access()
        .as_deref()
        .filter(|a| !a.is_empty())
        .unwrap_or("rwm");
    Some(format!(
        "{kind} {}:{} {access}",
        number(rule.major()),
        number(rule.minor())
    ))
}

/// Freezes or thaws through `freezer.state`, waiting until the state settles; a freeze
/// can sit in FREEZING while tasks are in uninterruptible sleep, so the write is
/// repeated now and then, as runc does.
pub(crate) fn set_frozen(dir: Dir<'_>, frozen: bool) -> Result<(), CgroupError> {
    let want = if frozen { "FROZEN" } else { "THAWED" };
    let mut state = String::new();
    for _ in 0..50 {
        dir.write("freezer.state", want)?;
        let settled = wait_until(Duration::from_millis(100), || {
            state = dir.read("freezer.state")?;
            Ok(state == want)
        })?;
        if settled {
            return Ok(());
        }
    }
    // Leave no half-frozen cgroup behind.
    if frozen {
        dir.write("freezer.state", "THAWED")?;
    }
    Err(CgroupError::FreezeTimeout {
        path: dir.0.to_path_buf(),
        state,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use oci_spec::runtime::LinuxDeviceCgroupBuilder;

    use super::*;

    fn rule(typ: LinuxDeviceType, major: Option<i64>, access: Option<&str>) -> LinuxDeviceCgroup {
        let mut b = LinuxDeviceCgroupBuilder::default().allow(true).typ(typ);
        if let Some(major) = major {
            b = b.major(major);
        }
        if let Some(access) = access {
            b = b.access(access);
        }
        b.build().unwrap()
    }

    #[test]
    fn device_rules_use_the_kernels_syntax() {
        let line = |r| device_rule(&r);
        assert_eq!(
            line(rule(LinuxDeviceType::A, Some(1), Some("r"))).as_deref(),
            Some("a")
        );
        assert_eq!(
            line(rule(LinuxDeviceType::C, Some(1), Some("rw"))).as_deref(),
            Some("c 1:* rw")
        );
        assert_eq!(
            line(rule(LinuxDeviceType::U, None, None)).as_deref(),
            Some("c *:* rwm")
        );
        assert_eq!(
            line(rule(LinuxDeviceType::B, Some(8), Some(""))).as_deref(),
            Some("b 8:* rwm")
        );
        assert_eq!(line(rule(LinuxDeviceType::P, None, None)), None);
    }
}

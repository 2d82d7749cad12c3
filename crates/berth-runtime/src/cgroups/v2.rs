//! Limits on the unified (v2) hierarchy. Values use v2's units, converted from the
//! spec's v1-shaped fields with runc's formulas so that a spec behaves the same under
//! berth and runc.

use std::collections::HashMap;
use std::path::{Component, Path};
use std::time::Duration;

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxHugepageLimit, LinuxMemory, LinuxRdma};

use super::fs::{wait_until, Dir};
use super::CgroupError;

/// Enables `controllers` in `cgroup.subtree_control` of every ancestor of `dir` from
/// the mount point down, so that their files appear in `dir`.
///
/// Best effort, as runc: an ancestor that holds processes refuses to delegate (EBUSY),
/// and a controller the kernel lacks cannot be enabled; the error then surfaces as a
/// missing file when a limit that needs the controller is written.
pub(crate) fn enable_controllers(mount_point: &Path, dir: &Path, controllers: &[String]) {
    let Ok(inside) = dir.strip_prefix(mount_point) else {
        return;
    };
    let mut level = mount_point.to_path_buf();
    for component in inside.components() {
        let parent = Dir(&level);
        let available = parent.read("cgroup.controllers").unwrap_or_default();
        for controller in controllers {
            if available.split_whitespace().any(|c| c == controller) {
                // Ignored on purpose, see above.
                let _ = parent.write("cgroup.subtree_control", &format!("+{controller}"));
            }
        }
        if let Component::Normal(name) = component {
            level.push(name);
        }
    }
}

/// Writes `value`, or "max" for runc's "unlimited" (-1).
fn limit_or_max(value: i64) -> String {
    if value < 0 {
        "max".to_owned()
    } else {
        value.to_string()
    }
}

/// `memory.swap.max` from the spec's memory+swap total, as runc's
/// `ConvertMemorySwapToCgroupV2Value`: v2 limits swap alone.
pub(crate) fn swap_max(swap: i64, limit: Option<i64>) -> Result<Option<String>, CgroupError> {
    let invalid = |reason: String| CgroupError::InvalidResource {
        resource: "memory.swap",
        reason,
    };
    match (swap, limit) {
        (0, _) => Ok(None),
        (-1, _) => Ok(Some("max".to_owned())),
        (_, None | Some(0) | Some(-1)) => Err(invalid(
            "a swap limit needs a memory limit on cgroup v2".to_owned(),
        )),
        (swap, Some(limit)) if limit > swap => Err(invalid(format!(
            "memory+swap {swap} is below the memory limit {limit}"
        ))),
        (swap, Some(limit)) => Ok(Some((swap - limit).to_string())),
    }
}

/// Memory limits. v2 has no OOM-killer switch and no swappiness; those fields are
/// ignored there, as runc ignores them.
pub(crate) fn memory(dir: Dir<'_>, memory: &LinuxMemory) -> Result<(), CgroupError> {
    let limit = memory.limit().filter(|&l| l != 0);
    if let Some(swap) = memory.swap() {
        if let Some(value) = swap_max(swap, limit)? {
            // Without swap accounting the file is missing; unlimited swap is then moot.
            if dir.has("memory.swap.max") || value != "max" {
                dir.write("memory.swap.max", &value)?;
            }
        }
    }
    if let Some(limit) = limit {
        dir.write("memory.max", &limit_or_max(limit))?;
    }
    if let Some(reservation) = memory.reservation().filter(|&r| r != 0) {
        dir.write("memory.low", &limit_or_max(reservation))?;
    }
    Ok(())
}

/// runc's conversion of v1 `cpu.shares` (2..262144) to v2 `cpu.weight` (1..10000).
pub(crate) fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    1 + (shares.saturating_sub(2) * 9999) / 262142
}

/// CPU weight and bandwidth.
pub(crate) fn cpu(dir: Dir<'_>, cpu: &LinuxCpu) -> Result<(), CgroupError> {
    if let Some(shares) = cpu.shares().filter(|&s| s != 0) {
        dir.write("cpu.weight", &shares_to_weight(shares).to_string())?;
    }
    let quota = cpu.quota().unwrap_or(0);
    let period = cpu.period().unwrap_or(0);
    if quota != 0 || period != 0 {
        let mut value = if quota > 0 {
            quota.to_string()
        } else {
            "max".to_owned()
        };
        if period != 0 {
            value.push_str(&format!(" {period}"));
        }
        dir.write("cpu.max", &value)?;
    }
    if let Some(burst) = cpu.burst() {
        dir.write("cpu.max.burst", &burst.to_string())?;
    }
    if let Some(idle) = cpu.idle() {
        dir.write("cpu.idle", &idle.to_string())?;
    }
    if cpu.realtime_runtime().is_some_and(|r| r != 0)
        || cpu.realtime_period().is_some_and(|p| p != 0)
    {
        return Err(CgroupError::InvalidResource {
            resource: "cpu.realtimeRuntime",
            reason: "realtime scheduling limits do not exist on cgroup v2".to_owned(),
        });
    }
    Ok(())
}

/// runc's conversion of a v1 blkio weight (10..1000) to v2 `io.weight` (1..10000).
pub(crate) fn blkio_weight_to_io(weight: u16) -> u64 {
    if weight == 0 {
        return 0;
    }
    1 + (u64::from(weight).saturating_sub(10)) * 9999 / 990
}

/// I/O weight and throttling. BFQ's `io.bfq.weight` takes v1's range unchanged.
pub(crate) fn io(dir: Dir<'_>, io: &LinuxBlockIo) -> Result<(), CgroupError> {
    // A zero weight means "unset" in runtime specs, as in runc.
    if let Some(weight) = io.weight().filter(|&w| w != 0) {
        if dir.has("io.bfq.weight") {
            dir.write("io.bfq.weight", &weight.to_string())?;
        } else {
            dir.write("io.weight", &blkio_weight_to_io(weight).to_string())?;
        }
    }
    for device in io.weight_device().iter().flatten() {
        if let Some(weight) = device.weight().filter(|&w| w != 0) {
            let line = format!("{}:{} {weight}", device.major(), device.minor());
            dir.write("io.bfq.weight", &line)?;
        }
    }
    let throttles = [
        ("rbps", io.throttle_read_bps_device()),
        ("wbps", io.throttle_write_bps_device()),
        ("riops", io.throttle_read_iops_device()),
        ("wiops", io.throttle_write_iops_device()),
    ];
    for (key, devices) in throttles {
        for d in devices.iter().flatten() {
            let rate = if d.rate() == 0 {
                "max".to_owned()
            } else {
                d.rate().to_string()
            };
            dir.write(
                "io.max",
                &format!("{}:{} {key}={rate}", d.major(), d.minor()),
            )?;
        }
    }
    Ok(())
}

/// Huge page limits, `hugetlb.<size>.max` (and `.rsvd.max` where present).
pub(crate) fn hugetlb(dir: Dir<'_>, limits: &[LinuxHugepageLimit]) -> Result<(), CgroupError> {
    for limit in limits {
        let size = limit.page_size();
        let value = limit_or_max(limit.limit());
        dir.write(&format!("hugetlb.{size}.max"), &value)?;
        let reserved = format!("hugetlb.{size}.rsvd.max");
        if dir.has(&reserved) {
            dir.write(&reserved, &value)?;
        }
    }
    Ok(())
}

/// RDMA limits, one `rdma.max` line per device (the same syntax on v1 and v2).
pub(crate) fn rdma(dir: Dir<'_>, rdma: &HashMap<String, LinuxRdma>) -> Result<(), CgroupError> {
    let mut devices: Vec<&String> = rdma.keys().collect();
    devices.sort();
    for device in devices {
        let limit = &rdma[device];
        let mut line = device.clone();
        if let Some(handles) = limit.hca_handles() {
            line.push_str(&format!(" hca_handle={handles}"));
        }
        if let Some(objects) = limit.hca_objects() {
            line.push_str(&format!(" hca_object={objects}"));
        }
        if line != *device {
            dir.write("rdma.max", &line)?;
        }
    }
    Ok(())
}

/// The spec's `unified` map: raw file names and values, written as given. Names must
/// be plain files of the cgroup directory.
pub(crate) fn unified_files(
    dir: Dir<'_>,
    files: &HashMap<String, String>,
) -> Result<(), CgroupError> {
    let mut names: Vec<&String> = files.keys().collect();
    names.sort();
    for name in names {
        if name.is_empty() || name.contains('/') || name.starts_with('.') {
            return Err(CgroupError::InvalidResource {
                resource: "unified",
                reason: format!("`{name}` is not a cgroup file name"),
            });
        }
        dir.write(name, &files[name])?;
    }
    Ok(())
}

/// Whether `cgroup.events` reports the cgroup frozen.
pub(crate) fn is_frozen(dir: Dir<'_>) -> Result<bool, CgroupError> {
    Ok(dir.read_keyed("cgroup.events")?.get("frozen") == Some(&1))
}

/// Freezes or thaws through `cgroup.freeze` and waits for `cgroup.events` to agree.
pub(crate) fn set_frozen(dir: Dir<'_>, frozen: bool) -> Result<(), CgroupError> {
    dir.write("cgroup.freeze", if frozen { "1" } else { "0" })?;
    let settled = wait_until(Duration::from_secs(5), || Ok(is_frozen(dir)? == frozen))?;
    if settled {
        return Ok(());
    }
    if frozen {
        dir.write("cgroup.freeze", "0")?;
    }
    Err(CgroupError::FreezeTimeout {
        path: dir.0.to_path_buf(),
        state: format!("frozen {}", u8::from(!frozen)),
    })
}

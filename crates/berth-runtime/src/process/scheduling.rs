//! `process.ioPriority`, `process.scheduler` and `process.execCPUAffinity`.

use super::ProcessError;
use nix::errno::Errno;
use nix::sched::{sched_setaffinity, CpuSet};
use nix::unistd::Pid;
use oci_spec::runtime::{
    IOPriorityClass, LinuxIOPriority, LinuxSchedulerFlag, LinuxSchedulerPolicy, Scheduler,
};

/// `IOPRIO_WHO_PROCESS`: the target of `ioprio_set` is one process (0: the caller).
const IOPRIO_WHO_PROCESS: libc::c_int = 1;
/// Where the class sits in an I/O priority value.
const IOPRIO_CLASS_SHIFT: u32 = 13;

/// Sets the I/O priority with `ioprio_set(2)`; priorities go from 0 (highest) to 7.
pub fn set_io_priority(io: &LinuxIOPriority) -> Result<(), ProcessError> {
    let error = |source| ProcessError::IoPriority {
        class: io.class().to_string(),
        priority: io.priority(),
        source,
    };
    let priority = match u32::try_from(io.priority()) {
        Ok(p) if p <= 7 => p,
        _ => return Err(error(Errno::EINVAL)),
    };
    let class: u32 = match io.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    let value = (class << IOPRIO_CLASS_SHIFT) | priority;
    // SAFETY: ioprio_set takes integers only.
    let ret = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, value) };
    if ret != 0 {
        return Err(error(Errno::last()));
    }
    Ok(())
}

/// The kernel's `struct sched_attr` (`SCHED_ATTR_SIZE_VER1`).
#[repr(C)]
#[derive(Debug, Default)]
pub struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
    util_min: u32,
    util_max: u32,
}

/// The `sched_setattr(2)` argument for the spec's scheduler.
pub fn sched_attr(scheduler: &Scheduler) -> SchedAttr {
    let policy = match scheduler.policy() {
        LinuxSchedulerPolicy::SchedOther => libc::SCHED_OTHER,
        LinuxSchedulerPolicy::SchedFifo => libc::SCHED_FIFO,
        LinuxSchedulerPolicy::SchedRr => libc::SCHED_RR,
        LinuxSchedulerPolicy::SchedBatch => libc::SCHED_BATCH,
        // SCHED_ISO was reserved but never merged into Linux: the kernel refuses it.
        LinuxSchedulerPolicy::SchedIso => 4,
        LinuxSchedulerPolicy::SchedIdle => libc::SCHED_IDLE,
        LinuxSchedulerPolicy::SchedDeadline => 6,
    };
    let flags = scheduler.flags().iter().flatten().fold(0u64, |bits, flag| {
        bits | match flag {
            LinuxSchedulerFlag::SchedResetOnFork => 0x01,
            LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
            LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
            LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
            LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
            LinuxSchedulerFlag::SchedFlagUtilClampMin => 0x20,
            LinuxSchedulerFlag::SchedFlagUtilClampMax => 0x40,
        }
    });
    SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        policy: policy as u32,
        flags,
        nice: scheduler.nice().unwrap_or(0),
        priority: scheduler.priority().unwrap_or(0) as u32,
        runtime: scheduler.runtime().unwrap_or(0),
        deadline: scheduler.deadline().unwrap_or(0),
        period: scheduler.period().unwrap_or(0),
        // The spec has no clamp values: with the clamp flags, the full range.
        util_min: 0,
        util_max: 1024,
    }
}

/// Sets the scheduling policy and attributes with `sched_setattr(2)`.
pub fn set_scheduler(scheduler: &Scheduler) -> Result<(), ProcessError> {
    let attr = sched_attr(scheduler);
    // SAFETY: `attr` is a valid sched_attr whose `size` is its own size; the kernel only
    // reads it.
    let ret = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const SchedAttr, 0) };
    if ret != 0 {
        return Err(ProcessError::Scheduler {
            policy: scheduler.policy().to_string(),
            source: Errno::last(),
        });
    }
    Ok(())
}

/// Restricts the calling thread to the CPUs of `cpus` (`"0-3,7"`).
pub fn set_cpu_affinity(cpus: &str) -> Result<(), ProcessError> {
    let set = parse_cpu_list(cpus)?;
    sched_setaffinity(Pid::from_raw(0), &set).map_err(|source| ProcessError::CpuAffinity {
        cpus: cpus.to_string(),
        source,
    })
}

/// Parses a CPU list: comma-separated CPU numbers and `first-last` ranges.
pub fn parse_cpu_list(cpus: &str) -> Result<CpuSet, ProcessError> {
    let invalid = || ProcessError::CpuList {
        cpus: cpus.to_string(),
    };
    let mut set = CpuSet::new();
    for part in cpus.split(',') {
        let (first, last) = match part.split_once('-') {
            Some((first, last)) => (first, last),
            None => (part, part),
        };
        let first: usize = first.trim().parse().map_err(|_| invalid())?;
        let last: usize = last.trim().parse().map_err(|_| invalid())?;
        if first > last {
            return Err(invalid());
        }
        for cpu in first..=last {
            set.set(cpu).map_err(|_| invalid())?;
        }
    }
    Ok(set)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_with_ranges() {
        let set = parse_cpu_list("0-2,5").unwrap();
        for cpu in 0..8 {
            assert_eq!(
                set.is_set(cpu).unwrap(),
                [0, 1, 2, 5].contains(&cpu),
                "{cpu}"
            );
        }
    }

    #[test]
    fn bad_cpu_lists_are_errors_naming_the_list() {
        for bad in ["", "a", "3-1", "1,,2", "99999999"] {
            let err = parse_cpu_list(bad).unwrap_err();
            assert_eq!(err.to_string(), format!("invalid CPU list `{bad}`"));
        }
    }

    #[test]
    fn scheduler_policies_and_flags_map_to_the_kernel_values() {
        let scheduler: Scheduler = serde_json::from_value(serde_json::json!({
            "policy": "SCHED_BATCH",
            "nice": 5,
            "flags": ["SCHED_RESET_ON_FORK", "SCHED_FLAG_KEEP_PARAMS"]
        }))
        .unwrap();
        let attr = sched_attr(&scheduler);
        assert_eq!(attr.policy, libc::SCHED_BATCH as u32);
        assert_eq!(attr.nice, 5);
        assert_eq!(attr.flags, 0x11);
        assert_eq!(attr.size, 56);
    }
}

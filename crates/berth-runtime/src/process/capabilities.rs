//! The five capability sets of `process.capabilities`.
//!
//! Sets are handled as bitmasks over the capabilities the running kernel knows: a
//! capability of the spec that the kernel is too old for is skipped (as runc does), and a
//! capability the kernel knows but the spec cannot name (a kernel newer than this code) is
//! dropped from the bounding set like any other capability not asked for.

use super::ProcessError;
use caps::Capability as Cap;
use nix::errno::Errno;
use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};

/// The five sets, as bitmasks (bit n = capability number n).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CapabilitySets {
    /// The bounding set.
    pub bounding: u64,
    /// The effective set.
    pub effective: u64,
    /// The permitted set.
    pub permitted: u64,
    /// The inheritable set.
    pub inheritable: u64,
    /// The ambient set.
    pub ambient: u64,
    /// The highest capability number the running kernel knows.
    pub last_cap: u8,
}

impl CapabilitySets {
    /// The sets the spec asks for, trimmed to what the running kernel knows; `None`
    /// means every set empty.
    pub fn from_spec(spec: Option<&LinuxCapabilities>) -> Self {
        let last_cap = last_cap();
        let mask = |set: Option<&Capabilities>| {
            set.map_or(0, |set| bitmask(set.iter().copied().map(to_caps))) & known_mask(last_cap)
        };
        match spec {
            None => CapabilitySets {
                last_cap,
                ..Default::default()
            },
            Some(spec) => CapabilitySets {
                bounding: mask(spec.bounding().as_ref()),
                effective: mask(spec.effective().as_ref()),
                permitted: mask(spec.permitted().as_ref()),
                inheritable: mask(spec.inheritable().as_ref()),
                ambient: mask(spec.ambient().as_ref()),
                last_cap,
            },
        }
    }

    /// Drops from the bounding set every capability not in `self.bounding`. Needs
    /// `CAP_SETPCAP`, so it runs before the uid switch.
    pub fn drop_bounding(&self) -> Result<(), ProcessError> {
        for cap in 0..=self.last_cap {
            if self.bounding & (1 << cap) != 0 {
                continue;
            }
            // SAFETY: PR_CAPBSET_DROP takes a capability number and touches no memory of ours.
            let ret =
                unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0, 0, 0) };
            if ret != 0 {
                return Err(ProcessError::BoundingDrop {
                    capability: name(cap),
                    source: Errno::last(),
                });
            }
        }
        Ok(())
    }

    /// Sets the effective, permitted and inheritable sets in one `capset(2)`, then makes
    /// the ambient set exactly `self.ambient` (only capabilities both permitted and
    /// inheritable can be ambient; the others are left out, as the kernel demands).
    pub fn apply(&self) -> Result<(), ProcessError> {
        capset(self.effective, self.permitted, self.inheritable).map_err(|source| {
            let (capability, reason) = self.diagnose();
            ProcessError::CapabilitySets {
                capability,
                reason,
                source,
            }
        })?;

        let ambient = self.ambient & self.permitted & self.inheritable;
        if let Err(source) = ambient_op(libc::PR_CAP_AMBIENT_CLEAR_ALL, 0) {
            // A kernel without ambient capabilities (before 4.3) has nothing to clear.
            if ambient != 0 || source != Errno::EINVAL {
                return Err(ProcessError::Sys {
                    what: "cannot clear the ambient capability set".to_string(),
                    source,
                });
            }
        }
        for cap in (0..=self.last_cap).filter(|cap| ambient & (1 << cap) != 0) {
            ambient_op(libc::PR_CAP_AMBIENT_RAISE, cap).map_err(|source| {
                ProcessError::Ambient {
                    capability: name(cap),
                    source,
                }
            })?;
        }
        Ok(())
    }

    /// Names the first capability the kernel would refuse in [`Self::apply`], and why.
    fn diagnose(&self) -> (Option<String>, String) {
        let current = capget().unwrap_or_default();
        let bounding = read_bounding(self.last_cap);
        let checks = [
            (
                self.effective & !self.permitted,
                "is effective but not permitted",
            ),
            (
                self.permitted & !current.permitted,
                "is not in the process's permitted set",
            ),
            (
                self.inheritable & !(current.inheritable | bounding),
                "is inheritable but not in the bounding set",
            ),
        ];
        match checks.into_iter().find(|(bad, _)| *bad != 0) {
            Some((bad, why)) => {
                let cap = name(bad.trailing_zeros() as u8);
                let reason = format!("`{cap}` {why}");
                (Some(cap), reason)
            }
            None => (None, "refused by the kernel".to_string()),
        }
    }
}

/// The caps crate's capability for the spec's.
pub fn to_caps(cap: Capability) -> Cap {
    match cap {
        Capability::AuditControl => Cap::CAP_AUDIT_CONTROL,
        Capability::AuditRead => Cap::CAP_AUDIT_READ,
        Capability::AuditWrite => Cap::CAP_AUDIT_WRITE,
        Capability::BlockSuspend => Cap::CAP_BLOCK_SUSPEND,
        Capability::Bpf => Cap::CAP_BPF,
        Capability::CheckpointRestore => Cap::CAP_CHECKPOINT_RESTORE,
        Capability::Chown => Cap::CAP_CHOWN,
        Capability::DacOverride => Cap::CAP_DAC_OVERRIDE,
        Capability::DacReadSearch => Cap::CAP_DAC_READ_SEARCH,
        Capability::Fowner => Cap::CAP_FOWNER,
        Capability::Fsetid => Cap::CAP_FSETID,
        Capability::IpcLock => Cap::CAP_IPC_LOCK,
        Capability::IpcOwner => Cap::CAP_IPC_OWNER,
        Capability::Kill => Cap::CAP_KILL,
        Capability::Lease => Cap::CAP_LEASE,
        Capability::LinuxImmutable => Cap::CAP_LINUX_IMMUTABLE,
        Capability::MacAdmin => Cap::CAP_MAC_ADMIN,
        Capability::MacOverride => Cap::CAP_MAC_OVERRIDE,
        Capability::Mknod => Cap::CAP_MKNOD,
        Capability::NetAdmin => Cap::CAP_NET_ADMIN,
        Capability::NetBindService => Cap::CAP_NET_BIND_SERVICE,
        Capability::NetBroadcast => Cap::CAP_NET_BROADCAST,
        Capability::NetRaw => Cap::CAP_NET_RAW,
        Capability::Perfmon => Cap::CAP_PERFMON,
        Capability::Setgid => Cap::CAP_SETGID,
        Capability::Setfcap => Cap::CAP_SETFCAP,
        Capability::Setpcap => Cap::CAP_SETPCAP,
        Capability::Setuid => Cap::CAP_SETUID,
        Capability::SysAdmin => Cap::CAP_SYS_ADMIN,
        Capability::SysBoot => Cap::CAP_SYS_BOOT,
        Capability::SysChroot => Cap::CAP_SYS_CHROOT,
        Capability::SysModule => Cap::CAP_SYS_MODULE,
        Capability::SysNice => Cap::CAP_SYS_NICE,
        Capability::SysPacct => Cap::CAP_SYS_PACCT,
        Capability::SysPtrace => Cap::CAP_SYS_PTRACE,
        Capability::SysRawio => Cap::CAP_SYS_RAWIO,
        Capability::SysResource => Cap::CAP_SYS_RESOURCE,
        Capability::SysTime => Cap::CAP_SYS_TIME,
        Capability::SysTtyConfig => Cap::CAP_SYS_TTY_CONFIG,
        Capability::Syslog => Cap::CAP_SYSLOG,
        Capability::WakeAlarm => Cap::CAP_WAKE_ALARM,
    }
}

/// The bitmask of `caps`.
pub fn bitmask(caps: impl IntoIterator<Item = Cap>) -> u64 {
    caps.into_iter().fold(0, |mask, cap| mask | cap.bitmask())
}

/// The bits of capabilities 0 to `last_cap`.
fn known_mask(last_cap: u8) -> u64 {
    u64::MAX >> (63 - u32::from(last_cap.min(63)))
}

/// The highest capability number the running kernel knows: what
/// `/proc/sys/kernel/cap_last_cap` says, found without procfs (which may not be mounted
/// or may be masked in the container) by asking `PR_CAPBSET_READ`, which fails with
/// `EINVAL` past the last capability.
pub fn last_cap() -> u8 {
    let mut last = 0;
    for cap in 0..64u8 {
        // SAFETY: PR_CAPBSET_READ takes a capability number and touches no memory of ours.
        let ret = unsafe { libc::prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(cap), 0, 0, 0) };
        if ret < 0 {
            break;
        }
        last = cap;
    }
    last
}

/// The capability's name (`CAP_CHOWN`), or its number when this code does not know it.
pub fn name(cap: u8) -> String {
    caps::all()
        .into_iter()
        .find(|c| c.index() == cap)
        .map_or_else(|| format!("capability {cap}"), |c| c.to_string())
}

/// The current bounding set, as a bitmask.
fn read_bounding(last_cap: u8) -> u64 {
    (0..=last_cap)
        .filter(|&cap| {
            // SAFETY: PR_CAPBSET_READ takes a capability number and touches no memory of ours.
            unsafe { libc::prctl(libc::PR_CAPBSET_READ, libc::c_ulong::from(cap), 0, 0, 0) == 1 }
        })
        .fold(0, |mask, cap| mask | (1 << cap))
}

/// `prctl(PR_CAP_AMBIENT, op, cap)`.
fn ambient_op(op: libc::c_int, cap: u8) -> Result<(), Errno> {
    // SAFETY: PR_CAP_AMBIENT takes integers only and touches no memory of ours.
    let ret = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            op as libc::c_ulong,
            libc::c_ulong::from(cap),
            0,
            0,
        )
    };
    if ret == 0 {
        Ok(())
    } else {
        Err(Errno::last())
    }
}

/// `_LINUX_CAPABILITY_VERSION_3`: 64-bit sets, as two 32-bit halves.
const CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// The kernel's `struct __user_cap_header_struct`.
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

/// The kernel's `struct __user_cap_data_struct`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The calling thread's effective, permitted and inheritable sets.
#[derive(Debug, Default)]
struct BaseSets {
    permitted: u64,
    inheritable: u64,
}

/// Reads the calling thread's base sets.
fn capget() -> Result<BaseSets, Errno> {
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: header and the two data structs are valid for the writes version 3 makes.
    let ret = unsafe { libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) };
    if ret != 0 {
        return Err(Errno::last());
    }
    let join = |low: u32, high: u32| u64::from(low) | (u64::from(high) << 32);
    Ok(BaseSets {
        permitted: join(data[0].permitted, data[1].permitted),
        inheritable: join(data[0].inheritable, data[1].inheritable),
    })
}

/// Sets the calling thread's effective, permitted and inheritable sets at once, so that
/// no intermediate state has to satisfy the kernel's rules.
fn capset(effective: u64, permitted: u64, inheritable: u64) -> Result<(), Errno> {
    let mut header = CapHeader {
        version: CAPABILITY_VERSION_3,
        pid: 0,
    };
    let half = |bits: u64, high: bool| {
        if high {
            (bits >> 32) as u32
        } else {
            bits as u32
        }
    };
    let data = [false, true].map(|high| CapData {
        effective: half(effective, high),
        permitted: half(permitted, high),
        inheritable: half(inheritable, high),
    });
    // SAFETY: header and the two data structs are valid for the reads version 3 makes.
    let ret = unsafe { libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) };
    if ret == 0 {
        Ok(())
    } else {
        Err(Errno::last())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_capability_maps_to_the_capability_of_the_same_name() {
        let names = [
            "CAP_AUDIT_CONTROL",
            "CAP_AUDIT_READ",
            "CAP_AUDIT_WRITE",
            "CAP_BLOCK_SUSPEND",
            "CAP_BPF",
            "CAP_CHECKPOINT_RESTORE",
            "CAP_CHOWN",
            "CAP_DAC_OVERRIDE",
            "CAP_DAC_READ_SEARCH",
            "CAP_FOWNER",
            "CAP_FSETID",
            "CAP_IPC_LOCK",
            "CAP_IPC_OWNER",
            "CAP_KILL",
            "CAP_LEASE",
            "CAP_LINUX_IMMUTABLE",
            "CAP_MAC_ADMIN",
            "CAP_MAC_OVERRIDE",
            "CAP_MKNOD",
            "CAP_NET_ADMIN",
            "CAP_NET_BIND_SERVICE",
            "CAP_NET_BROADCAST",
            "CAP_NET_RAW",
            "CAP_PERFMON",
            "CAP_SETGID",
            "CAP_SETFCAP",
            "CAP_SETPCAP",
            "CAP_SETUID",
            "CAP_SYS_ADMIN",
            "CAP_SYS_BOOT",
            "CAP_SYS_CHROOT",
            "CAP_SYS_MODULE",
            "CAP_SYS_NICE",
            "CAP_SYS_PACCT",
            "CAP_SYS_PTRACE",
            "CAP_SYS_RAWIO",
            "CAP_SYS_RESOURCE",
            "CAP_SYS_TIME",
            "CAP_SYS_TTY_CONFIG",
            "CAP_SYSLOG",
            "CAP_WAKE_ALARM",
        ];
        for name in names {
            let spec: Capability = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(to_caps(spec).to_string(), name);
        }
        assert_eq!(names.len(), caps::all().len());
    }

    #[test]
    fn none_means_every_set_empty() {
        let sets = CapabilitySets::from_spec(None);
        assert_eq!(
            (
                sets.bounding,
                sets.effective,
                sets.permitted,
                sets.inheritable,
                sets.ambient
            ),
            (0, 0, 0, 0, 0)
        );
    }

    #[test]
    fn sets_become_bitmasks_of_capability_numbers() {
        let spec: LinuxCapabilities = serde_json::from_value(serde_json::json!({
            "bounding": ["CAP_CHOWN", "CAP_KILL"],
            "effective": ["CAP_KILL"],
            "permitted": ["CAP_CHOWN", "CAP_KILL"],
            "ambient": ["CAP_NET_BIND_SERVICE"],
        }))
        .unwrap();
        let sets = CapabilitySets::from_spec(Some(&spec));
        assert_eq!(sets.bounding, (1 << 0) | (1 << 5));
        assert_eq!(sets.effective, 1 << 5);
        assert_eq!(sets.permitted, (1 << 0) | (1 << 5));
        assert_eq!(sets.inheritable, 0);
        assert_eq!(sets.ambient, 1 << 10);
    }

    #[test]
    fn last_cap_agrees_with_procfs() {
        let procfs = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap").unwrap();
        assert_eq!(last_cap().to_string(), procfs.trim());
    }

    #[test]
    fn known_mask_covers_capabilities_up_to_the_last() {
        assert_eq!(known_mask(0), 1);
        assert_eq!(known_mask(40), (1 << 41) - 1);
        assert_eq!(known_mask(63), u64::MAX);
    }
}

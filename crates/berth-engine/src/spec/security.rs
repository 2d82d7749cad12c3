//! `--security-opt` and capabilities.
//!
//! Security options are parsed as dockerd does: `no-new-privileges` alone, otherwise
//! `KEY=VALUE` (or the deprecated `KEY:VALUE`) with the keys `label` (SELinux; ignored,
//! berth does not label), `apparmor` (ignored, berth loads no AppArmor profile),
//! `seccomp`, `no-new-privileges`, `systempaths` and `writable-cgroups`. Anything else is
//! refused with dockerd's message.

use std::collections::HashSet;

use oci_spec::runtime::{Capabilities, Capability};

use super::SpecError;

/// Docker's default capability set.
pub const DEFAULT_CAPABILITIES: [Capability; 14] = [
    Capability::Chown,
    Capability::DacOverride,
    Capability::Fsetid,
    Capability::Fowner,
    Capability::Mknod,
    Capability::NetRaw,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setfcap,
    Capability::Setpcap,
    Capability::NetBindService,
    Capability::SysChroot,
    Capability::Kill,
    Capability::AuditWrite,
];

/// Every capability Linux defines (up to `CAP_CHECKPOINT_RESTORE`, 40), for `ALL` and
/// `--privileged`.
pub const ALL_CAPABILITIES: [Capability; 41] = [
    Capability::Chown,
    Capability::DacOverride,
    Capability::DacReadSearch,
    Capability::Fowner,
    Capability::Fsetid,
    Capability::Kill,
    Capability::Setgid,
    Capability::Setuid,
    Capability::Setpcap,
    Capability::LinuxImmutable,
    Capability::NetBindService,
    Capability::NetBroadcast,
    Capability::NetAdmin,
    Capability::NetRaw,
    Capability::IpcLock,
    Capability::IpcOwner,
    Capability::SysModule,
    Capability::SysRawio,
    Capability::SysChroot,
    Capability::SysPtrace,
    Capability::SysPacct,
    Capability::SysAdmin,
    Capability::SysBoot,
    Capability::SysNice,
    Capability::SysResource,
    Capability::SysTime,
    Capability::SysTtyConfig,
    Capability::Mknod,
    Capability::Lease,
    Capability::AuditWrite,
    Capability::AuditControl,
    Capability::Setfcap,
    Capability::MacOverride,
    Capability::MacAdmin,
    Capability::Syslog,
    Capability::WakeAlarm,
    Capability::BlockSuspend,
    Capability::AuditRead,
    Capability::Perfmon,
    Capability::Bpf,
    Capability::CheckpointRestore,
];

/// Where the seccomp filter comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeccompChoice {
    /// berth's default profile (also `seccomp=builtin`).
    Default,
    /// No filter (`seccomp=unconfined`).
    Unconfined,
    /// A Docker-format profile: its JSON text (what the docker CLI sends after reading the
    /// file) or a path on the daemon's host.
    Profile(String),
}

/// The security options that change the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityOptions {
    /// `no-new-privileges`.
    pub no_new_privileges: bool,
    /// `seccomp=`.
    pub seccomp: SeccompChoice,
    /// `systempaths=unconfined`: no masked or read-only paths.
    pub unconfined_system_paths: bool,
    /// `writable-cgroups=true`: `/sys/fs/cgroup` mounted read-write.
    pub writable_cgroups: bool,
}

/// Parses `HostConfig.SecurityOpt`.
pub fn parse_security_opts(opts: &[String]) -> Result<SecurityOptions, SpecError> {
    let mut parsed = SecurityOptions {
        no_new_privileges: false,
        seccomp: SeccompChoice::Default,
        unconfined_system_paths: false,
        writable_cgroups: false,
    };
    for opt in opts {
        if opt == "no-new-privileges" {
            parsed.no_new_privileges = true;
            continue;
        }
        if opt == "disable" {
            // The old spelling of `label=disable`.
            continue;
        }
        let (key, value) = opt
            .split_once('=')
            .or_else(|| opt.split_once(':'))
            .ok_or_else(|| SpecError::Invalid(format!("invalid --security-opt 1: {opt:?}")))?;
        let bad_value = || SpecError::Invalid(format!("invalid --security-opt 2: {opt:?}"));
        match key {
            "label" | "apparmor" => {}
            "seccomp" => {
                parsed.seccomp = match value {
                    "unconfined" => SeccompChoice::Unconfined,
                    "builtin" | "" => SeccompChoice::Default,
                    profile => SeccompChoice::Profile(profile.to_string()),
                }
            }
            "no-new-privileges" => {
                parsed.no_new_privileges = parse_go_bool(value).ok_or_else(bad_value)?
            }
            "writable-cgroups" => {
                parsed.writable_cgroups = parse_go_bool(value).ok_or_else(bad_value)?
            }
            "systempaths" if value == "unconfined" => parsed.unconfined_system_paths = true,
            _ => return Err(bad_value()),
        }
    }
    Ok(parsed)
}

/// Go's `strconv.ParseBool`.
fn parse_go_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// A capability name as users write it: `net_admin`, `CAP_NET_ADMIN`, `Net_Admin`.
pub fn parse_capability(name: &str) -> Result<Capability, SpecError> {
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    bare.parse()
        .map_err(|_| SpecError::Invalid(format!("unknown capability: \"CAP_{bare}\"")))
}

/// Whether the daemon's own bounding set holds `cap`: "all capabilities" means all that
/// the host can give (a daemon in a restricted sandbox cannot grant what it lacks).
fn host_allows(cap: &Capability) -> bool {
    static BOUNDING: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();
    let bounding = BOUNDING.get_or_init(|| {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let hex = status
            .lines()
            .find_map(|l| l.strip_prefix("CapBnd:"))?
            .trim();
        u64::from_str_radix(hex, 16).ok()
    });
    let Some(bounding) = bounding else {
        return true;
    };
    let index = ALL_CAPABILITIES.iter().position(|c| c == cap);
    // ALL_CAPABILITIES lists the capabilities in kernel order (CAP_CHOWN = 0, ...).
    index.is_none_or(|i| bounding & (1u64 << i) != 0)
}

fn is_all(name: &str) -> bool {
    name.eq_ignore_ascii_case("ALL") || name.eq_ignore_ascii_case("CAP_ALL")
}

/// The container's capability set: every capability when privileged, else Docker's
/// defaults with `cap_drop` removed and `cap_add` added. `--cap-add ALL` gives every
/// capability but the dropped ones; `--cap-drop ALL` gives only the added ones.
pub fn capabilities(
    privileged: bool,
    cap_add: &[String],
    cap_drop: &[String],
) -> Result<Capabilities, SpecError> {
    if privileged {
        return Ok(ALL_CAPABILITIES.into_iter().filter(host_allows).collect());
    }
    let mut add = HashSet::new();
    let mut add_all = false;
    for name in cap_add {
        if is_all(name) {
            add_all = true;
        } else {
            add.insert(parse_capability(name)?);
        }
    }
    let mut drop = HashSet::new();
    let mut drop_all = false;
    for name in cap_drop {
        if is_all(name) {
            drop_all = true;
        } else {
            drop.insert(parse_capability(name)?);
        }
    }
    if add_all {
        return Ok(ALL_CAPABILITIES
            .into_iter()
            .filter(|c| !drop.contains(c) && host_allows(c))
            .collect());
    }
    let mut caps: Capabilities = if drop_all {
        HashSet::new()
    } else {
        DEFAULT_CAPABILITIES
            .into_iter()
            .filter(|c| !drop.contains(c))
            .collect()
    };
    caps.extend(add);
    Ok(caps)
}

#[cfg(test)]
mod tests {

    /// How many capabilities "all" gives on this host.
    fn host_count() -> usize {
        ALL_CAPABILITIES.iter().filter(|c| host_allows(c)).count()
    }
    use super::*;

    fn s(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn default_set_is_dockers_fourteen() {
        let caps = capabilities(false, &[], &[]).unwrap();
        assert_eq!(caps.len(), 14);
        assert!(caps.contains(&Capability::NetRaw));
        assert!(!caps.contains(&Capability::SysAdmin));
    }

    #[test]
    fn add_and_drop_accept_any_spelling() {
        let caps =
            capabilities(false, &s(&["sys_admin", "CAP_NET_ADMIN"]), &s(&["Chown"])).unwrap();
        assert!(caps.contains(&Capability::SysAdmin));
        assert!(caps.contains(&Capability::NetAdmin));
        assert!(!caps.contains(&Capability::Chown));
        assert_eq!(caps.len(), 15);
    }

    #[test]
    fn drop_all_then_add_some() {
        let caps = capabilities(false, &s(&["NET_BIND_SERVICE"]), &s(&["all"])).unwrap();
        assert_eq!(
            caps.into_iter().collect::<Vec<_>>(),
            [Capability::NetBindService]
        );
    }

    #[test]
    fn add_all_and_privileged_give_every_capability() {
        assert_eq!(
            capabilities(false, &s(&["ALL"]), &[]).unwrap().len(),
            host_count()
        );
        let caps = capabilities(false, &s(&["ALL"]), &s(&["SYS_ADMIN"])).unwrap();
        assert_eq!(caps.len(), host_count() - 1);
        assert!(!caps.contains(&Capability::SysAdmin));
        assert_eq!(
            capabilities(true, &[], &s(&["ALL"])).unwrap().len(),
            host_count()
        );
    }

    #[test]
    fn unknown_capability_is_invalid() {
        assert_eq!(
            capabilities(false, &s(&["cap_foo"]), &[]),
            Err(SpecError::Invalid("unknown capability: \"CAP_FOO\"".into()))
        );
    }

    #[test]
    fn security_opts() {
        let o =
            parse_security_opts(&s(&["no-new-privileges", "label=disable", "apparmor=x"])).unwrap();
        assert!(o.no_new_privileges);
        assert_eq!(o.seccomp, SeccompChoice::Default);
        let o = parse_security_opts(&s(&["no-new-privileges:true", "seccomp=unconfined"])).unwrap();
        assert!(o.no_new_privileges);
        assert_eq!(o.seccomp, SeccompChoice::Unconfined);
        let o = parse_security_opts(&s(&["no-new-privileges=false", "seccomp=/p.json"])).unwrap();
        assert!(!o.no_new_privileges);
        assert_eq!(o.seccomp, SeccompChoice::Profile("/p.json".into()));
        let o = parse_security_opts(&s(&["systempaths=unconfined", "writable-cgroups=1"])).unwrap();
        assert!(o.unconfined_system_paths && o.writable_cgroups);
    }

    #[test]
    fn bad_security_opts_use_dockerds_messages() {
        assert_eq!(
            parse_security_opts(&s(&["foo"])),
            Err(SpecError::Invalid(
                "invalid --security-opt 1: \"foo\"".into()
            ))
        );
        assert_eq!(
            parse_security_opts(&s(&["foo=bar"])),
            Err(SpecError::Invalid(
                "invalid --security-opt 2: \"foo=bar\"".into()
            ))
        );
        assert_eq!(
            parse_security_opts(&s(&["no-new-privileges=maybe"])),
            Err(SpecError::Invalid(
                "invalid --security-opt 2: \"no-new-privileges=maybe\"".into()
            ))
        );
    }
}

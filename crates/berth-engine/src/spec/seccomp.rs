//! The seccomp filter: berth's default profile, or a Docker-format JSON profile.
//!
//! ## The default profile: a deny-list
//!
//! Docker's default profile is an allow-list of some 350 system calls with `EPERM` for
//! the rest. berth's is the converse, compact and reviewable: every system call is allowed
//! except those below, which fail with `EPERM` (unless the container holds the capability
//! that Docker's profile also requires for them). The trade-off is known: a system call
//! added to a future kernel is allowed until it is listed here, where Docker's would deny
//! it. The kernel's capability checks still apply to everything; this list closes the
//! paths that capabilities do not guard or that have a history of kernel bugs:
//!
//! - always: the kernel keyring (`keyctl`, `add_key`, `request_key`: not namespaced),
//!   `io_uring_*` (Docker denies them since 25.0), obsolete calls (`vm86`, `vm86old`,
//!   `nfsservctl`, `uselib`, `ustat`, `sysfs`, `_sysctl`, `create_module`,
//!   `get_kernel_syms`, `query_module`);
//! - without `CAP_SYS_ADMIN`: mounting and namespaces (`mount`, `umount2`, `pivot_root`,
//!   `unshare`, `setns`, the new mount API, `clone` with a `CLONE_NEW*` flag — one rule
//!   per flag — and `clone3`, which fails with `ENOSYS` so that libc falls back to
//!   `clone`, as Docker does), `swapon`/`swapoff`, `quotactl`, `lookup_dcookie`,
//!   `fanotify_init`, `name_to_handle_at`; `bpf` also with `CAP_BPF`; `perf_event_open`
//!   also with `CAP_PERFMON`;
//! - `CAP_SYS_TIME`: `settimeofday`, `stime`, `clock_settime`, `clock_adjtime`
//!   (`adjtimex` stays allowed: `ntp_gettime` reads through it, Docker allows it too);
//! - `CAP_SYS_MODULE`: `init_module`, `finit_module`, `delete_module`;
//! - `CAP_SYS_BOOT`: `reboot`, `kexec_load`, `kexec_file_load`;
//! - `CAP_SYS_PACCT`: `acct`; `CAP_SYS_RAWIO`: `iopl`, `ioperm`; `CAP_SYSLOG`: `syslog`;
//!   `CAP_SYS_TTY_CONFIG`: `vhangup`; `CAP_DAC_READ_SEARCH`: `open_by_handle_at`;
//!   `CAP_SYS_PTRACE`: `userfaultfd`; `CAP_SYS_CHROOT`: `chroot`.
//!
//! `ptrace`, `kcmp` and `process_vm_*` are allowed (Docker allows them on kernels >= 4.8,
//! where ptrace can no longer bypass seccomp). `personality` is allowed with any argument:
//! Docker restricts it to a few personas, which a deny-list cannot express without
//! ANDing conditions on one argument (runtimes turn those into ORs).
//!
//! ## Docker profiles
//!
//! `--security-opt seccomp=profile.json` is read in Docker's format: `defaultAction`,
//! `defaultErrnoRet`, `architectures` or `archMap` (the entry of the native architecture
//! gives it and its sub-architectures), `flags`, `listenerPath`, and `syscalls` entries
//! with `name`/`names`, `action`, `errnoRet`, `args`, and `includes`/`excludes` filters on
//! `caps`, `arches` (Go names: `amd64`, `arm64`, ...) and `minKernel`.

use std::collections::HashSet;
use std::path::PathBuf;

use oci_spec::runtime::{
    Arch, Capabilities, Capability, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg,
    LinuxSeccompArgBuilder, LinuxSeccompFilterFlag, LinuxSeccompOperator, LinuxSyscall,
};
use serde::Deserialize;

use super::security::parse_capability;
use super::{internal, SpecError};

const EPERM: u32 = libc::EPERM as u32;
const ENOSYS: u32 = libc::ENOSYS as u32;

/// The `CLONE_NEW*` flags `clone` may not use without `CAP_SYS_ADMIN`.
const CLONE_NAMESPACE_FLAGS: [u64; 7] = [
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWCGROUP as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
];

/// A group of system calls the default profile denies unless the container holds one of
/// `unless_any`.
struct Deny {
    names: &'static [&'static str],
    unless_any: &'static [Capability],
}

const DENIED: &[Deny] = &[
    Deny {
        names: &[
            "keyctl",
            "add_key",
            "request_key",
            "io_uring_setup",
            "io_uring_enter",
            "io_uring_register",
            "vm86",
            "vm86old",
            "nfsservctl",
            "uselib",
            "ustat",
            "sysfs",
            "_sysctl",
            "create_module",
            "get_kernel_syms",
            "query_module",
        ],
        unless_any: &[],
    },
    Deny {
        names: &[
            "mount",
            "umount",
            "umount2",
            "pivot_root",
            "unshare",
            "setns",
            "fsopen",
            "fsconfig",
            "fsmount",
            "fspick",
            "move_mount",
            "open_tree",
            "mount_setattr",
            "swapon",
            "swapoff",
            "quotactl",
            "quotactl_fd",
            "lookup_dcookie",
            "fanotify_init",
            "name_to_handle_at",
        ],
        unless_any: &[Capability::SysAdmin],
    },
    Deny {
        names: &["bpf"],
        unless_any: &[Capability::SysAdmin, Capability::Bpf],
    },
    Deny {
        names: &["perf_event_open"],
        unless_any: &[Capability::SysAdmin, Capability::Perfmon],
    },
    Deny {
        names: &["settimeofday", "stime", "clock_settime", "clock_adjtime"],
        unless_any: &[Capability::SysTime],
    },
    Deny {
        names: &["init_module", "finit_module", "delete_module"],
        unless_any: &[Capability::SysModule],
    },
    Deny {
        names: &["reboot", "kexec_load", "kexec_file_load"],
        unless_any: &[Capability::SysBoot],
    },
    Deny {
        names: &["acct"],
        unless_any: &[Capability::SysPacct],
    },
    Deny {
        names: &["iopl", "ioperm"],
        unless_any: &[Capability::SysRawio],
    },
    Deny {
        names: &["syslog"],
        unless_any: &[Capability::Syslog],
    },
    Deny {
        names: &["vhangup"],
        unless_any: &[Capability::SysTtyConfig],
    },
    Deny {
        names: &["open_by_handle_at"],
        unless_any: &[Capability::DacReadSearch],
    },
    Deny {
        names: &["userfaultfd"],
        unless_any: &[Capability::SysPtrace],
    },
    Deny {
        names: &["chroot"],
        unless_any: &[Capability::SysChroot],
    },
];

fn deny(names: &[&str], errno: u32, args: Option<Vec<LinuxSeccompArg>>) -> LinuxSyscall {
    let mut rule = LinuxSyscall::default();
    rule.set_names(names.iter().map(|n| n.to_string()).collect());
    rule.set_action(LinuxSeccompAction::ScmpActErrno);
    rule.set_errno_ret(Some(errno));
    rule.set_args(args);
    rule
}

/// berth's default profile for a container holding `caps` (see the module docs).
pub fn default_profile(caps: &Capabilities) -> Result<LinuxSeccomp, SpecError> {
    let mut rules: Vec<LinuxSyscall> = DENIED
        .iter()
        .filter(|d| !d.unless_any.iter().any(|c| caps.contains(c)))
        .map(|d| deny(d.names, EPERM, None))
        .collect();
    if !caps.contains(&Capability::SysAdmin) {
        for flag in CLONE_NAMESPACE_FLAGS {
            let arg = LinuxSeccompArgBuilder::default()
                .index(clone_flags_index())
                .value(flag)
                .value_two(flag)
                .op(LinuxSeccompOperator::ScmpCmpMaskedEq)
                .build()
                .map_err(internal)?;
            rules.push(deny(&["clone"], EPERM, Some(vec![arg])));
        }
        rules.push(deny(&["clone3"], ENOSYS, None));
    }
    let mut seccomp = LinuxSeccomp::default();
    seccomp.set_default_action(LinuxSeccompAction::ScmpActAllow);
    seccomp.set_architectures(Some(native_architectures()));
    seccomp.set_syscalls(Some(rules));
    Ok(seccomp)
}

/// `clone`'s flags are its first argument, except on s390x where the stack comes first.
fn clone_flags_index() -> usize {
    if cfg!(target_arch = "s390x") {
        1
    } else {
        0
    }
}

/// The native architecture and those whose binaries it also runs.
fn native_architectures() -> Vec<Arch> {
    match std::env::consts::ARCH {
        "x86_64" => vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32],
        "aarch64" => vec![Arch::ScmpArchAarch64, Arch::ScmpArchArm],
        "s390x" => vec![Arch::ScmpArchS390x, Arch::ScmpArchS390],
        "powerpc64" if cfg!(target_endian = "little") => vec![Arch::ScmpArchPpc64le],
        "riscv64" => vec![Arch::ScmpArchRiscv64],
        "loongarch64" => vec![Arch::ScmpArchLoongarch64],
        _ => vec![Arch::ScmpArchNative],
    }
}

/// The native architecture as Docker profiles name it in `archMap`.
fn native_arch() -> Arch {
    native_architectures()
        .first()
        .copied()
        .unwrap_or(Arch::ScmpArchNative)
}

/// The native architecture as Docker profiles name it in `includes.arches` (Go's names).
fn native_go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        other => other,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerProfile {
    default_action: LinuxSeccompAction,
    #[serde(default)]
    default_errno_ret: Option<u32>,
    #[serde(default)]
    architectures: Option<Vec<Arch>>,
    #[serde(default)]
    arch_map: Option<Vec<ArchMap>>,
    #[serde(default)]
    listener_path: Option<PathBuf>,
    #[serde(default)]
    listener_metadata: Option<String>,
    #[serde(default)]
    flags: Option<Vec<LinuxSeccompFilterFlag>>,
    #[serde(default)]
    syscalls: Option<Vec<DockerSyscall>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ArchMap {
    architecture: Arch,
    #[serde(default)]
    sub_architectures: Option<Vec<Arch>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerSyscall {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    names: Option<Vec<String>>,
    action: LinuxSeccompAction,
    #[serde(default)]
    errno_ret: Option<u32>,
    #[serde(default)]
    args: Option<Vec<DockerArg>>,
    #[serde(default)]
    includes: Option<Filter>,
    #[serde(default)]
    excludes: Option<Filter>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerArg {
    index: usize,
    value: u64,
    #[serde(default)]
    value_two: u64,
    op: LinuxSeccompOperator,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Filter {
    #[serde(default)]
    caps: Option<Vec<String>>,
    #[serde(default)]
    arches: Option<Vec<String>>,
    #[serde(default)]
    min_kernel: Option<String>,
}

/// Reads a Docker-format profile: `profile` is its JSON text, or a path on this host.
pub fn load_profile(profile: &str, caps: &Capabilities) -> Result<LinuxSeccomp, SpecError> {
    let text = if profile.trim_start().starts_with('{') {
        profile.to_string()
    } else {
        std::fs::read_to_string(profile).map_err(|e| {
            SpecError::Invalid(format!("opening seccomp profile ({profile}) failed: {e}"))
        })?
    };
    parse_profile(&text, caps, &kernel_release())
}

/// The running kernel's `major.minor`, for `minKernel` filters.
fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default()
}

/// `major.minor` of a kernel release string (`6.1.0-18-amd64` -> (6, 1)).
fn kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.trim().split(['.', '-']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

fn parse_profile(text: &str, caps: &Capabilities, kernel: &str) -> Result<LinuxSeccomp, SpecError> {
    let profile: DockerProfile = serde_json::from_str(text)
        .map_err(|e| SpecError::Invalid(format!("decoding seccomp profile failed: {e}")))?;
    if profile
        .architectures
        .as_ref()
        .is_some_and(|a| !a.is_empty())
        && profile.arch_map.as_ref().is_some_and(|a| !a.is_empty())
    {
        return Err(SpecError::Invalid(
            "both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'".into(),
        ));
    }
    let mut architectures = profile.architectures.unwrap_or_default();
    for entry in profile.arch_map.iter().flatten() {
        if entry.architecture == native_arch() {
            architectures.push(entry.architecture);
            architectures.extend(entry.sub_architectures.iter().flatten());
        }
    }
    let kernel = kernel_version(kernel);
    let mut rules = Vec::new();
    for call in profile.syscalls.into_iter().flatten() {
        let names = match (call.name, call.names) {
            (Some(_), Some(names)) if !names.is_empty() => {
                return Err(SpecError::Invalid(
                    "'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'".into(),
                ))
            }
            (Some(name), _) => vec![name],
            (None, names) => names.unwrap_or_default(),
        };
        if !applies(
            &call.includes.unwrap_or_default(),
            &call.excludes.unwrap_or_default(),
            caps,
            kernel,
        )? {
            continue;
        }
        let args = call
            .args
            .map(|args| {
                args.into_iter()
                    .map(|a| {
                        LinuxSeccompArgBuilder::default()
                            .index(a.index)
                            .value(a.value)
                            .value_two(a.value_two)
                            .op(a.op)
                            .build()
                            .map_err(internal)
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let mut rule = LinuxSyscall::default();
        rule.set_names(names);
        rule.set_action(call.action);
        rule.set_errno_ret(call.errno_ret);
        rule.set_args(args);
        rules.push(rule);
    }
    let mut seccomp = LinuxSeccomp::default();
    seccomp.set_default_action(profile.default_action);
    seccomp.set_default_errno_ret(profile.default_errno_ret);
    seccomp.set_architectures(Some(architectures).filter(|a| !a.is_empty()));
    seccomp.set_flags(profile.flags);
    seccomp.set_listener_path(profile.listener_path);
    seccomp.set_listener_metadata(profile.listener_metadata);
    seccomp.set_syscalls(Some(rules));
    Ok(seccomp)
}

/// Whether a rule's `includes` and `excludes` keep it for this container and host.
fn applies(
    includes: &Filter,
    excludes: &Filter,
    caps: &Capabilities,
    kernel: Option<(u32, u32)>,
) -> Result<bool, SpecError> {
    let arch = native_go_arch();
    if let Some(arches) = includes.arches.as_ref().filter(|a| !a.is_empty()) {
        if !arches.iter().any(|a| a == arch) {
            return Ok(false);
        }
    }
    if excludes.arches.iter().flatten().any(|a| a == arch) {
        return Ok(false);
    }
    let held = |names: &[String]| -> Result<HashSet<bool>, SpecError> {
        names
            .iter()
            .map(|n| parse_capability(n).map(|c| caps.contains(&c)))
            .collect()
    };
    if let Some(required) = &includes.caps {
        if held(required)?.contains(&false) {
            return Ok(false);
        }
    }
    if let Some(excluded) = &excludes.caps {
        if held(excluded)?.contains(&true) {
            return Ok(false);
        }
    }
    if let Some(min) = includes.min_kernel.as_deref().filter(|m| !m.is_empty()) {
        let min = kernel_version(min).ok_or_else(|| {
            SpecError::Invalid(format!("seccomp profile: invalid minKernel `{min}`"))
        })?;
        if kernel.is_some_and(|k| k < min) {
            return Ok(false);
        }
    }
    if excludes
        .min_kernel
        .as_deref()
        .is_some_and(|m| !m.is_empty())
    {
        return Err(SpecError::Invalid(
            "seccomp profile: minKernel is not supported in excludes".into(),
        ));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::security::capabilities;

    fn names_denied(seccomp: &LinuxSeccomp) -> Vec<String> {
        seccomp
            .syscalls()
            .iter()
            .flatten()
            .filter(|r| r.args().is_none())
            .flat_map(|r| r.names().clone())
            .collect()
    }

    #[test]
    fn default_profile_denies_namespaces_and_keyring_with_eperm() {
        let caps = capabilities(false, &[], &[]).unwrap();
        let profile = default_profile(&caps).unwrap();
        assert_eq!(profile.default_action(), LinuxSeccompAction::ScmpActAllow);
        let denied = names_denied(&profile);
        for name in [
            "unshare", "setns", "mount", "keyctl", "bpf", "reboot", "acct",
        ] {
            assert!(denied.contains(&name.to_string()), "{name} not denied");
        }
        // SYS_CHROOT is a default capability: chroot stays allowed.
        assert!(!denied.contains(&"chroot".to_string()));
        assert!(!denied.contains(&"ptrace".to_string()));
        let clone_rules: Vec<_> = profile
            .syscalls()
            .iter()
            .flatten()
            .filter(|r| r.names() == &["clone".to_string()])
            .collect();
        assert_eq!(clone_rules.len(), 7);
        let newuser = clone_rules
            .iter()
            .flat_map(|r| r.args().iter().flatten())
            .find(|a| a.value() == libc::CLONE_NEWUSER as u64)
            .unwrap();
        assert_eq!(newuser.op(), LinuxSeccompOperator::ScmpCmpMaskedEq);
        assert_eq!(newuser.value_two(), Some(libc::CLONE_NEWUSER as u64));
        let clone3 = profile
            .syscalls()
            .iter()
            .flatten()
            .find(|r| r.names() == &["clone3".to_string()])
            .unwrap();
        assert_eq!(clone3.errno_ret(), Some(libc::ENOSYS as u32));
    }

    #[test]
    fn capabilities_lift_their_rules() {
        let caps = capabilities(false, &["SYS_ADMIN".into(), "SYS_TIME".into()], &[]).unwrap();
        let profile = default_profile(&caps).unwrap();
        let denied = names_denied(&profile);
        for name in ["unshare", "mount", "bpf", "clock_settime", "clone3"] {
            assert!(!denied.contains(&name.to_string()), "{name} still denied");
        }
        assert!(denied.contains(&"keyctl".to_string()));
        assert!(profile
            .syscalls()
            .iter()
            .flatten()
            .all(|r| r.names() != &["clone".to_string()]));
        let no_chroot = capabilities(false, &[], &["SYS_CHROOT".into()]).unwrap();
        assert!(names_denied(&default_profile(&no_chroot).unwrap()).contains(&"chroot".to_string()));
    }

    const PROFILE: &str = r#"{
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 1,
        "archMap": [
            {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
            {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}
        ],
        "syscalls": [
            {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
            {"name": "personality", "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
            {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["clone"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
            {"names": ["s390_pci_mmio_read"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["s390x"]}},
            {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
             "args": [{"index": 0, "value": 40, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]}
        ]
    }"#;

    fn rule_names(seccomp: &LinuxSeccomp) -> Vec<String> {
        seccomp
            .syscalls()
            .iter()
            .flatten()
            .flat_map(|r| r.names().clone())
            .collect()
    }

    #[test]
    fn docker_profile_is_mapped_with_filters() {
        let caps = capabilities(false, &[], &[]).unwrap();
        let seccomp = parse_profile(PROFILE, &caps, "6.1.0-18-amd64").unwrap();
        assert_eq!(seccomp.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(seccomp.default_errno_ret(), Some(1));
        if cfg!(target_arch = "x86_64") {
            assert_eq!(
                seccomp.architectures().as_deref(),
                Some(&[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32][..])
            );
        }
        let names = rule_names(&seccomp);
        assert!(names.contains(&"personality".to_string()));
        assert!(names.contains(&"clone".to_string()));
        assert!(names.contains(&"ptrace".to_string()));
        assert!(!names.contains(&"mount".to_string()));
        assert!(!names.contains(&"s390_pci_mmio_read".to_string()) || cfg!(target_arch = "s390x"));
        let socket = seccomp
            .syscalls()
            .iter()
            .flatten()
            .find(|r| r.names() == &["socket".to_string()])
            .unwrap();
        assert_eq!(socket.errno_ret(), Some(97));
        let arg = socket.args().as_ref().unwrap()[0];
        assert_eq!((arg.index(), arg.value()), (0, 40));
        assert_eq!(arg.op(), LinuxSeccompOperator::ScmpCmpEq);

        let admin = capabilities(false, &["SYS_ADMIN".into()], &[]).unwrap();
        let names = rule_names(&parse_profile(PROFILE, &admin, "4.4.0").unwrap());
        assert!(names.contains(&"mount".to_string()));
        assert!(!names.contains(&"clone".to_string()));
        assert!(!names.contains(&"ptrace".to_string()));
    }

    #[test]
    fn bad_profiles_are_invalid() {
        let caps = capabilities(false, &[], &[]).unwrap();
        assert!(parse_profile("{", &caps, "6.1").is_err());
        let both = r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"],
            "archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}"#;
        assert!(parse_profile(both, &caps, "6.1").is_err());
        let name_and_names = r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"name": "a", "names": ["b"], "action": "SCMP_ACT_ALLOW"}]}"#;
        assert!(parse_profile(name_and_names, &caps, "6.1").is_err());
        let bad_cap = r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["b"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_NOPE"]}}]}"#;
        assert!(parse_profile(bad_cap, &caps, "6.1").is_err());
    }

    #[test]
    fn profile_from_a_file_or_inline_text() {
        let caps = capabilities(false, &[], &[]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        std::fs::write(&path, PROFILE).unwrap();
        let from_file = load_profile(path.to_str().unwrap(), &caps).unwrap();
        let inline = load_profile(PROFILE, &caps).unwrap();
        assert_eq!(from_file, inline);
        let missing = load_profile("/nonexistent/p.json", &caps).unwrap_err();
        assert!(missing.to_string().contains("opening seccomp profile"));
    }

    #[test]
    fn kernel_versions() {
        assert_eq!(kernel_version("6.18.44-fc-v669"), Some((6, 18)));
        assert_eq!(kernel_version("4.8"), Some((4, 8)));
        assert_eq!(kernel_version("5"), Some((5, 0)));
        assert_eq!(kernel_version("x"), None);
    }
}

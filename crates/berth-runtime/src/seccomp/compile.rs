//! From the spec's seccomp section to BPF, with libseccomp.

use super::load::Instruction;
use super::{SeccompError, SeccompProgram};
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompFilterFlag,
    LinuxSeccompOperator, LinuxSyscall,
};
use std::io::{Read, Seek};
use std::path::Path;

/// What errors name when the default action is at fault.
const DEFAULT_ACTION: &str = "defaultAction";

/// Compiles `seccomp` for the native architecture (and the other listed ones).
pub fn compile(seccomp: &LinuxSeccomp) -> Result<SeccompProgram, SeccompError> {
    let listener = seccomp.listener_path().as_deref();
    let default = action(
        seccomp.default_action(),
        seccomp.default_errno_ret(),
        DEFAULT_ACTION,
        listener,
    )?;
    let mut ctx =
        ScmpFilterContext::new(default).map_err(|source| SeccompError::DefaultAction {
            action: seccomp.default_action().to_string(),
            source,
        })?;
    // Whether to set no_new_privs is the spec's `noNewPrivileges`, decided by the caller.
    ctx.set_ctl_nnp(false)?;

    for arch in seccomp.architectures().iter().flatten() {
        add_arch(&mut ctx, *arch)?;
    }
    let flags = kernel_flags(seccomp.flags().as_deref().unwrap_or_default())?;

    let mut unknown_syscalls = Vec::new();
    for rule in seccomp.syscalls().iter().flatten() {
        add_rule(&mut ctx, rule, default, listener, &mut unknown_syscalls)?;
    }

    Ok(SeccompProgram {
        instructions: Instruction::parse_all(&export(&ctx)?)?,
        flags,
        unknown_syscalls,
    })
}

/// Adds one rule of the profile, for each of its syscall names.
fn add_rule(
    ctx: &mut ScmpFilterContext,
    rule: &LinuxSyscall,
    default: ScmpAction,
    listener: Option<&Path>,
    unknown_syscalls: &mut Vec<String>,
) -> Result<(), SeccompError> {
    let names = rule.names().join(",");
    let act = action(rule.action(), rule.errno_ret(), &names, listener)?;
    if act == default {
        // libseccomp refuses a rule that does what the default does; it is a no-op anyway.
        return Ok(());
    }
    let conditions = rule
        .args()
        .iter()
        .flatten()
        .map(|arg| condition(arg, &names))
        .collect::<Result<Vec<_>, _>>()?;
    let one_rule_per_condition = repeats_an_index(rule.args().as_deref().unwrap_or_default());

    for name in rule.names() {
        let Ok(syscall) = ScmpSyscall::from_name(name) else {
            unknown_syscalls.push(name.clone());
            continue;
        };
        let added = if conditions.is_empty() {
            ctx.add_rule(act, syscall).map(|_| ())
        } else if one_rule_per_condition {
            conditions.iter().try_for_each(|c| {
                ctx.add_rule_conditional(act, syscall, std::slice::from_ref(c))
                    .map(|_| ())
            })
        } else {
            ctx.add_rule_conditional(act, syscall, &conditions)
                .map(|_| ())
        };
        added.map_err(|source| SeccompError::Rule {
            syscall: name.clone(),
            action: rule.action().to_string(),
            source,
        })?;
    }
    Ok(())
}

/// Whether two conditions test the same argument: ANDed they could (for `==`) never both
/// hold, so runc reads them as alternatives, one rule each.
fn repeats_an_index(args: &[LinuxSeccompArg]) -> bool {
    let mut seen = [false; 6];
    args.iter().any(|arg| {
        let index = arg.index();
        index < seen.len() && std::mem::replace(&mut seen[index], true)
    })
}

/// The libseccomp action for a spec action; `syscall` names the rule in errors.
pub(super) fn action(
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    syscall: &str,
    listener: Option<&Path>,
) -> Result<ScmpAction, SeccompError> {
    Ok(match action {
        // SCMP_ACT_KILL is libseccomp's old name for killing the thread.
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => {
            ScmpAction::Errno(i32::from(errno(errno_ret, syscall)?))
        }
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(errno(errno_ret, syscall)?),
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
        LinuxSeccompAction::ScmpActNotify => {
            return Err(match listener {
                None => SeccompError::NotifyWithoutListener {
                    syscall: syscall.to_string(),
                },
                Some(listener) => SeccompError::NotifyNotSupported {
                    syscall: syscall.to_string(),
                    listener: listener.to_path_buf(),
                },
            })
        }
    })
}

/// The value an ERRNO or TRACE action returns: `errnoRet`, `EPERM` by default.
fn errno(errno_ret: Option<u32>, syscall: &str) -> Result<u16, SeccompError> {
    let Some(errno) = errno_ret else {
        return Ok(libc::EPERM as u16);
    };
    u16::try_from(errno).map_err(|_| SeccompError::ErrnoOutOfRange {
        syscall: syscall.to_string(),
        errno,
    })
}

/// The libseccomp condition for one of the spec's argument conditions.
pub(super) fn condition(
    arg: &LinuxSeccompArg,
    syscall: &str,
) -> Result<ScmpArgCompare, SeccompError> {
    let index = match u32::try_from(arg.index()) {
        Ok(index) if index < 6 => index,
        _ => {
            return Err(SeccompError::ArgIndex {
                syscall: syscall.to_string(),
                index: arg.index(),
            })
        }
    };
    let (op, datum) = match arg.op() {
        LinuxSeccompOperator::ScmpCmpNe => (ScmpCompareOp::NotEqual, arg.value()),
        LinuxSeccompOperator::ScmpCmpLt => (ScmpCompareOp::Less, arg.value()),
        LinuxSeccompOperator::ScmpCmpLe => (ScmpCompareOp::LessOrEqual, arg.value()),
        LinuxSeccompOperator::ScmpCmpEq => (ScmpCompareOp::Equal, arg.value()),
        LinuxSeccompOperator::ScmpCmpGe => (ScmpCompareOp::GreaterEqual, arg.value()),
        LinuxSeccompOperator::ScmpCmpGt => (ScmpCompareOp::Greater, arg.value()),
        // `(arg & value) == valueTwo`; an absent valueTwo is 0, as in runc.
        LinuxSeccompOperator::ScmpCmpMaskedEq => (
            ScmpCompareOp::MaskedEqual(arg.value()),
            arg.value_two().unwrap_or(0),
        ),
    };
    Ok(ScmpArgCompare::new(index, op, datum))
}

/// Adds a listed architecture (the native one is always there).
fn add_arch(ctx: &mut ScmpFilterContext, arch: Arch) -> Result<(), SeccompError> {
    let scmp = match arch {
        Arch::ScmpArchNative => return Ok(()),
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchMips => ScmpArch::Mips,
        Arch::ScmpArchMips64 => ScmpArch::Mips64,
        Arch::ScmpArchMips64n32 => ScmpArch::Mips64N32,
        Arch::ScmpArchMipsel => ScmpArch::Mipsel,
        Arch::ScmpArchMipsel64 => ScmpArch::Mipsel64,
        Arch::ScmpArchMipsel64n32 => ScmpArch::Mipsel64N32,
        Arch::ScmpArchPpc => ScmpArch::Ppc,
        Arch::ScmpArchPpc64 => ScmpArch::Ppc64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390 => ScmpArch::S390,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchParisc => ScmpArch::Parisc,
        Arch::ScmpArchParisc64 => ScmpArch::Parisc64,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        Arch::ScmpArchLoongarch64 => ScmpArch::Loongarch64,
        Arch::ScmpArchM68k => ScmpArch::M68k,
        Arch::ScmpArchSh => ScmpArch::Sh,
        Arch::ScmpArchSheb => ScmpArch::Sheb,
    };
    ctx.add_arch(scmp)
        .map(|_| ())
        .map_err(|source| SeccompError::Architecture {
            arch: arch.to_string(),
            source,
        })
}

/// The `SECCOMP_FILTER_FLAG_*` bits for the spec's flags.
pub(super) fn kernel_flags(
    flags: &[LinuxSeccompFilterFlag],
) -> Result<libc::c_ulong, SeccompError> {
    flags.iter().try_fold(0, |bits, flag| {
        Ok(bits
            | match flag {
                LinuxSeccompFilterFlag::SeccompFilterFlagLog => libc::SECCOMP_FILTER_FLAG_LOG,
                LinuxSeccompFilterFlag::SeccompFilterFlagTsync => libc::SECCOMP_FILTER_FLAG_TSYNC,
                LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => {
                    libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
                }
                LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => {
                    return Err(SeccompError::Flag {
                        flag: flag.to_string(),
                        reason: "it only applies to SCMP_ACT_NOTIFY, which berth does not support",
                    })
                }
            })
    })
}

/// The BPF program libseccomp generated for `ctx`.
///
/// Exported through a memfd: the installed libseccomp may predate
/// `seccomp_export_bpf_mem`, and a pipe could fill up with a large profile.
fn export(ctx: &ScmpFilterContext) -> Result<Vec<u8>, SeccompError> {
    let fd =
        nix::sys::memfd::memfd_create(c"berth-seccomp", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
            .map_err(|e| SeccompError::Export(e.into()))?;
    ctx.export_bpf(&fd)?;
    let mut file = std::fs::File::from(fd);
    file.rewind().map_err(SeccompError::Export)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(SeccompError::Export)?;
    Ok(bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn profile(value: serde_json::Value) -> LinuxSeccomp {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn actions_map_to_libseccomp_with_errno_defaulting_to_eperm() {
        let cases = [
            (
                LinuxSeccompAction::ScmpActKill,
                None,
                ScmpAction::KillThread,
            ),
            (
                LinuxSeccompAction::ScmpActKillThread,
                None,
                ScmpAction::KillThread,
            ),
            (
                LinuxSeccompAction::ScmpActKillProcess,
                None,
                ScmpAction::KillProcess,
            ),
            (LinuxSeccompAction::ScmpActTrap, None, ScmpAction::Trap),
            (
                LinuxSeccompAction::ScmpActErrno,
                None,
                ScmpAction::Errno(libc::EPERM),
            ),
            (
                LinuxSeccompAction::ScmpActErrno,
                Some(42),
                ScmpAction::Errno(42),
            ),
            (
                LinuxSeccompAction::ScmpActTrace,
                None,
                ScmpAction::Trace(libc::EPERM as u16),
            ),
            (
                LinuxSeccompAction::ScmpActTrace,
                Some(7),
                ScmpAction::Trace(7),
            ),
            (LinuxSeccompAction::ScmpActLog, None, ScmpAction::Log),
            (LinuxSeccompAction::ScmpActAllow, None, ScmpAction::Allow),
        ];
        for (spec, errno, expected) in cases {
            assert_eq!(action(spec, errno, "x", None).unwrap(), expected, "{spec}");
        }
    }

    #[test]
    fn errno_ret_past_16_bits_is_an_error_naming_the_syscall() {
        let err = action(LinuxSeccompAction::ScmpActErrno, Some(70000), "mkdir", None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "seccomp: errnoRet 70000 of `mkdir` is out of range (at most 65535)"
        );
    }

    #[test]
    fn unknown_action_or_arch_or_flag_is_refused_when_the_spec_is_read() {
        // The spec types are closed enums: an unknown name never reaches `compile`.
        for bad in [
            json!({"defaultAction": "SCMP_ACT_EXPLODE"}),
            json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_VAX"]}),
            json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NOPE"]}),
            json!({"defaultAction": "SCMP_ACT_ALLOW",
                   "syscalls": [{"names": ["read"], "action": "SCMP_ACT_MAYBE"}]}),
        ] {
            assert!(
                serde_json::from_value::<LinuxSeccomp>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_architecture_libseccomp_lacks_is_an_error_naming_it() {
        // LoongArch arrived in libseccomp 2.6; older libraries must say which arch failed.
        let result = compile(&profile(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_LOONGARCH64"]
        })));
        let version = libseccomp::ScmpVersion::current().unwrap();
        if (version.major, version.minor) < (2, 6) {
            let err = result.unwrap_err();
            assert_eq!(
                err.to_string(),
                "seccomp: architecture `SCMP_ARCH_LOONGARCH64` is not supported"
            );
        } else {
            assert!(result.is_ok());
        }
    }

    #[test]
    fn notify_without_listener_and_notify_with_listener_are_both_refused() {
        let err = compile(&profile(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
        })))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "seccomp: `SCMP_ACT_NOTIFY` for `mkdir,mkdirat` needs `listenerPath` to be set"
        );

        let err = compile(&profile(json!({
            "defaultAction": "SCMP_ACT_NOTIFY",
            "listenerPath": "/run/agent.sock"
        })))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "seccomp: `SCMP_ACT_NOTIFY` for `defaultAction` (listener `/run/agent.sock`) \
             is not supported"
        );
    }

    #[test]
    fn wait_killable_recv_is_refused_and_other_flags_map_to_kernel_bits() {
        let err =
            kernel_flags(&[LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv]).unwrap_err();
        assert!(
            err.to_string()
                .contains("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"),
            "{err}"
        );
        let bits = kernel_flags(&[
            LinuxSeccompFilterFlag::SeccompFilterFlagLog,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow,
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync,
        ])
        .unwrap();
        assert_eq!(bits, 0b111);
    }

    #[test]
    fn unknown_syscall_names_are_skipped_and_reported() {
        let program = compile(&profile(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["no_such_syscall", "mkdir"], "action": "SCMP_ACT_ERRNO"}]
        })))
        .unwrap();
        assert_eq!(program.unknown_syscalls(), ["no_such_syscall"]);
        assert!(!program.is_empty());
    }

    #[test]
    fn a_rule_doing_what_the_default_does_is_skipped() {
        let with_rule = compile(&profile(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 1,
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
        })))
        .unwrap();
        let without = compile(&profile(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 1
        })))
        .unwrap();
        assert_eq!(with_rule, without);
    }

    #[test]
    fn operators_map_to_libseccomp_comparisons() {
        let cases = [
            ("SCMP_CMP_NE", ScmpCompareOp::NotEqual, 3),
            ("SCMP_CMP_LT", ScmpCompareOp::Less, 3),
            ("SCMP_CMP_LE", ScmpCompareOp::LessOrEqual, 3),
            ("SCMP_CMP_EQ", ScmpCompareOp::Equal, 3),
            ("SCMP_CMP_GE", ScmpCompareOp::GreaterEqual, 3),
            ("SCMP_CMP_GT", ScmpCompareOp::Greater, 3),
            // value is the mask, valueTwo what the masked argument must equal.
            ("SCMP_CMP_MASKED_EQ", ScmpCompareOp::MaskedEqual(3), 9),
        ];
        for (op, expected_op, expected_datum) in cases {
            let arg: LinuxSeccompArg =
                serde_json::from_value(json!({"index": 1, "value": 3, "valueTwo": 9, "op": op}))
                    .unwrap();
            assert_eq!(
                condition(&arg, "x").unwrap(),
                ScmpArgCompare::new(1, expected_op, expected_datum),
                "{op}"
            );
        }
    }

    #[test]
    fn argument_index_past_five_is_an_error_naming_the_syscall() {
        let err = compile(&profile(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["socket"], "action": "SCMP_ACT_ERRNO",
                          "args": [{"index": 6, "value": 2, "op": "SCMP_CMP_EQ"}]}]
        })))
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "seccomp: argument index 6 of `socket` is out of range (0 to 5)"
        );
    }

    #[test]
    fn repeated_argument_indexes_are_detected() {
        let args = |indexes: &[usize]| -> Vec<LinuxSeccompArg> {
            indexes
                .iter()
                .map(|i| {
                    serde_json::from_value(json!({"index": i, "value": 0, "op": "SCMP_CMP_EQ"}))
                        .unwrap()
                })
                .collect()
        };
        assert!(!repeats_an_index(&args(&[0, 1, 2])));
        assert!(repeats_an_index(&args(&[0, 1, 0])));
        assert!(!repeats_an_index(&[]));
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn listed_architectures_change_the_program() {
        let native_only = compile(&profile(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]
        })))
        .unwrap();
        let three = compile(&profile(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]
        })))
        .unwrap();
        assert!(three.len() > native_only.len());
    }
}

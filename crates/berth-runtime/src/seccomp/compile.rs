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
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(i32::from(errno(errno_ret, syscall)?)),
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
pub(super) fn kernel_flags(flags: &[LinuxSeccompFilterFlag]) -> Result<libc::c_ulong, SeccompError> {
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
    let fd = nix::sys::memfd::memfd_create(c"berth-seccomp", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
        .map_err(|e| SeccompError::Export(e.into()))?;
    ctx.export_bpf(&fd)?;
    let mut file = std::fs::File::from(fd);
    file.rewind().map_err(SeccompError::Export)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(SeccompError::Export)?;
    Ok(bytes)
}

//! The cgroup v2 device allow-list: v2 has no `devices.allow`; instead a
//! `BPF_PROG_TYPE_CGROUP_DEVICE` program attached to the cgroup decides each access.
//!
//! The program is built here from the spec's rules (it is tiny: load the request, then
//! one compare-and-return block per rule), loaded with `bpf(BPF_PROG_LOAD)` and attached
//! with `bpf(BPF_PROG_ATTACH)` to the cgroup directory. Rules are checked last to first
//! and the first that matches decides, which gives the spec's "later rules override
//! earlier ones"; nothing matching means deny.
//!
//! On `update`, the new program is attached beside the old ones (`BPF_F_ALLOW_MULTI`)
//! and the old ones are then detached, so the cgroup is never left unfiltered.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use super::CgroupError;

/// One eBPF instruction, in the kernel's `struct bpf_insn` layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub(crate) struct Insn {
    pub(crate) code: u8,
    /// Destination register in the low nibble, source register in the high nibble.
    pub(crate) regs: u8,
    pub(crate) off: i16,
    pub(crate) imm: i32,
}

// Opcodes (linux/bpf_common.h, linux/bpf.h): class | operation | source.
pub(crate) const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
pub(crate) const AND32_IMM: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
pub(crate) const RSH32_IMM: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
pub(crate) const MOV32_REG: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
pub(crate) const MOV64_IMM: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
pub(crate) const JNE_IMM: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
pub(crate) const JNE_REG: u8 = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
pub(crate) const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

// struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }, where
// access_type = access << 16 | type.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | (dst & 0x0f),
        off,
        imm,
    }
}

/// The device filter for `rules`. Registers: r2 = type, r3 = access, r4 = major,
/// r5 = minor; r1 is scratch once they are loaded.
pub(crate) fn device_program(rules: &[LinuxDeviceCgroup]) -> Result<Vec<Insn>, CgroupError> {
    let mut program = vec![
        insn(LDX_MEM_W, 2, 1, 0, 0),
        insn(AND32_IMM, 2, 0, 0, 0xffff),
        insn(LDX_MEM_W, 3, 1, 0, 0),
        insn(RSH32_IMM, 3, 0, 0, 16),
        insn(LDX_MEM_W, 4, 1, 4, 0),
        insn(LDX_MEM_W, 5, 1, 8, 0),
    ];
    for rule in rules.iter().rev() {
        let kind = match rule.typ().unwrap_or_default() {
            LinuxDeviceType::A => None,
            LinuxDeviceType::B => Some(DEV_BLOCK),
            LinuxDeviceType::C | LinuxDeviceType::U => Some(DEV_CHAR),
            // FIFOs never reach the device cgroup check.
            LinuxDeviceType::P => continue,
        };
        let access = parse_access(rule)?;
        // Conditions: each is a jump over the rest of the block when it does not hold.
        let mut checks: Vec<Vec<Insn>> = Vec::new();
        if let Some(kind) = kind {
            checks.push(vec![insn(JNE_IMM, 2, 0, 0, kind)]);
        }
        if access != ACC_MKNOD | ACC_READ | ACC_WRITE {
            // Every requested access bit must be among the rule's.
            checks.push(vec![
                insn(MOV32_REG, 1, 3, 0, 0),
                insn(AND32_IMM, 1, 0, 0, access),
                insn(JNE_REG, 1, 3, 0, 0),
            ]);
        }
        if let Some(major) = device_number(rule.major(), "major")? {
            checks.push(vec![insn(JNE_IMM, 4, 0, 0, major)]);
        }
        if let Some(minor) = device_number(rule.minor(), "minor")? {
            checks.push(vec![insn(JNE_IMM, 5, 0, 0, minor)]);
        }
        let matches_all = checks.is_empty();
        let mut block: Vec<Insn> = checks.into_iter().flatten().collect();
        block.push(insn(MOV64_IMM, 0, 0, 0, i32::from(rule.allow())));
        block.push(insn(EXIT, 0, 0, 0, 0));
        let len = block.len();
        for (i, ins) in block.iter_mut().enumerate() {
            if ins.code == JNE_IMM || ins.code == JNE_REG {
                // Jump offsets count from the next instruction to the block's end.
                ins.off = i16::try_from(len - i - 1).unwrap_or(i16::MAX);
            }
        }
        program.extend(block);
        if matches_all {
            // Earlier rules can never be reached, and the verifier rejects dead code.
            return Ok(program);
        }
    }
    program.push(insn(MOV64_IMM, 0, 0, 0, 0));
    program.push(insn(EXIT, 0, 0, 0, 0));
    Ok(program)
}

fn parse_access(rule: &LinuxDeviceCgroup) -> Result<i32, CgroupError> {
    let text = rule
        .access()
        .as_deref()
        .filter(|a| !a.is_empty())
        .unwrap_or("rwm");
    let mut bits = 0;
    for c in text.chars() {
        bits |= match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => {
                return Err(CgroupError::InvalidResource {
                    resource: "devices.access",
                    reason: format!("`{text}` is not made of r, w and m"),
                })
            }
        };
    }
    Ok(bits)
}

/// A major/minor number; `None` (or a negative number) is the wildcard.
fn device_number(n: Option<i64>, what: &'static str) -> Result<Option<i32>, CgroupError> {
    match n.filter(|&n| n >= 0) {
        None => Ok(None),
        Some(n) => i32::try_from(n)
            .map(Some)
            .map_err(|_| CgroupError::InvalidResource {
                resource: "devices",
                reason: format!("{what} number {n} is out of range"),
            }),
    }
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// The `BPF_PROG_LOAD` part of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct ProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// The `BPF_PROG_ATTACH`/`BPF_PROG_DETACH` part of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct ProgAttach {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

/// The `BPF_PROG_QUERY` part of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct ProgQuery {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
}

/// The `BPF_PROG_GET_FD_BY_ID` part of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct GetFdById {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// bpf(2) with one of the attribute structs above.
fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> std::io::Result<libc::c_long> {
    // SAFETY: `attr` is a live, initialised `repr(C)` prefix of `union bpf_attr` whose
    // size is passed along; the kernel reads (and for queries writes) only that much,
    // and pointers inside it point to buffers that outlive the call.
    let ret =
        unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, std::mem::size_of::<T>()) };
    if ret < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn fd_from(ret: libc::c_long) -> std::io::Result<OwnedFd> {
    let fd = i32::try_from(ret).map_err(|_| std::io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: bpf(2) returned a new file descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Loads the device filter program; on failure, loads again with the verifier log on
/// so that the error explains itself.
fn load(program: &[Insn], cgroup: &Path) -> Result<OwnedFd, CgroupError> {
    let license: &CStr = c"Apache";
    let mut attr = ProgLoad {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: u32::try_from(program.len()).unwrap_or(u32::MAX),
        insns: program.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..ProgLoad::default()
    };
    attr.prog_name[..5].copy_from_slice(b"berth");
    match bpf(BPF_PROG_LOAD, &mut attr).and_then(fd_from) {
        Ok(fd) => Ok(fd),
        Err(source) => {
            let mut log = vec![0u8; 64 * 1024];
            attr.log_level = 1;
            attr.log_size = u32::try_from(log.len()).unwrap_or(0);
            attr.log_buf = log.as_mut_ptr() as u64;
            let _ = bpf(BPF_PROG_LOAD, &mut attr).and_then(fd_from);
            let text = CStr::from_bytes_until_nul(&log)
                .map(|s| s.to_string_lossy().trim().to_owned())
                .unwrap_or_default();
            Err(CgroupError::Bpf {
                operation: "BPF_PROG_LOAD",
                path: cgroup.to_path_buf(),
                log: if text.is_empty() {
                    String::new()
                } else {
                    format!("\n{text}")
                },
                source,
            })
        }
    }
}

/// Builds, loads and attaches the device filter for `rules` to cgroup `dir`, replacing
/// any device programs attached there before.
pub(crate) fn apply_device_filter(
    dir: &Path,
    rules: &[LinuxDeviceCgroup],
) -> Result<(), CgroupError> {
    let error = |operation, source| CgroupError::Bpf {
        operation,
        path: dir.to_path_buf(),
        log: String::new(),
        source,
    };
    let program = device_program(rules)?;
    let prog = load(&program, dir)?;
    let cgroup = std::fs::File::open(dir).map_err(|source| CgroupError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let target_fd = u32::try_from(cgroup.as_raw_fd()).unwrap_or(u32::MAX);

    let mut ids = [0u32; 64];
    let mut query = ProgQuery {
        target_fd,
        attach_type: BPF_CGROUP_DEVICE,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: 64,
        ..ProgQuery::default()
    };
    bpf(BPF_PROG_QUERY, &mut query).map_err(|e| error("BPF_PROG_QUERY", e))?;
    let old = ids.get(..query.prog_cnt as usize).unwrap_or(&ids);

    let mut attach = ProgAttach {
        target_fd,
        attach_bpf_fd: u32::try_from(prog.as_raw_fd()).unwrap_or(u32::MAX),
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..ProgAttach::default()
    };
    bpf(BPF_PROG_ATTACH, &mut attach).map_err(|e| error("BPF_PROG_ATTACH", e))?;

    for &id in old {
        let mut by_id = GetFdById {
            prog_id: id,
            ..GetFdById::default()
        };
        let old_prog = bpf(BPF_PROG_GET_FD_BY_ID, &mut by_id)
            .and_then(fd_from)
            .map_err(|e| error("BPF_PROG_GET_FD_BY_ID", e))?;
        let mut detach = ProgAttach {
            target_fd,
            attach_bpf_fd: u32::try_from(old_prog.as_raw_fd()).unwrap_or(u32::MAX),
            attach_type: BPF_CGROUP_DEVICE,
            ..ProgAttach::default()
        };
        bpf(BPF_PROG_DETACH, &mut detach).map_err(|e| error("BPF_PROG_DETACH", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;

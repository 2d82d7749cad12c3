//! The device filter is checked by running it: a small interpreter for the handful of
//! instructions the generator emits decides requests the way the kernel would.

// Tests may panic on unexpected results (the workspace warns on unwrap for library code).
#![allow(clippy::unwrap_used)]

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType};

use super::*;

/// Runs `program` on a request; panics on anything the generator should not emit.
fn run(program: &[Insn], kind: u32, access: u32, major: u32, minor: u32) -> u64 {
    let ctx = [access << 16 | kind, major, minor];
    let mut r = [0u64; 11];
    let mut pc = 0usize;
    for _ in 0..10_000 {
        let i = program[pc];
        let (dst, src) = ((i.regs & 0x0f) as usize, (i.regs >> 4) as usize);
        pc += 1;
        match i.code {
            LDX_MEM_W => {
                assert_eq!(src, 1, "loads only from the context");
                r[dst] = u64::from(ctx[i.off as usize / 4]);
            }
            AND32_IMM => r[dst] = u64::from(r[dst] as u32 & i.imm as u32),
            RSH32_IMM => r[dst] = u64::from((r[dst] as u32) >> i.imm),
            MOV32_REG => r[dst] = u64::from(r[src] as u32),
            MOV64_IMM => r[dst] = i.imm as i64 as u64,
            JNE_IMM if r[dst] != i.imm as i64 as u64 => pc += i.off as usize,
            JNE_REG if r[dst] != r[src] => pc += i.off as usize,
            JNE_IMM | JNE_REG => {}
            EXIT => return r[0],
            other => panic!("unexpected opcode {other:#x}"),
        }
    }
    panic!("program does not terminate");
}

fn rule(
    allow: bool,
    typ: LinuxDeviceType,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut b = LinuxDeviceCgroupBuilder::default()
        .allow(allow)
        .typ(typ)
        .access(access);
    if let Some(m) = major {
        b = b.major(m);
    }
    if let Some(m) = minor {
        b = b.minor(m);
    }
    b.build().unwrap()
}

const R: u32 = 2;
const W: u32 = 4;
const M: u32 = 1;
const CHR: u32 = 2;
const BLK: u32 = 1;

#[test]
fn docker_like_allow_list_admits_listed_devices_only() {
    let rules = vec![
        rule(false, LinuxDeviceType::A, None, None, "rwm"),
        rule(true, LinuxDeviceType::C, Some(1), Some(3), "rwm"), // /dev/null
        rule(true, LinuxDeviceType::C, Some(1), Some(5), "rwm"), // /dev/zero
        rule(true, LinuxDeviceType::C, Some(136), None, "rwm"),  // ptys
        rule(true, LinuxDeviceType::C, None, None, "m"),         // mknod any char
    ];
    let p = device_program(&rules).unwrap();
    assert_eq!(run(&p, CHR, R | W, 1, 3), 1);
    assert_eq!(run(&p, CHR, R, 1, 5), 1);
    assert_eq!(run(&p, CHR, R | W, 136, 7), 1);
    assert_eq!(run(&p, CHR, M, 10, 200), 1, "mknod of any char device");
    assert_eq!(run(&p, CHR, R, 10, 200), 0, "read of an unlisted device");
    assert_eq!(
        run(&p, BLK, R, 1, 3),
        0,
        "block device with a listed number"
    );
    assert_eq!(run(&p, BLK, M, 8, 0), 0, "mknod of a block device");
}

#[test]
fn partial_access_requires_every_requested_bit() {
    let rules = vec![rule(true, LinuxDeviceType::C, Some(1), Some(3), "r")];
    let p = device_program(&rules).unwrap();
    assert_eq!(run(&p, CHR, R, 1, 3), 1);
    assert_eq!(run(&p, CHR, R | W, 1, 3), 0);
    assert_eq!(run(&p, CHR, W, 1, 3), 0);
}

#[test]
fn later_rules_override_earlier_ones() {
    let rules = vec![
        rule(true, LinuxDeviceType::C, Some(1), None, "rwm"),
        rule(false, LinuxDeviceType::C, Some(1), Some(3), "rwm"),
    ];
    let p = device_program(&rules).unwrap();
    assert_eq!(run(&p, CHR, R, 1, 5), 1);
    assert_eq!(run(&p, CHR, R, 1, 3), 0);
}

#[test]
fn a_final_allow_all_stops_the_program_without_dead_code() {
    let rules = vec![
        rule(false, LinuxDeviceType::C, Some(1), Some(3), "rwm"),
        rule(true, LinuxDeviceType::A, None, None, "rwm"),
    ];
    let p = device_program(&rules).unwrap();
    assert_eq!(run(&p, CHR, R, 1, 3), 1);
    assert_eq!(run(&p, BLK, R | W | M, 8, 1), 1);
    assert_eq!(
        p.len(),
        6 + 2,
        "prologue plus one block, nothing unreachable"
    );
}

#[test]
fn no_rules_denies_everything() {
    let p = device_program(&[]).unwrap();
    assert_eq!(run(&p, CHR, R, 1, 3), 0);
}

#[test]
fn bad_access_letters_are_rejected() {
    let rules = vec![rule(true, LinuxDeviceType::C, Some(1), Some(3), "rx")];
    let err = device_program(&rules).unwrap_err();
    assert!(err.to_string().contains("devices.access"), "{err}");
}

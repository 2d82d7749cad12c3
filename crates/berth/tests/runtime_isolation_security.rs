//! What a process inside a `berth runtime` container may do: capabilities really dropped,
//! no_new_privileges, and seccomp filters (errno rules, argument conditions, docker's default
//! profile). Every check runs busybox inside the container and asserts on its output.
//!
//! Check the tests themselves with `BERTH_TEST_RUNTIME=runc cargo test -p berth --test
//! 'runtime_isolation*'`.

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

#[path = "runtime_isolation/common.rs"]
mod common;
mod support;

use std::fs;

use common::{run, sh};
use serde_json::json;
use support::{Bundle, Runtime};

/// Capability numbers of linux/capability.h, for the masks in /proc/self/status.
fn cap_mask(caps: &[&str]) -> u64 {
    const NAMES: [&str; 41] = [
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "KILL",
        "SETGID",
        "SETUID",
        "SETPCAP",
        "LINUX_IMMUTABLE",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_ADMIN",
        "NET_RAW",
        "IPC_LOCK",
        "IPC_OWNER",
        "SYS_MODULE",
        "SYS_RAWIO",
        "SYS_CHROOT",
        "SYS_PTRACE",
        "SYS_PACCT",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_NICE",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "MKNOD",
        "LEASE",
        "AUDIT_WRITE",
        "AUDIT_CONTROL",
        "SETFCAP",
        "MAC_OVERRIDE",
        "MAC_ADMIN",
        "SYSLOG",
        "WAKE_ALARM",
        "BLOCK_SUSPEND",
        "AUDIT_READ",
        "PERFMON",
        "BPF",
        "CHECKPOINT_RESTORE",
    ];
    caps.iter()
        .map(|c| {
            let name = c.trim_start_matches("CAP_");
            let bit = NAMES
                .iter()
                .position(|n| *n == name)
                .expect("known capability");
            1u64 << bit
        })
        .fold(0, |a, b| a | b)
}

#[test]
fn capabilities_are_really_dropped() {
    let without = [
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FOWNER",
        "CAP_KILL",
        "CAP_SETUID",
    ];
    let mut with = without.to_vec();
    with.push("CAP_MKNOD");
    let script = "grep -E '^Cap(Eff|Prm|Bnd|Amb)' /proc/self/status; \
                  mknod /tmp/x c 1 3 2>&1 && echo mknod-ok; true";

    let mut bundle = Bundle::new("caps-without");
    bundle.caps(&without);
    let out = sh(bundle, script);
    let mask = format!("{:016x}", cap_mask(&without));
    assert!(out.contains(&format!("CapEff:\t{mask}")), "{out}");
    assert!(out.contains(&format!("CapPrm:\t{mask}")), "{out}");
    assert!(out.contains(&format!("CapBnd:\t{mask}")), "{out}");
    assert!(out.contains("CapAmb:\t0000000000000000"), "{out}");
    assert!(out.contains("Operation not permitted"), "{out}");
    assert!(!out.contains("mknod-ok"), "{out}");

    let mut bundle = Bundle::new("caps-with");
    bundle.caps(&with);
    let out = sh(bundle, script);
    assert!(
        out.contains(&format!("CapEff:\t{:016x}", cap_mask(&with))),
        "{out}"
    );
    assert!(out.contains("mknod-ok"), "{out}");
}

#[test]
fn no_new_privileges_is_set_and_unset() {
    let mut bundle = Bundle::new("nnp-on");
    bundle.no_new_privileges(true);
    assert_eq!(
        sh(bundle, "grep NoNewPrivs /proc/self/status"),
        "NoNewPrivs:\t1"
    );
    let mut bundle = Bundle::new("nnp-off");
    bundle.no_new_privileges(false);
    assert_eq!(
        sh(bundle, "grep NoNewPrivs /proc/self/status"),
        "NoNewPrivs:\t0"
    );
}

#[test]
fn seccomp_errno_rule_fails_the_syscall_with_that_errno() {
    let mut bundle = Bundle::new("seccomp-errno");
    bundle.seccomp(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            { "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13 },
            { "names": ["rmdir"], "action": "SCMP_ACT_ERRNO" }
        ]
    }));
    let rootfs = bundle.rootfs();
    fs::create_dir(rootfs.join("tmp/existing")).unwrap();
    bundle
        .sh("mkdir /tmp/d; echo mkdir=$?; rmdir /tmp/existing; echo rmdir=$?; echo still-running");
    let rt = Runtime::new();
    let c = rt.container(bundle);
    let out = c.run(&[]).ok();
    assert!(
        out.stderr.contains("Permission denied"),
        "errnoRet 13 is EACCES: {out}"
    );
    assert!(
        out.stderr.contains("Operation not permitted"),
        "no errnoRet means EPERM: {out}"
    );
    assert_eq!(out.out(), "mkdir=1\nrmdir=1\nstill-running");
    assert!(!rootfs.join("tmp/d").exists());
    assert!(rootfs.join("tmp/existing").exists());
}

#[test]
fn seccomp_argument_conditions_select_calls() {
    let mut bundle = Bundle::new("seccomp-args");
    // `renice -n N -p 1` calls setpriority(PRIO_PROCESS, 1, N): refuse only N == 5.
    bundle.seccomp(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{
            "names": ["setpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
            "args": [{ "index": 2, "value": 5, "op": "SCMP_CMP_EQ" }]
        }]
    }));
    bundle.sh(
        "renice -n 5 -p $$; echo five=$?; renice -n 6 -p $$; echo six=$?; \
         cut -d' ' -f19 /proc/self/stat",
    );
    let out = run(bundle);
    assert_eq!(out.ok().out(), "five=1\nsix=0\n6");
}

#[test]
fn seccomp_docker_default_profile_runs_a_shell() {
    // Docker's default profile as containers-common ships it, resolved for x86_64 and the
    // default capability set (what dockerd sends to the runtime).
    let profile: serde_json::Value =
        serde_json::from_str(include_str!("support/seccomp_docker_default.json")).unwrap();
    let mut bundle = Bundle::new("seccomp-docker");
    bundle.seccomp(profile);
    let out = sh(
        bundle,
        "echo ok; ls / | wc -l; chroot / true && echo chroot-ok; swapoff /x 2>&1; true",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "ok");
    assert_eq!(lines[2], "chroot-ok", "{out}");
    assert!(
        lines[3].contains("Operation not permitted"),
        "swapoff blocked: {out}"
    );
}

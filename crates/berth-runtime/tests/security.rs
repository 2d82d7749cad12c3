//! The container process's security settings, applied for real (run as root).
//!
//! Each test forks a child that applies the settings to itself and reports what it then
//! sees through a pipe (or execs a program whose output goes through the pipe); the
//! parent asserts. The test process itself is never changed.
#![allow(clippy::unwrap_used)]

use berth_runtime::process::{apply_process_security, set_no_new_privileges};
use berth_runtime::seccomp::{self, SeccompProgram};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult};
use oci_spec::runtime::{LinuxSeccomp, Process};
use serde_json::json;
use std::ffi::CString;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};

/// What a child reported.
#[derive(Debug)]
struct Outcome {
    /// How the child ended.
    status: WaitStatus,
    /// What it wrote to the pipe (its report, or the exec'd program's stdout).
    output: String,
}

impl Outcome {
    /// The report of a child that succeeded; panics with the report otherwise.
    fn ok(self) -> String {
        assert!(
            matches!(self.status, WaitStatus::Exited(_, 0)),
            "child failed: {:?}: {}",
            self.status,
            self.output
        );
        self.output
    }
}

/// Runs `work` in a forked child whose stdout is the pipe; its `Ok` text (or `Err` text,
/// with exit code 1) is written to the pipe. A panic exits 101.
fn in_child(work: impl FnOnce() -> Result<String, String>) -> Outcome {
    // Close-on-exec, so that children of tests running in parallel do not hold it open.
    let (read_end, write_end) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    // SAFETY: the child only runs `work` (which does raw system calls and small
    // allocations, safe after fork with glibc) and leaves with `_exit`.
    match unsafe { fork() }.unwrap() {
        ForkResult::Child => {
            drop(read_end);
            // SAFETY: dup2 onto stdout of this child only.
            unsafe { libc::dup2(write_end.as_raw_fd(), 1) };
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            let (code, text) = match result {
                Ok(Ok(text)) => (0, text),
                Ok(Err(text)) => (1, text),
                Err(_) => (101, "panicked".to_string()),
            };
            write_all(&write_end, text.as_bytes());
            // SAFETY: leave at once, running no destructor or atexit handler of the
            // parent's copy of the test harness.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            drop(write_end);
            let mut output = String::new();
            std::fs::File::from(read_end)
                .read_to_string(&mut output)
                .unwrap();
            let status = waitpid(child, None).unwrap();
            Outcome { status, output }
        }
    }
}

/// Writes all of `bytes` with raw `write(2)` (no allocation, allowed by every filter here).
fn write_all(fd: &OwnedFd, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is valid for reads of its length.
        let n = unsafe { libc::write(fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len()) };
        if n <= 0 {
            return;
        }
        bytes = &bytes[n as usize..];
    }
}

/// The lines of /proc/self/status starting with one of `keys`.
fn status(keys: &[&str]) -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .filter(|line| keys.iter().any(|key| line.starts_with(&format!("{key}:"))))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `errno` of the last failed call, or 0 when `ret` says it succeeded.
fn errno_of(ret: i64) -> i32 {
    if ret < 0 {
        nix::errno::Errno::last_raw()
    } else {
        0
    }
}

/// Replaces the child with `argv` (stdout still the pipe).
fn exec(argv: &[&str]) -> Result<String, String> {
    let args: Vec<CString> = argv.iter().map(|a| CString::new(*a).unwrap()).collect();
    let err = nix::unistd::execv(&args[0], &args).unwrap_err();
    Err(format!("execv {argv:?}: {err}"))
}

fn process(value: serde_json::Value) -> Process {
    let mut base = json!({"cwd": "/", "user": {"uid": 0, "gid": 0}});
    base.as_object_mut()
        .unwrap()
        .extend(value.as_object().unwrap().clone());
    serde_json::from_value(base).unwrap()
}

fn compile(value: serde_json::Value) -> SeccompProgram {
    let profile: LinuxSeccomp = serde_json::from_value(value).unwrap();
    seccomp::compile(&profile).unwrap()
}

/// mkdir of a fresh path in `dir`, returning its errno (0 on success).
fn mkdir_errno(dir: &std::path::Path, name: &str) -> i32 {
    let path = CString::new(dir.join(name).into_os_string().into_encoded_bytes()).unwrap();
    // SAFETY: `path` is a valid C string.
    errno_of(unsafe { libc::mkdir(path.as_ptr(), 0o755) }.into())
}

#[test]
fn seccomp_errno_ret_is_what_the_blocked_syscall_returns() {
    let dir = tempfile::tempdir().unwrap();
    let program = compile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42},
            {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO"}
        ]
    }));
    let report = in_child(|| {
        program.load().map_err(|e| e.to_string())?;
        let mkdir = mkdir_errno(dir.path(), "blocked");
        // SAFETY: a valid C string.
        let rmdir = errno_of(unsafe { libc::rmdir(c"/nonexistent-berth".as_ptr()) }.into());
        let pid_works = std::fs::read_to_string("/proc/self/stat").is_ok();
        Ok(format!("mkdir {mkdir} rmdir {rmdir} read {pid_works}"))
    })
    .ok();
    assert_eq!(report, format!("mkdir 42 rmdir {} read true", libc::EPERM));
    assert!(!dir.path().join("blocked").exists());
    // The same mkdir without the filter works: the errno came from the filter.
    assert_eq!(mkdir_errno(dir.path(), "allowed"), 0);
}

#[test]
fn seccomp_default_errno_ret_applies_to_unlisted_syscalls() {
    let dir = tempfile::tempdir().unwrap();
    let program = compile(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": libc::EACCES,
        "syscalls": [{"names": [
            "write", "exit_group", "exit", "brk", "mmap", "munmap", "mremap", "madvise",
            "rt_sigprocmask", "sigaltstack", "futex", "getpid"
        ], "action": "SCMP_ACT_ALLOW"}]
    }));
    let report = in_child(|| {
        program.load().map_err(|e| e.to_string())?;
        // SAFETY: getpid has no preconditions.
        let pid = errno_of(unsafe { libc::getpid() }.into());
        Ok(format!(
            "mkdir {} getpid {pid}",
            mkdir_errno(dir.path(), "x")
        ))
    })
    .ok();
    assert_eq!(report, format!("mkdir {} getpid 0", libc::EACCES));
}

#[test]
fn seccomp_argument_conditions() {
    let program = compile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            // Only the query form of personality is allowed.
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 0, "value": 0xffff_ffffu64, "op": "SCMP_CMP_NE"}]},
            // Same index twice: either domain is blocked.
            {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EAFNOSUPPORT,
             "args": [{"index": 0, "value": libc::AF_INET, "op": "SCMP_CMP_EQ"},
                      {"index": 0, "value": libc::AF_INET6, "op": "SCMP_CMP_EQ"}]},
            // Different indexes: both must hold (AF_UNIX and, masked, SOCK_DGRAM).
            {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EPROTOTYPE,
             "args": [{"index": 0, "value": libc::AF_UNIX, "op": "SCMP_CMP_EQ"},
                      {"index": 1, "value": 0xf, "valueTwo": libc::SOCK_DGRAM,
                       "op": "SCMP_CMP_MASKED_EQ"}]}
        ]
    }));
    let report = in_child(|| {
        program.load().map_err(|e| e.to_string())?;
        // SAFETY: personality and socket take integers only; sockets are left to _exit.
        let (query, set, inet, inet6, unix_stream, unix_dgram) = unsafe {
            (
                errno_of(libc::personality(0xffff_ffff).into()),
                errno_of(libc::personality(0).into()),
                errno_of(libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0).into()),
                errno_of(libc::socket(libc::AF_INET6, libc::SOCK_STREAM, 0).into()),
                errno_of(libc::socket(libc::AF_UNIX, libc::SOCK_STREAM, 0).into()),
                errno_of(
                    libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0).into(),
                ),
            )
        };
        Ok(format!(
            "{query} {set} {inet} {inet6} {unix_stream} {unix_dgram}"
        ))
    })
    .ok();
    assert_eq!(
        report,
        format!(
            "0 {} {} {} 0 {}",
            libc::EPERM,
            libc::EAFNOSUPPORT,
            libc::EAFNOSUPPORT,
            libc::EPROTOTYPE
        )
    );
}

#[test]
fn docker_like_profile_compiles_loads_and_runs_busybox() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/docker-like-seccomp.json"
    ))
    .unwrap();
    let profile: LinuxSeccomp = serde_json::from_str(&text).unwrap();
    let program = seccomp::compile(&profile).unwrap();

    let output = in_child(|| {
        program.load().map_err(|e| e.to_string())?;
        // Not in the allow list: the default errno (EPERM).
        // SAFETY: unshare takes flags only.
        let unshare = errno_of(unsafe { libc::unshare(libc::CLONE_NEWUTS) }.into());
        // A namespace flag in clone is not allowed either.
        // SAFETY: a raw clone that the filter refuses before it happens; were it allowed,
        // CLONE_NEWUTS|SIGCHLD with a null stack behaves like fork and the child exits.
        let clone = errno_of(unsafe {
            let ret = libc::syscall(
                libc::SYS_clone,
                libc::CLONE_NEWUTS | libc::SIGCHLD,
                0,
                0,
                0,
                0,
            );
            if ret == 0 {
                libc::_exit(0);
            }
            ret
        });
        // SAFETY: clone3 with a null argument is refused before it is read.
        let clone3 = errno_of(unsafe { libc::syscall(libc::SYS_clone3, 0, 0) });
        if (unshare, clone, clone3) != (libc::EPERM, libc::EPERM, libc::ENOSYS) {
            return Err(format!("unshare {unshare} clone {clone} clone3 {clone3}"));
        }
        exec(&[
            "/bin/busybox",
            "sh",
            "-c",
            "/bin/busybox true && /bin/busybox ls / >/dev/null && echo ran",
        ])
    })
    .ok();
    assert_eq!(output.trim(), "ran");
}

#[test]
fn seccomp_load_without_nnp_or_cap_sys_admin_is_refused_with_a_hint() {
    let program = compile(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}));
    let unprivileged = process(json!({"user": {"uid": 1000, "gid": 1000}}));
    let report = in_child(|| {
        apply_process_security(&unprivileged).map_err(|e| e.to_string())?;
        let without_nnp = program.load().map_err(|e| e.to_string()).unwrap_err();
        set_no_new_privileges().map_err(|e| e.to_string())?;
        program.load().map_err(|e| e.to_string())?;
        Ok(without_nnp)
    })
    .ok();
    assert_eq!(
        report,
        "seccomp: loading the filter failed: set noNewPrivileges or load it while holding \
         CAP_SYS_ADMIN"
    );
}

#[test]
fn dropped_capabilities_are_gone_and_kept_ones_are_exactly_the_requested() {
    let dir = tempfile::tempdir().unwrap();
    let node = |name: &str| {
        CString::new(dir.path().join(name).into_os_string().into_encoded_bytes()).unwrap()
    };
    let mknod = |path: &CString| {
        // SAFETY: a valid C string; makedev(1, 3) is /dev/null's number.
        errno_of(
            unsafe { libc::mknod(path.as_ptr(), libc::S_IFCHR | 0o600, libc::makedev(1, 3)) }
                .into(),
        )
    };
    let caps = |list: serde_json::Value| {
        process(json!({"capabilities": {
            "bounding": list, "effective": list, "permitted": list
        }}))
    };

    let without_mknod = caps(json!(["CAP_CHOWN", "CAP_FOWNER", "CAP_KILL"]));
    let path = node("no");
    let report = in_child(|| {
        apply_process_security(&without_mknod).map_err(|e| e.to_string())?;
        Ok(format!(
            "mknod {}\n{}",
            mknod(&path),
            status(&["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"])
        ))
    })
    .ok();
    assert_eq!(
        report,
        format!(
            "mknod {}\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000029\n\
             CapEff:\t0000000000000029\nCapBnd:\t0000000000000029\nCapAmb:\t0000000000000000",
            libc::EPERM
        )
    );

    // With CAP_MKNOD kept, the same mknod works: the EPERM above was the dropped capability.
    let with_mknod = caps(json!(["CAP_MKNOD"]));
    let path = node("yes");
    let report = in_child(|| {
        apply_process_security(&with_mknod).map_err(|e| e.to_string())?;
        Ok(format!("mknod {}", mknod(&path)))
    })
    .ok();
    assert_eq!(report, "mknod 0");
}

#[test]
fn uid_gid_additional_gids_and_umask_are_switched() {
    let spec = process(json!({"user": {
        "uid": 1000, "gid": 1000, "additionalGids": [1001, 1002], "umask": 0o027
    }}));
    let report = in_child(|| {
        apply_process_security(&spec).map_err(|e| e.to_string())?;
        Ok(status(&[
            "Umask", "Uid", "Gid", "Groups", "CapPrm", "CapEff", "CapBnd",
        ]))
    })
    .ok();
    assert_eq!(
        report,
        "Umask:\t0027\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n\
         Groups:\t1001 1002 \nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n\
         CapBnd:\t0000000000000000"
    );
}

#[test]
fn ambient_capabilities_survive_execve_of_a_non_root_program() {
    // CAP_KILL (5) and CAP_NET_BIND_SERVICE (10) are 0x420.
    let both = json!(["CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    let spec = process(json!({
        "user": {"uid": 1000, "gid": 1000},
        "capabilities": {"bounding": both, "effective": both, "permitted": both,
                         "inheritable": both, "ambient": both}
    }));
    let output = in_child(|| {
        apply_process_security(&spec).map_err(|e| e.to_string())?;
        exec(&[
            "/bin/busybox",
            "grep",
            "-E",
            "^(Uid|Cap)",
            "/proc/self/status",
        ])
    })
    .ok();
    assert_eq!(
        output,
        "Uid:\t1000\t1000\t1000\t1000\nCapInh:\t0000000000000420\nCapPrm:\t0000000000000420\n\
         CapEff:\t0000000000000420\nCapBnd:\t0000000000000420\nCapAmb:\t0000000000000420\n"
    );

    // Ambient needs permitted and inheritable: CAP_NET_BIND_SERVICE, not inheritable here,
    // is left out.
    let spec = process(json!({
        "user": {"uid": 1000, "gid": 1000},
        "capabilities": {"bounding": both, "effective": both, "permitted": both,
                         "inheritable": ["CAP_KILL"], "ambient": both}
    }));
    let output = in_child(|| {
        apply_process_security(&spec).map_err(|e| e.to_string())?;
        exec(&["/bin/busybox", "grep", "CapAmb", "/proc/self/status"])
    })
    .ok();
    assert_eq!(output, "CapAmb:\t0000000000000020\n");
}

#[test]
fn a_capability_the_kernel_refuses_is_named() {
    let spec = process(json!({"capabilities": {
        "bounding": ["CAP_CHOWN"], "permitted": ["CAP_CHOWN"], "inheritable": ["CAP_KILL"]
    }}));
    let outcome = in_child(|| {
        apply_process_security(&spec)
            .map(|()| String::new())
            .map_err(|e| e.to_string())
    });
    assert!(
        matches!(outcome.status, WaitStatus::Exited(_, 1)),
        "{outcome:?}"
    );
    assert_eq!(
        outcome.output,
        "cannot set the effective, permitted and inheritable capabilities: `CAP_KILL` is \
         inheritable but not in the bounding set"
    );
}

#[test]
fn rlimits_are_set_and_a_refused_one_is_named() {
    let spec = process(json!({"rlimits": [
        {"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}
    ]}));
    let report = in_child(|| {
        apply_process_security(&spec).map_err(|e| e.to_string())?;
        let nofile = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE);
        let core = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_CORE);
        Ok(format!("{nofile:?} {core:?}"))
    })
    .ok();
    assert_eq!(report, "Ok((100, 200)) Ok((0, 0))");

    let bad = process(json!({"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 300, "hard": 200}]}));
    let outcome = in_child(|| {
        apply_process_security(&bad)
            .map(|()| String::new())
            .map_err(|e| e.to_string())
    });
    assert!(
        matches!(outcome.status, WaitStatus::Exited(_, 1)),
        "{outcome:?}"
    );
    assert_eq!(
        outcome.output,
        "cannot set rlimit `RLIMIT_NOFILE` to soft 300, hard 200"
    );
}

#[test]
fn no_new_privileges_shows_in_status() {
    let report = in_child(|| {
        let before = status(&["NoNewPrivs"]);
        set_no_new_privileges().map_err(|e| e.to_string())?;
        Ok(format!("{before} {}", status(&["NoNewPrivs"])))
    })
    .ok();
    assert_eq!(report, "NoNewPrivs:\t0 NoNewPrivs:\t1");
}

#[test]
fn io_priority_scheduler_and_cpu_affinity_are_applied() {
    let spec = process(json!({
        "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 5},
        "scheduler": {"policy": "SCHED_BATCH", "nice": 7},
        "execCPUAffinity": {"final": "0"}
    }));
    let report = in_child(|| {
        apply_process_security(&spec).map_err(|e| e.to_string())?;
        // SAFETY: integer-only system calls about the calling process.
        let (ioprio, policy, nice) = unsafe {
            (
                libc::syscall(libc::SYS_ioprio_get, 1, 0),
                libc::sched_getscheduler(0),
                libc::getpriority(libc::PRIO_PROCESS, 0),
            )
        };
        Ok(format!(
            "ioprio class {} data {} policy {policy} nice {nice} {}",
            ioprio >> 13,
            ioprio & 0x1fff,
            status(&["Cpus_allowed_list"])
        ))
    })
    .ok();
    assert_eq!(
        report,
        format!(
            "ioprio class 2 data 5 policy {} nice 7 Cpus_allowed_list:\t0",
            libc::SCHED_BATCH
        )
    );

    let bad = process(json!({"ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 9}}));
    let outcome = in_child(|| {
        apply_process_security(&bad)
            .map(|()| String::new())
            .map_err(|e| e.to_string())
    });
    assert_eq!(outcome.output, "cannot set ioPriority `IOPRIO_CLASS_BE` 9");
}

#[test]
fn seccomp_kill_process_kills_with_sigsys() {
    let dir = tempfile::tempdir().unwrap();
    let program = compile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL_PROCESS"}]
    }));
    let outcome = in_child(|| {
        program.load().map_err(|e| e.to_string())?;
        Ok(format!("mkdir returned {}", mkdir_errno(dir.path(), "x")))
    });
    assert!(
        matches!(
            outcome.status,
            WaitStatus::Signaled(_, nix::sys::signal::Signal::SIGSYS, _)
        ),
        "{outcome:?}"
    );
}

#[test]
fn seccomp_flags_are_passed_to_the_kernel() {
    let program = compile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                  "SECCOMP_FILTER_FLAG_TSYNC"],
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_LOG"}]
    }));
    let report = in_child(|| {
        program.load().map_err(|e| e.to_string())?;
        Ok(status(&["Seccomp", "Seccomp_filters"]))
    })
    .ok();
    assert_eq!(report, "Seccomp:\t2\nSeccomp_filters:\t1");
}

#[test]
fn home_dir_comes_from_the_current_roots_passwd() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("etc")).unwrap();
    std::fs::write(
        root.path().join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
    )
    .unwrap();
    let report = in_child(|| {
        nix::unistd::chroot(root.path()).map_err(|e| e.to_string())?;
        Ok(format!(
            "{} {} {}",
            berth_runtime::process::home_dir(1000),
            berth_runtime::process::home_dir(0),
            berth_runtime::process::home_dir(4242)
        ))
    })
    .ok();
    assert_eq!(report, "/home/app /root /");
}

//! What a process inside a `berth runtime` container sees: namespaces, root filesystem and
//! mounts, devices, capabilities, user, rlimits, seccomp, cgroup limits and the terminal.
//! Every check runs busybox inside the container and asserts on its output.
//!
//! Check the tests themselves with `BERTH_TEST_RUNTIME=runc cargo test -p berth --test
//! runtime_isolation`.

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod support;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use support::{read_pty, Bundle, ConsoleSocket, Outcome, Runtime};

/// Runs the bundle to completion, checks that nothing is left behind, returns the outcome.
fn run(bundle: Bundle) -> Outcome {
    let rt = Runtime::new();
    let c = rt.container(bundle);
    let out = c.run(&[]);
    c.assert_nothing_left();
    out
}

/// Runs `script` with `sh -c` in the bundle and returns its stdout; it must exit 0.
#[track_caller]
fn sh(mut bundle: Bundle, script: &str) -> String {
    bundle.sh(script);
    run(bundle).ok().out().to_string()
}

#[test]
fn process_is_pid_1_of_its_own_pid_namespace() {
    let out = sh(Bundle::new("pid1"), "echo $$; ps -o pid | wc -l");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1");
    // Header, sh, ps and wc: no host process is visible.
    assert!(lines[1].parse::<u32>().unwrap() <= 4, "{out}");
}

#[test]
fn hostname_is_the_containers_own() {
    let host = nix::unistd::gethostname().unwrap();
    let mut bundle = Bundle::new("hostname");
    bundle.hostname("inside-berth");
    let out = sh(bundle, "hostname; uname -n");
    assert_eq!(out, "inside-berth\ninside-berth");
    assert_eq!(
        nix::unistd::gethostname().unwrap(),
        host,
        "host name changed"
    );
}

#[test]
fn domainname_is_set() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("domainname");
    bundle.config_mut()["domainname"] = json!("berth.example");
    bundle.sh("cat /proc/sys/kernel/domainname");
    let c = rt.container(bundle);
    let out = c.run(&[]).ok();
    // runc 1.1 predates `domainname` and ignores it; only berth is held to the spec here.
    let want = if rt.is_berth() {
        "berth.example"
    } else {
        "(none)"
    };
    assert_eq!(out.out(), want);
}

#[test]
fn mount_table_is_the_containers_own() {
    let host_mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let bundle = Bundle::new("mounts");
    let bundle_path = bundle.path().to_str().unwrap().to_string();
    let out = sh(bundle, "cat /proc/self/mountinfo");
    let points: Vec<(&str, &str)> = out
        .lines()
        .map(|l| {
            let fields: Vec<&str> = l.split(' ').collect();
            let fstype = l
                .split(" - ")
                .nth(1)
                .and_then(|r| r.split(' ').next())
                .unwrap_or("");
            (fields[4], fstype)
        })
        .collect();
    for (point, _) in &points {
        assert!(
            *point == "/"
                || ["/proc", "/dev", "/sys"]
                    .iter()
                    .any(|p| point.starts_with(p)),
            "unexpected mount point {point} in the container:\n{out}"
        );
        assert!(!point.contains(&bundle_path), "host path visible: {point}");
    }
    assert_eq!(points.iter().filter(|(p, _)| *p == "/").count(), 1, "{out}");
    assert!(
        points.contains(&("/dev", "tmpfs")),
        "/dev must be a tmpfs: {out}"
    );
    assert!(points.contains(&("/proc", "proc")), "{out}");
    // The host's own mounts outside /, /proc, /dev and /sys are absent.
    for line in host_mounts.lines() {
        let point = line.split(' ').nth(4).unwrap_or("/");
        if point != "/"
            && !["/proc", "/dev", "/sys"]
                .iter()
                .any(|p| point.starts_with(p))
        {
            assert!(
                !points.iter().any(|(p, _)| *p == point),
                "host mount {point} leaked"
            );
        }
    }
}

#[test]
fn host_devices_are_absent_and_denied() {
    let out = sh(
        Bundle::new("devices"),
        "for d in sda vda kvm mem kmsg loop0; do test -e /dev/$d && echo present $d; done; \
         for d in null zero full random urandom tty; do test -c /dev/$d || echo missing $d; done; \
         echo x > /dev/null && head -c 3 /dev/zero | wc -c; \
         mknod /tmp/vda b 254 0 2>/dev/null; head -c 1 /tmp/vda >/dev/null 2>&1 || echo denied",
    );
    assert_eq!(out, "3\ndenied");
}

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
fn user_namespace_maps_root_to_an_unprivileged_host_uid() {
    let mut bundle = Bundle::new("userns");
    bundle.user_namespace(100000, 65536);
    let out = sh(
        bundle,
        "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map; echo $$",
    );
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["0"], "{out}");
    assert_eq!(lines[1], ["0"], "{out}");
    assert_eq!(lines[2], ["0", "100000", "65536"], "{out}");
    assert_eq!(lines[3], ["0", "100000", "65536"], "{out}");
    assert_eq!(lines[4], ["1"], "{out}");
}

/// A named network namespace (`ip netns add`), deleted on drop.
struct NetNs(String);

impl NetNs {
    fn new(tag: &str) -> NetNs {
        let name = format!("berth-test-{tag}-{}", std::process::id());
        let st = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .unwrap();
        assert!(st.success(), "ip netns add {name}");
        NetNs(name)
    }

    fn path(&self) -> String {
        format!("/var/run/netns/{}", self.0)
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

#[test]
fn joins_an_existing_network_namespace_by_path() {
    let ns = NetNs::new("join");
    let inode = fs::metadata(ns.path()).unwrap().ino();
    let mut bundle = Bundle::new("netns-join");
    bundle.namespace("network", Some(&ns.path()));
    let out = sh(bundle, "readlink /proc/self/ns/net");
    assert_eq!(out, format!("net:[{inode}]"));
    let own = fs::read_link("/proc/self/ns/net").unwrap();
    assert_ne!(own.to_string_lossy(), out, "the host's namespace was used");
}

#[test]
fn joins_an_existing_uts_namespace_by_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("uts");
    fs::write(&file, "").unwrap();
    let st = Command::new("unshare")
        .arg(format!("--uts={}", file.display()))
        .args(["hostname", "joined-uts"])
        .status()
        .unwrap();
    assert!(st.success());
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
        }
    }
    let _unmount = Unmount(file.clone());
    let mut bundle = Bundle::new("utsns-join");
    bundle.namespace("uts", Some(file.to_str().unwrap()));
    bundle
        .config_mut()
        .as_object_mut()
        .unwrap()
        .remove("hostname");
    assert_eq!(sh(bundle, "hostname"), "joined-uts");
}

#[test]
fn user_and_additional_gids_apply() {
    let mut bundle = Bundle::new("user");
    bundle.user(1000, 1000, &[2000, 3000]);
    let out = sh(bundle, "id -u; id -g; id -G; id -un");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1000");
    assert_eq!(lines[1], "1000");
    let mut groups: Vec<&str> = lines[2].split_whitespace().collect();
    groups.sort();
    groups.dedup();
    assert!(
        groups.contains(&"2000") && groups.contains(&"3000"),
        "{out}"
    );
    assert!(!groups.contains(&"0"), "root group kept: {out}");
    assert_eq!(lines[3], "user");
}

#[test]
fn env_cwd_umask_and_oom_score_adj_apply() {
    let mut bundle = Bundle::new("process");
    bundle
        .env(&["GREETING=hello world", "EMPTY="])
        .cwd("/home/user");
    bundle.config_mut()["process"]["user"]["umask"] = json!(0o027);
    bundle.config_mut()["process"]["oomScoreAdj"] = json!(345);
    let out = sh(
        bundle,
        "echo \"$GREETING\"; echo \"[$EMPTY]\"; pwd; umask; cat /proc/self/oom_score_adj; \
         echo $PATH",
    );
    assert_eq!(
        out,
        "hello world\n[]\n/home/user\n0027\n345\n/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    );
}

#[test]
fn rlimits_apply() {
    let mut bundle = Bundle::new("rlimits");
    bundle.rlimit("RLIMIT_NOFILE", 123, 456);
    assert_eq!(sh(bundle, "ulimit -n; ulimit -Hn"), "123\n456");
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
fn sysctls_are_set_in_the_containers_namespaces() {
    let host_forward = fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let mut bundle = Bundle::new("sysctl");
    bundle
        .sysctl("net.ipv4.ip_forward", "1")
        .sysctl("kernel.shm_rmid_forced", "1");
    let out = sh(
        bundle,
        "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced",
    );
    assert_eq!(out, "1\n1");
    assert_eq!(
        fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        host_forward,
        "the host's sysctl changed"
    );
}

#[test]
fn readonly_root_refuses_writes() {
    let mut bundle = Bundle::new("readonly");
    bundle
        .readonly_root(true)
        .sh("touch /new-file 2>&1; touch /tmp/x 2>&1; echo ok > /dev/shm/x && cat /dev/shm/x");
    let rootfs = bundle.rootfs();
    let rt = Runtime::new();
    let c = rt.container(bundle);
    let out = c.run(&[]).ok().out().to_string();
    assert_eq!(out.matches("Read-only file system").count(), 2, "{out}");
    assert!(out.ends_with("ok"), "{out}");
    assert!(!rootfs.join("new-file").exists());
}

#[test]
fn masked_paths_are_unreadable_and_readonly_paths_unwritable() {
    // Only files the host itself can read prove anything (this kernel has no /proc/kcore).
    let masked: Vec<&str> = [
        "/proc/kcore",
        "/proc/keys",
        "/proc/timer_list",
        "/proc/sched_debug",
    ]
    .into_iter()
    .filter(|f| fs::read(f).is_ok_and(|b| !b.is_empty()))
    .collect();
    assert!(
        !masked.is_empty(),
        "no maskable file is readable on this host"
    );
    assert!(fs::read_dir("/sys/firmware").unwrap().count() > 0);
    let script = format!(
        "for f in {}; do cat $f 2>/dev/null | wc -c; done; ls /sys/firmware | wc -l; \
         {{ echo x > /proc/sys/kernel/domainname; }} 2>&1; \
         touch /proc/sys/kernel/hostname 2>/dev/null && echo writable || echo ro",
        masked.join(" ")
    );
    let out = sh(Bundle::new("masked"), &script);
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    for (i, file) in masked.iter().enumerate() {
        assert_eq!(lines[i], "0", "{file} readable: {out}");
    }
    let rest = &lines[masked.len()..];
    assert_eq!(rest[0], "0", "/sys/firmware listed: {out}");
    assert!(rest[1].contains("Read-only file system"), "{out}");
    assert_eq!(rest[2], "ro", "{out}");
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

#[test]
fn memory_limit_oom_kills() {
    let mut bundle = Bundle::new("oom");
    bundle.resources(json!({ "memory": { "limit": 16 << 20, "swap": 16 << 20 } }));
    bundle.sh("x=$(head -c 100m /dev/zero | tr '\\0' a); echo survived ${#x}");
    let out = run(bundle);
    assert_eq!(out.code, Some(137), "{out}");
    assert!(!out.stdout.contains("survived"), "{out}");
}

#[test]
fn pids_limit_stops_fork() {
    let mut bundle = Bundle::new("pids");
    bundle.resources(json!({ "pids": { "limit": 10 } }));
    // ash gives up at the first failed fork, hence the subshell; after it only builtins.
    let out = sh(
        bundle,
        "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; \
         (for i in $(seq 1 20); do sleep 30 & done) 2>/tmp/err; echo rc=$?; \
         read -r line < /tmp/err; echo \"$line\"; \
         n=0; for p in /proc/[0-9]*; do n=$((n+1)); done; echo $n",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "10", "{out}");
    assert_ne!(lines[1], "rc=0", "{out}");
    assert!(
        lines[2].contains("can't fork: Resource temporarily unavailable"),
        "{out}"
    );
    let running: u32 = lines[3].parse().unwrap();
    assert!(
        (5..=10).contains(&running),
        "{running} processes under pids.max 10: {out}"
    );
}

#[test]
fn cgroup_limits_are_visible_in_the_hierarchy() {
    let mut bundle = Bundle::new("cgroup-files");
    bundle.resources(json!({
        "memory": { "limit": 32 << 20, "reservation": 16 << 20, "swap": 48 << 20 },
        "cpuset": { "cpus": "0", "mems": "0" },
        "cpu": { "shares": 512, "quota": 50000, "period": 100000 },
        "pids": { "limit": 42 },
        "blkio": { "weight": 300 }
    }));
    bundle.sh("sleep 1000");
    let rt = Runtime::new();
    let c = rt.container(bundle);
    c.start_running();
    let inside = |path: &str| c.exec(&[], &["cat", path]).ok().out().to_string();
    if fs::metadata("/sys/fs/cgroup/memory/memory.limit_in_bytes").is_ok() {
        // v1 controllers (this hybrid host): each in its own hierarchy.
        assert_eq!(
            c.cgroup_file("memory.limit_in_bytes").as_deref(),
            Some("33554432")
        );
        assert_eq!(
            c.cgroup_file("memory.soft_limit_in_bytes").as_deref(),
            Some("16777216")
        );
        assert_eq!(c.cgroup_file("cpu.shares").as_deref(), Some("512"));
        assert_eq!(c.cgroup_file("cpu.cfs_quota_us").as_deref(), Some("50000"));
        assert_eq!(
            c.cgroup_file("cpu.cfs_period_us").as_deref(),
            Some("100000")
        );
        assert_eq!(c.cgroup_file("pids.max").as_deref(), Some("42"));
        assert_eq!(
            inside("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
            "33554432"
        );
        assert_eq!(inside("/sys/fs/cgroup/cpu/cpu.shares"), "512");
        assert_eq!(inside("/sys/fs/cgroup/pids/pids.max"), "42");
        let pid = c.pid().to_string();
        for ctrl in ["memory", "cpu", "pids", "freezer", "devices"] {
            let dirs = c.cgroup_dirs();
            let dir = dirs
                .iter()
                .find(|d| d.starts_with(format!("/sys/fs/cgroup/{ctrl}")))
                .unwrap_or_else(|| panic!("no {ctrl} cgroup: {dirs:?}"));
            let procs = fs::read_to_string(dir.join("cgroup.procs")).unwrap();
            assert!(
                procs.lines().any(|p| p == pid),
                "{pid} not in {}",
                dir.display()
            );
        }
    } else {
        assert_eq!(c.cgroup_file("memory.max").as_deref(), Some("33554432"));
        assert_eq!(c.cgroup_file("cpu.max").as_deref(), Some("50000 100000"));
        assert_eq!(c.cgroup_file("pids.max").as_deref(), Some("42"));
    }
}

#[test]
fn tmpfs_mount_gets_its_options() {
    let mut bundle = Bundle::new("tmpfs");
    bundle.mount(
        "/data",
        "tmpfs",
        "tmpfs",
        &["nosuid", "noexec", "nodev", "size=1m", "mode=700"],
    );
    let out = sh(
        bundle,
        "grep ' /data ' /proc/self/mountinfo; stat -c %a /data; \
         head -c 2097152 /dev/zero > /data/big 2>/dev/null; echo head=$?; \
         du -k /data/big | cut -f1",
    );
    let lines: Vec<&str> = out.lines().collect();
    for opt in ["nosuid", "nodev", "noexec", "size=1024k", "mode=700"] {
        assert!(lines[0].contains(opt), "{opt} missing: {out}");
    }
    assert!(lines[0].contains(" - tmpfs "), "{out}");
    assert_eq!(lines[1], "700");
    assert_ne!(lines[2], "head=0", "2 MiB fit in a 1 MiB tmpfs: {out}");
    assert!(lines[3].parse::<u32>().unwrap() <= 1024, "{out}");
}

#[test]
fn bind_mounts_honour_readonly() {
    let host = tempfile::tempdir().unwrap();
    fs::write(host.path().join("file"), "from-host").unwrap();
    let rw = tempfile::tempdir().unwrap();
    let mut bundle = Bundle::new("bind");
    bundle
        .mount(
            "/ro",
            "bind",
            host.path().to_str().unwrap(),
            &["rbind", "ro", "nosuid", "nodev", "noexec"],
        )
        .mount("/rw", "bind", rw.path().to_str().unwrap(), &["bind", "rw"]);
    let out = sh(
        bundle,
        "cat /ro/file; echo; touch /ro/new 2>&1; echo written > /rw/out && echo rw-ok; \
         awk '$5 == \"/ro\" {print $6}' /proc/self/mountinfo",
    );
    let lines: Vec<&str> = out.lines().collect();
    // runc 1.1 (Debian 12) was seen dropping nosuid/nodev/noexec from bind mounts; the
    // spec asks for them, so berth is held to all four.
    let flags: &[&str] = if Runtime::new().is_berth() {
        &["ro", "nosuid", "nodev", "noexec"]
    } else {
        &["ro"]
    };
    for flag in flags {
        assert!(
            lines[3].split(',').any(|f| f == *flag),
            "{flag} missing: {out}"
        );
    }
    assert_eq!(lines[0], "from-host");
    assert!(lines[1].contains("Read-only file system"), "{out}");
    assert_eq!(lines[2], "rw-ok");
    assert!(!host.path().join("new").exists());
    assert_eq!(
        fs::read_to_string(rw.path().join("out")).unwrap(),
        "written\n"
    );
}

#[test]
fn symlinked_mount_target_cannot_escape_the_rootfs() {
    let host = tempfile::tempdir().unwrap();
    fs::write(host.path().join("precious"), "untouched").unwrap();
    let mut bundle = Bundle::new("symlink-escape");
    let rootfs = bundle.rootfs();
    // An absolute link and a relative one climbing far above the rootfs, both at the host dir.
    std::os::unix::fs::symlink(host.path(), rootfs.join("abs")).unwrap();
    let up = "../".repeat(20);
    std::os::unix::fs::symlink(
        format!(
            "{up}{}",
            host.path().display().to_string().trim_start_matches('/')
        ),
        rootfs.join("rel"),
    )
    .unwrap();
    bundle.mount("/abs", "tmpfs", "tmpfs", &["size=1m"]).mount(
        "/rel/sub",
        "tmpfs",
        "tmpfs",
        &["size=1m"],
    );
    let rt = Runtime::new();
    let c = rt.container(bundle);
    let out = c.run(&[]);
    // Either refusing the bundle or mounting inside the rootfs is fine; the host must not change.
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mountinfo.contains(host.path().to_str().unwrap()),
        "a mount landed on the host dir: {out}"
    );
    let names: Vec<_> = fs::read_dir(host.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["precious"], "host dir changed: {out}");
    assert_eq!(
        fs::read_to_string(host.path().join("precious")).unwrap(),
        "untouched"
    );
    c.assert_nothing_left();
}

#[test]
fn terminal_goes_through_the_console_socket() {
    let rt = Runtime::new();
    let socket = ConsoleSocket::new();
    let mut bundle = Bundle::new("tty");
    bundle
        .terminal(true)
        .sh("tty; test -t 0 && test -t 1 && echo is-a-tty; stty size");
    let c = rt.container(bundle);
    c.create(&["--console-socket", socket.path().to_str().unwrap()])
        .ok();
    let master = socket.receive_master(Duration::from_secs(10));
    c.start().ok();
    let text = read_pty(master, Duration::from_secs(10));
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    assert_eq!(lines.first(), Some(&"/dev/pts/0"), "{text:?}");
    assert_eq!(lines.get(1), Some(&"is-a-tty"), "{text:?}");
    c.wait_status("stopped");
    c.delete(&[]).ok();
    c.assert_nothing_left();
}

#[test]
fn cgroup_namespace_hides_the_host_path() {
    let mut bundle = Bundle::new("cgroupns");
    bundle.namespace("cgroup", None);
    let out = sh(bundle, "cat /proc/self/cgroup");
    for line in out.lines() {
        let path = line.rsplit(':').next().unwrap();
        assert_eq!(path, "/", "host cgroup path visible: {out}");
    }
}

#[test]
fn linux_devices_are_created_and_allowed() {
    let mut bundle = Bundle::new("linux-devices");
    bundle.config_mut()["linux"]["devices"] = json!([{
        "path": "/dev/berth-null", "type": "c", "major": 1, "minor": 3,
        "fileMode": 0o640, "uid": 0, "gid": 0
    }]);
    bundle.resources(json!({ "devices": [
        { "allow": false, "access": "rwm" },
        { "allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw" }
    ]}));
    let out = sh(
        bundle,
        "stat -c '%F %t,%T %a' /dev/berth-null; echo data > /dev/berth-null && echo write-ok; \
         mknod /tmp/mem c 1 1 && { head -c 1 /tmp/mem >/dev/null 2>&1 || echo mem-denied; }",
    );
    // 1:1 (/dev/mem) is outside the allow-list, even though the node can be made.
    assert_eq!(out, "character special file 1,3 640\nwrite-ok\nmem-denied");
}

#[test]
fn no_pivot_still_confines_the_root() {
    let mut bundle = Bundle::new("no-pivot");
    bundle.sh("ls /; test -e /bin/busybox && echo busybox-root");
    let rootfs = bundle.rootfs();
    fs::write(rootfs.join("marker-no-pivot"), "").unwrap();
    let rt = Runtime::new();
    let c = rt.container(bundle);
    let out = c.run(&["--no-pivot"]).ok();
    assert!(out.stdout.contains("marker-no-pivot"), "{out}");
    assert!(out.out().ends_with("busybox-root"), "{out}");
    c.assert_nothing_left();
}

#[test]
fn exec_tty_goes_through_the_console_socket() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("exec-tty");
    bundle.sh("trap 'exit 0' TERM; sleep 1000 & wait");
    let c = rt.container(bundle);
    c.start_running();
    let socket = ConsoleSocket::new();
    let path = socket.path().to_str().unwrap().to_string();
    // As containerd's shim does it: detached, the pty master handed over the socket.
    c.exec(
        &["--tty", "--detach", "--console-socket", &path],
        &["sh", "-c", "tty; echo exec-tty-ok"],
    )
    .ok();
    let master = socket.receive_master(Duration::from_secs(10));
    let text = read_pty(master, Duration::from_secs(10));
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    assert!(
        lines.first().is_some_and(|l| l.starts_with("/dev/pts/")),
        "{text:?}"
    );
    assert_eq!(lines.get(1), Some(&"exec-tty-ok"), "{text:?}");
}

#[test]
fn dev_has_the_default_nodes_and_its_own_devpts() {
    let out = sh(
        Bundle::new("dev-defaults"),
        "ls /dev/pts; test -c /dev/pts/ptmx && echo ptmx-node; \
         [ /dev/ptmx -ef /dev/pts/ptmx ] && echo ptmx-is-pts; \
         for l in fd stdin stdout stderr; do readlink /dev/$l; done; \
         sed 's/^[^ ]* [^ ]* [^ ]* [^ ]* \\([^ ]*\\) .* - \\([^ ]*\\) .*/\\1 \\2/' /proc/self/mountinfo \
         | grep '^/dev' | sort",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[..7],
        [
            "ptmx",
            "ptmx-node",
            "ptmx-is-pts",
            "/proc/self/fd",
            "/proc/self/fd/0",
            "/proc/self/fd/1",
            "/proc/self/fd/2"
        ],
        "{out}"
    );
    let mounts = &lines[7..];
    for want in [
        "/dev tmpfs",
        "/dev/mqueue mqueue",
        "/dev/pts devpts",
        "/dev/shm tmpfs",
    ] {
        assert!(mounts.contains(&want), "{want} missing: {out}");
    }
}

#[test]
fn network_namespace_has_only_loopback() {
    let out = sh(Bundle::new("netns-own"), "ls /sys/class/net");
    assert_eq!(out, "lo");
}

#[test]
fn listed_namespaces_are_new_and_unlisted_ones_shared() {
    let kinds = ["pid", "net", "ipc", "uts", "mnt", "cgroup", "user"];
    let host: Vec<String> = kinds
        .iter()
        .map(|k| {
            fs::read_link(format!("/proc/self/ns/{k}"))
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let script = kinds
        .iter()
        .map(|k| format!("readlink /proc/self/ns/{k}"))
        .collect::<Vec<_>>()
        .join("; ");
    let out = sh(Bundle::new("ns-inodes"), &script);
    let inside: Vec<&str> = out.lines().collect();
    for (i, kind) in kinds.iter().enumerate() {
        // The default config lists pid, network, ipc, uts and mount.
        let new = i < 5;
        assert_eq!(
            inside[i] != host[i],
            new,
            "{kind}: inside {} host {}",
            inside[i],
            host[i]
        );
    }
}

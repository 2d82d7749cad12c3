//! Cgroup limits of a `berth runtime` container: the memory limit OOM-kills, the pids limit
//! stops fork, and every limit is visible in the cgroup hierarchy from the host and inside.
//! Every check runs busybox inside the container and asserts on its output.
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

//! The process a `berth runtime` container starts: user and additional groups, environment,
//! working directory, umask, oom_score_adj and rlimits. Every check runs busybox inside the
//! container and asserts on its output.
//!
//! Check the tests themselves with `BERTH_TEST_RUNTIME=runc cargo test -p berth --test
//! 'runtime_isolation*'`.

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

#[path = "runtime_isolation/common.rs"]
mod common;
mod support;

use common::sh;
use serde_json::json;
use support::Bundle;

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

//! OCI hooks under `berth runtime`: every stage runs, in the spec's order, with the
//! container state on stdin; a failing hook fails the operation and leaves nothing behind.
//!
//! Check the tests themselves with `BERTH_TEST_RUNTIME=runc cargo test -p berth --test
//! runtime_hooks`.

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use support::{Bundle, Runtime};

/// Appends `<stage> <status> <pid>` from the state JSON on stdin to the log. `$0` is the
/// stage, `$1` the log as seen in the container's namespace (a bind mount), `$2` the same
/// log on the host: hooks run in either namespace depending on their stage.
const RECORD: &str = r#"s=$(cat)
st=$(echo "$s" | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p')
pid=$(echo "$s" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
for f in "$1" "$2"; do
  if [ -d "${f%/*}" ]; then echo "$0 $st ${pid:-0}" >> "$f"; exit 0; fi
done
exit 1"#;

/// Adds a recording hook for every stage; the log is `dir/log`, mounted at /hooklog.
fn record_all_stages(bundle: &mut Bundle, dir: &Path) {
    let host_log = dir.join("log");
    let host_log = host_log.to_str().unwrap();
    bundle.mount("/hooklog", "bind", dir.to_str().unwrap(), &["bind", "rw"]);
    for stage in [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ] {
        bundle.hook(
            stage,
            "/bin/sh",
            &["sh", "-c", RECORD, stage, "/hooklog/log", host_log],
        );
    }
}

fn log_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("berth-hooks-")
        .tempdir()
        .unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).unwrap();
    dir
}

fn read_log(dir: &Path) -> Vec<Vec<String>> {
    fs::read_to_string(dir.join("log"))
        .unwrap_or_default()
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

/// The spec's order. runc 1.1 (Debian 12's) runs poststart inside `create`, right after
/// createContainer, and reports pid 1 (the pid inside) to createContainer and startContainer:
/// the tests accept that only from runc.
const SPEC_ORDER: [&str; 6] = [
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];
const RUNC_1_1_ORDER: [&str; 6] = [
    "prestart",
    "createRuntime",
    "createContainer",
    "poststart",
    "startContainer",
    "poststop",
];

fn stages(log: &[Vec<String>]) -> Vec<&str> {
    log.iter().map(|l| l[0].as_str()).collect()
}

#[test]
fn hooks_run_in_order_with_the_state_on_stdin() {
    let dir = log_dir();
    let rt = Runtime::new();
    let mut bundle = Bundle::new("hooks-order");
    bundle.sh("trap 'exit 0' TERM; sleep 1000 & wait");
    record_all_stages(&mut bundle, dir.path());
    let c = rt.container(bundle);
    let order = if rt.is_berth() {
        SPEC_ORDER
    } else {
        RUNC_1_1_ORDER
    };
    let at_create = if rt.is_berth() { 3 } else { 4 };

    c.create(&[]).ok();
    let pid = c.pid().to_string();
    let log = read_log(dir.path());
    assert_eq!(stages(&log), order[..at_create], "after create: {log:?}");
    for entry in &log[..3] {
        assert_eq!(entry[1], "creating", "{log:?}");
        if rt.is_berth() || entry[0] != "createContainer" {
            assert_eq!(entry[2], pid, "the host pid of the container: {log:?}");
        }
    }

    c.start().ok();
    let log = read_log(dir.path());
    assert_eq!(stages(&log), order[..5], "after start: {log:?}");
    let status = |stage: &str| {
        let entry = log.iter().find(|e| e[0] == stage).unwrap();
        if rt.is_berth() || stage != "startContainer" {
            assert_eq!(entry[2], pid, "{log:?}");
        }
        entry[1].clone()
    };
    assert_eq!(status("startContainer"), "created", "{log:?}");
    if rt.is_berth() {
        assert_eq!(status("poststart"), "running", "{log:?}");
    }

    c.kill("TERM", &[]).ok();
    c.wait_status("stopped");
    c.delete(&[]).ok();
    let log = read_log(dir.path());
    assert_eq!(stages(&log), order, "after delete: {log:?}");
    assert_eq!(log[5][1], "stopped", "{log:?}");
    c.assert_nothing_left();
}

#[test]
fn run_runs_every_hook_once() {
    let dir = log_dir();
    let rt = Runtime::new();
    let mut bundle = Bundle::new("hooks-run");
    bundle.args(&["true"]);
    record_all_stages(&mut bundle, dir.path());
    let c = rt.container(bundle);
    c.run(&[]).ok();
    let log = read_log(dir.path());
    let order = if rt.is_berth() {
        SPEC_ORDER
    } else {
        RUNC_1_1_ORDER
    };
    assert_eq!(stages(&log), order);
    c.assert_nothing_left();
}

#[test]
fn hook_gets_its_args_and_env() {
    let dir = log_dir();
    let out = dir.path().join("out");
    let rt = Runtime::new();
    let mut bundle = Bundle::new("hooks-env");
    bundle.config_mut()["hooks"] = serde_json::json!({
        "createRuntime": [{
            "path": "/bin/sh",
            "args": ["sh", "-c", "echo \"$0 $1 $HOOK_VAR\" > \"$2\"", "arg-zero", "arg-one", out.to_str().unwrap()],
            "env": ["HOOK_VAR=from-env"]
        }]
    });
    let c = rt.container(bundle);
    c.run(&[]).ok();
    assert_eq!(
        fs::read_to_string(&out).unwrap(),
        "arg-zero arg-one from-env\n"
    );
    c.assert_nothing_left();
}

#[test]
fn failing_create_runtime_hook_fails_create_and_leaves_nothing() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("hooks-fail");
    bundle.hook(
        "createRuntime",
        "/bin/sh",
        &["sh", "-c", "echo hook-broke >&2; exit 3"],
    );
    let c = rt.container(bundle);
    let out = c.create(&[]).failed();
    if rt.is_berth() {
        assert!(
            out.stderr.contains("createRuntime"),
            "hook stage not named: {out}"
        );
    }
    rt.cmd(["state", c.id()]).failed();
    c.assert_nothing_left();
}

#[test]
fn failing_poststart_hook_does_not_stop_the_container() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("hooks-poststart");
    bundle.sh("trap 'exit 0' TERM; sleep 1000 & wait");
    bundle.hook("poststart", "/bin/sh", &["sh", "-c", "exit 1"]);
    let c = rt.container(bundle);
    if !rt.is_berth() {
        // runc 1.1 runs poststart inside `create`, which then fails.
        c.create(&[]).failed();
        return;
    }
    c.create(&[]).ok();
    // The spec: a failing poststart hook is logged; the container keeps running.
    c.start();
    assert_eq!(c.status(), "running");
}

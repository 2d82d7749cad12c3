//! Bad input to `berth runtime`: each case must exit non-zero, say what is wrong (checked
//! on berth only; runc words things its own way) and leave nothing behind: no state
//! directory, cgroup, mount or process.
//!
//! Check the tests themselves with `BERTH_TEST_RUNTIME=runc cargo test -p berth --test
//! runtime_errors`.

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod support;

use std::fs;

use serde_json::json;
use support::{Bundle, Outcome, Runtime};

/// Creates the container, expects failure, checks that `state` does not know it and that
/// nothing is left; returns the failed outcome for wording checks.
#[track_caller]
fn create_fails(rt: &Runtime, bundle: Bundle) -> Outcome {
    let c = rt.container(bundle);
    let out = c.create(&[]).failed();
    rt.cmd(["state", c.id()]).failed();
    c.assert_nothing_left();
    out
}

/// On berth, the error must mention every one of `words` (case-insensitive).
#[track_caller]
fn names(rt: &Runtime, out: &Outcome, words: &[&str]) {
    if rt.is_berth() {
        let text = out.stderr.to_lowercase();
        for word in words {
            assert!(
                text.contains(&word.to_lowercase()),
                "error does not name `{word}`: {out}"
            );
        }
    }
}

#[test]
fn malformed_config_json_is_refused() {
    let rt = Runtime::new();
    let bundle = Bundle::new("bad-json");
    let config = bundle.path().join("config.json");
    let c = rt.container(bundle);
    // Not through `Container::create`, which would save a good config over this one.
    fs::write(
        &config,
        "{ \"ociVersion\": \"1.0.2\", \"process\": { \"args\": [\"true\"] ",
    )
    .unwrap();
    let out = rt
        .cmd([
            "create",
            "--bundle",
            c.bundle().path().to_str().unwrap(),
            c.id(),
        ])
        .failed();
    names(&rt, &out, &["config.json"]);
    rt.cmd(["state", c.id()]).failed();
    c.assert_nothing_left();
}

#[test]
fn config_with_wrong_types_is_refused() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("bad-types");
    bundle.config_mut()["process"]["args"] = json!("sh -c true");
    let out = create_fails(&rt, bundle);
    names(&rt, &out, &["config.json"]);
}

#[test]
fn missing_rootfs_is_refused() {
    let rt = Runtime::new();
    let bundle = Bundle::new("no-rootfs");
    fs::remove_dir_all(bundle.rootfs()).unwrap();
    let out = create_fails(&rt, bundle);
    names(&rt, &out, &["rootfs"]);
}

#[test]
fn unknown_namespace_type_is_refused() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("bad-ns");
    bundle.namespace("bogusns", None);
    let out = create_fails(&rt, bundle);
    names(&rt, &out, &["bogusns"]);
}

#[test]
fn missing_namespace_path_is_refused() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("ns-path");
    bundle.namespace("network", Some("/var/run/netns/berth-test-does-not-exist"));
    let out = create_fails(&rt, bundle);
    names(&rt, &out, &["/var/run/netns/berth-test-does-not-exist"]);
}

#[test]
fn mount_target_escaping_the_rootfs_does_not_reach_the_host() {
    let host = tempfile::tempdir().unwrap();
    let target = host.path().join("victim");
    fs::create_dir(&target).unwrap();
    let rt = Runtime::new();
    let mut bundle = Bundle::new("mount-escape");
    let escape = format!("{}{}", "/..".repeat(20), target.display());
    bundle.mount(&escape, "tmpfs", "tmpfs", &["size=1m"]);
    bundle.sh("touch /tmp/marker");
    let c = rt.container(bundle);
    let out = c.create(&[]);
    // runc resolves the `..` inside the rootfs and carries on; berth refuses the
    // destination. Neither may mount on the host's directory.
    if rt.is_berth() {
        let out = out.failed();
        names(&rt, &out, &[&escape]);
    }
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mountinfo.contains(target.to_str().unwrap()),
        "mounted on the host: {mountinfo}"
    );
    assert_eq!(fs::read_dir(&target).unwrap().count(), 0);
    c.delete(&["--force"]);
    c.assert_nothing_left();
}

#[test]
fn relative_mount_destination_is_refused_or_contained() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("mount-relative");
    bundle.mount("../../../../../../tmp", "tmpfs", "tmpfs", &["size=1m"]);
    let c = rt.container(bundle);
    let out = c.create(&[]);
    if rt.is_berth() {
        let out = out.failed();
        names(&rt, &out, &["../../../../../../tmp"]);
    }
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mountinfo
            .lines()
            .any(|l| l.split(' ').nth(4) == Some("/tmp")),
        "a tmpfs landed on the host's /tmp"
    );
    c.delete(&["--force"]);
    c.assert_nothing_left();
}

#[test]
fn container_id_already_in_use_is_refused() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("dup-id");
    bundle.args(&["sleep", "1000"]);
    let c = rt.container(bundle);
    c.create(&[]).ok();
    let pid = c.pid();
    let cgroups = c.cgroup_dirs();

    let out = c.create(&[]).failed();
    names(&rt, &out, &[c.id()]);
    // The first container is untouched: same state, same init, still in its cgroups.
    assert_eq!(c.status(), "created");
    assert_eq!(c.pid(), pid);
    assert_eq!(c.cgroup_dirs(), cgroups);
    let procs = c.cgroup_file("cgroup.procs").unwrap_or_default();
    assert!(
        procs.lines().any(|p| p == pid.to_string()),
        "init {pid} is not in its cgroup: {procs:?}"
    );

    // `run` with the same id is refused too.
    c.run(&[]).failed();
    assert_eq!(c.status(), "created");

    c.delete(&["--force"]).ok();
    c.assert_nothing_left();
}

#[test]
fn failing_prestart_hook_fails_create_and_leaves_nothing() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("hook-fails");
    bundle.hook("prestart", "/bin/sh", &["sh", "-c", "exit 9"]);
    let out = create_fails(&rt, bundle);
    names(&rt, &out, &["prestart", "/bin/sh"]);
}

#[test]
fn missing_hook_binary_fails_create_and_leaves_nothing() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("hook-missing");
    bundle.hook("createRuntime", "/nonexistent/berth-hook", &["berth-hook"]);
    let out = create_fails(&rt, bundle);
    names(&rt, &out, &["/nonexistent/berth-hook"]);
}

#[test]
fn missing_executable_fails_and_leaves_nothing() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("no-exec");
    bundle.args(&["/bin/berth-no-such-program"]);
    let c = rt.container(bundle);
    let out = c.run(&[]).failed();
    names(&rt, &out, &["/bin/berth-no-such-program"]);
    c.assert_nothing_left();
}

#[test]
fn bad_container_ids_are_refused() {
    let rt = Runtime::new();
    for id in ["../escape", "a/b", ""] {
        let bundle = Bundle::new("bad-id");
        bundle.save();
        let out = rt
            .cmd(["create", "--bundle", bundle.path().to_str().unwrap(), id])
            .failed();
        if !id.is_empty() {
            names(&rt, &out, &[id]);
        }
    }
    let parent = rt.root().parent().unwrap();
    assert!(
        !parent.join("escape").exists(),
        "state written outside --root"
    );
    let entries = fs::read_dir(rt.root()).unwrap().count();
    assert_eq!(entries, 0, "state left under --root");
}

#[test]
fn commands_on_an_unknown_container_fail() {
    let rt = Runtime::new();
    let id = "berth-test-no-such-container";
    for args in [
        vec!["state", id],
        vec!["start", id],
        vec!["kill", id, "KILL"],
        vec!["delete", id],
        vec!["pause", id],
        vec!["exec", id, "true"],
    ] {
        let out = rt.cmd(&args).failed();
        names(&rt, &out, &[id]);
    }
}

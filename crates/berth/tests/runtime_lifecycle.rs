//! `berth runtime` lifecycle: run, create/start/state/kill/delete, list, ps, pause/resume,
//! exec, spec, features, events and update, driven through the runc command line.
//!
//! Run against runc to check the tests themselves: `BERTH_TEST_RUNTIME=runc cargo test -p
//! berth --test runtime_lifecycle`.

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod support;

use std::fs;
use std::time::Duration;

use serde_json::json;
use support::{process_gone, Bundle, Runtime};

/// A container init that stays up until SIGTERM (pid 1 ignores signals it has no handler
/// for, so the trap is needed) and keeps a child process around.
const LONG_RUNNING: &str = "trap 'exit 0' TERM; sleep 1000 & wait";

#[test]
fn run_prints_output_and_propagates_exit_code() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("run-exit");
    bundle.sh("echo hello from $(hostname); echo to-stderr >&2; exit 7");
    let c = rt.container(bundle);
    let out = c.run(&[]);
    assert_eq!(out.exit_code(), 7, "{out}");
    assert_eq!(out.out(), "hello from berth-test", "{out}");
    assert!(out.stderr.contains("to-stderr"), "{out}");
    c.assert_nothing_left();
}

#[test]
fn run_of_successful_process_exits_zero() {
    let rt = Runtime::new();
    let c = rt.container(Bundle::new("run-true"));
    c.run(&[]).ok();
    c.assert_nothing_left();
}

#[test]
fn run_killed_by_signal_exits_128_plus_signal() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("run-signal");
    bundle.args(&["sleep", "1000"]);
    let c = rt.container(bundle);
    c.bundle().save();
    let cmd = rt.command([
        "run",
        "--bundle",
        c.bundle().path().to_str().unwrap(),
        c.id(),
    ]);
    let runner = std::thread::scope(|s| {
        let handle = s.spawn(|| rt.finish(cmd, Duration::from_secs(30)));
        c.wait_status("running");
        c.kill("KILL", &[]).ok();
        handle.join().expect("run thread")
    });
    assert_eq!(runner.exit_code(), 128 + 9, "{runner}");
    c.assert_nothing_left();
}

#[test]
fn create_start_kill_delete_follow_the_spec_states() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("lifecycle");
    bundle.sh(LONG_RUNNING);
    let c = rt.container(bundle);
    let pid_file = rt.scratch("pid");

    c.create(&["--pid-file", pid_file.to_str().unwrap()]).ok();
    let state = c.state();
    assert_eq!(state["status"], "created", "{state}");
    assert_eq!(state["id"], c.id(), "{state}");
    assert_eq!(
        state["bundle"]
            .as_str()
            .map(fs::canonicalize)
            .and_then(Result::ok),
        fs::canonicalize(c.bundle().path()).ok(),
        "{state}"
    );
    let pid = c.pid();
    assert_eq!(
        fs::read_to_string(&pid_file).expect("pid file").trim(),
        pid.to_string()
    );
    assert!(
        fs::metadata(format!("/proc/{pid}")).is_ok(),
        "init {pid} is not alive"
    );

    c.start().ok();
    assert_eq!(c.status(), "running");
    assert_eq!(c.pid(), pid, "start must not change the init pid");

    c.kill("TERM", &[]).ok();
    c.wait_status("stopped");

    c.delete(&[]).ok();
    rt.cmd(["state", c.id()]).failed();
    c.assert_nothing_left();
}

#[test]
fn run_detach_leaves_a_running_container() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("run-detach");
    bundle.sh(LONG_RUNNING);
    let c = rt.container(bundle);
    c.run(&["--detach"]).ok();
    assert_eq!(c.status(), "running");
    c.kill("KILL", &[]).ok();
    c.wait_status("stopped");
    c.delete(&[]).ok();
    c.assert_nothing_left();
}

#[test]
fn delete_of_running_container_needs_force() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("delete-force");
    bundle.sh(LONG_RUNNING);
    let c = rt.container(bundle);
    c.start_running();
    let pid = c.pid();

    c.delete(&[]).failed();
    assert_eq!(
        c.status(),
        "running",
        "a refused delete must not touch the container"
    );

    c.delete(&["--force"]).ok();
    rt.cmd(["state", c.id()]).failed();
    assert!(process_gone(pid), "init {pid} survived delete --force");
    c.assert_nothing_left();
}

#[test]
fn list_shows_every_container_in_text_and_json() {
    let rt = Runtime::new();
    let mut first = Bundle::new("list-a");
    first.sh(LONG_RUNNING);
    let mut second = Bundle::new("list-b");
    second.sh(LONG_RUNNING);
    let a = rt.container(first);
    let b = rt.container(second);
    a.start_running();
    b.create(&[]).ok();

    let text = rt.cmd(["list"]).ok();
    let line_of = |id: &str| {
        text.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(id))
            .unwrap_or_else(|| panic!("{id} missing from list: {text}"))
            .to_string()
    };
    assert!(line_of(a.id()).contains("running"), "{text}");
    assert!(line_of(b.id()).contains("created"), "{text}");

    let json = rt.cmd(["list", "--format", "json"]).ok().json();
    let entries = json.as_array().expect("list --format json is an array");
    assert_eq!(entries.len(), 2, "{json}");
    let entry = |id: &str| {
        entries
            .iter()
            .find(|e| e["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing from {json}"))
    };
    assert_eq!(entry(a.id())["status"], "running");
    assert_eq!(entry(a.id())["pid"], a.pid());
    assert_eq!(entry(b.id())["status"], "created");

    let quiet = rt.cmd(["list", "--quiet"]).ok();
    let mut ids: Vec<&str> = quiet.stdout.lines().collect();
    ids.sort();
    let mut want = vec![a.id(), b.id()];
    want.sort();
    assert_eq!(ids, want);
}

#[test]
fn ps_lists_the_container_processes() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("ps");
    bundle.sh(LONG_RUNNING);
    let c = rt.container(bundle);
    c.start_running();
    let pid = c.pid();

    let json = c.verb("ps", &["--format", "json"]).ok().json();
    let pids: Vec<i64> = json
        .as_array()
        .expect("ps --format json is an array")
        .iter()
        .filter_map(|p| p.as_i64())
        .collect();
    assert!(
        pids.contains(&(pid as i64)),
        "init {pid} missing from {json}"
    );
    assert_eq!(pids.len(), 2, "sh and its sleep: {json}");
    for p in &pids {
        assert!(
            fs::metadata(format!("/proc/{p}")).is_ok(),
            "{p} is not a live pid"
        );
    }

    let table = c.verb("ps", &[]).ok();
    assert!(table.stdout.contains("sleep 1000"), "{table}");
}

#[test]
fn kill_all_signals_every_process() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("kill-all");
    // Ignores TERM in the init, so only a signal to every process ends it.
    bundle.sh("sleep 1000 & sleep 1000 & wait");
    let c = rt.container(bundle);
    c.start_running();
    let json = c.verb("ps", &["--format", "json"]).ok().json();
    assert_eq!(json.as_array().map(Vec::len), Some(3), "{json}");

    c.kill("KILL", &["--all"]).ok();
    c.wait_status("stopped");
    for p in json.as_array().unwrap().iter().filter_map(|p| p.as_i64()) {
        assert!(process_gone(p as i32), "process {p} survived kill --all");
    }
    c.delete(&[]).ok();
    c.assert_nothing_left();
}

#[test]
fn pause_and_resume_freeze_the_container() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("pause");
    bundle.sh(LONG_RUNNING);
    let c = rt.container(bundle);
    c.start_running();

    c.verb("pause", &[]).ok();
    assert_eq!(c.status(), "paused");
    let frozen = c
        .cgroup_file("freezer.state")
        .or_else(|| c.cgroup_file("cgroup.freeze"))
        .expect("a freezer file");
    assert!(frozen == "FROZEN" || frozen == "1", "freezer says {frozen}");

    c.verb("resume", &[]).ok();
    assert_eq!(c.status(), "running");
    let exec = c.exec(&[], &["echo", "alive"]).ok();
    assert_eq!(exec.out(), "alive");
}

#[test]
fn exec_runs_in_the_container_and_returns_its_exit_code() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("exec");
    bundle.sh(LONG_RUNNING).hostname("exec-host");
    let c = rt.container(bundle);
    c.start_running();

    let out = c.exec(&[], &["sh", "-c", "echo $(hostname) $$; exit 3"]);
    assert_eq!(out.exit_code(), 3, "{out}");
    let words: Vec<&str> = out.out().split_whitespace().collect();
    assert_eq!(words.first(), Some(&"exec-host"), "{out}");
    let exec_pid: i32 = words.get(1).and_then(|w| w.parse().ok()).expect("pid");
    assert!(
        exec_pid > 1,
        "exec'd process is in the container's pid namespace: {out}"
    );
    assert!(exec_pid < 100, "pid {exec_pid} looks like a host pid");

    let env = c.exec(
        &["--env", "GREETING=hi", "--cwd", "/tmp"],
        &["sh", "-c", "echo $GREETING $(pwd)"],
    );
    assert_eq!(env.ok().out(), "hi /tmp");
}

#[test]
fn exec_with_process_file() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("exec-process");
    bundle.sh(LONG_RUNNING);
    let c = rt.container(bundle);
    c.start_running();

    let process = rt.scratch("process.json");
    let spec = json!({
        "terminal": false,
        "user": { "uid": 1000, "gid": 1000 },
        "args": ["sh", "-c", "echo $FROM_FILE $(pwd) $(id -u); exit 5"],
        "env": ["PATH=/bin", "FROM_FILE=process-json"],
        "cwd": "/home/user"
    });
    fs::write(&process, spec.to_string()).unwrap();
    let out = c.exec(&["--process", process.to_str().unwrap()], &[]);
    assert_eq!(out.exit_code(), 5, "{out}");
    assert_eq!(out.out(), "process-json /home/user 1000");
}

#[test]
fn exec_detach_writes_pid_file() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("exec-detach");
    bundle.sh(LONG_RUNNING);
    let c = rt.container(bundle);
    c.start_running();

    let pid_file = rt.scratch("exec.pid");
    c.exec(
        &["--detach", "--pid-file", pid_file.to_str().unwrap()],
        &["sleep", "999"],
    )
    .ok();
    let pid: i32 = fs::read_to_string(&pid_file)
        .expect("exec pid file")
        .trim()
        .parse()
        .expect("pid file holds a pid");
    let cmdline = fs::read_to_string(format!("/proc/{pid}/cmdline")).expect("exec'd process alive");
    assert_eq!(cmdline.replace('\0', " ").trim(), "sleep 999");
    let json = c.verb("ps", &["--format", "json"]).ok().json();
    assert!(
        json.as_array()
            .unwrap()
            .iter()
            .any(|p| p.as_i64() == Some(pid as i64)),
        "detached exec {pid} is not in the container: {json}"
    );
    c.delete(&["--force"]).ok();
    c.assert_nothing_left();
}

#[test]
fn spec_writes_a_config_that_run_accepts() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("spec");
    let dir = bundle.path().to_str().unwrap().to_string();
    rt.cmd(["spec", "--bundle", dir.as_str()]).ok();
    let text =
        fs::read_to_string(bundle.path().join("config.json")).expect("spec wrote config.json");
    let mut config: serde_json::Value = serde_json::from_str(&text).expect("config.json is JSON");
    assert_eq!(config["root"]["path"], "rootfs", "{config}");
    assert!(
        config["ociVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("1.")),
        "{config}"
    );
    let namespaces: Vec<&str> = config["linux"]["namespaces"]
        .as_array()
        .expect("namespaces")
        .iter()
        .filter_map(|n| n["type"].as_str())
        .collect();
    for ns in ["pid", "mount", "ipc", "uts", "network"] {
        assert!(namespaces.contains(&ns), "{ns} missing: {namespaces:?}");
    }
    // A terminal needs a console; everything else stays as generated.
    config["process"]["terminal"] = json!(false);
    config["process"]["args"] = json!(["echo", "spec-ok"]);
    config["linux"]["cgroupsPath"] = json!(bundle.cgroups_path());
    *bundle.config_mut() = config;
    let c = rt.container(bundle);
    assert_eq!(c.run(&[]).ok().out(), "spec-ok");
    c.assert_nothing_left();
}

#[test]
fn features_reports_oci_versions() {
    let rt = Runtime::new();
    let json = rt.cmd(["features"]).ok().json();
    for key in ["ociVersionMin", "ociVersionMax"] {
        let v = json[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} missing: {json}"));
        assert!(v.starts_with("1."), "{key} = {v}");
    }
    let namespaces = json["linux"]["namespaces"]
        .as_array()
        .expect("linux.namespaces");
    assert!(namespaces.iter().any(|n| n == "user"), "{json}");
    assert!(json["hooks"]
        .as_array()
        .is_some_and(|h| h.iter().any(|x| x == "createRuntime")));
}

#[test]
fn events_stats_reports_memory_cpu_and_pids() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("events");
    bundle.sh(LONG_RUNNING);
    let c = rt.container(bundle);
    c.start_running();

    let json = c.verb("events", &["--stats"]).ok().json();
    assert_eq!(json["type"], "stats", "{json}");
    assert_eq!(json["id"], c.id(), "{json}");
    let data = &json["data"];
    assert_eq!(data["pids"]["current"], 2, "sh + sleep: {json}");
    assert!(
        data["memory"]["usage"]["usage"]
            .as_u64()
            .is_some_and(|u| u > 0),
        "memory usage: {json}"
    );
    assert!(
        data["cpu"]["usage"]["total"]
            .as_u64()
            .is_some_and(|u| u > 0),
        "cpu usage: {json}"
    );
}

#[test]
fn update_changes_live_cgroup_limits() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("update");
    bundle.sh(LONG_RUNNING);
    bundle.resources(json!({ "memory": { "limit": 64 << 20 }, "pids": { "limit": 50 } }));
    let c = rt.container(bundle);
    c.start_running();
    let inside = |file: &str| c.exec(&[], &["cat", file]).ok().out().to_string();
    assert_eq!(
        c.cgroup_file("memory.limit_in_bytes").as_deref(),
        Some("67108864")
    );
    assert_eq!(c.cgroup_file("pids.max").as_deref(), Some("50"));

    c.verb("update", &["--memory", "33554432", "--pids-limit", "20"])
        .ok();
    assert_eq!(
        c.cgroup_file("memory.limit_in_bytes").as_deref(),
        Some("33554432")
    );
    assert_eq!(c.cgroup_file("pids.max").as_deref(), Some("20"));
    assert_eq!(
        inside("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
        "33554432"
    );
    assert_eq!(inside("/sys/fs/cgroup/pids/pids.max"), "20");

    let resources = rt.scratch("resources.json");
    fs::write(
        &resources,
        json!({ "memory": { "limit": 48 << 20 }, "pids": { "limit": 30 } }).to_string(),
    )
    .unwrap();
    c.verb("update", &["--resources", resources.to_str().unwrap()])
        .ok();
    assert_eq!(
        c.cgroup_file("memory.limit_in_bytes").as_deref(),
        Some("50331648")
    );
    assert_eq!(c.cgroup_file("pids.max").as_deref(), Some("30"));
    assert_eq!(c.status(), "running");
}

/// The leak checks every other test relies on do see a live container's state directory,
/// cgroups and processes.
#[test]
fn leak_check_sees_a_live_container() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("leak-check");
    bundle.sh(LONG_RUNNING);
    let c = rt.container(bundle);
    c.start_running();
    let left = c.leftovers().join("\n");
    for kind in ["state:", "cgroup:", "process:"] {
        assert!(left.contains(kind), "{kind} not detected:\n{left}");
    }
    for ctrl in ["memory", "pids", "cpu", "freezer"] {
        assert!(
            left.contains(&format!("/sys/fs/cgroup/{ctrl}/berth-test/")),
            "{left}"
        );
    }
}

#[test]
fn kill_accepts_numbers_and_sig_names() {
    let rt = Runtime::new();
    for (n, signal) in ["15", "SIGTERM", "TERM"].into_iter().enumerate() {
        let mut bundle = Bundle::new(&format!("kill-forms-{n}"));
        bundle.sh(LONG_RUNNING);
        let c = rt.container(bundle);
        c.start_running();
        c.kill(signal, &[]).ok();
        c.wait_status("stopped");
        c.delete(&[]).ok();
        c.assert_nothing_left();
    }
}

#[test]
fn log_flag_writes_json_errors() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let path = log.path().to_str().unwrap().to_string();
    let rt = Runtime::new().with_global_flags(&["--log", &path, "--log-format", "json"]);
    rt.cmd(["state", "berth-test-no-such-container"]).failed();
    let text = fs::read_to_string(log.path()).unwrap();
    let line = text
        .lines()
        .last()
        .unwrap_or_else(|| panic!("nothing logged"));
    let entry: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
    assert_eq!(entry["level"], "error", "{entry}");
    assert!(
        entry["msg"].as_str().is_some_and(
            |m| m.contains("berth-test-no-such-container") || m.contains("does not exist")
        ),
        "{entry}"
    );
    assert!(entry["time"].is_string(), "{entry}");
}

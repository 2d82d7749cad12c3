//! End to end: a real dockerd (Debian's docker.io), started by this test on its own socket,
//! data root and exec root, runs containers with `--runtime berth`. containerd's runc shim
//! calls `berth runtime` exactly as it would call runc: create, start, state, exec, kill,
//! delete, with a console socket for `-t`.
//!
//! Skipped (with a message) only when dockerd is not installed. To check the harness
//! itself against another runc-compatible runtime, set `BERTH_E2E_RUNTIME=/usr/sbin/runc`.

mod common;

use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use berth_testkit::{busybox, PrivateDockerd};
use common::pty::PtySession;

const IMAGE: &str = "berth-e2e-busybox:latest";

/// The runtime under test: `berth runtime` unless BERTH_E2E_RUNTIME names another binary.
fn runtime_command() -> (PathBuf, Vec<&'static str>) {
    match std::env::var_os("BERTH_E2E_RUNTIME") {
        Some(other) => (PathBuf::from(other), vec![]),
        None => (PathBuf::from(env!("CARGO_BIN_EXE_berth")), vec!["runtime"]),
    }
}

/// Starts a dockerd with berth registered as runtime `berth` and the busybox image imported.
fn dockerd_with_berth() -> Option<PrivateDockerd> {
    assert!(
        Path::new(busybox::BUSYBOX).exists(),
        "{} missing: install busybox-static",
        busybox::BUSYBOX
    );
    let (program, args) = runtime_command();
    // Skips, saying why, when dockerd is not installed (Debian package docker.io;
    // scripts/test.sh installs it).
    let daemon = PrivateDockerd::builder()
        .prefix("berth-e2e-")
        .add_runtime_with_args("berth", &program, &args)
        .start()?;
    let tar = busybox::rootfs_tar(daemon.dir());
    daemon.docker_ok(&["import", &tar.to_string_lossy(), IMAGE]);
    Some(daemon)
}

/// `docker run --runtime berth` with the options every container here shares: no network,
/// so that the test's dockerd never touches the host's.
fn run_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["run", "--runtime", "berth", "--network", "none"];
    args.extend_from_slice(extra);
    args
}

/// Polls `docker inspect` until the container has exited; returns "status exit-code".
fn wait_exited(daemon: &PrivateDockerd, name: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let state = daemon.docker_ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            name,
        ]);
        let state = state.trim().to_string();
        if state.starts_with("exited") || Instant::now() > deadline {
            return state;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Polls `docker logs` until it contains `needle`; returns the last logs seen.
fn wait_logs(daemon: &PrivateDockerd, name: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let logs = daemon.docker_ok(&["logs", name]);
        if logs.contains(needle) || Instant::now() > deadline {
            return logs;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

// One dockerd serves every check: starting one costs seconds and CI has two cores.
#[test]
fn docker_runs_containers_with_berth_runtime() {
    let Some(daemon) = dockerd_with_berth() else {
        return;
    };
    run_prints_and_propagates_exit_codes(&daemon);
    detached_container_logs_exec_and_kill(&daemon);
    stop_kills_after_the_timeout(&daemon);
    interactive_shell_on_a_terminal(&daemon);
}

fn run_prints_and_propagates_exit_codes(daemon: &PrivateDockerd) {
    let out = daemon.docker_ok(&run_args(&["--rm", IMAGE, "echo", "hello"]));
    assert_eq!(out, "hello\n", "docker run --rm echo hello");

    // The container really is isolated: its own pid namespace and hostname.
    let script = "echo $$ $(hostname)";
    let out = daemon.docker_ok(&run_args(&[
        "--rm",
        "--hostname",
        "berth-e2e",
        IMAGE,
        "sh",
        "-c",
        script,
    ]));
    assert_eq!(
        out, "1 berth-e2e\n",
        "pid 1 and the hostname docker asked for"
    );

    let done = daemon.docker(&run_args(&["--rm", IMAGE, "sh", "-c", "exit 3"]));
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(
        done.status.code(),
        Some(3),
        "exit code of `sh -c 'exit 3'`; stderr: {stderr}"
    );
}

fn detached_container_logs_exec_and_kill(daemon: &PrivateDockerd) {
    let name = "berth-e2e-detached";
    let script = "echo started; exec sleep 1000";
    daemon.docker_ok(&run_args(&[
        "-d", "--name", name, IMAGE, "sh", "-c", script,
    ]));
    let logs = wait_logs(daemon, name, "started");
    assert_eq!(logs, "started\n", "docker logs of the detached container");

    let out = daemon.docker_ok(&["exec", name, "echo", "from-exec"]);
    assert_eq!(out, "from-exec\n", "docker exec output");
    let done = daemon.docker(&["exec", name, "sh", "-c", "exit 5"]);
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert_eq!(
        done.status.code(),
        Some(5),
        "exit code through docker exec; stderr: {stderr}"
    );
    // exec joins the container's pid namespace: pid 1 there is the container's sleep.
    let ps = daemon.docker_ok(&["exec", name, "ps", "-o", "pid,comm"]);
    let pid1 = ps
        .lines()
        .find(|l| l.split_whitespace().next() == Some("1"));
    assert_eq!(
        pid1.map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["1", "sleep"]),
        "pid 1 seen by docker exec; ps showed:\n{ps}"
    );

    // exec -it: the exec'd process gets a terminal of its own.
    let mut cmd = daemon.command();
    let script = "[ -t 0 ] && echo exec-tty-$((6*7))";
    cmd.args(["exec", "-it", name, "sh", "-c", script]);
    let mut term = PtySession::spawn(cmd);
    term.expect("exec-tty-42", Duration::from_secs(30));
    let status = term.wait(Duration::from_secs(30));
    let screen = term.screen();
    assert_eq!(
        status.code(),
        Some(0),
        "docker exec -it; the terminal showed:\n{screen}"
    );

    daemon.docker_ok(&["kill", name]);
    let state = wait_exited(daemon, name);
    assert_eq!(state, "exited 137", "state after docker kill (SIGKILL)");
}

fn stop_kills_after_the_timeout(daemon: &PrivateDockerd) {
    // sleep as pid 1 has no SIGTERM handler, so the kernel ignores SIGTERM for it and
    // docker stop has to follow with SIGKILL after the timeout.
    let name = "berth-e2e-stopped";
    daemon.docker_ok(&run_args(&["-d", "--name", name, IMAGE, "sleep", "1000"]));
    daemon.docker_ok(&["stop", "-t", "1", name]);
    let state = wait_exited(daemon, name);
    assert_eq!(state, "exited 137", "state after docker stop");
}

fn interactive_shell_on_a_terminal(daemon: &PrivateDockerd) {
    // berth hands the pty master to the shim over its console socket; the docker CLI
    // relays it to this test's own pty.
    let mut cmd = daemon.command();
    cmd.args(run_args(&["--rm", "-it", IMAGE, "sh"]));
    let mut term = PtySession::spawn(cmd);
    term.expect("# ", Duration::from_secs(60));
    // The arithmetic keeps the echo of the typed line from matching what is awaited.
    term.send("[ -t 0 ] && echo tty-$((6*7)); exit 4\r");
    term.expect("tty-42", Duration::from_secs(30));
    let status = term.wait(Duration::from_secs(30));
    let screen = term.screen();
    assert_eq!(
        status.code(),
        Some(4),
        "exit code of `docker run -it`; the terminal showed:\n{screen}"
    );
}

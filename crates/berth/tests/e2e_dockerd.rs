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

use common::dockerd::{Dockerd, ExtraRuntime};
use common::pty::PtySession;
use common::{find_program, image};

const IMAGE: &str = "berth-e2e-busybox:latest";

/// The runtime under test: `berth runtime` unless BERTH_E2E_RUNTIME names another binary.
fn runtime_command() -> (PathBuf, Vec<&'static str>) {
    match std::env::var_os("BERTH_E2E_RUNTIME") {
        Some(other) => (PathBuf::from(other), vec![]),
        None => (PathBuf::from(env!("CARGO_BIN_EXE_berth")), vec!["runtime"]),
    }
}

/// Starts a dockerd with berth registered as runtime `berth` and the busybox image imported.
fn dockerd_with_berth() -> Option<Dockerd> {
    let Some(dockerd) = find_program("dockerd") else {
        eprintln!("SKIPPED: dockerd is not installed (Debian package docker.io); scripts/test.sh installs it");
        return None;
    };
    let docker_cli =
        find_program("docker").expect("dockerd is installed but the docker CLI is not");
    assert!(
        Path::new(image::BUSYBOX).exists(),
        "{} missing: install busybox-static",
        image::BUSYBOX
    );
    let (program, args) = runtime_command();
    let daemon = Dockerd::start(
        &dockerd,
        &docker_cli,
        ExtraRuntime {
            name: "berth",
            program: &program,
            args: &args,
        },
    );
    let tar = image::busybox_rootfs_tar(daemon.dir());
    daemon.ok(&["import", &tar.to_string_lossy(), IMAGE]);
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
fn wait_exited(daemon: &Dockerd, name: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let state = daemon.ok(&[
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
fn wait_logs(daemon: &Dockerd, name: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let logs = daemon.ok(&["logs", name]);
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

fn run_prints_and_propagates_exit_codes(daemon: &Dockerd) {
    let out = daemon.ok(&run_args(&["--rm", IMAGE, "echo", "hello"]));
    assert_eq!(out, "hello\n", "docker run --rm echo hello");

    // The container really is isolated: its own pid namespace and hostname.
    let script = "echo $$ $(hostname)";
    let out = daemon.ok(&run_args(&[
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

    let done = daemon.run(&run_args(&["--rm", IMAGE, "sh", "-c", "exit 3"]));
    let stderr = &done.stderr;
    assert_eq!(
        done.code(),
        Some(3),
        "exit code of `sh -c 'exit 3'`; stderr: {stderr}"
    );
}

fn detached_container_logs_exec_and_kill(daemon: &Dockerd) {
    let name = "berth-e2e-detached";
    let script = "echo started; exec sleep 1000";
    daemon.ok(&run_args(&[
        "-d", "--name", name, IMAGE, "sh", "-c", script,
    ]));
    let logs = wait_logs(daemon, name, "started");
    assert_eq!(logs, "started\n", "docker logs of the detached container");

    let out = daemon.ok(&["exec", name, "echo", "from-exec"]);
    assert_eq!(out, "from-exec\n", "docker exec output");
    let done = daemon.run(&["exec", name, "sh", "-c", "exit 5"]);
    let stderr = &done.stderr;
    assert_eq!(
        done.code(),
        Some(5),
        "exit code through docker exec; stderr: {stderr}"
    );
    // exec joins the container's pid namespace: pid 1 there is the container's sleep.
    let ps = daemon.ok(&["exec", name, "ps", "-o", "pid,comm"]);
    let pid1 = ps
        .lines()
        .find(|l| l.split_whitespace().next() == Some("1"));
    assert_eq!(
        pid1.map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["1", "sleep"]),
        "pid 1 seen by docker exec; ps showed:\n{ps}"
    );

    // exec -it: the exec'd process gets a terminal of its own.
    let mut cmd = daemon.docker();
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

    daemon.ok(&["kill", name]);
    let state = wait_exited(daemon, name);
    assert_eq!(state, "exited 137", "state after docker kill (SIGKILL)");
}

fn stop_kills_after_the_timeout(daemon: &Dockerd) {
    // sleep as pid 1 has no SIGTERM handler, so the kernel ignores SIGTERM for it and
    // docker stop has to follow with SIGKILL after the timeout.
    let name = "berth-e2e-stopped";
    daemon.ok(&run_args(&["-d", "--name", name, IMAGE, "sleep", "1000"]));
    daemon.ok(&["stop", "-t", "1", name]);
    let state = wait_exited(daemon, name);
    assert_eq!(state, "exited 137", "state after docker stop");
}

fn interactive_shell_on_a_terminal(daemon: &Dockerd) {
    // berth hands the pty master to the shim over its console socket; the docker CLI
    // relays it to this test's own pty.
    let mut cmd = daemon.docker();
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

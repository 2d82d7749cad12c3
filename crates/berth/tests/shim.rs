//! `berth shim` driven through `berth_shim::ShimClient`, as the daemon drives it: real
//! containers (busybox bundles), real ptys, logs and cgroups.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns: a failed step fails the test

mod support;

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use berth_shim::client::read_frame;
use berth_shim::protocol::{
    exit_code_of, ContainerStatus, FRAME_EXIT, FRAME_STDERR, FRAME_STDOUT, PID_FILE,
};
use berth_shim::{Response, ShimArgs, ShimClient, SpawnError};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use oci_spec::runtime::Process;
use serde_json::Value;
use support::{cgroup_dirs, process_gone, Bundle};
use tempfile::TempDir;
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;

const BERTH: &str = env!("CARGO_BIN_EXE_berth");
/// Longest a test waits for a container to do something quick.
const PATIENCE: Duration = Duration::from_secs(20);

/// A bundle, and the directories of one shim; kills and deletes what is left when dropped.
struct Case {
    bundle: Bundle,
    dir: TempDir,
    args: ShimArgs,
}

impl Case {
    /// A case for container `test` whose bundle `configure` shapes.
    fn new(test: &str, configure: impl FnOnce(&mut Bundle)) -> Case {
        let mut bundle = Bundle::new(test);
        configure(&mut bundle);
        bundle.save();
        let dir = tempfile::Builder::new()
            .prefix("berth-shim-test-")
            .tempdir()
            .unwrap();
        let id = bundle.id().to_string();
        let args = ShimArgs {
            bundle: bundle.path().to_path_buf(),
            runtime_root: dir.path().join("runtime"),
            state_dir: dir.path().join("shims").join(&id),
            log_path: Some(dir.path().join("logs").join(format!("{id}-json.log"))),
            log_max_size: None,
            log_max_files: 1,
            id,
            ..ShimArgs::default()
        };
        Case { bundle, dir, args }
    }

    async fn spawn(&self) -> berth_shim::client::Spawned {
        ShimClient::spawn(Path::new(BERTH), &self.args)
            .await
            .unwrap_or_else(|err| panic!("spawn the shim: {err}"))
    }

    fn log_records(&self) -> Vec<Value> {
        let path = self.args.log_path.as_ref().unwrap();
        std::fs::read_to_string(path)
            .unwrap_or_else(|err| panic!("read the log {}: {err}", path.display()))
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// The container's own process with other arguments, as the daemon builds an exec.
    fn process(&self, args: &[&str], terminal: bool) -> Process {
        let mut process: Process =
            serde_json::from_value(self.bundle.config()["process"].clone()).unwrap();
        process.set_args(Some(args.iter().map(|a| a.to_string()).collect()));
        process.set_terminal(Some(terminal));
        process
    }

    /// Whatever is left of the container: runtime state, shim state, cgroups.
    fn leftovers(&self) -> Vec<String> {
        let mut left = Vec::new();
        if self.args.runtime_root.join(&self.args.id).exists() {
            left.push("runtime state".to_string());
        }
        if self.args.state_dir.exists() {
            left.push(format!("state dir {}", self.args.state_dir.display()));
        }
        for dir in cgroup_dirs(&self.bundle.cgroups_path()) {
            left.push(format!("cgroup {}", dir.display()));
        }
        left
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.args.state_dir.join(PID_FILE)) {
            if let Ok(pid) = pid.trim().parse::<i32>() {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        let _ = Command::new(BERTH)
            .arg("runtime")
            .arg("--root")
            .arg(&self.args.runtime_root)
            .args(["delete", "--force", &self.args.id])
            .output();
        let _ = &self.dir;
    }
}

/// Everything a stream carried: stdout, stderr, and the exit code if it ended with one.
#[derive(Debug, Default)]
struct Streamed {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    exit: Option<i32>,
}

async fn collect(stream: &mut UnixStream) -> Streamed {
    let mut got = Streamed::default();
    let read_all = async {
        while let Some((kind, payload)) = read_frame(stream).await.unwrap() {
            match kind {
                FRAME_STDOUT => got.stdout.extend(payload),
                FRAME_STDERR => got.stderr.extend(payload),
                FRAME_EXIT => {
                    got.exit = exit_code_of(&payload);
                    assert!(
                        read_frame(stream).await.unwrap().is_none(),
                        "frames after exit"
                    );
                    break;
                }
                other => panic!("unknown frame kind {other}"),
            }
        }
    };
    tokio::time::timeout(PATIENCE, read_all)
        .await
        .expect("the stream ends in time");
    got
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn attach_before_start_sees_all_output_then_the_exit() {
    let case = Case::new("attach-before-start", |b| {
        b.sh("echo out; echo err >&2; printf partial; exit 3");
    });
    let spawned = case.spawn().await;
    assert!(spawned.pid > 0);
    let client = spawned.client;
    assert_eq!(
        client.state().await.unwrap(),
        Response::State {
            status: ContainerStatus::Created,
            pid: spawned.pid,
            exit: None
        }
    );
    let mut stream = client.attach(false, true, true).await.unwrap();
    client.start().await.unwrap();
    let got = collect(&mut stream).await;
    assert_eq!(String::from_utf8_lossy(&got.stdout), "out\npartial");
    assert_eq!(String::from_utf8_lossy(&got.stderr), "err\n");
    assert_eq!(got.exit, Some(3));
    let exit = client.wait().await.unwrap();
    assert_eq!(exit.exit_code, 3);
    assert!(!exit.oom_killed);
    assert_eq!(client.recorded_exit(), Some(exit));

    // Docker's json-file shape: one record per line, the unfinished line at the end.
    let records = case.log_records();
    let lines: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (r["log"].as_str().unwrap(), r["stream"].as_str().unwrap()))
        .collect();
    let mut stdout: Vec<&str> = Vec::new();
    for (log, stream) in &lines {
        assert!(*stream == "stdout" || *stream == "stderr", "{lines:?}");
        if *stream == "stdout" {
            stdout.push(log);
        }
    }
    assert_eq!(stdout, ["out\n", "partial"]);
    assert!(lines.contains(&("err\n", "stderr")), "{lines:?}");
    for record in &records {
        let time = record["time"].as_str().unwrap();
        assert!(time.ends_with('Z') && time.contains('T'), "time {time}");
        assert_eq!(record.as_object().unwrap().len(), 3, "{record}");
    }
    client.delete().await.unwrap();
}

#[tokio::test]
async fn exec_streams_its_output_and_exit_code() {
    let case = Case::new("exec-output", |b| {
        b.args(&["sleep", "1000"]);
    });
    let client = case.spawn().await.client;
    client.start().await.unwrap();
    let process = case.process(&["sh", "-c", "echo hi; echo oops >&2; exit 5"], false);
    let (pid, stream) = client.exec("e1", process, false, false).await.unwrap();
    assert!(pid > 0);
    let got = collect(&mut stream.unwrap()).await;
    assert_eq!(String::from_utf8_lossy(&got.stdout), "hi\n");
    assert_eq!(String::from_utf8_lossy(&got.stderr), "oops\n");
    assert_eq!(got.exit, Some(5));
    assert_eq!(client.exec_wait("e1").await.unwrap().exit_code, 5);
    // An exec's output is not the container's log.
    assert!(case.log_records().is_empty());

    let detached = case.process(&["sh", "-c", "echo ignored; exit 4"], false);
    let (_, stream) = client.exec("e2", detached, false, true).await.unwrap();
    assert!(stream.is_none());
    assert_eq!(client.exec_wait("e2").await.unwrap().exit_code, 4);

    let again = case.process(&["true"], false);
    match client.exec("e1", again, false, false).await {
        Err(SpawnError::Shim(message)) => assert!(message.contains("e1"), "{message}"),
        other => panic!("a second exec `e1`: {other:?}"),
    }
    client.delete().await.unwrap();
}

#[tokio::test]
async fn exec_with_a_tty_gets_a_pty_of_the_size_asked() {
    let case = Case::new("exec-tty", |b| {
        b.args(&["sleep", "1000"]);
    });
    let client = case.spawn().await.client;
    client.start().await.unwrap();
    let process = case.process(&["sh", "-c", "read go; tty; stty size"], true);
    let (_, stream) = client.exec("t1", process, true, false).await.unwrap();
    let mut stream = stream.unwrap();
    client.resize(Some("t1"), 40, 100).await.unwrap();
    stream.write_all(b"go\n").await.unwrap();
    let got = collect(&mut stream).await;
    let text = String::from_utf8_lossy(&got.stdout);
    assert!(text.contains("/dev/pts/"), "{text:?}");
    assert!(text.contains("40 100"), "{text:?}");
    // A pty ends lines with CR LF and has no separate stderr.
    assert!(text.contains("\r\n"), "{text:?}");
    assert!(got.stderr.is_empty());
    assert_eq!(got.exit, Some(0));
    match client.resize(None, 10, 10).await {
        Err(SpawnError::Shim(message)) => assert!(message.contains("terminal"), "{message}"),
        other => panic!("resizing a container without a tty: {other:?}"),
    }
    client.delete().await.unwrap();
}

#[tokio::test]
async fn a_container_with_a_tty_logs_its_pty_output() {
    let case = Case::new("init-tty", |b| {
        b.terminal(true).sh("tty; echo done");
    });
    let mut args = case.args.clone();
    args.tty = true;
    let client = ShimClient::spawn(Path::new(BERTH), &args)
        .await
        .unwrap()
        .client;
    let mut stream = client.attach(false, true, true).await.unwrap();
    client.start().await.unwrap();
    let got = collect(&mut stream).await;
    let text = String::from_utf8_lossy(&got.stdout);
    assert!(text.contains("/dev/pts/0\r\ndone\r\n"), "{text:?}");
    assert_eq!(got.exit, Some(0));
    let logged: String = case
        .log_records()
        .iter()
        .map(|r| r["log"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(logged, text);
    client.delete().await.unwrap();
}

#[tokio::test]
async fn open_stdin_reaches_cat_and_ends_with_the_input() {
    let case = Case::new("stdin-cat", |b| {
        b.args(&["cat"]);
    });
    let mut args = case.args.clone();
    args.open_stdin = true;
    args.stdin_once = true;
    let client = ShimClient::spawn(Path::new(BERTH), &args)
        .await
        .unwrap()
        .client;
    let mut stream = client.attach(true, true, true).await.unwrap();
    client.start().await.unwrap();
    stream.write_all(b"hello\nworld\n").await.unwrap();
    stream.shutdown().await.unwrap();
    let got = collect(&mut stream).await;
    assert_eq!(String::from_utf8_lossy(&got.stdout), "hello\nworld\n");
    assert_eq!(got.exit, Some(0));
    client.delete().await.unwrap();
}

#[tokio::test]
async fn wait_on_a_new_connection_after_the_exit_answers_at_once() {
    let case = Case::new("wait-after-exit", |b| {
        b.sh("exit 7");
    });
    let spawned = case.spawn().await;
    spawned.client.start().await.unwrap();
    wait_until("exit.json", || spawned.client.recorded_exit().is_some()).await;

    // As a restarted daemon would: a fresh client from the id and state directory.
    let client = ShimClient::new(case.args.id.clone(), case.args.state_dir.clone());
    let exit = tokio::time::timeout(Duration::from_secs(2), client.wait())
        .await
        .expect("Wait answers at once")
        .unwrap();
    assert_eq!(exit.exit_code, 7);
    match client.state().await.unwrap() {
        Response::State {
            status: ContainerStatus::Exited,
            exit: Some(recorded),
            ..
        } => assert_eq!(recorded, exit),
        other => panic!("state after exit: {other:?}"),
    }
    // Attaching afterwards gets the exit and nothing else.
    let mut stream = client.attach(false, true, true).await.unwrap();
    let got = collect(&mut stream).await;
    assert!(got.stdout.is_empty() && got.stderr.is_empty());
    assert_eq!(got.exit, Some(7));
    client.delete().await.unwrap();
}

#[tokio::test]
async fn a_signaled_container_exits_with_128_plus_the_signal() {
    let case = Case::new("signaled", |b| {
        b.args(&["sleep", "1000"]);
    });
    let spawned = case.spawn().await;
    spawned.client.start().await.unwrap();
    kill(Pid::from_raw(spawned.pid), Signal::SIGKILL).unwrap();
    let exit = tokio::time::timeout(PATIENCE, spawned.client.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(exit.exit_code, 128 + 9);
    spawned.client.delete().await.unwrap();
}

/// The shim leads its own session, and outlives the process that started it: here a
/// shell (and its whole process group) killed right after the handshake.
#[tokio::test]
async fn the_shim_outlives_whoever_spawned_it() {
    let case = Case::new("outlives-spawner", |b| {
        b.sh("echo alive");
    });
    let handshake = case.dir.path().join("handshake");
    let mut spawner = Command::new("sh")
        .arg("-c")
        .arg(r#""$@" > "$HANDSHAKE"; exec sleep 1000"#)
        .arg("sh")
        .arg(BERTH)
        .arg("shim")
        .args(case.args.to_flags())
        .env("HANDSHAKE", &handshake)
        .process_group(0)
        .spawn()
        .unwrap();
    wait_until("the handshake", || {
        std::fs::read_to_string(&handshake).is_ok_and(|t| t.ends_with('\n'))
    })
    .await;
    let answer: Response =
        serde_json::from_str(&std::fs::read_to_string(&handshake).unwrap()).unwrap();
    let Response::Created { shim_pid, .. } = answer else {
        panic!("handshake: {answer:?}");
    };
    kill(Pid::from_raw(-(spawner.id() as i32)), Signal::SIGKILL).unwrap();
    spawner.wait().unwrap();

    let stat = std::fs::read_to_string(format!("/proc/{shim_pid}/stat")).unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .collect();
    let (ppid, session): (i32, i32) = (fields[1].parse().unwrap(), fields[3].parse().unwrap());
    assert_eq!(session, shim_pid, "the shim leads its own session");
    assert_ne!(ppid, spawner.id() as i32);

    let client = ShimClient::new(case.args.id.clone(), case.args.state_dir.clone());
    let mut stream = client.attach(false, true, false).await.unwrap();
    client.start().await.unwrap();
    let got = collect(&mut stream).await;
    assert_eq!(String::from_utf8_lossy(&got.stdout), "alive\n");
    assert_eq!(got.exit, Some(0));
    client.delete().await.unwrap();
}

#[tokio::test]
async fn delete_leaves_no_runtime_state_no_state_dir_no_cgroup() {
    let case = Case::new("delete-running", |b| {
        b.args(&["sleep", "1000"]);
    });
    let spawned = case.spawn().await;
    let client = spawned.client;
    client.start().await.unwrap();
    let process = case.process(&["sleep", "1000"], false);
    client.exec("bg", process, false, true).await.unwrap();
    assert!(!case.leftovers().is_empty());
    client.delete().await.unwrap();
    assert_eq!(case.leftovers(), Vec::<String>::new());
    wait_until("the shim to exit", || process_gone(spawned.shim_pid)).await;
    assert!(process_gone(spawned.pid));
}

#[tokio::test]
async fn a_bad_bundle_fails_the_spawn_and_leaves_nothing() {
    let case = Case::new("bad-bundle", |_| {});
    std::fs::write(case.bundle.path().join("config.json"), "{ not json").unwrap();
    match ShimClient::spawn(Path::new(BERTH), &case.args).await {
        Err(SpawnError::Create(message)) => {
            assert!(message.contains(&case.args.id), "{message}")
        }
        other => panic!("spawn with a bad config.json: {other:?}"),
    }
    assert_eq!(case.leftovers(), Vec::<String>::new());
}

/// The container is created before the shim learns it has no terminal to give: the
/// shim must delete it again.
#[tokio::test]
async fn a_tty_the_config_does_not_ask_for_fails_and_leaves_nothing() {
    let case = Case::new("tty-mismatch", |b| {
        b.terminal(false);
    });
    let mut args = case.args.clone();
    args.tty = true;
    match ShimClient::spawn(Path::new(BERTH), &args).await {
        Err(SpawnError::Create(message)) => assert!(message.contains("terminal"), "{message}"),
        other => panic!("spawn with tty but no terminal: {other:?}"),
    }
    assert_eq!(case.leftovers(), Vec::<String>::new());
}

/// A client that attaches and never reads must not hold the container up.
#[tokio::test]
async fn a_client_that_never_reads_does_not_block_the_container() {
    let case = Case::new("slow-client", |b| {
        b.sh("head -c 20000000 /dev/zero; echo done >&2");
    });
    let mut args = case.args.clone();
    args.log_path = None;
    let client = ShimClient::spawn(Path::new(BERTH), &args)
        .await
        .unwrap()
        .client;
    let _never_read = client.attach(false, true, true).await.unwrap();
    client.start().await.unwrap();
    let exit = tokio::time::timeout(PATIENCE, client.wait())
        .await
        .expect("the container ends although a client reads nothing")
        .unwrap();
    assert_eq!(exit.exit_code, 0);
    client.delete().await.unwrap();
}

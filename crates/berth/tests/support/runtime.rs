//! Running the runtime under test: `berth runtime` or, with `BERTH_TEST_RUNTIME=runc`, runc.

use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use std::os::unix::process::ExitStatusExt;

use tempfile::TempDir;

/// How long one runtime command may take before the test gives up on it. Generous, because
/// the machine is shared; a typical command takes tens of milliseconds.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Which runtime binary the tests drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Berth,
    Runc,
}

/// One runtime with its own `--root` state directory (a fresh temp dir per test), so that
/// tests running in parallel never see each other's containers.
#[derive(Debug)]
pub struct Runtime {
    kind: Kind,
    root: TempDir,
    /// Where the stdout/stderr of every command go: files, not pipes, because a detached
    /// container inherits the runtime's stdio and would hold a pipe open forever.
    io: TempDir,
    counter: AtomicUsize,
    global: Vec<String>,
}

/// What a finished command did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The exit code, or `None` when the command itself died of a signal.
    pub code: Option<i32>,
    /// The signal that killed the command, if any.
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// The command line, for failure messages.
    pub command: String,
}

impl Outcome {
    /// True when the command exited with status 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Panics with the whole outcome unless the command exited 0; returns self for chaining.
    #[track_caller]
    pub fn ok(self) -> Outcome {
        assert!(self.success(), "command failed: {self}");
        self
    }

    /// Panics unless the command exited non-zero (and was not killed by a signal).
    #[track_caller]
    pub fn failed(self) -> Outcome {
        assert!(
            matches!(self.code, Some(c) if c != 0),
            "command should have failed: {self}"
        );
        self
    }

    /// The exit code; panics when the command died of a signal.
    #[track_caller]
    pub fn exit_code(&self) -> i32 {
        match self.code {
            Some(code) => code,
            None => panic!("command died of a signal: {self}"),
        }
    }

    /// Stdout with surrounding whitespace removed.
    pub fn out(&self) -> &str {
        self.stdout.trim()
    }

    /// Parses stdout as JSON; panics with the outcome when it is not JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        match serde_json::from_str(&self.stdout) {
            Ok(value) => value,
            Err(err) => panic!("stdout is not JSON ({err}): {self}"),
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` -> code {:?} signal {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command, self.code, self.signal, self.stdout, self.stderr
        )
    }
}

impl Runtime {
    /// The runtime chosen by `BERTH_TEST_RUNTIME` (`runc`, or berth by default), with a
    /// fresh state root.
    pub fn new() -> Runtime {
        let kind = match std::env::var("BERTH_TEST_RUNTIME").as_deref() {
            Ok("runc") => Kind::Runc,
            Ok("berth") | Ok("") | Err(_) => Kind::Berth,
            Ok(other) => panic!("BERTH_TEST_RUNTIME={other}: expected `runc` or `berth`"),
        };
        Runtime {
            kind,
            root: tempfile::Builder::new()
                .prefix("berth-rt-root-")
                .tempdir()
                .expect("temp root"),
            io: tempfile::Builder::new()
                .prefix("berth-rt-io-")
                .tempdir()
                .expect("temp io dir"),
            counter: AtomicUsize::new(0),
            global: Vec::new(),
        }
    }

    /// Adds global flags (e.g. `--debug`, `--log FILE`) placed before every command.
    pub fn with_global_flags(mut self, flags: &[&str]) -> Runtime {
        self.global.extend(flags.iter().map(|f| f.to_string()));
        self
    }

    /// True when the runtime under test is berth (for assertions on berth's own wording).
    pub fn is_berth(&self) -> bool {
        self.kind == Kind::Berth
    }

    /// The `--root` state directory.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// A runtime command line with the global flags in place; the caller adds the command.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = match self.kind {
            Kind::Berth => {
                let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
                cmd.arg("runtime");
                cmd
            }
            Kind::Runc => Command::new("runc"),
        };
        cmd.arg("--root").arg(self.root.path());
        cmd.args(&self.global);
        cmd.args(args);
        cmd
    }

    /// Runs one runtime command to its end (stdio captured to files, stdin empty) and
    /// returns what it did. Panics if it outlives [`COMMAND_TIMEOUT`].
    pub fn cmd<I, S>(&self, args: I) -> Outcome
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let cmd = self.command(args);
        self.finish(cmd, COMMAND_TIMEOUT)
    }

    /// Runs a prepared command with stdout/stderr captured, waiting at most `timeout`.
    pub fn finish(&self, mut cmd: Command, timeout: Duration) -> Outcome {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let out_path = self.io.path().join(format!("{n}.out"));
        let err_path = self.io.path().join(format!("{n}.err"));
        let out = File::create(&out_path).expect("create stdout file");
        let err = File::create(&err_path).expect("create stderr file");
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let command = describe(&cmd);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn `{command}`: {e}"));
        let status = wait_timeout(&mut child, timeout).unwrap_or_else(|| {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`{command}` did not finish within {timeout:?}; stderr so far:\n{}",
                read_lossy(&err_path)
            )
        });
        outcome(
            command,
            status,
            read_lossy(&out_path),
            read_lossy(&err_path),
        )
    }

    /// A fresh file path in this runtime's scratch directory (pid files, process.json...).
    pub fn scratch(&self, name: &str) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        self.io.path().join(format!("{n}-{name}"))
    }
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new()
    }
}

/// Waits for `child`, polling, for at most `timeout`; `None` when it is still running.
pub fn wait_timeout(child: &mut std::process::Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() >= deadline => return None,
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("waiting for child: {e}"),
        }
    }
}

fn outcome(command: String, status: ExitStatus, stdout: String, stderr: String) -> Outcome {
    Outcome {
        code: status.code(),
        signal: status.signal(),
        stdout,
        stderr,
        command,
    }
}

fn read_lossy(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

//! `berth daemon` started by a test on temp data and exec roots of its own, stopped and
//! cleaned up on drop: its containers removed through the API, then SIGTERM, SIGKILL for
//! whatever of it is left, and every mount left under the temp dir detached.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use berth_testkit::cleanup::{kill_processes_naming, unmount_under};
use berth_testkit::{ping, run_with_timeout, wait_until};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tempfile::TempDir;

/// How long the daemon may take to answer `/_ping`.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// How long the daemon may take to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `berth daemon`; see the module documentation.
#[derive(Debug)]
pub struct BerthDaemon {
    child: Option<Child>,
    // Last field: deleted after Drop stopped everything that uses it.
    dir: TempDir,
}

impl BerthDaemon {
    /// Starts `berth daemon` on fresh roots under a new temp dir in /tmp (unix socket paths
    /// must stay short) and waits for `/_ping`; panics with the daemon's log if it exits or
    /// does not answer within 15 s.
    pub fn start() -> BerthDaemon {
        let dir = tempfile::Builder::new()
            .prefix("berth-engine-")
            .tempdir_in("/tmp")
            .expect("create the daemon's temp dir in /tmp");
        fs::create_dir_all(dir.path().join("cli")).expect("create the docker CLI config dir");
        let mut daemon = BerthDaemon { child: None, dir };
        daemon.spawn();
        daemon
    }

    /// The daemon's `--instance`: its bridge is `<instance>0` and its nftables table
    /// `<instance>`, so daemons of parallel test binaries never touch each other's.
    pub fn instance(&self) -> String {
        let suffix: String = self
            .dir
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
            .chars()
            .rev()
            .filter(char::is_ascii_alphanumeric)
            .take(6)
            .collect();
        format!("e{suffix}")
    }

    /// Starts the daemon again on the same roots (after [`BerthDaemon::kill9`]).
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "the daemon is still running");
        self.spawn();
    }

    fn spawn(&mut self) {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open daemon.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.arg("daemon")
            .arg("--data-root")
            .arg(self.data_root())
            .arg("--exec-root")
            .arg(self.exec_root())
            .arg("-H")
            .arg(self.host())
            .arg("--instance")
            .arg(self.instance())
            .env("RUST_BACKTRACE", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the daemon.log handle"))
            .stderr(log);
        // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and touches no memory; it
        // stops the daemon if the test process dies without running Drop.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!("cannot start {}: {e}", env!("CARGO_BIN_EXE_berth"));
        });
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                self.child = None;
                panic!(
                    "berth daemon did not start: it exited with {status} before answering \
                     GET /_ping on {}\n{}",
                    self.socket().display(),
                    self.log_tail()
                );
            }
            if ping(&self.socket()) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "berth daemon did not start: no answer to GET /_ping on {} within \
                     {START_TIMEOUT:?}\n{}",
                    self.socket().display(),
                    self.log_tail()
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The temp dir holding the roots, the log and the CLI config.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `--data-root`.
    pub fn data_root(&self) -> PathBuf {
        self.dir().join("data")
    }

    /// `--exec-root`.
    pub fn exec_root(&self) -> PathBuf {
        self.dir().join("exec")
    }

    /// The API socket.
    pub fn socket(&self) -> PathBuf {
        self.exec_root().join("berth.sock")
    }

    /// `unix://SOCKET`.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// The daemon's pid, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn log_path(&self) -> PathBuf {
        self.dir().join("daemon.log")
    }

    /// The last 60 lines the daemon wrote.
    pub fn log_tail(&self) -> String {
        let log = fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let start = lines.len().saturating_sub(60);
        format!(
            "--- berth daemon.log (last lines) ---\n{}",
            lines[start..].join("\n")
        )
    }

    /// A docker CLI command for this daemon, with a config dir of its own.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(super::daemon::DOCKER_CLI);
        cmd.env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", self.dir().join("cli"))
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY");
        cmd
    }

    fn docker_quiet(&self, args: &[&str]) -> Option<Output> {
        run_with_timeout(self.command().args(args), Duration::from_secs(60)).ok()
    }

    /// SIGKILL, as a crash would; containers (their shims) keep running.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Removes every container and every network but the predefined ones.
    fn remove_everything(&self) {
        let ids = |args: &[&str]| -> Vec<String> {
            self.docker_quiet(args)
                .map(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .split_whitespace()
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let containers = ids(&["ps", "-aq"]);
        if !containers.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(containers.iter().map(String::as_str));
            let _ = self.docker_quiet(&args);
        }
        let networks = ids(&["network", "ls", "-q", "--filter", "type=custom"]);
        if !networks.is_empty() {
            let mut args = vec!["network", "rm"];
            args.extend(networks.iter().map(String::as_str));
            let _ = self.docker_quiet(&args);
        }
    }

    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(pid) = i32::try_from(child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        if wait_until(&mut child, Instant::now() + STOP_TIMEOUT).is_none() {
            eprintln!("berth daemon ignored SIGTERM for {STOP_TIMEOUT:?}; killed");
        }
    }
}

impl Drop for BerthDaemon {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("{}", self.log_tail());
        }
        if self.child.is_some() {
            self.remove_everything();
        }
        self.stop();
        kill_processes_naming(self.dir());
        unmount_under(self.dir());
        // What the daemon made on the host, should it not have cleaned up: its bridge and
        // its nftables table (user networks' bridges are removed with the networks).
        let instance = self.instance();
        let _ = Command::new("ip")
            .args(["link", "delete", &format!("{instance}0")])
            .stderr(Stdio::null())
            .status();
        let _ = Command::new("nft")
            .args(["delete", "table", "ip", &instance])
            .stderr(Stdio::null())
            .status();
    }
}

//! A dockerd of the test's own. Its socket, data root, exec root, pid file and config file
//! live in one temp dir under /tmp, so that it runs beside other tests and beside a system
//! dockerd; it sets up no network on the host, starts its own containerd under its own
//! namespaces and puts containers' cgroups under a parent of its own. Dropping
//! [`PrivateDockerd`] removes its containers, stops it, kills its containerd and shims,
//! unmounts what they left, removes its cgroup parent and deletes the temp dir, even when
//! the test failed.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tempfile::TempDir;

use crate::cleanup;
use crate::process::{find_program, run_with_timeout, wait_until};

/// How long dockerd may take to answer `/_ping` after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// How long dockerd may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// An OCI runtime to register with `--add-runtime`.
#[derive(Debug, Clone)]
struct Runtime {
    name: String,
    program: PathBuf,
    /// Arguments before runc's; non-empty means a wrapper script (dockerd takes a path).
    args: Vec<String>,
}

/// The options of a [`PrivateDockerd`]; [`Builder::start`] starts it.
#[derive(Debug, Clone)]
pub struct Builder {
    dockerd: Option<PathBuf>,
    docker_cli: Option<PathBuf>,
    prefix: String,
    insecure_registries: Vec<String>,
    runtimes: Vec<Runtime>,
    storage_driver: String,
    cgroup_parent: Option<String>,
    containerd_namespace: Option<String>,
    cli_env: Vec<(String, String)>,
    command_timeout: Duration,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            dockerd: None,
            docker_cli: None,
            prefix: "berth-dockerd-".to_string(),
            insecure_registries: Vec::new(),
            runtimes: Vec::new(),
            // vfs works on any file system (overlay2 fails where /tmp is itself an overlay).
            storage_driver: "vfs".to_string(),
            cgroup_parent: None,
            containerd_namespace: None,
            cli_env: Vec::new(),
            command_timeout: Duration::from_secs(120),
        }
    }
}

impl Builder {
    /// The dockerd binary; by default `dockerd` from `PATH` or the sbin directories.
    pub fn dockerd(mut self, path: impl Into<PathBuf>) -> Self {
        self.dockerd = Some(path.into());
        self
    }

    /// The docker CLI binary; by default `docker` from `PATH` or the sbin directories.
    pub fn docker_cli(mut self, path: impl Into<PathBuf>) -> Self {
        self.docker_cli = Some(path.into());
        self
    }

    /// The temp dir's name prefix, to tell whose leftovers these are.
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.to_string();
        self
    }

    /// `--insecure-registry ADDR`: a plain HTTP registry dockerd may pull from and push to.
    pub fn insecure_registry(mut self, addr: &str) -> Self {
        self.insecure_registries.push(addr.to_string());
        self
    }

    /// `--add-runtime NAME=PATH`: `docker run --runtime NAME` runs `program` as its runc.
    pub fn add_runtime(self, name: &str, program: &Path) -> Self {
        self.add_runtime_with_args(name, program, &[])
    }

    /// Like [`Builder::add_runtime`], with `args` placed before runc's (e.g. `["runtime"]`
    /// for `berth runtime`), through a wrapper script in the temp dir since dockerd takes a
    /// runtime as a bare path.
    pub fn add_runtime_with_args(mut self, name: &str, program: &Path, args: &[&str]) -> Self {
        self.runtimes.push(Runtime {
            name: name.to_string(),
            program: program.to_path_buf(),
            args: args.iter().map(|a| a.to_string()).collect(),
        });
        self
    }

    /// `--storage-driver`; `vfs` by default.
    pub fn storage_driver(mut self, driver: &str) -> Self {
        self.storage_driver = driver.to_string();
        self
    }

    /// `--cgroup-parent` (removed from every hierarchy on drop); by default a name unique to
    /// this dockerd.
    pub fn cgroup_parent(mut self, parent: &str) -> Self {
        self.cgroup_parent = Some(parent.to_string());
        self
    }

    /// `--containerd-namespace` (and `NAME-plugins` for plugins); by default a name unique
    /// to this dockerd.
    pub fn containerd_namespace(mut self, namespace: &str) -> Self {
        self.containerd_namespace = Some(namespace.to_string());
        self
    }

    /// An environment variable for every docker CLI command (e.g. `DOCKER_BUILDKIT=0`).
    pub fn cli_env(mut self, key: &str, value: &str) -> Self {
        self.cli_env.push((key.to_string(), value.to_string()));
        self
    }

    /// How long [`PrivateDockerd::docker`] waits for a command; 120 s by default.
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// Starts dockerd and waits until its API answers. `None`, after printing why, when
    /// dockerd or the docker CLI is missing or the test does not run as root; panics (after
    /// cleaning up) when dockerd fails to start.
    pub fn start(self) -> Option<PrivateDockerd> {
        let dockerd = self.dockerd.clone().or_else(|| find_program("dockerd"));
        let docker_cli = self.docker_cli.clone().or_else(|| find_program("docker"));
        let (Some(dockerd), Some(docker_cli)) = (dockerd, docker_cli) else {
            eprintln!("SKIPPED: dockerd or docker is not installed (apt-get install docker.io)");
            return None;
        };
        if !nix::unistd::geteuid().is_root() {
            eprintln!("SKIPPED: a private dockerd needs root");
            return None;
        }
        Some(self.spawn(&dockerd, docker_cli))
    }

    fn spawn(self, dockerd: &Path, docker_cli: PathBuf) -> PrivateDockerd {
        // Under /tmp, not $TMPDIR: unix socket paths beneath it must stay under 108 bytes.
        let dir = tempfile::Builder::new()
            .prefix(&self.prefix)
            .tempdir_in("/tmp")
            .expect("create the dockerd temp dir in /tmp");
        let root = dir.path();
        let unique = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .expect("a temp dir has a file name");
        let socket = root.join("docker.sock");
        let log = root.join("dockerd.log");
        // An empty config file keeps the host's /etc/docker/daemon.json out of the test.
        fs::write(root.join("daemon.json"), "{}").expect("write daemon.json");
        fs::create_dir_all(root.join("cli")).expect("create the docker CLI config dir");
        let log_file = fs::File::create(&log).expect("create dockerd.log");
        let cgroup_parent = self.cgroup_parent.clone().unwrap_or_else(|| unique.clone());
        let namespace = self.containerd_namespace.clone().unwrap_or(unique);

        let mut cmd = Command::new(dockerd);
        cmd.arg("--host")
            .arg(format!("unix://{}", socket.display()))
            .arg("--data-root")
            .arg(root.join("data"))
            .arg("--exec-root")
            .arg(root.join("exec"))
            .arg("--pidfile")
            .arg(root.join("dockerd.pid"))
            .arg("--config-file")
            .arg(root.join("daemon.json"))
            // No bridge, no iptables: this dockerd must not touch the host's network.
            .args([
                "--bridge=none",
                "--iptables=false",
                "--ip6tables=false",
                "--ip-masq=false",
            ])
            .arg("--storage-driver")
            .arg(&self.storage_driver)
            .args(["--shutdown-timeout", "2"])
            // Containers' cgroups go under a parent of this dockerd's own, removed at the end.
            .arg(format!(
                "--cgroup-parent=/{}",
                cgroup_parent.trim_start_matches('/')
            ))
            // dockerd starts its own containerd, unless a system one answers on
            // /run/containerd; own namespaces keep the test apart from that one too.
            .arg(format!("--containerd-namespace={namespace}"))
            .arg(format!(
                "--containerd-plugins-namespace={namespace}-plugins"
            ));
        for registry in &self.insecure_registries {
            cmd.arg("--insecure-registry").arg(registry);
        }
        for runtime in &self.runtimes {
            let path = if runtime.args.is_empty() {
                runtime.program.clone()
            } else {
                let wrapper = root.join(format!("{}-runtime", runtime.name));
                write_wrapper(&wrapper, &runtime.program, &runtime.args);
                wrapper
            };
            cmd.arg("--add-runtime")
                .arg(format!("{}={}", runtime.name, path.display()));
        }
        cmd.stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("clone the dockerd.log handle"))
            .stderr(log_file);
        // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and touches no memory; it
        // asks the kernel to stop dockerd (gracefully, so that it stops its containerd) if
        // the test dies without running the Drop guard.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start dockerd");
        // The guard exists before the wait, so that a failed start still cleans up.
        let mut daemon = PrivateDockerd {
            child,
            docker_cli,
            socket,
            log,
            cgroup_parent,
            cli_env: self.cli_env,
            command_timeout: self.command_timeout,
            dir,
        };
        daemon.wait_ready(START_TIMEOUT);
        daemon
    }
}

/// A running dockerd of the test's own; see the module documentation.
#[derive(Debug)]
pub struct PrivateDockerd {
    child: Child,
    docker_cli: PathBuf,
    socket: PathBuf,
    log: PathBuf,
    cgroup_parent: String,
    cli_env: Vec<(String, String)>,
    command_timeout: Duration,
    // Last field: dropped (deleted) after `Drop::drop` has stopped everything using it.
    dir: TempDir,
}

impl PrivateDockerd {
    /// The options, to set before [`Builder::start`].
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Starts a dockerd with the default options; see [`Builder::start`].
    pub fn start() -> Option<PrivateDockerd> {
        Builder::default().start()
    }

    /// `unix://SOCKET`: the value for `DOCKER_HOST` or an API client.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// The socket dockerd serves its API on.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The temp dir holding everything of this dockerd; tests may put their files in it.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// dockerd's `--data-root`.
    pub fn data_root(&self) -> PathBuf {
        self.dir().join("data")
    }

    /// A docker CLI command talking to this dockerd only, with a config dir of its own.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.docker_cli);
        cmd.env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", self.dir().join("cli"))
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY");
        for (key, value) in &self.cli_env {
            cmd.env(key, value);
        }
        cmd
    }

    /// Runs `docker ARGS` with stdin closed and returns how it ended, whatever the exit
    /// code; panics if it cannot start or does not finish within the command timeout.
    pub fn docker(&self, args: &[&str]) -> Output {
        run_with_timeout(self.command().args(args), self.command_timeout)
            .unwrap_or_else(|e| panic!("{e}\n{}", self.log_tail()))
    }

    /// Runs `docker ARGS`, requires success and returns its stdout; panics with the
    /// command's output and dockerd's log otherwise.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        let done = self.docker(args);
        assert!(
            done.status.success(),
            "`docker {}` failed with {}\nstdout: {}\nstderr: {}",
            args.join(" "),
            done.status,
            String::from_utf8_lossy(&done.stdout),
            String::from_utf8_lossy(&done.stderr),
        );
        String::from_utf8_lossy(&done.stdout).into_owned()
    }

    /// The last warnings and errors of dockerd's log (containerd's and the shims'
    /// included): info lines are start-up chatter. Printed when a test fails.
    pub fn log_tail(&self) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().filter(|l| !l.contains("level=info")).collect();
        let start = lines.len().saturating_sub(40);
        format!(
            "--- dockerd.log (last warnings and errors) ---\n{}",
            lines[start..].join("\n")
        )
    }

    fn wait_ready(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "dockerd exited during start-up with {status}\n{}",
                    self.log_tail()
                );
            }
            if ping(&self.socket) {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "dockerd did not answer on {} within {timeout:?}\n{}",
                    self.socket.display(),
                    self.log_tail()
                );
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Removes every container, so that dockerd's shutdown does not wait on any.
    fn remove_containers(&self) {
        let Ok(listed) =
            run_with_timeout(self.command().args(["ps", "-aq"]), Duration::from_secs(30))
        else {
            return;
        };
        let listed = String::from_utf8_lossy(&listed.stdout);
        let ids: Vec<&str> = listed.split_whitespace().collect();
        if !ids.is_empty() {
            let _ = run_with_timeout(
                self.command().args(["rm", "-f"]).args(&ids),
                Duration::from_secs(60),
            );
        }
    }

    /// Stops dockerd: SIGTERM (it then stops its containerd), SIGKILL after a grace period.
    fn stop_daemon(&mut self) {
        // Only while unreaped: once reaped, the pid may belong to another process.
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        if wait_until(&mut self.child, Instant::now() + STOP_TIMEOUT).is_none() {
            eprintln!("dockerd ignored SIGTERM for {STOP_TIMEOUT:?}; killed");
        }
    }
}

impl Drop for PrivateDockerd {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("{}", self.log_tail());
        }
        if matches!(self.child.try_wait(), Ok(None)) {
            self.remove_containers();
        }
        self.stop_daemon();
        // dockerd stops the containerd it started; make sure, should it have died first.
        cleanup::kill_pid_file(
            &self.dir().join("exec/containerd/containerd.pid"),
            self.dir(),
        );
        cleanup::kill_processes_naming(self.dir());
        cleanup::unmount_under(self.dir());
        cleanup::remove_cgroup(&self.cgroup_parent);
    }
}

/// Asks the Engine API's `/_ping` on `socket`; true on a 200, once the daemon (dockerd
/// or berth) serves requests.
pub fn ping(socket: &Path) -> bool {
    let Ok(mut stream) = UnixStream::connect(socket) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply.starts_with("HTTP/1.0 200") || reply.starts_with("HTTP/1.1 200")
}

/// Writes an executable `#!/bin/sh` script at `path` that execs `program` with `prefix`
/// arguments followed by its own.
fn write_wrapper(path: &Path, program: &Path, prefix: &[String]) {
    let quote = |s: &str| {
        assert!(!s.contains('\''), "cannot quote {s:?} for sh");
        format!("'{s}'")
    };
    let mut line = format!("exec {}", quote(&program.to_string_lossy()));
    for arg in prefix {
        line.push(' ');
        line.push_str(&quote(arg));
    }
    fs::write(path, format!("#!/bin/sh\n{line} \"$@\"\n")).expect("write runtime wrapper");
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).expect("chmod runtime wrapper");
}

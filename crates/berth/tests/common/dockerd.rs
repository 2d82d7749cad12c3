//! A dockerd of the test's own: its socket, data root, exec root and pid file live in one
//! temp dir, so that it can run beside other tests and beside a system dockerd. It starts
//! its own containerd. Dropping [`Dockerd`] removes its containers, stops dockerd and its
//! containerd and shims, unmounts what they left and deletes the temp dir, even when the
//! test failed.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tempfile::TempDir;

use super::command::{run_with_timeout, wait_until, Finished};

/// How long a docker CLI command may take before the test gives up on it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// An OCI runtime to register with dockerd: `name` is what `docker run --runtime` takes,
/// `program` and `args` what containerd's runc shim runs, followed by runc's arguments.
#[derive(Debug, Clone, Copy)]
pub struct ExtraRuntime<'a> {
    /// The name given to `docker run --runtime`.
    pub name: &'a str,
    /// The runtime executable.
    pub program: &'a Path,
    /// Arguments placed before runc's (e.g. `["runtime"]` for `berth runtime`).
    pub args: &'a [&'a str],
}

/// A running dockerd with an extra OCI runtime registered under a name.
#[derive(Debug)]
pub struct Dockerd {
    child: Child,
    docker_cli: PathBuf,
    socket: PathBuf,
    log: PathBuf,
    // Last field: dropped (deleted) after `Drop::drop` has stopped everything using it.
    dir: TempDir,
}

impl Dockerd {
    /// Starts dockerd with `runtime` registered (through a wrapper script in the temp dir,
    /// since dockerd takes a runtime as a bare path) and waits until its API answers.
    pub fn start(dockerd: &Path, docker_cli: &Path, runtime: ExtraRuntime<'_>) -> Dockerd {
        // Under /tmp, not $TMPDIR: unix socket paths beneath it must stay under 108 bytes.
        let dir = tempfile::Builder::new()
            .prefix("berth-e2e-")
            .tempdir_in("/tmp")
            .expect("create the dockerd temp dir");
        let root = dir.path();
        let socket = root.join("docker.sock");
        let log = root.join("dockerd.log");
        // An empty config file keeps the host's /etc/docker/daemon.json out of the test.
        fs::write(root.join("daemon.json"), "{}").expect("write daemon.json");
        fs::create_dir_all(root.join("cli")).expect("create the docker CLI config dir");
        let log_file = fs::File::create(&log).expect("create dockerd.log");
        let wrapper = root.join(format!("{}-runtime", runtime.name));
        write_wrapper(&wrapper, runtime.program, runtime.args);

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
            .args(["--bridge=none", "--iptables=false", "--ip6tables=false"])
            // vfs works on any file system (overlay2 fails where /tmp is itself an overlay);
            // the test is about the runtime, not the storage driver.
            .args(["--storage-driver", "vfs", "--shutdown-timeout", "2"])
            // Containers' cgroups go under a parent of this dockerd's own, removed at the end.
            .arg("--cgroup-parent")
            .arg(format!("/{}", unique_name(root)))
            // dockerd starts its own containerd, unless a system one answers on
            // /run/containerd; own namespaces keep the test apart from that one too.
            .arg("--containerd-namespace")
            .arg(unique_name(root))
            .arg("--containerd-plugins-namespace")
            .arg(format!("{}-plugins", unique_name(root)))
            .arg("--add-runtime")
            .arg(format!("{}={}", runtime.name, wrapper.display()))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("clone the dockerd.log handle"))
            .stderr(log_file);
        // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and touches no memory; it
        // asks the kernel to stop dockerd (gracefully, so that it stops its containerd) if
        // the test process dies without running the Drop guard.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start dockerd");
        let mut daemon = Dockerd {
            child,
            docker_cli: docker_cli.to_path_buf(),
            socket,
            log,
            dir,
        };
        daemon.wait_ready(Duration::from_secs(60));
        daemon
    }

    /// The temp dir holding everything of this dockerd; tests may put their files in it.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A docker CLI command talking to this dockerd only.
    pub fn docker(&self) -> Command {
        let mut cmd = Command::new(&self.docker_cli);
        cmd.env("DOCKER_HOST", format!("unix://{}", self.socket.display()))
            .env("DOCKER_CONFIG", self.dir().join("cli"))
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY");
        cmd
    }

    /// Runs `docker ARGS` and returns how it ended, whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Finished {
        run_with_timeout(self.docker().args(args), COMMAND_TIMEOUT)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs `docker ARGS`, requires success and returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let done = self.run(args);
        assert!(
            done.status.success(),
            "`docker {}` failed with {}\nstdout: {}\nstderr: {}",
            args.join(" "),
            done.status,
            done.stdout,
            done.stderr,
        );
        done.stdout
    }

    /// The last warnings and errors of dockerd's log (containerd's and the shims' included):
    /// info lines are start-up chatter. Printed when a test fails.
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
            run_with_timeout(self.docker().args(["ps", "-aq"]), Duration::from_secs(30))
        else {
            return;
        };
        let ids: Vec<&str> = listed.stdout.split_whitespace().collect();
        if !ids.is_empty() {
            let _ = run_with_timeout(
                self.docker().args(["rm", "-f"]).args(&ids),
                Duration::from_secs(60),
            );
        }
    }

    /// Stops dockerd: SIGTERM (it then stops its containerd), SIGKILL after a grace period.
    fn stop_daemon(&mut self) {
        let pid = Pid::from_raw(self.child.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        if wait_until(&mut self.child, Instant::now() + Duration::from_secs(20)).is_none() {
            eprintln!("dockerd ignored SIGTERM for 20s; killed");
        }
    }

    /// Kills whatever still runs with this temp dir on its command line: containerd and its
    /// shims name their socket or config there. These are processes this test started.
    fn kill_leftovers(&self) {
        let marker = self.dir().as_os_str().as_encoded_bytes().to_vec();
        let Ok(entries) = fs::read_dir("/proc") else {
            return;
        };
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<i32>().ok())
            else {
                continue;
            };
            let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            if cmdline
                .windows(marker.len())
                .any(|w| w == marker.as_slice())
            {
                eprintln!(
                    "killing leftover process {pid}: {}",
                    String::from_utf8_lossy(&cmdline).replace('\0', " ")
                );
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
    }

    /// Detaches any mount dockerd left under the temp dir, deepest first.
    fn unmount_leftovers(&self) {
        let Ok(mountinfo) = fs::read_to_string("/proc/self/mountinfo") else {
            return;
        };
        let mut targets: Vec<PathBuf> = mountinfo
            .lines()
            .filter_map(|line| line.split(' ').nth(4))
            .map(PathBuf::from)
            .filter(|target| target.starts_with(self.dir()))
            .collect();
        targets.sort_by_key(|t| std::cmp::Reverse(t.components().count()));
        for target in targets {
            let _ = nix::mount::umount2(&target, nix::mount::MntFlags::MNT_DETACH);
        }
    }
}

impl Dockerd {
    /// Removes this dockerd's cgroup parent from every mounted hierarchy (v1, v2, hybrid).
    /// The runtime removed the containers' own cgroups on delete; rmdir fails, and leaves
    /// the evidence, if it did not.
    fn remove_cgroup_parent(&self) {
        let parent = unique_name(self.dir());
        let Ok(mountinfo) = fs::read_to_string("/proc/self/mountinfo") else {
            return;
        };
        for line in mountinfo.lines() {
            let Some((_, after)) = line.split_once(" - ") else {
                continue;
            };
            if !after.starts_with("cgroup") {
                continue;
            }
            if let Some(mount_point) = line.split(' ').nth(4) {
                let dir = Path::new(mount_point).join(&parent);
                if dir.exists() {
                    if let Err(e) = fs::remove_dir(&dir) {
                        eprintln!("cannot remove cgroup {}: {e}", dir.display());
                    }
                }
            }
        }
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("{}", self.log_tail());
        }
        self.remove_containers();
        self.stop_daemon();
        self.kill_leftovers();
        self.unmount_leftovers();
        self.remove_cgroup_parent();
    }
}

/// A name no other dockerd uses (the temp dir's): cgroup parent and containerd namespaces.
fn unique_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Asks the Engine API's `/_ping` on `socket`; true once dockerd serves requests.
fn ping(socket: &Path) -> bool {
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
/// arguments followed by its own: how dockerd is given `berth runtime` as a runc.
fn write_wrapper(path: &Path, program: &Path, prefix: &[&str]) {
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

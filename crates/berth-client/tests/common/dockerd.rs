//! A dockerd of the test's own (Debian docker.io): socket, data root, exec root and pid
//! file in one temp dir, no bridge and no iptables, vfs storage. Dropping [`Dockerd`]
//! stops it (SIGTERM, it stops its containerd), kills whatever still names the temp dir
//! on its command line (containerd, shims), unmounts leftovers and removes its cgroup
//! parent, also when the test failed.

use std::ffi::CString;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// Where Debian's docker.io puts dockerd.
pub const DOCKERD: &str = "/usr/sbin/dockerd";

/// A running dockerd.
pub struct Dockerd {
    child: Child,
    pub socket: PathBuf,
    pub data_root: PathBuf,
    log: PathBuf,
    // Last: deleted after Drop stopped everything that uses it.
    dir: TempDir,
}

impl Dockerd {
    /// Starts dockerd and waits until its socket accepts connections.
    pub fn start() -> Dockerd {
        // Under /tmp: socket paths must stay under 108 bytes.
        let dir = tempfile::Builder::new()
            .prefix("berth-client-")
            .tempdir_in("/tmp")
            .unwrap();
        let root = dir.path();
        let socket = root.join("docker.sock");
        let data_root = root.join("data");
        let log = root.join("dockerd.log");
        // An empty config keeps the host's /etc/docker/daemon.json out of the test.
        fs::write(root.join("daemon.json"), "{}").unwrap();
        let log_file = fs::File::create(&log).unwrap();
        let name = unique_name(root);
        let mut cmd = Command::new(DOCKERD);
        cmd.arg("--host")
            .arg(format!("unix://{}", socket.display()))
            .arg("--data-root")
            .arg(&data_root)
            .arg("--exec-root")
            .arg(root.join("exec"))
            .arg("--pidfile")
            .arg(root.join("dockerd.pid"))
            .arg("--config-file")
            .arg(root.join("daemon.json"))
            .args(["--bridge=none", "--iptables=false", "--ip6tables=false"])
            .args(["--storage-driver=vfs", "--shutdown-timeout=2"])
            .arg(format!("--cgroup-parent=/{name}"))
            .arg(format!("--containerd-namespace={name}"))
            .arg(format!("--containerd-plugins-namespace={name}-plugins"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file);
        // SAFETY: prctl(PR_SET_PDEATHSIG) is async-signal-safe and touches no memory; it
        // stops dockerd (gracefully) if the test process dies without running Drop.
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
            socket,
            data_root,
            log,
            dir,
        };
        daemon.wait_for_socket(Duration::from_secs(60));
        daemon
    }

    /// The temp dir of this dockerd.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `unix://SOCKET`.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// dockerd's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().filter(|l| !l.contains("level=info")).collect();
        let start = lines.len().saturating_sub(30);
        format!("--- dockerd.log ---\n{}", lines[start..].join("\n"))
    }

    fn wait_for_socket(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while std::os::unix::net::UnixStream::connect(&self.socket).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("dockerd exited with {status}\n{}", self.log_tail());
            }
            assert!(
                Instant::now() < deadline,
                "dockerd did not listen\n{}",
                self.log_tail()
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop(&mut self) {
        // SAFETY: kill(2) on the pid of our own child, which we have not reaped yet.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills processes that name this temp dir on their command line: containerd and
    /// shims this dockerd started.
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
                    "killing leftover {pid}: {}",
                    String::from_utf8_lossy(&cmdline)
                );
                // SAFETY: kill(2) with a pid read from /proc; the worst case of a reused
                // pid is a signal to a process that also names our unique temp dir.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
    }

    fn unmount_leftovers(&self) {
        let Ok(mountinfo) = fs::read_to_string("/proc/self/mountinfo") else {
            return;
        };
        let mut targets: Vec<PathBuf> = mountinfo
            .lines()
            .filter_map(|line| line.split(' ').nth(4))
            .map(PathBuf::from)
            .filter(|t| t.starts_with(self.dir()))
            .collect();
        targets.sort_by_key(|t| std::cmp::Reverse(t.components().count()));
        for target in targets {
            let Ok(path) = CString::new(target.as_os_str().as_encoded_bytes()) else {
                continue;
            };
            // SAFETY: umount2 with a valid NUL-terminated path; MNT_DETACH only.
            unsafe {
                libc::umount2(path.as_ptr(), libc::MNT_DETACH);
            }
        }
    }

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
                    let _ = fs::remove_dir(&dir);
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
        self.stop();
        self.kill_leftovers();
        self.unmount_leftovers();
        self.remove_cgroup_parent();
    }
}

fn unique_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

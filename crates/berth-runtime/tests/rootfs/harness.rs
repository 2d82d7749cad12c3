//! The harness of the rootfs tests: a forked container init in new namespaces, bundles,
//! specs and a reading of mountinfo.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use berth_runtime::rootfs::{self, RootfsError};
use nix::sched::{unshare, CloneFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult};
use oci_spec::runtime::Spec;
use serde_json::json;

/// Runs `body` as pid 1 of new mount and pid namespaces and returns what it reported.
pub fn in_namespaces(body: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    in_namespaces_as(false, body)
}

/// Like [`in_namespaces`], with `user`: in a new user namespace too (mapping only root,
/// with an IPC namespace of its own so that mqueue can be mounted), as a rootless or
/// user-namespaced container's init is.
pub fn in_namespaces_as(
    user: bool,
    body: impl FnOnce() -> Result<(), String>,
) -> Result<(), String> {
    let (read_end, write_end) = nix::unistd::pipe().unwrap();
    // SAFETY: the child only unshares, forks, runs the test body and leaves with _exit.
    match unsafe { fork() }.unwrap() {
        ForkResult::Child => {
            drop(read_end);
            let mut report = fs::File::from(write_end);
            let code = match child(user, body, &mut report) {
                Ok(()) => 0,
                Err(message) => {
                    let _ = report.write_all(message.as_bytes());
                    1
                }
            };
            // SAFETY: leaves the forked child without running the harness's destructors.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => {
            drop(write_end);
            let mut message = String::new();
            fs::File::from(read_end)
                .read_to_string(&mut message)
                .unwrap();
            let status = waitpid(child, None).unwrap();
            match status {
                _ if !message.is_empty() => Err(message),
                WaitStatus::Exited(_, 0) => Ok(()),
                other => Err(format!("container init ended with {other:?}")),
            }
        }
    }
}

/// The forked child: new namespaces, then the body in a grandchild that is their pid 1.
pub fn child(
    user: bool,
    body: impl FnOnce() -> Result<(), String>,
    report: &mut fs::File,
) -> Result<(), String> {
    let mut flags = CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID;
    if user {
        flags |= CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWIPC;
    }
    unshare(flags).map_err(|e| format!("unshare: {e}"))?;
    if user {
        // A process may map its own ids into the namespace it created.
        for (file, text) in [
            ("/proc/self/setgroups", "deny"),
            ("/proc/self/gid_map", "0 0 1"),
            ("/proc/self/uid_map", "0 0 1"),
        ] {
            fs::write(file, text).map_err(|e| format!("write {file}: {e}"))?;
        }
    }
    // SAFETY: the grandchild runs the body and leaves with _exit.
    match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Child => {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body))
                .unwrap_or_else(|panic| {
                    let text = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
                    Err(format!("panicked: {}", text.unwrap_or_default()))
                });
            let code = match result {
                Ok(()) => 0,
                Err(message) => {
                    let _ = report.write_all(message.as_bytes());
                    1
                }
            };
            // SAFETY: as above.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, 0)) => Ok(()),
            Ok(WaitStatus::Exited(_, code)) => Err(format!("pid 1 exited with {code}")),
            other => Err(format!("pid 1 ended with {other:?}")),
        },
    }
}

/// A bundle directory with an empty `rootfs` inside, removed when dropped.
pub struct Bundle {
    pub dir: tempfile::TempDir,
    pub rootfs: PathBuf,
}

impl Bundle {
    pub fn new() -> Bundle {
        let dir = tempfile::Builder::new()
            .prefix("berth-rootfs-test-")
            .tempdir()
            .unwrap();
        let rootfs = dir.path().join("rootfs");
        fs::create_dir(&rootfs).unwrap();
        Bundle { dir, rootfs }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// runc's default mounts (`runc spec`), with a nosuid, noexec, nodev /proc.
pub fn default_mounts() -> serde_json::Value {
    json!([
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
    ])
}

pub fn spec(value: serde_json::Value) -> Spec {
    serde_json::from_value(value).unwrap()
}

/// The error and its causes, as a user would see them.
pub fn chain(e: &RootfsError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// What a container's init does with its rootfs.
pub fn set_up(spec: &Spec, bundle: &Path, rootfs: &Path, no_pivot: bool) -> Result<(), String> {
    rootfs::prepare(spec, rootfs, bundle, false).map_err(|e| chain(&e))?;
    rootfs::pivot(rootfs, no_pivot).map_err(|e| chain(&e))?;
    rootfs::finish(spec).map_err(|e| chain(&e))
}

#[derive(Debug, Clone)]
pub struct MountLine {
    pub root: String,
    pub point: PathBuf,
    pub options: Vec<String>,
    pub optional: Vec<String>,
    pub fstype: String,
    pub super_options: Vec<String>,
}

impl MountLine {
    pub fn has(&self, option: &str) -> bool {
        self.options
            .iter()
            .chain(&self.super_options)
            .any(|o| o == option)
    }
}

pub fn mountinfo() -> Vec<MountLine> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .map(|line| {
            let (before, after) = line.split_once(" - ").unwrap();
            let f: Vec<&str> = before.split(' ').collect();
            let a: Vec<&str> = after.split(' ').collect();
            MountLine {
                root: f[3].to_string(),
                point: PathBuf::from(f[4]),
                options: f[5].split(',').map(String::from).collect(),
                optional: f[6..].iter().map(|s| s.to_string()).collect(),
                fstype: a[0].to_string(),
                super_options: a[2].split(',').map(String::from).collect(),
            }
        })
        .collect()
}

/// The topmost mount at `point`.
pub fn mount_at(point: &str) -> Result<MountLine, String> {
    mountinfo()
        .into_iter()
        .rev()
        .find(|m| m.point == Path::new(point))
        .ok_or_else(|| format!("nothing mounted at {point}"))
}

pub fn expect_mount(point: &str, fstype: &str, options: &[&str]) -> Result<MountLine, String> {
    let m = mount_at(point)?;
    ensure!(
        m.fstype == fstype,
        "{point}: type {} instead of {fstype}",
        m.fstype
    );
    for option in options {
        ensure!(m.has(option), "{point}: no option {option} in {m:?}");
    }
    Ok(m)
}

pub fn expect_erofs(path: &str) -> Result<(), String> {
    match fs::write(path, b"x") {
        Err(e) if e.raw_os_error() == Some(libc::EROFS) => Ok(()),
        other => Err(format!("writing {path}: {other:?}, expected EROFS")),
    }
}

pub fn host_victim() -> (tempfile::TempDir, Vec<(String, String)>) {
    let dir = tempfile::Builder::new()
        .prefix("berth-rootfs-victim-")
        .tempdir()
        .unwrap();
    fs::write(dir.path().join("victim-file"), "host data").unwrap();
    let listing = listing(dir.path());
    (dir, listing)
}

pub fn listing(dir: &Path) -> Vec<(String, String)> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let content = fs::read_to_string(e.path()).unwrap_or_default();
            (e.file_name().to_string_lossy().into_owned(), content)
        })
        .collect();
    entries.sort();
    entries
}

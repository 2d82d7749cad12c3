//! What a stopped daemon (dockerd, or berth's own) may leave behind, found by its temp dir
//! and cgroup parent names: processes (containerd, shims), mounts and cgroups. Each step
//! is best effort and says on stderr what it did, so that a leak is visible in the test's
//! output.

use std::fs;
use std::path::{Path, PathBuf};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Kills the process whose pid is in `pid_file` if its command line still names `dir`
/// (a reused pid is left alone).
pub(crate) fn kill_pid_file(pid_file: &Path, dir: &Path) {
    let Some(pid) = fs::read_to_string(pid_file)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
    else {
        return;
    };
    if names(pid, dir) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
}

/// Kills whatever still runs with `dir` on its command line: containerd and its shims name
/// their socket or config there, berth's shims their state. These are processes the test
/// started.
pub fn kill_processes_naming(dir: &Path) {
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
        if names(pid, dir) {
            let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
            eprintln!(
                "killing leftover process {pid}: {}",
                String::from_utf8_lossy(&cmdline).replace('\0', " ")
            );
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// Whether process `pid`'s command line contains `dir`.
fn names(pid: i32, dir: &Path) -> bool {
    let marker = dir.as_os_str().as_encoded_bytes();
    fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|cmdline| cmdline.windows(marker.len()).any(|w| w == marker))
}

/// The mount points under `dir`, from /proc/self/mountinfo.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(PathBuf::from)
        .filter(|target| target.starts_with(dir))
        .collect()
}

/// Detaches every mount under `dir`, deepest first, saying which were left.
pub fn unmount_under(dir: &Path) {
    let mut targets = mounts_under(dir);
    targets.sort_by_key(|t| std::cmp::Reverse(t.components().count()));
    for target in targets {
        eprintln!("unmounting leftover {}", target.display());
        if let Err(e) = nix::mount::umount2(&target, nix::mount::MntFlags::MNT_DETACH) {
            eprintln!("cannot unmount {}: {e}", target.display());
        }
    }
}

/// Removes cgroup `name` (relative to each hierarchy's root) from every mounted hierarchy:
/// v1, v2 and hybrid. The runtime removed the containers' own cgroups on delete; rmdir
/// fails, and leaves the evidence, if it did not.
pub(crate) fn remove_cgroup(name: &str) {
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
        if name.trim_matches('/').is_empty() {
            return;
        }
        if let Some(mount_point) = line.split(' ').nth(4) {
            let dir = Path::new(mount_point).join(name.trim_start_matches('/'));
            if dir.exists() {
                if let Err(e) = fs::remove_dir(&dir) {
                    eprintln!("cannot remove cgroup {}: {e}", dir.display());
                }
            }
        }
    }
}

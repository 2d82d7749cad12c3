//! Finding and removing what a container may leave on the host: state under `--root`,
//! cgroup directories, mounts and processes.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Every existing cgroup directory for `cgroups_path` (e.g. `/berth-test/<id>`), in every
/// hierarchy mounted under /sys/fs/cgroup (v1 controllers, the named systemd one and the
/// cgroup2 `unified` tree on a hybrid host, or the root itself on pure v2).
pub fn cgroup_dirs(cgroups_path: &str) -> Vec<PathBuf> {
    let rel = cgroups_path.trim_start_matches('/');
    if rel.is_empty() {
        return Vec::new();
    }
    let mut found = Vec::new();
    let base = Path::new("/sys/fs/cgroup");
    if base.join(rel).is_dir() {
        found.push(base.join(rel));
    }
    if let Ok(entries) = fs::read_dir(base) {
        for entry in entries.flatten() {
            let dir = entry.path().join(rel);
            if dir.is_dir() {
                found.push(dir);
            }
        }
    }
    found
}

/// What the container `id` from `bundle` left behind, described for a failure message:
/// state entries under `root`, cgroup directories, mounts naming the bundle in this mount
/// namespace, and processes whose root or cwd is the bundle's rootfs.
pub fn leftovers(root: &Path, id: &str, bundle: &Path, cgroups_path: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in walk(root) {
        if entry.to_string_lossy().contains(id) {
            found.push(format!("state: {}", entry.display()));
        }
    }
    for dir in cgroup_dirs(cgroups_path) {
        found.push(format!("cgroup: {}", dir.display()));
    }
    for line in mounts_under(bundle) {
        found.push(format!("mount: {line}"));
    }
    for pid in processes_in(&bundle.join("rootfs"), id) {
        found.push(format!("process: {pid} ({})", comm(pid)));
    }
    found
}

/// Kills and removes everything [`leftovers`] would report (best effort, never panics).
pub fn force_clean(id: &str, bundle: &Path, cgroups_path: &str) {
    let dirs = cgroup_dirs(cgroups_path);
    // A frozen process cannot die; thaw first (v1 freezer and v2 cgroup.freeze).
    for dir in &dirs {
        let _ = fs::write(dir.join("freezer.state"), "THAWED");
        let _ = fs::write(dir.join("cgroup.freeze"), "0");
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut pids = Vec::new();
        for dir in &dirs {
            for sub in walk(dir) {
                if sub.is_dir() {
                    pids.extend(procs_of(&sub));
                }
            }
            pids.extend(procs_of(dir));
        }
        pids.extend(processes_in(&bundle.join("rootfs"), id));
        if pids.is_empty() || Instant::now() > deadline {
            break;
        }
        for pid in pids {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    for line in mounts_under(bundle).iter().rev() {
        if let Some(target) = line.split(' ').nth(4) {
            let _ = nix::mount::umount2(target, nix::mount::MntFlags::MNT_DETACH);
        }
    }
    // Children before parents; an emptied cgroup may take a moment to be removable.
    let deadline = Instant::now() + Duration::from_secs(2);
    for dir in &dirs {
        let mut subdirs: Vec<PathBuf> = walk(dir).into_iter().filter(|p| p.is_dir()).collect();
        subdirs.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        subdirs.push(dir.clone());
        for sub in subdirs {
            while fs::remove_dir(&sub).is_err() && sub.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

fn procs_of(dir: &Path) -> Vec<i32> {
    fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Lines of /proc/self/mountinfo whose mount point or source lies in `bundle`.
fn mounts_under(bundle: &Path) -> Vec<String> {
    let needle = bundle.to_string_lossy().into_owned();
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(&needle))
        .map(str::to_string)
        .collect()
}

/// Processes whose root or cwd is `rootfs` (compared by device and inode, because a
/// pivoted process shows its root as `/`) or lies below it by path, and processes whose
/// command line names the container id or the bundle (a runtime's init waiting for
/// `start` before it has pivoted, a shim, a stuck `create`).
fn processes_in(rootfs: &Path, id: &str) -> Vec<i32> {
    let Ok(meta) = fs::metadata(rootfs) else {
        return Vec::new();
    };
    let me = std::process::id() as i32;
    let key = (meta.dev(), meta.ino());
    let needle = rootfs.to_string_lossy().into_owned();
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        let inside = ["root", "cwd"].iter().any(|link| {
            let path = entry.path().join(link);
            let same_inode = fs::metadata(&path)
                .map(|m| (m.dev(), m.ino()) == key)
                .unwrap_or(false);
            let below = fs::read_link(&path)
                .map(|p| p.to_string_lossy().starts_with(&needle))
                .unwrap_or(false);
            same_inode || below
        });
        let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let named = cmdline.split(|b| *b == 0).any(|arg| {
            let arg = String::from_utf8_lossy(arg);
            arg == id
                || arg.contains(&needle)
                || rootfs.parent().is_some_and(|b| arg == b.to_string_lossy())
        });
        if inside || named {
            pids.push(pid);
        }
    }
    pids
}

fn comm(pid: i32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Every path below `dir` (not following symlinks), depth first.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        out.push(path.clone());
        if is_dir {
            out.extend(walk(&path));
        }
    }
    out
}

/// True once `pid` has exited (gone, or a zombie waiting for its parent), polling for at
/// most 2 s.
pub fn process_gone(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The state letter follows the parenthesised command name.
        let state = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next());
        if matches!(state, None | Some('Z') | Some('X')) {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

//! What is done after pivot_root: readonly and masked paths, a readonly root and the root's
//! final propagation. By now `/` is the container's root, so a symlink in these paths can
//! only lead somewhere inside the container.

use std::path::Path;

use nix::errno::Errno;
use nix::mount::{mount, MsFlags};

use super::mounts::{locked_flags, remount_keeping_locked};
use super::RootfsError;

fn mount_error(
    call: &'static str,
    src: &str,
    dest: &Path,
    fstype: &str,
    source: Errno,
) -> RootfsError {
    RootfsError::Mount {
        call,
        mount_source: src.to_string(),
        destination: dest.to_path_buf(),
        fstype: fstype.to_string(),
        source,
    }
}

/// Makes `path` read-only: a bind mount onto itself, then a read-only remount that keeps
/// its nosuid/nodev/noexec. A path that does not exist is skipped.
pub(crate) fn readonly_path(path: &Path) -> Result<(), RootfsError> {
    let flags = MsFlags::MS_BIND | MsFlags::MS_REC;
    match mount(Some(path), path, None::<&str>, flags, None::<&str>) {
        Err(Errno::ENOENT) => return Ok(()),
        other => {
            other.map_err(|e| mount_error("mount", &path.to_string_lossy(), path, "bind", e))?
        }
    }
    let keep = locked_flags(path).map_err(|e| mount_error("statfs", "", path, "bind", e))?;
    let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | keep;
    remount_keeping_locked(path, flags).map_err(|e| {
        mount_error(
            "remount read-only",
            &path.to_string_lossy(),
            path,
            "bind",
            e,
        )
    })
}

/// Hides `path`: /dev/null bound over a file, an empty read-only tmpfs over a directory.
/// A path that does not exist is skipped.
pub(crate) fn mask_path(path: &Path) -> Result<(), RootfsError> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(RootfsError::Io {
                what: "stat the masked path",
                path: path.to_path_buf(),
                source,
            })
        }
    };
    if meta.is_dir() {
        mount(
            Some("tmpfs"),
            path,
            Some("tmpfs"),
            MsFlags::MS_RDONLY,
            None::<&str>,
        )
        .map_err(|e| mount_error("mount", "tmpfs", path, "tmpfs", e))
    } else {
        mount(
            Some("/dev/null"),
            path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| mount_error("mount", "/dev/null", path, "bind", e))
    }
}

/// `root.readonly`: remounts `/` read-only, keeping the flags the kernel locks.
pub(crate) fn readonly_root() -> Result<(), RootfsError> {
    let root = Path::new("/");
    let keep = locked_flags(root).map_err(|e| mount_error("statfs", "", root, "bind", e))?;
    let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | keep;
    remount_keeping_locked(root, flags)
        .map_err(|e| mount_error("remount read-only", "/", root, "bind", e))
}

/// Sets the propagation of `/` (only after pivot_root: before, `/` was the host's root).
pub(crate) fn propagate_root(flags: MsFlags) -> Result<(), RootfsError> {
    let root = Path::new("/");
    mount(None::<&str>, root, None::<&str>, flags, None::<&str>)
        .map_err(|e| mount_error("change the propagation of", "/", root, "", e))
}

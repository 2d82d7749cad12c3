//! The container's root filesystem, open, and lookups that stay inside it.
//!
//! Lookups go through [`berth_runtime::rootfs::open_in_root`], the runtime's own for mount
//! targets: openat2(2) with `RESOLVE_IN_ROOT` (the kernel interprets `..` and absolute
//! symlinks as if the rootfs were `/`, so nothing found can lie outside it), or where
//! openat2 is missing a secure join walked one component at a time with `O_NOFOLLOW`.

use std::ffi::OsStr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{fstat, mkdirat, Mode, SFlag};

use super::ArchiveError;

/// An open rootfs.
#[derive(Debug)]
pub(super) struct Root {
    /// Canonical host path (what /proc/self/fd links print).
    path: PathBuf,
    fd: OwnedFd,
}

impl Root {
    pub fn open(rootfs: &Path) -> Result<Root, ArchiveError> {
        let path = std::fs::canonicalize(rootfs).map_err(|source| ArchiveError::Io {
            action: "resolve the rootfs",
            path: rootfs.to_path_buf(),
            source,
        })?;
        let fd = openat(
            nix::fcntl::AT_FDCWD,
            &path,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|errno| sys("open", &path, errno))?;
        Ok(Root { path, fd })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    /// Opens the container path made of `parts` (no `.`, `..` or empty parts needed, but
    /// harmless) as `O_PATH`, following every symlink inside the root.
    pub fn open_path<S: AsRef<OsStr>>(&self, parts: &[S]) -> Result<OwnedFd, Errno> {
        let relative: PathBuf = parts.iter().map(AsRef::as_ref).collect();
        berth_runtime::rootfs::open_in_root(&self.fd, &self.path, &relative)
    }

    /// Opens the directory at `parts`, creating missing ones (mode 0755, owned by root)
    /// as Docker does for the implied parents of an archive's entries.
    pub fn open_dir_creating(&self, parts: &[String]) -> Result<OwnedFd, ArchiveError> {
        match self.open_path(parts) {
            Ok(fd) => return self.expect_dir(fd, parts),
            Err(Errno::ENOENT) if !parts.is_empty() => {}
            Err(errno) => return Err(sys("open", &self.host_path(parts), errno)),
        }
        let (last, parent_parts) = parts
            .split_last()
            .ok_or(ArchiveError::Invalid("the rootfs is missing".to_string()))?;
        let parent = self.open_dir_creating(parent_parts)?;
        match mkdirat(&parent, last.as_str(), Mode::from_bits_truncate(0o755)) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(errno) => return Err(sys("create directory", &self.host_path(parts), errno)),
        }
        let fd = self
            .open_path(parts)
            .map_err(|errno| sys("open", &self.host_path(parts), errno))?;
        self.expect_dir(fd, parts)
    }

    fn expect_dir(&self, fd: OwnedFd, parts: &[String]) -> Result<OwnedFd, ArchiveError> {
        let stat = fstat(&fd).map_err(|errno| sys("stat", &self.host_path(parts), errno))?;
        if SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR {
            Ok(fd)
        } else {
            Err(ArchiveError::Invalid(format!(
                "cannot extract into /{}: not a directory",
                parts.join("/")
            )))
        }
    }

    /// Where `fd` lies inside the root, as container path components.
    pub fn container_path(&self, fd: &OwnedFd) -> Result<Vec<String>, ArchiveError> {
        let link = proc_path(fd);
        let real = std::fs::read_link(&link).map_err(|source| ArchiveError::Io {
            action: "readlink",
            path: link,
            source,
        })?;
        let inside = real.strip_prefix(&self.path).map_err(|_| {
            ArchiveError::Invalid(format!("{} is outside the rootfs", real.display()))
        })?;
        Ok(inside
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect())
    }

    /// For messages: the host path of container path `parts`.
    pub fn host_path<S: AsRef<OsStr>>(&self, parts: &[S]) -> PathBuf {
        let mut path = self.path.clone();
        path.extend(parts.iter().map(AsRef::as_ref));
        path
    }
}

/// The path through which syscalls without an `*at` form reach what `fd` refers to.
pub(super) fn proc_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

pub(super) fn sys(action: &'static str, path: &Path, errno: Errno) -> ArchiveError {
    ArchiveError::Io {
        action,
        path: path.to_path_buf(),
        source: errno.into(),
    }
}

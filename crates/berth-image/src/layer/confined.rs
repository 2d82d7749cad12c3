//! Filesystem operations confined to a root directory: every path is resolved with
//! `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)` relative to the root's fd, and
//! every change is a `*at` syscall relative to an fd so resolved. Nothing is ever resolved
//! by a path string from `/`.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fstatat, mkdirat, Mode, SFlag};
use nix::unistd::{unlinkat, UnlinkatFlags};

use nix::fcntl::AtFlags;

/// A directory that paths are resolved inside, with a one-entry cache of the last parent
/// directory (layers list a directory's files together). The cache stays right: an entry
/// only creates or removes names *inside* the cached directory, never a component of its
/// path, and whiteouts resolve their directory afresh.
#[derive(Debug)]
pub(crate) struct Root {
    fd: OwnedFd,
    cached: Option<(PathBuf, OwnedFd)>,
}

impl Root {
    pub(crate) fn open(path: &Path) -> io::Result<Self> {
        let fd = nix::fcntl::open(
            path,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Root { fd, cached: None })
    }

    /// Opens `rel` (resolved inside the root) with `flags`.
    pub(crate) fn open_in(&self, rel: &Path, flags: OFlag) -> io::Result<OwnedFd> {
        let rel = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        let how = OpenHow::new()
            .flags(flags | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        Ok(openat2(&self.fd, rel, how)?)
    }

    /// The directory `parent` (an `O_PATH` fd), created with mode 0755 where missing.
    pub(crate) fn parent(&mut self, parent: &Path) -> io::Result<BorrowedFd<'_>> {
        let hit = matches!(&self.cached, Some((path, _)) if path == parent);
        if !hit {
            let fd = self.ensure_dir(parent)?;
            self.cached = Some((parent.to_path_buf(), fd));
        }
        match &self.cached {
            Some((_, fd)) => Ok(fd.as_fd()),
            None => Err(io::Error::from(io::ErrorKind::NotFound)),
        }
    }

    fn ensure_dir(&self, dir: &Path) -> io::Result<OwnedFd> {
        let flags = OFlag::O_PATH | OFlag::O_DIRECTORY;
        match self.open_in(dir, flags) {
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            other => return other,
        }
        // Some component is missing: walk down, creating what is missing. A component
        // that exists but does not resolve to a directory (a dangling symlink, a file)
        // makes mkdirat fail with EEXIST: refused, never followed.
        let mut fd = self.open_in(Path::new(""), flags)?;
        let mut prefix = PathBuf::new();
        for component in dir.iter() {
            prefix.push(component);
            fd = match self.open_in(&prefix, flags) {
                Ok(next) => next,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    mkdirat(&fd, component, Mode::from_bits_truncate(0o755))?;
                    openat(
                        &fd,
                        component,
                        flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                        Mode::empty(),
                    )?
                }
                Err(e) => return Err(e),
            };
        }
        Ok(fd)
    }
}

/// The file type of `name` in `dir`, not following a symlink; `None` if it does not exist.
pub(crate) fn file_type_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<Option<SFlag>> {
    match fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(stat) => Ok(Some(SFlag::from_bits_truncate(stat.st_mode & libc::S_IFMT))),
        Err(Errno::ENOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Removes `name` in `dir` and, if it is a directory, everything below it, never following
/// symlinks. A missing `name` is not an error.
pub(crate) fn remove_all_at(dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<()> {
    match file_type_at(dir, name)? {
        None => Ok(()),
        Some(SFlag::S_IFDIR) => {
            let child = openat(
                dir,
                name,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?;
            clear_dir(child.as_fd(), |_| false)?;
            unlinkat(dir, name, UnlinkatFlags::RemoveDir)?;
            Ok(())
        }
        Some(_) => Ok(unlinkat(dir, name, UnlinkatFlags::NoRemoveDir)?),
    }
}

/// Removes the entries of the open directory `dir` for which `keep` is false.
pub(crate) fn clear_dir(
    dir: BorrowedFd<'_>,
    mut keep: impl FnMut(&OsStr) -> bool,
) -> io::Result<()> {
    for name in list_dir(dir)? {
        if !keep(&name) {
            remove_all_at(dir, &name)?;
        }
    }
    Ok(())
}

/// The names in the open directory `dir` (without `.` and `..`).
pub(crate) fn list_dir(dir: BorrowedFd<'_>) -> io::Result<Vec<std::ffi::OsString>> {
    use std::os::unix::ffi::OsStrExt;
    // A fresh fd: a Dir owns (and closes) the fd it reads from.
    let own = openat(
        dir,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let mut listing = nix::dir::Dir::from_fd(own)?;
    let mut names = Vec::new();
    for entry in listing.iter() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push(OsStr::from_bytes(name).to_os_string());
        }
    }
    Ok(names)
}

/// `/proc/self/fd/<dir>/<name>`: a path for the syscalls that have no `*at` form
/// (`lsetxattr`); the directory part is the already resolved fd, the last component is not
/// followed by the `l*` calls.
pub(crate) fn proc_path(dir: BorrowedFd<'_>, name: &OsStr) -> PathBuf {
    let mut path = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
    path.push(name);
    path
}

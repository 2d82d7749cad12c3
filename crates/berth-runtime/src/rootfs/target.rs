//! Mount targets inside the rootfs, opened as file descriptors.
//!
//! Before pivot_root the container's init still sees the host, so a symlink planted in
//! the image (`/etc/evil -> /root`) must never turn a mount onto the host. Targets are
//! created by walking the securely joined path one component at a time with
//! `O_NOFOLLOW`, then opened with openat2(RESOLVE_IN_ROOT) as `O_PATH` and mounted on
//! through `/proc/self/fd/<fd>`, so nothing can swap a symlink in between the check and
//! the mount.

use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fstat, mkdirat, Mode, SFlag};
use nix::unistd::symlinkat;

use super::secure_join::resolve_in_root;
use super::RootfsError;

/// The rootfs, open. Opened after the rootfs was bind-mounted onto itself, so that lookups
/// from it see the mounts made on top.
#[derive(Debug)]
pub(crate) struct Root {
    path: PathBuf,
    fd: OwnedFd,
}

/// What to create at a mount target that does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    File,
}

impl Root {
    /// Opens the rootfs at `path`, a host path.
    pub fn open(path: &Path) -> Result<Root, RootfsError> {
        // The escape check compares /proc/self/fd links with this path, which the kernel
        // prints without symlinks.
        let path = std::fs::canonicalize(path).map_err(|source| RootfsError::Io {
            what: "resolve the rootfs",
            path: path.to_path_buf(),
            source,
        })?;
        let fd = openat(
            nix::fcntl::AT_FDCWD,
            &path,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|source| sys("open", &path, source))?;
        Ok(Root { path, fd })
    }

    /// The rootfs's host path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates `dest` (a container path) and its missing parents, the parents as
    /// directories with mode 0755 and `dest` itself as `kind`.
    pub fn create(&self, dest: &Path, kind: Kind) -> Result<(), RootfsError> {
        let resolved = resolve_in_root(&self.path, dest)?;
        let mut parts: Vec<_> = resolved.components().collect();
        let Some(last) = parts.pop() else {
            return Ok(()); // the root itself
        };
        let mut dir = self.dup()?;
        for part in parts {
            dir = self.child_dir(&dir, part.as_os_str(), true, dest)?;
        }
        match kind {
            Kind::Dir => {
                self.child_dir(&dir, last.as_os_str(), true, dest)?;
            }
            Kind::File => {
                // O_EXCL: an existing target (perhaps a device) is never opened, and one of
                // another kind is left for mount(2) to judge.
                let flags = OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_WRONLY
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC;
                match openat(
                    &dir,
                    last.as_os_str(),
                    flags,
                    Mode::from_bits_truncate(0o755),
                ) {
                    Ok(_) | Err(Errno::EEXIST) => {}
                    Err(source) => return Err(sys("create", &self.path.join(&resolved), source)),
                }
            }
        }
        Ok(())
    }

    /// Creates the parents of `dest` and opens its parent directory, returning it with
    /// the last component of `dest`, which is not resolved: it may be a symlink to replace.
    pub fn parent(&self, dest: &Path) -> Result<(OwnedFd, OsString), RootfsError> {
        let name = match dest.file_name() {
            Some(name) => name.to_os_string(),
            None => {
                return Err(RootfsError::Escapes {
                    destination: dest.to_path_buf(),
                })
            }
        };
        let parent = dest.parent().unwrap_or(Path::new("/"));
        let resolved = resolve_in_root(&self.path, parent)?;
        let mut dir = self.dup()?;
        for part in resolved.components() {
            dir = self.child_dir(&dir, part.as_os_str(), true, dest)?;
        }
        Ok((dir, name))
    }

    /// Creates the symlink `dest -> target`; an existing file at `dest` is kept.
    pub fn symlink(&self, dest: &Path, target: &Path) -> Result<(), RootfsError> {
        let (dir, name) = self.parent(dest)?;
        match symlinkat(target, &dir, name.as_os_str()) {
            Ok(()) | Err(Errno::EEXIST) => Ok(()),
            Err(source) => Err(sys("symlink", &self.path.join(dest_rel(dest)), source)),
        }
    }

    /// Opens the existing `dest` (a container path) as `O_PATH`, resolved inside the root.
    pub fn open_target(&self, dest: &Path) -> Result<OwnedFd, RootfsError> {
        open_in_root(&self.fd, &self.path, dest).map_err(|source| match source {
            Errno::EXDEV => RootfsError::Escapes {
                destination: dest.to_path_buf(),
            },
            source => sys("open mount target", &self.path.join(dest_rel(dest)), source),
        })
    }

    /// Opens directory `name` under `dir` without following a symlink, creating it first
    /// if `create` says so.
    fn child_dir(
        &self,
        dir: &OwnedFd,
        name: &std::ffi::OsStr,
        create: bool,
        dest: &Path,
    ) -> Result<OwnedFd, RootfsError> {
        let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        match openat(dir, name, flags, Mode::empty()) {
            Err(Errno::ENOENT) if create => {
                match mkdirat(dir, name, Mode::from_bits_truncate(0o755)) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(source) => {
                        return Err(sys("mkdir", &self.path.join(dest_rel(dest)), source))
                    }
                }
                openat(dir, name, flags, Mode::empty())
            }
            other => other,
        }
        .map_err(|source| sys("open directory", &self.path.join(dest_rel(dest)), source))
    }

    fn dup(&self) -> Result<OwnedFd, RootfsError> {
        self.fd
            .as_fd()
            .try_clone_to_owned()
            .map_err(|source| RootfsError::Io {
                what: "duplicate the descriptor of",
                path: self.path.clone(),
                source,
            })
    }
}

/// Opens `dest`, a container path (`/` or empty for the root itself), as `O_PATH`,
/// resolved as if `root` were `/`: `..` and absolute symlinks stay inside it. `root` is
/// the rootfs directory open, `root_path` its canonical host path (what
/// `/proc/self/fd` links print).
///
/// Uses openat2(2) with `RESOLVE_IN_ROOT`; where openat2 is missing (before Linux 5.6,
/// or filtered by seccomp) the path is resolved with [`super::secure_join()`] and walked
/// one component at a time with `O_NOFOLLOW`, so that a symlink swapped in meanwhile
/// fails the lookup (`ELOOP`) instead of leading out. Errors are the lookup's errno,
/// `EXDEV` when what was opened lies outside the root.
pub fn open_in_root(root: &OwnedFd, root_path: &Path, dest: &Path) -> Result<OwnedFd, Errno> {
    let relative = dest_rel(dest);
    let relative = if relative.as_os_str().is_empty() {
        Path::new(".")
    } else {
        relative
    };
    let how = OpenHow::new()
        .flags(OFlag::O_PATH | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let mut attempt = 0;
    let fd = loop {
        match openat2(root, relative, how) {
            // The kernel gives up when a rename races the lookup; try again.
            Err(Errno::EAGAIN) if attempt < 16 => attempt += 1,
            Err(Errno::ENOSYS) => break open_by_walking(root, root_path, dest)?,
            other => break other?,
        }
    };
    // Defence in depth: what was opened must lie in the rootfs as the host sees it.
    let real = std::fs::read_link(fd_path(&fd)).map_err(|_| Errno::EXDEV)?;
    if real.starts_with(root_path) {
        Ok(fd)
    } else {
        Err(Errno::EXDEV)
    }
}

/// The fallback of [`open_in_root`]: secure_join, then one component at a time without
/// following symlinks.
fn open_by_walking(root: &OwnedFd, root_path: &Path, dest: &Path) -> Result<OwnedFd, Errno> {
    let resolved = resolve_in_root(root_path, dest).map_err(|_| Errno::ELOOP)?;
    let mut fd = root.try_clone().map_err(|_| Errno::EMFILE)?;
    for part in resolved.components() {
        fd = openat(
            &fd,
            part.as_os_str(),
            OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        if SFlag::from_bits_truncate(fstat(&fd)?.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK {
            // resolve_in_root resolved every symlink; one here was swapped in meanwhile.
            return Err(Errno::ELOOP);
        }
    }
    Ok(fd)
}

/// The path through which mount(2) reaches what `fd` refers to.
pub(crate) fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

fn dest_rel(dest: &Path) -> &Path {
    dest.strip_prefix("/").unwrap_or(dest)
}

fn sys(what: &'static str, path: &Path, source: Errno) -> RootfsError {
    RootfsError::Sys {
        what,
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    /// A rootfs whose `etc/evil` points at a directory outside it.
    fn hostile() -> (tempfile::TempDir, tempfile::TempDir, Root) {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        symlink(outside.path(), root.path().join("etc/evil")).unwrap();
        symlink(
            outside.path().join("file"),
            root.path().join("etc/evil-file"),
        )
        .unwrap();
        let opened = Root::open(root.path()).unwrap();
        (root, outside, opened)
    }

    fn inside(root: &Root, outside: &Path) -> PathBuf {
        let outside = std::fs::canonicalize(outside).unwrap();
        root.path().join(outside.strip_prefix("/").unwrap())
    }

    #[test]
    fn targets_are_created_inside_the_root() {
        let (_root, outside, root) = hostile();
        root.create(Path::new("/etc/evil/sub"), Kind::Dir).unwrap();
        root.create(Path::new("/etc/evil-file"), Kind::File)
            .unwrap();
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        let confined = inside(&root, outside.path());
        assert!(confined.join("sub").is_dir());
        assert!(confined.join("file").is_file());
        let mode = std::fs::metadata(&confined).unwrap().permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o755
        );
    }

    #[test]
    fn both_ways_of_opening_stay_inside_the_root() {
        let (_root, outside, root) = hostile();
        root.create(Path::new("/etc/evil/sub"), Kind::Dir).unwrap();
        let expected = inside(&root, outside.path()).join("sub");
        for fd in [
            root.open_target(Path::new("/etc/evil/sub")).unwrap(),
            open_by_walking(&root.fd, root.path(), Path::new("/etc/evil/sub")).unwrap(),
            root.open_target(Path::new("/../../etc/./evil/sub"))
                .unwrap(),
        ] {
            assert_eq!(std::fs::read_link(fd_path(&fd)).unwrap(), expected);
        }
    }

    #[test]
    fn a_missing_target_is_an_error_not_a_host_path() {
        let (_root, _outside, root) = hostile();
        let err = root.open_target(Path::new("/etc/evil/none")).unwrap_err();
        assert!(
            matches!(
                err,
                RootfsError::Sys {
                    source: Errno::ENOENT,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn symlinks_are_created_in_the_resolved_parent() {
        let (_root, outside, root) = hostile();
        root.symlink(Path::new("/etc/evil/link"), Path::new("/proc/self/fd"))
            .unwrap();
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        let link = inside(&root, outside.path()).join("link");
        assert_eq!(
            std::fs::read_link(link).unwrap(),
            Path::new("/proc/self/fd")
        );
    }
}

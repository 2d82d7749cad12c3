//! Resolving a container path inside the rootfs, as if the rootfs were `/`.
//!
//! Like Go's `filepath-securejoin`: each component is looked at with lstat; a symlink is
//! read and its target resolved in turn (an absolute target starts again at the rootfs),
//! and `..` never climbs above the rootfs. Components that do not exist are taken
//! lexically. This is the fallback where openat2(2) is missing and the way to learn which
//! directories to create; the mount itself always goes through a file descriptor.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::sys::stat::{lstat, SFlag};

use super::RootfsError;

/// How many symlinks one resolution may follow before it is taken for a loop (Linux's
/// own limit is 40).
const MAX_SYMLINKS: usize = 255;

/// Resolves `path` inside `root` and returns it relative to `root`: no component of the
/// result is a symlink (at the time of looking) and it never starts with `..`.
pub(crate) fn resolve_in_root(root: &Path, path: &Path) -> Result<PathBuf, RootfsError> {
    let mut pending: VecDeque<OsString> = components(path).collect();
    let mut resolved: Vec<OsString> = Vec::new();
    let mut followed = 0;
    while let Some(part) = pending.pop_front() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let candidate: PathBuf = std::iter::once(root.as_os_str())
            .chain(resolved.iter().map(|p| p.as_os_str()))
            .chain(std::iter::once(part.as_os_str()))
            .collect();
        let stat = match lstat(&candidate) {
            Ok(stat) => stat,
            // What does not exist yet will be created where the path says, lexically.
            Err(Errno::ENOENT | Errno::ENOTDIR) => {
                resolved.push(part);
                continue;
            }
            Err(source) => {
                return Err(RootfsError::Sys {
                    what: "lstat",
                    path: candidate,
                    source,
                })
            }
        };
        if SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT != SFlag::S_IFLNK {
            resolved.push(part);
            continue;
        }
        followed += 1;
        if followed > MAX_SYMLINKS {
            return Err(RootfsError::SymlinkLoop {
                path: path.to_path_buf(),
            });
        }
        let target = std::fs::read_link(&candidate).map_err(|source| RootfsError::Io {
            what: "readlink",
            path: candidate.clone(),
            source,
        })?;
        if target.is_absolute() {
            resolved.clear();
        }
        for part in components(&target).collect::<Vec<_>>().into_iter().rev() {
            pending.push_front(part);
        }
    }
    Ok(resolved.iter().collect())
}

/// The normal and `..` components of `path`; `/` and `.` say nothing inside a root.
fn components(path: &Path) -> impl Iterator<Item = OsString> + '_ {
    path.components().filter_map(|c| match c {
        Component::Normal(name) => Some(name.to_os_string()),
        Component::ParentDir => Some(OsString::from("..")),
        Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn resolve(root: &Path, path: &str) -> PathBuf {
        resolve_in_root(root, Path::new(path)).unwrap()
    }

    #[test]
    fn plain_and_missing_paths_are_lexical() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        assert_eq!(resolve(root.path(), "/etc/hosts"), Path::new("etc/hosts"));
        assert_eq!(resolve(root.path(), "a/./b/../c"), Path::new("a/c"));
    }

    #[test]
    fn dot_dot_stops_at_the_root() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(resolve(root.path(), "/../../../etc"), Path::new("etc"));
        assert_eq!(resolve(root.path(), "a/../../.."), Path::new(""));
    }

    #[test]
    fn absolute_symlinks_restart_at_the_root() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        symlink("/tmp/host-dir", root.path().join("etc/evil")).unwrap();
        assert_eq!(
            resolve(root.path(), "/etc/evil/x"),
            Path::new("tmp/host-dir/x")
        );
    }

    #[test]
    fn relative_symlinks_cannot_climb_out() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("a/b")).unwrap();
        symlink("../../../../../../etc", root.path().join("a/b/up")).unwrap();
        assert_eq!(
            resolve(root.path(), "/a/b/up/passwd"),
            Path::new("etc/passwd")
        );
    }

    #[test]
    fn chained_symlinks_resolve() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("real")).unwrap();
        symlink("real", root.path().join("one")).unwrap();
        symlink("/one", root.path().join("two")).unwrap();
        assert_eq!(resolve(root.path(), "two/x"), Path::new("real/x"));
    }

    #[test]
    fn symlink_loops_are_errors() {
        let root = tempfile::tempdir().unwrap();
        symlink("b", root.path().join("a")).unwrap();
        symlink("a", root.path().join("b")).unwrap();
        let err = resolve_in_root(root.path(), Path::new("a/x")).unwrap_err();
        assert!(matches!(err, RootfsError::SymlinkLoop { .. }), "{err}");
    }
}

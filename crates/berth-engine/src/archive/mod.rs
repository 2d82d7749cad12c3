//! `docker cp` and `docker export`: tar archives of paths inside a container's root
//! filesystem, and extraction into it, confined to that root (symlinks resolve inside it,
//! as if chrooted; `..` never climbs out).
//!
//! Paths follow Docker's archive API (`daemon/archive.go`):
//!
//! - GET and HEAD resolve the directory part of the path with symlinks followed inside
//!   the root, and look at the last component without following it, unless the path
//!   ends in `/` or `/.`. The archive's top entry is named after the path's base name
//!   (`/a/link/` archives the link's target under the name `link`; `/a/dir/.` names the
//!   directory `.` so that its entries are `./x`; `/` names it `/`).
//! - PUT follows every symlink of the path, which must be an existing directory.
//! - The stat's `linkTarget` is the symlink fully resolved inside the root, as a
//!   container path.

mod extract;
mod mode;
mod path;
mod root;
mod write;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{fstat, fstatat, Mode, SFlag};
use serde::Serialize;
use thiserror::Error;

use path::Request;
use root::{sys, Root};
use write::TarWriter;

/// What can go wrong.
#[derive(Debug, Error)]
pub enum ArchiveError {
    /// The path does not exist in the container (404).
    #[error("Could not find the file {0} in container")]
    NotFound(String),
    /// A bad request: extracting onto a non-directory, a bad tar (400).
    #[error("{0}")]
    Invalid(String),
    /// Disk trouble.
    #[error("{action} `{path}`: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The stat Docker returns base64-encoded JSON in the `X-Docker-Container-Path-Stat`
/// header (`PathStat`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PathStat {
    /// Base name.
    pub name: String,
    /// Size in bytes.
    pub size: i64,
    /// Go's os.FileMode bits (type bits in Go's layout: dir = 1<<31, symlink = 1<<27).
    pub mode: u32,
    /// RFC 3339 modification time.
    pub mtime: String,
    /// For a symlink, its target resolved inside the root (a container path, as
    /// Docker's `linkTarget`); else empty.
    #[serde(rename = "linkTarget")]
    pub link_target: String,
}

/// What a request path names: the directory it lies in and its name there, or the
/// directory itself (a followed path, or the root).
struct Found {
    stat: nix::sys::stat::FileStat,
    at: Location,
}

enum Location {
    /// The last component, not followed, inside `parent`.
    Child {
        parent: std::os::fd::OwnedFd,
        name: String,
    },
    /// Opened itself (`O_PATH`), every symlink followed.
    Itself(std::os::fd::OwnedFd),
}

fn find(root: &Root, request: &Request) -> Result<Found, ArchiveError> {
    let missing = |errno: Errno| match errno {
        Errno::ENOENT | Errno::ENOTDIR => ArchiveError::NotFound(request.display()),
        other => sys("open", &root.host_path(&request.parts()), other),
    };
    let dir = root.open_path(&request.dir).map_err(missing)?;
    match &request.base {
        Some(name) => {
            let stat =
                fstatat(&dir, name.as_str(), AtFlags::AT_SYMLINK_NOFOLLOW).map_err(missing)?;
            Ok(Found {
                stat,
                at: Location::Child {
                    parent: dir,
                    name: name.clone(),
                },
            })
        }
        None => {
            let stat = fstat(&dir).map_err(missing)?;
            Ok(Found {
                stat,
                at: Location::Itself(dir),
            })
        }
    }
}

/// Stats `path` (container-absolute) inside `rootfs` (HEAD /archive).
pub fn stat(rootfs: &Path, path: &str) -> Result<PathStat, ArchiveError> {
    let root = Root::open(rootfs)?;
    let request = Request::parse(path);
    let found = find(&root, &request)?;
    path_stat(&root, &request, &found.stat)
}

fn path_stat(
    root: &Root,
    request: &Request,
    stat: &nix::sys::stat::FileStat,
) -> Result<PathStat, ArchiveError> {
    let link_target = if mode::kind(stat) == SFlag::S_IFLNK {
        let resolved = resolve(root.path(), &request.display())?;
        let inside = resolved.strip_prefix(root.path()).unwrap_or(Path::new(""));
        format!("/{}", inside.display())
    } else {
        String::new()
    };
    Ok(PathStat {
        name: request.name.clone(),
        size: stat.st_size,
        mode: mode::go_file_mode(stat.st_mode),
        mtime: mode::rfc3339(stat.st_mtime, stat.st_mtime_nsec),
        link_target,
    })
}

/// Writes a tar of `path` inside `rootfs` to `out` (GET /archive), as Docker does: the
/// archive's top entry is the base name of `path` (a trailing `/.` means "the directory's
/// contents", named `./x`). Returns the stat of `path`.
pub fn get(rootfs: &Path, path: &str, out: impl std::io::Write) -> Result<PathStat, ArchiveError> {
    let root = Root::open(rootfs)?;
    let request = Request::parse(path);
    let found = find(&root, &request)?;
    let stat = path_stat(&root, &request, &found.stat)?;
    let mut writer = TarWriter::new(&root, out);
    match found.at {
        Location::Child { parent, name } => {
            writer.append_entry(&parent, OsStr::new(&name), &request.name)?
        }
        Location::Itself(fd) if mode::kind(&found.stat) == SFlag::S_IFDIR => {
            let dir = reopen_dir(&fd)?;
            writer.append_dir(dir, &found.stat, &request.name)?;
        }
        Location::Itself(fd) => {
            // A followed path that is not a directory (`/a/file/` is refused by the
            // kernel, so only a followed symlink to a file lands here): archive the
            // target under the requested name.
            let parts = root.container_path(&fd)?;
            let Some((name, parent_parts)) = parts.split_last() else {
                return Err(ArchiveError::NotFound(request.display()));
            };
            let parent = root
                .open_path(parent_parts)
                .map_err(|errno| sys("open", &root.host_path(parent_parts), errno))?;
            writer.append_entry(&parent, OsStr::new(name), &request.name)?;
        }
    }
    writer.finish()?;
    Ok(stat)
}

/// Extracts the tar `input` into directory `path` inside `rootfs` (PUT /archive).
/// `no_overwrite_dir_non_dir` refuses to replace a directory with a non-directory and
/// the reverse. Ownership from the tar is kept (we are root); entries never escape.
pub fn put(
    rootfs: &Path,
    path: &str,
    input: impl std::io::Read,
    no_overwrite_dir_non_dir: bool,
) -> Result<(), ArchiveError> {
    let root = Root::open(rootfs)?;
    let request = Request::parse(path);
    let dest = root
        .open_path(&request.parts())
        .map_err(|errno| match errno {
            Errno::ENOENT | Errno::ENOTDIR => ArchiveError::NotFound(request.display()),
            other => sys("open", &root.host_path(&request.parts()), other),
        })?;
    let stat =
        fstat(&dest).map_err(|errno| sys("stat", &root.host_path(&request.parts()), errno))?;
    if mode::kind(&stat) != SFlag::S_IFDIR {
        return Err(ArchiveError::Invalid(
            "extraction point is not a directory".to_string(),
        ));
    }
    let dest = root.container_path(&dest)?;
    extract::extract(&root, &dest, input, no_overwrite_dir_non_dir)
}

/// Writes a tar of the whole `rootfs` to `out` (GET /containers/{id}/export): every
/// entry under the root, named relative to it (`bin/`, `etc/passwd`).
pub fn export(rootfs: &Path, out: impl std::io::Write) -> Result<(), ArchiveError> {
    let root = Root::open(rootfs)?;
    let dir = reopen_dir(root.fd())?;
    let mut writer = TarWriter::new(&root, out);
    writer.append_children(dir, None)?;
    writer.finish()
}

/// The host path of container path `path` inside `rootfs`, symlinks resolved inside
/// it; parts that do not exist are taken as written. For callers that need a host path
/// (the volume copy-up source); prefer the functions above, which hold descriptors.
pub fn resolve(rootfs: &Path, path: &str) -> Result<PathBuf, ArchiveError> {
    berth_runtime::rootfs::secure_join(rootfs, Path::new(path)).map_err(|err| {
        ArchiveError::Invalid(format!("resolve {path} in {}: {err}", rootfs.display()))
    })
}

/// A readable descriptor of the directory `fd` (an `O_PATH` one) refers to.
fn reopen_dir(fd: &std::os::fd::OwnedFd) -> Result<std::os::fd::OwnedFd, ArchiveError> {
    openat(
        fd,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|errno| sys("open", &root::proc_path(fd), errno))
}

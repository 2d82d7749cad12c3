//! `docker cp` and `docker export`: tar archives of paths inside a container's root
//! filesystem, and extraction into it, confined to that root (symlinks resolve inside it,
//! as if chrooted; `..` never climbs out).

use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

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
    /// Symlink target (as stored), or empty.
    #[serde(rename = "linkTarget")]
    pub link_target: String,
}

/// Stats `path` (container-absolute) inside `rootfs` (HEAD /archive).
pub fn stat(rootfs: &Path, path: &str) -> Result<PathStat, ArchiveError> {
    let _ = (rootfs, path);
    todo!("stat")
}

/// Writes a tar of `path` inside `rootfs` to `out` (GET /archive), as Docker does: the
/// archive's top entry is the base name of `path` (a trailing `/.` means "the directory's
/// contents"). Returns the stat of `path`.
pub fn get(rootfs: &Path, path: &str, out: impl std::io::Write) -> Result<PathStat, ArchiveError> {
    let _ = (rootfs, path, out);
    todo!("get")
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
    let _ = (rootfs, path, input, no_overwrite_dir_non_dir);
    todo!("put")
}

/// Writes a tar of the whole `rootfs` to `out` (GET /containers/{id}/export).
pub fn export(rootfs: &Path, out: impl std::io::Write) -> Result<(), ArchiveError> {
    let _ = (rootfs, out);
    todo!("export")
}

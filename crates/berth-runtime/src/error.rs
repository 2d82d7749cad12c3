//! The runtime's error type: every failure names what was being done and to what.

use std::path::PathBuf;

use crate::{
    cgroups::CgroupError, process::ProcessError, rootfs::RootfsError, seccomp::SeccompError,
};

/// A runtime result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the runtime.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The container's cgroups could not be set up or read.
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
    /// The process's identity or limits could not be applied.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// The root filesystem could not be set up.
    #[error(transparent)]
    Rootfs(#[from] RootfsError),
    /// The seccomp profile could not be compiled or loaded.
    #[error(transparent)]
    Seccomp(#[from] SeccompError),
    /// A file of the runtime could not be read or written.
    #[error("{what} `{path}`")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

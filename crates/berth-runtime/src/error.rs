//! The runtime's error type: every failure names what was being done and to what.

use std::path::PathBuf;

use crate::cgroups::CgroupError;
use crate::hooks::HookError;
use crate::namespaces::NamespaceError;
use crate::process::ProcessError;
use crate::rootfs::RootfsError;
use crate::seccomp::SeccompError;
use crate::spec::SpecError;
use crate::state::Status;

/// A runtime result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the runtime.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bundle or its config was refused.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A container with this id exists already.
    #[error("container `{0}` already exists: choose another id or delete it first")]
    AlreadyExists(String),
    /// No container has this id.
    #[error("container `{0}` does not exist")]
    NotFound(String),
    /// The operation does not fit the container's status.
    #[error("container `{id}` is {status}: cannot {action}")]
    InvalidStatus {
        /// The container.
        id: String,
        /// Its status.
        status: Status,
        /// What was asked.
        action: &'static str,
    },
    /// The state file is unreadable.
    #[error("container state `{path}` is corrupt")]
    CorruptState {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The container's init (or exec'd process) reported a set-up failure.
    #[error("container set-up failed: {0}")]
    Setup(String),
    /// A namespace could not be joined.
    #[error(transparent)]
    Namespace(#[from] NamespaceError),
    /// A hook failed.
    #[error(transparent)]
    Hook(#[from] HookError),
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
    /// A system call failed.
    #[error("{what}")]
    Sys {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: nix::Error,
    },
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
    /// The request is not supported.
    #[error("{0}")]
    Unsupported(String),
}

impl Error {
    /// A system-call error with a description.
    pub fn sys(what: impl Into<String>) -> impl FnOnce(nix::Error) -> Error {
        let what = what.into();
        move |source| Error::Sys { what, source }
    }
}

impl From<crate::channel::SetupFailure> for Error {
    fn from(failure: crate::channel::SetupFailure) -> Self {
        Error::Setup(failure.to_string())
    }
}

impl From<crate::channel::ChannelError> for Error {
    fn from(failure: crate::channel::ChannelError) -> Self {
        Error::Setup(failure.to_string())
    }
}

/// `err` and its sources, joined by ": ", as one line.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

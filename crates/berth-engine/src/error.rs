//! The engine's errors, and how each maps to a Docker API status code.

use std::path::PathBuf;

use hyper::StatusCode;
use thiserror::Error;

/// What can go wrong in the engine. Each variant knows the HTTP status Docker gives it.
#[derive(Debug, Error)]
pub enum EngineError {
    /// No such object (404).
    #[error("{0}")]
    NotFound(String),
    /// The object's state forbids the operation, or a name is taken (409).
    #[error("{0}")]
    Conflict(String),
    /// The request is malformed or asks for something impossible (400).
    #[error("{0}")]
    Invalid(String),
    /// Never allowed, whatever the state: removing a pre-defined network (403).
    #[error("{0}")]
    Forbidden(String),
    /// Nothing to do: already started/stopped (304, empty body).
    #[error("not modified")]
    NotModified,
    /// Not something berth does (501).
    #[error("{0}")]
    NotImplemented(String),
    /// The image store.
    #[error(transparent)]
    Image(#[from] berth_image::store::StoreError),
    /// Networks.
    #[error(transparent)]
    Network(#[from] berth_net::NetError),
    /// Volumes.
    #[error(transparent)]
    Volume(#[from] crate::volumes::VolumeError),
    /// `docker cp` and export.
    #[error(transparent)]
    Archive(#[from] crate::archive::ArchiveError),
    /// The container's configuration.
    #[error(transparent)]
    Spec(#[from] crate::spec::SpecError),
    /// The shim.
    #[error(transparent)]
    Shim(#[from] berth_shim::SpawnError),
    /// The runtime.
    #[error(transparent)]
    Runtime(#[from] berth_runtime::Error),
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
    /// Anything else that is the daemon's fault (500).
    #[error("{0}")]
    Internal(String),
}

/// The engine's result.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

impl EngineError {
    /// An I/O error with what was being done and where.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EngineError::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// The HTTP status Docker answers this error with.
    pub fn status(&self) -> StatusCode {
        use berth_image::store::StoreError;
        use berth_net::ErrorKind;
        match self {
            EngineError::NotFound(_) => StatusCode::NOT_FOUND,
            EngineError::Conflict(_) => StatusCode::CONFLICT,
            EngineError::Invalid(_) | EngineError::Spec(_) => StatusCode::BAD_REQUEST,
            EngineError::Forbidden(_) => StatusCode::FORBIDDEN,
            EngineError::NotModified => StatusCode::NOT_MODIFIED,
            EngineError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            EngineError::Image(e) => match e {
                StoreError::NotFound(_) => StatusCode::NOT_FOUND,
                StoreError::Ambiguous(_) | StoreError::NoMatchingPlatform { .. } => {
                    StatusCode::BAD_REQUEST
                }
                StoreError::Conflict { .. } => StatusCode::CONFLICT,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            EngineError::Network(e) => match e.kind() {
                ErrorKind::NotFound => StatusCode::NOT_FOUND,
                ErrorKind::AlreadyExists | ErrorKind::Conflict => StatusCode::CONFLICT,
                ErrorKind::InvalidArgument => StatusCode::BAD_REQUEST,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            EngineError::Volume(e) => match e {
                crate::volumes::VolumeError::NotFound(_) => StatusCode::NOT_FOUND,
                crate::volumes::VolumeError::Invalid(_) => StatusCode::BAD_REQUEST,
                crate::volumes::VolumeError::InUse { .. } => StatusCode::CONFLICT,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            EngineError::Archive(e) => match e {
                crate::archive::ArchiveError::NotFound(_) => StatusCode::NOT_FOUND,
                crate::archive::ArchiveError::Invalid(_) => StatusCode::BAD_REQUEST,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

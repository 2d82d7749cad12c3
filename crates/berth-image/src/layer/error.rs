//! Errors of layer unpacking, packing and snapshots.

use std::io;
use std::path::PathBuf;

use crate::digest::Digest;

/// Errors of layer unpacking, packing and snapshots.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// The layer stream could not be read or decoded (truncated, corrupt).
    #[error("failed to read the layer stream ({compression})")]
    Read {
        /// The compression that was being decoded.
        compression: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The tar ended without its end-of-archive blocks: the stream was cut.
    #[error("the layer tar is truncated: it ends without an end-of-archive marker")]
    Truncated,
    /// An entry tries to reach outside the target, or is malformed.
    #[error("layer entry `{entry}` refused: {reason}")]
    UnsafeEntry {
        /// The entry's name as it is in the tar.
        entry: String,
        /// Why.
        reason: &'static str,
    },
    /// An entry could not be written.
    #[error("failed to {action} for layer entry `{entry}`")]
    Extract {
        /// The entry's name as it is in the tar.
        entry: String,
        /// What was being done.
        action: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The uncompressed tar does not hash to the expected diffID.
    #[error("layer diffID mismatch: expected `{expected}`, the tar hashes to `{actual}`")]
    DiffIdMismatch {
        /// The expected diffID.
        expected: Digest,
        /// What the tar hashes to.
        actual: Digest,
    },
    /// The layer blob does not hash to the expected digest.
    #[error("layer blob digest mismatch: expected `{expected}`, the blob hashes to `{actual}`")]
    BlobDigestMismatch {
        /// The expected digest.
        expected: Digest,
        /// What the blob hashes to.
        actual: Digest,
    },
    /// A directory or file outside the layer stream failed (target, snapshot, source).
    #[error("failed to {action} `{path}`")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The packed layer could not be written.
    #[error("failed to write the layer stream")]
    Write(#[source] io::Error),
    /// The target of [`unpack`](super::unpack) already exists.
    #[error("unpack target `{0}` already exists")]
    TargetExists(PathBuf),
    /// A snapshot needs its parent snapshot, which is missing.
    #[error("snapshot `{0}` does not exist")]
    SnapshotNotFound(Digest),
    /// A snapshot is the parent of another and cannot be removed.
    #[error("snapshot `{id}` is the parent of snapshot `{child}`")]
    SnapshotInUse {
        /// The snapshot.
        id: Digest,
        /// A snapshot stacked on it.
        child: Digest,
    },
    /// A mount or unmount failed.
    #[error("failed to mount {what} on `{target}`")]
    Mount {
        /// What was being mounted.
        what: &'static str,
        /// The mount point.
        target: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl LayerError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Self {
        let path = path.into();
        move |source| LayerError::Io {
            action,
            path,
            source,
        }
    }
}

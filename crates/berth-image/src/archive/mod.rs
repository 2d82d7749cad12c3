//! Moving images in files: `save` and `load` (docker-save tars and OCI image layouts),
//! and `import` of a root filesystem tarball.
//!
//! The tar `save` writes in [`Format::DockerArchive`] is the one docker 25 and later
//! write: an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/<hex>`) that also
//! has docker's `manifest.json` (and `repositories`) pointing at those blobs, so older
//! docker, newer docker, containerd, skopeo and podman all read it. `load` reads that,
//! plain OCI layouts, and the docker-save layout before 25 (`<id>/layer.tar`,
//! `<id>.json`).

mod import;
mod load;
mod save;
mod verify;

pub use import::{import, ConfigChanges};
pub use load::{load, load_oci_dir, LoadedImage};
pub use save::{save, save_oci_dir};

use std::io;

use crate::content::ContentError;
use crate::digest::Digest;
use crate::manifest::{ConfigError, ManifestError};
use crate::reference::ReferenceError;
use crate::store::StoreError;

/// The annotation containerd and docker put the full image name in.
pub const ANNOTATION_IMAGE_NAME: &str = "io.containerd.image.name";
/// The OCI annotation for a reference name (docker writes the tag there).
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// What `save` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `docker save`'s tar (the docker 25+ layout: an OCI layout plus `manifest.json`).
    DockerArchive,
    /// A plain OCI image layout, as a tar.
    OciLayout,
}

/// Errors of save, load and import.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The image store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The content store failed.
    #[error(transparent)]
    Content(#[from] ContentError),
    /// Reading or writing the archive failed.
    #[error("{what}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A member name that would leave the archive (absolute, or with `..`).
    #[error("refusing archive member `{0}`: path escapes the archive")]
    UnsafePath(String),
    /// A member the archive refers to is not in it.
    #[error("archive member `{0}` is missing")]
    Missing(String),
    /// A member is malformed.
    #[error("archive member `{member}`: {problem}")]
    Invalid {
        /// The member.
        member: String,
        /// What is wrong.
        problem: String,
    },
    /// A manifest in the archive is not valid.
    #[error("archive member `{member}`")]
    Manifest {
        /// The member.
        member: String,
        /// The cause.
        #[source]
        source: ManifestError,
    },
    /// A config in the archive is not valid.
    #[error("archive member `{member}`")]
    Config {
        /// The member.
        member: String,
        /// The cause.
        #[source]
        source: ConfigError,
    },
    /// A layer does not have the diff id its config says.
    #[error("layer `{layer}` uncompresses to `{actual}`, but the image config says `{expected}`")]
    DiffIdMismatch {
        /// The layer blob.
        layer: Digest,
        /// The config's diff id.
        expected: Digest,
        /// What the layer's tar hashes to.
        actual: Digest,
    },
    /// A name in the archive is not a valid reference.
    #[error("archive names image `{name}`")]
    Reference {
        /// The name.
        name: String,
        /// The cause.
        #[source]
        source: ReferenceError,
    },
    /// Neither `index.json` nor `manifest.json`.
    #[error("not an image archive: it has neither `index.json` (OCI layout) nor `manifest.json` (docker save)")]
    NotAnArchive,
    /// An import's `--change` is not understood.
    #[error("invalid change `{0}`: expected CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR, STOPSIGNAL or VOLUME with a value")]
    Change(String),
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> ArchiveError {
    let what = what.into();
    move |source| ArchiveError::Io { what, source }
}

/// Path of a blob inside a layout.
fn blob_path(digest: &Digest) -> String {
    format!("blobs/{}/{}", digest.algorithm().name(), digest.hex())
}

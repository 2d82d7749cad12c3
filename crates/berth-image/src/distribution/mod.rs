//! The distribution client: pull and push images with any OCI registry.
//!
//! ## Vocabulary
//!
//! - **registry**: a host (`localhost:5000`, `docker.io`) speaking the OCI Distribution API
//!   under `/v2/`. [`RegistryClient`] is one registry's transport: scheme selection
//!   (https, plain http only for loopback and hosts marked insecure), retries, and auth.
//! - **challenge**: a `401` with `WWW-Authenticate: Bearer realm=…,service=…,scope=…` (the
//!   token flow, see [`auth`]) or `Basic realm=…`. The client answers it once per request.
//! - **scope**: what a token grants, `repository:<repo>:pull[,push]`; tokens are cached per
//!   scope until they expire.
//! - **credentials**: user and password per registry, kept like docker's `config.json`
//!   ([`credentials`]).
//! - **pull** ([`pull`]): reference → manifest (an index is narrowed to one platform) →
//!   config → layers in parallel, each streamed into the content store (and optionally
//!   unpacked in the same pass); blobs already present are skipped.
//! - **push** ([`push`]): for each blob, HEAD → cross-repository mount → upload; then the
//!   manifest. Both report [`progress`] events per layer.

pub mod auth;
mod blobs;
pub mod client;
pub mod credentials;
mod error;
pub mod origins;
mod platform;
pub mod progress;
pub mod pull;
pub mod push;
mod tee;
mod transport;
pub mod wire;

pub use blobs::{BlobDownload, BlobSource, MountOutcome, UploadProgress};
pub use client::{ClientOptions, FetchedManifest, ManifestHead, RegistryClient};
pub use credentials::{CredentialStore, Credentials};
pub use error::{DistributionError, RegistryErrorItem};
pub use progress::{ProgressEvent, ProgressSink, ProgressState};

/// Media types the client asks for and understands.
pub mod media_types {
    /// OCI image manifest.
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// OCI image index.
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// Docker v2 schema 2 manifest.
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    /// Docker v2 manifest list.
    pub const DOCKER_MANIFEST_LIST: &str =
        "application/vnd.docker.distribution.manifest.list.v2+json";
    /// Every manifest type above, for `Accept`.
    pub const ALL_MANIFESTS: &[&str] = &[
        OCI_MANIFEST,
        OCI_INDEX,
        DOCKER_MANIFEST,
        DOCKER_MANIFEST_LIST,
    ];
    /// Whether `media_type` is an index or manifest list.
    pub fn is_index(media_type: &str) -> bool {
        media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
    }
}

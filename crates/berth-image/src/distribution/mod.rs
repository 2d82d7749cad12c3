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

use crate::manifest;

pub mod auth;
mod blobs;
pub mod client;
pub mod credentials;
mod error;
pub mod origins;
pub mod progress;
pub mod pull;
pub mod push;
mod tee;
mod transport;
pub mod unpack;
pub mod wire;

pub use blobs::{BlobDownload, BlobSource, MountOutcome, UploadProgress};
pub use client::{ClientOptions, FetchedManifest, ManifestHead, RegistryClient};
pub use credentials::{CredentialStore, Credentials};
pub use error::{DistributionError, RegistryErrorItem};
pub use progress::{ProgressEvent, ProgressSink, ProgressState};

/// The manifest media types the client asks for (`Accept`).
pub const ACCEPT_MANIFESTS: &[&str] = &[
    manifest::OCI_MANIFEST,
    manifest::OCI_INDEX,
    manifest::DOCKER_MANIFEST,
    manifest::DOCKER_MANIFEST_LIST,
];

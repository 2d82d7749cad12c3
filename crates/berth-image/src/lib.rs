//! # berth-image
//!
//! Images: read-only, layered, content-addressed. This crate stores them and moves them.
//!
//! ## Brief overview
//!
//! - [`digest`]: `sha256:<hex>` digests and a streaming hasher.
//! - [`content`]: the content store (CAS): blobs named by digest, verified while written,
//!   made visible only by an atomic rename; resumable ingests.
//! - [`reference`]: image references with Docker's normalisation
//!   (`busybox` = `docker.io/library/busybox:latest`).
//! - [`manifest`]: OCI 1.1 and Docker v2 schema 2 manifests, indexes and manifest lists,
//!   platform selection.
//! - [`store`]: the local image store: names and tags to manifest digests.
//! - [`layer`]: unpacking layers into snapshots in one streaming pass, and packing a
//!   directory diff into a deterministic layer tar.
//! - [`archive`]: `save`/`load` (docker-save tar and OCI image layout) and `import`.
//! - [`distribution`]: the registry client: pull, push, token and basic auth, credentials.
#![deny(missing_docs)]

pub mod archive;
pub mod content;
pub mod digest;
pub mod distribution;
pub mod layer;
pub mod manifest;
pub mod reference;
pub mod store;

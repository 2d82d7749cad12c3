//! # berth-engine
//!
//! berth's daemon (`berth daemon`): the Docker Engine API over a unix socket (or TCP),
//! containers run by one [`berth_shim`] each, networks from [`berth_net`], named volumes,
//! json-file logs and events.
//!
//! ## Brief overview
//!
//! - [`engine::Engine`]: the shared state every handler reaches (stores, networks,
//!   volumes, events, containers, exec sessions).
//! - [`container`]: the container record and one file per lifecycle verb; [`exec`] the
//!   exec sessions.
//! - [`api`]: routes, one file per group, and the error boundary ([`api::ApiError`]).
//! - [`spec`]: Docker's container configuration merged with the image's, and turned into
//!   the OCI runtime spec.
//! - [`volumes`]: named volumes of the local driver.
//! - [`archive`]: `docker cp` and `docker export` tar streams, confined to a rootfs.
//! - [`daemon`]: start-up (restore containers, reconcile networks), serving, shutdown.
#![deny(missing_docs)]

pub mod api;
pub mod archive;
pub mod build_runner;
pub mod config;
pub mod container;
pub mod daemon;
pub mod engine;
pub mod error;
pub mod events;
pub mod exec;
pub mod spec;
pub mod volumes;

pub use config::DaemonConfig;
pub use engine::Engine;
pub use error::{EngineError, Result};

//! # berth-engine
//!
//! berth's daemon (`berth daemon`): the Docker Engine API over a unix socket (or TCP),
//! containers run by one [`berth_shim`] each, networks from [`berth_net`], named volumes,
//! json-file logs and events.
//!
//! ## Brief overview
//!
//! - [`spec`]: Docker's container configuration merged with the image's, and turned into
//!   the OCI runtime spec.
//! - [`volumes`]: named volumes of the local driver.
//! - [`archive`]: `docker cp` and `docker export` tar streams, confined to a rootfs.
#![deny(missing_docs)]

pub mod archive;
pub mod spec;
pub mod volumes;

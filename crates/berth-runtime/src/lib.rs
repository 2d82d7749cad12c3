//! # berth-runtime
//!
//! berth's OCI runtime, a library. It turns a bundle (a directory holding `config.json`
//! and a root filesystem) into a running, isolated process, as the OCI Runtime
//! Specification 1.2 says for Linux.
//!
//! ## Brief overview
//!
//! - [`spec`] loads and validates a bundle's `config.json` before anything is created.
//! - [`container`] holds the lifecycle operations (`create`, `start`, `kill`, `delete`,
//!   `exec`, `pause`, `resume`, `update`, `ps`, `events`), one file per verb.
//! - [`state`] keeps each container's state under the runtime's root directory.
//! - [`namespaces`], [`rootfs`], [`process`], [`seccomp`] and [`cgroups`] each own one
//!   kind of isolation; the init code (private) calls them in the order the spec demands.
//! - [`hooks`] runs the lifecycle hooks with the container state on stdin.
//!
//! The runtime is driven either in-process (by `berth shim`) or through runc's command
//! line (`berth runtime ...`), so that dockerd, containerd and podman can use it.
#![deny(missing_docs)]

pub mod cgroups;
mod channel;
mod console;
pub mod container;
pub mod error;
pub mod hooks;
mod init;
pub mod namespaces;
pub mod process;
pub mod rootfs;
pub mod seccomp;
pub mod signal;
pub mod spec;
pub mod state;

pub use error::{Error, Result};

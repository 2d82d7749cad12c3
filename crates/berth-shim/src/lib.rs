//! # berth-shim
//!
//! One small supervisor process per container (`berth shim`). The daemon starts it in its
//! own session so that the container outlives a daemon restart or crash. The shim:
//!
//! - creates the container through the runtime library, in-process (the container's init is
//!   the shim's child, so the shim reaps it and learns its exit status);
//! - holds the container's stdio: pipes, or a pty when `tty` is set; it writes the output
//!   to the json-file log ([`jsonlog`]) and copies it to every attached client;
//! - runs `exec` processes (also its children), with their own stdio;
//! - records the exit in `exit.json` in its state directory, so a daemon that was down when
//!   the container exited still learns how it ended;
//! - answers requests on `shim.sock` in its state directory ([`protocol`]).
//!
//! The daemon side is [`client`]: spawning a shim, and one method per request.
#![deny(missing_docs)]

pub mod client;
pub mod jsonlog;
pub mod protocol;
pub mod server;

pub use client::{ShimClient, SpawnError};
pub use protocol::{ExitInfo, Request, Response, ShimArgs};

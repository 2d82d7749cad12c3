//! Test support shared by berth's crates, used only as a dev-dependency: a private dockerd
//! that cleans up after itself ([`PrivateDockerd`]), a busybox root file system
//! ([`busybox`]), free loopback ports ([`free_port`]) and the clean-up of what a daemon
//! under test may leave behind ([`cleanup`]).
//!
//! Helpers panic with a message saying which step failed: a failure here is a test failure.

#![deny(missing_docs)]

pub mod busybox;
pub mod cleanup;
mod dockerd;
mod process;

pub use dockerd::{ping, Builder, PrivateDockerd};
pub use process::{find_program, run_with_timeout, wait_until};

use std::net::TcpListener;

/// A loopback port nobody listens on now (bound, then released; callers retry on the rare
/// conflict).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0 to find a free port")
        .port()
}

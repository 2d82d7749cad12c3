//! The harness of the engine's end-to-end suites: real clients (the docker CLI, the Python
//! docker SDK, curl) against an engine chosen by `BERTH_TEST_ENGINE`:
//!
//! - `berth` (the default): `berth daemon` on temp data and exec roots of its own
//!   ([`berth::BerthDaemon`]);
//! - `dockerd`: a private dockerd ([`berth_testkit::PrivateDockerd`]), to check that the
//!   suites themselves expect what Docker does.
//!
//! A test binary shares one engine between its tests ([`shared`]): starting a daemon costs
//! more than most tests. Each test works in a [`Scope`] that names what it creates with a
//! token of its own and removes it on drop, so that tests run in parallel.
#![allow(dead_code)]

pub mod berth;
pub mod daemon;
pub mod images;
pub mod registry;
pub mod scope;
pub mod wait;

// Each suite uses part of the harness.
#[allow(unused_imports)]
pub use daemon::{shared, Engine, Kind};
#[allow(unused_imports)]
pub use images::{CONFIGURED, IMAGE};
#[allow(unused_imports)]
pub use scope::Scope;
#[allow(unused_imports)]
pub use wait::wait_for;

/// A scope on the binary's shared engine: what almost every test starts with.
pub fn scope() -> Scope {
    Scope::new(shared())
}

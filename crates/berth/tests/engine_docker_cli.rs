//! End to end: the docker CLI (28) drives the engine `BERTH_TEST_ENGINE` names (`berth`
//! by default, `dockerd` to check the suite against Docker itself) through its API socket.
//! One engine serves the whole binary; each test names what it creates with a token of its
//! own (see `engine::Scope`) and removes it, so the tests run in parallel.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns: a failed step fails the test

mod common;
mod engine;

#[path = "engine/cli/containers_lifecycle.rs"]
mod containers_lifecycle;
#[path = "engine/cli/containers_observe.rs"]
mod containers_observe;
#[path = "engine/cli/containers_run.rs"]
mod containers_run;
#[path = "engine/cli/errors.rs"]
mod errors;
#[path = "engine/cli/exec.rs"]
mod exec;
#[path = "engine/cli/health_and_restart.rs"]
mod health_and_restart;
#[path = "engine/cli/images.rs"]
mod images;
#[path = "engine/cli/networks.rs"]
mod networks;
#[path = "engine/cli/system.rs"]
mod system;
#[path = "engine/cli/volumes.rs"]
mod volumes;

//! Shared harness for the `berth runtime` integration tests.
//!
//! The tests are runtime-agnostic: [`Runtime`] drives `berth runtime` by default and `runc`
//! when `BERTH_TEST_RUNTIME=runc`, so that every test can first be proven right against the
//! reference runtime. A [`Bundle`] is a busybox root filesystem copied from the host plus a
//! config.json shaped like `runc spec`'s; a [`Container`] is a guard that removes everything
//! a container may have left (state, cgroups, mounts, processes) even when the test fails.
//!
//! Each test file pulls this in with `mod support;` and uses only part of it.
#![allow(dead_code)]

mod bundle;
mod cleanup;
mod console;
mod container;
mod runtime;

// Each test binary uses a different part of the harness.
#[allow(unused_imports)]
pub use bundle::Bundle;
#[allow(unused_imports)]
pub use cleanup::{cgroup_dirs, leftovers, process_gone};
#[allow(unused_imports)]
pub use console::{read_pty, ConsoleSocket};
#[allow(unused_imports)]
pub use container::Container;
#[allow(unused_imports)]
pub use runtime::{Outcome, Runtime};

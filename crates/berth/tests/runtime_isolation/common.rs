//! Helpers shared by the `runtime_isolation_*` tests: run a bundle to completion and check
//! that it left nothing behind.

use crate::support::{Bundle, Outcome, Runtime};

/// Runs the bundle to completion, checks that nothing is left behind, returns the outcome.
pub fn run(bundle: Bundle) -> Outcome {
    let rt = Runtime::new();
    let c = rt.container(bundle);
    let out = c.run(&[]);
    c.assert_nothing_left();
    out
}

/// Runs `script` with `sh -c` in the bundle and returns its stdout; it must exit 0.
#[track_caller]
pub fn sh(mut bundle: Bundle, script: &str) -> String {
    bundle.sh(script);
    run(bundle).ok().out().to_string()
}

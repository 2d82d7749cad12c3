//! The shim process (`berth shim`).

use crate::protocol::ShimArgs;

/// Runs a shim (see the crate docs and [`crate::protocol`]); returns the process exit code.
/// Must be called from a single-threaded process: it forks.
pub fn main(args: ShimArgs) -> i32 {
    let _ = args;
    todo!("shim main")
}

//! Polling for what a daemon does in its own time (restarts, health checks, logs).

use std::thread;
use std::time::{Duration, Instant};

/// Calls `probe` every 100 ms until it returns `Some`, for at most `timeout`; panics saying
/// what was awaited and what `last` shows otherwise.
pub fn wait_for<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        thread::sleep(Duration::from_millis(100));
    }
}

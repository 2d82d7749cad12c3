//! Recording how the container ended, for a daemon that asks later (or restarts).

use std::path::Path;

use berth_runtime::container::Container;
use berth_runtime::state::StateRoot;

use crate::protocol::{ExitInfo, EXIT_FILE};

/// Whether container `id`'s cgroup counted an OOM kill (false when it cannot tell).
pub(super) fn oom_killed(root: &StateRoot, id: &str) -> bool {
    Container::load(root, id)
        .ok()
        .and_then(|c| c.state.cgroup.oom_kill_count().ok())
        .is_some_and(|kills| kills > 0)
}

/// Writes `exit.json` in `state_dir` atomically (a reader never sees half a record).
pub(super) fn record(state_dir: &Path, exit: &ExitInfo) {
    let path = state_dir.join(EXIT_FILE);
    let tmp = state_dir.join(format!("{EXIT_FILE}.tmp"));
    let Ok(text) = serde_json::to_vec(exit) else {
        return;
    };
    // Nobody to report a failure to: the daemon still gets the exit from `Wait`.
    if std::fs::write(&tmp, text).is_ok() {
        let _ = std::fs::rename(&tmp, &path);
    }
}

//! Container lifecycle operations, one file per verb.
//!
//! Every operation takes the runtime's [`StateRoot`] and a container id. Operations that
//! create processes (`create`, `exec`) must be called from a single-threaded process (the
//! CLI, or the shim before it starts threads): they fork.

mod create;
mod delete;
mod devices;
mod exec;
mod kill;
mod list;
mod pause;
mod spawn;
mod start;
mod update;
mod wait;

pub use create::{create, CreateOptions};
pub use delete::delete;
pub use exec::{exec, ExecOptions};
pub use kill::kill;
pub use list::list;
pub use pause::{pause, resume};
pub use start::{run_poststart, start};
pub use update::update;
pub use wait::{copy_window_size, exit_code, wait_forwarding_signals, SignalForwarder};

use std::path::PathBuf;

use crate::cgroups::Stats;
use crate::error::{Error, Result};
use crate::state::{ContainerState, StateRoot, Status};

/// A container loaded from the state root, with its current status.
#[derive(Debug, Clone)]
pub struct Container {
    /// What the runtime recorded.
    pub state: ContainerState,
    /// Its status now.
    pub status: Status,
    /// Its state directory.
    pub dir: PathBuf,
}

impl Container {
    /// Loads container `id`.
    pub fn load(root: &StateRoot, id: &str) -> Result<Self> {
        let state = root.load(id)?;
        let dir = root.dir(id);
        let status = state.status(&dir);
        Ok(Self { state, status, dir })
    }

    /// Fails unless the status is one of `allowed`.
    fn require(&self, allowed: &[Status], action: &'static str) -> Result<()> {
        if allowed.contains(&self.status) {
            Ok(())
        } else {
            Err(Error::InvalidStatus {
                id: self.state.id.clone(),
                status: self.status,
                action,
            })
        }
    }
}

/// The host pids of every process of container `id`.
pub fn pids(root: &StateRoot, id: &str) -> Result<Vec<i32>> {
    Ok(Container::load(root, id)?.state.cgroup.pids()?)
}

/// The resource statistics of container `id`.
pub fn stats(root: &StateRoot, id: &str) -> Result<Stats> {
    Ok(Container::load(root, id)?.state.cgroup.stats()?)
}

/// Connects to a console socket, to pass as `CreateOptions::console`.
pub fn connect_console_socket(path: &std::path::Path) -> Result<std::os::fd::OwnedFd> {
    crate::console::connect(path)
}

/// Writes `pid` to `path` atomically, as runc's `--pid-file` does.
fn write_pid_file(path: &std::path::Path, pid: i32) -> Result<()> {
    let tmp = path.with_extension("berth-tmp");
    std::fs::write(&tmp, pid.to_string())
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|source| Error::Io {
            what: "write the pid file",
            path: path.to_path_buf(),
            source,
        })
}

//! `kill`: sends a signal to the container's init, or to all its processes.

use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::state::{StateRoot, Status};

use super::Container;

/// Sends `signal` to container `id`'s init, or with `all` to every process of its cgroup.
pub fn kill(root: &StateRoot, id: &str, signal: Signal, all: bool) -> Result<()> {
    let container = Container::load(root, id)?;
    if all {
        return kill_all(&container, signal);
    }
    container.require(
        &[Status::Created, Status::Running, Status::Paused],
        "signal it",
    )?;
    signal::kill(Pid::from_raw(container.state.pid), signal)
        .map_err(Error::sys(format!("send {signal} to the container's init")))
}

/// Signals every process of the container's cgroup; a frozen cgroup is thawed afterwards
/// for SIGKILL so that the processes can die.
pub(super) fn kill_all(container: &Container, signal: Signal) -> Result<()> {
    let cgroup = &container.state.cgroup;
    for pid in cgroup.pids()? {
        match signal::kill(Pid::from_raw(pid), signal) {
            Ok(()) | Err(nix::Error::ESRCH) => {}
            Err(source) => {
                return Err(Error::Sys {
                    what: format!("send {signal} to process {pid}"),
                    source,
                })
            }
        }
    }
    if container.status == Status::Paused && signal == Signal::SIGKILL {
        cgroup.thaw()?;
    }
    Ok(())
}

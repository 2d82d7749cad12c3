//! `delete`: removes a stopped container (or, forced, a running one) and its resources.

use std::time::{Duration, Instant};

use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;

use crate::error::Result;
use crate::hooks::{self, HookError};
use crate::state::{process_is, StateRoot, Status};

use super::{kill::kill_all, Container};

/// Deletes container `id`: kills what is left (a created container's init always; a
/// running or paused one only with `force`), runs the poststop hooks, removes the cgroup
/// and the state. Returns the poststop hook failure, if any (a warning, per the spec).
pub fn delete(root: &StateRoot, id: &str, force: bool) -> Result<Option<HookError>> {
    let container = Container::load(root, id)?;
    match container.status {
        Status::Stopped | Status::Created | Status::Creating => {}
        _ if force => {}
        _ => container.require(&[Status::Stopped], "delete it without --force")?,
    }
    let state = &container.state;
    if container.status != Status::Stopped {
        let _ = signal::kill(Pid::from_raw(state.pid), Signal::SIGKILL);
    }
    // Whatever else is in the cgroup goes too, then wait (bounded) for it to be empty.
    let _ = kill_all(&container, Signal::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline
        && (process_is(state.pid, state.pid_start_time)
            || state.cgroup.pids().map(|p| !p.is_empty()).unwrap_or(false))
    {
        std::thread::sleep(Duration::from_millis(2));
    }
    let warning = state
        .config
        .hooks()
        .as_ref()
        .and_then(|h| h.poststop().as_ref())
        .and_then(|list| hooks::run("poststop", list, &state.oci_state(Status::Stopped)).err());
    state.cgroup.destroy()?;
    root.remove(id)?;
    Ok(warning)
}

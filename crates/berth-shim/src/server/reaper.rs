//! Reaping the shim's children (the container's init and the execs) on SIGCHLD.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use tokio::signal::unix::Signal;

use super::state::{Shim, Target};

/// How long output may go on after its process exited: a process the container left
/// behind (without a pid namespace) may hold the pipes for ever.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(3);

/// Reaps children on every SIGCHLD (`sigchld` is registered before any child can exit
/// unseen: the first sweep catches those that did before).
pub(super) async fn run(state: Rc<RefCell<Shim>>, mut sigchld: Signal) {
    loop {
        for target in reap_all(&state) {
            let state = state.clone();
            tokio::task::spawn_local(async move {
                tokio::time::sleep(DRAIN_TIMEOUT).await;
                state.borrow_mut().finish(&target, true);
            });
        }
        if sigchld.recv().await.is_none() {
            return;
        }
    }
}

/// Reaps every exited child; returns the processes whose output still drains.
pub(super) fn reap_all(state: &Rc<RefCell<Shim>>) -> Vec<Target> {
    let mut draining = Vec::new();
    loop {
        let (pid, code) = match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) => (pid, code),
            Ok(WaitStatus::Signaled(pid, signal, _)) => (pid, 128 + signal as i32),
            Ok(WaitStatus::StillAlive) | Err(_) => return draining,
            Ok(_) => continue,
        };
        draining.extend(state.borrow_mut().reaped(pid.as_raw(), code));
    }
}

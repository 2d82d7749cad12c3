//! `Delete`: the end of the container and of the shim.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use berth_runtime::container;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::net::unix::OwnedWriteHalf;

use super::conn::reply;
use super::reaper;
use super::state::Shim;
use crate::protocol::Response;

/// How long the container's processes get to die once killed.
const KILL_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves `Delete`: on success answers `Ok` and exits the process.
pub(super) async fn serve(state: &Rc<RefCell<Shim>>, mut write: OwnedWriteHalf) {
    match delete(state) {
        Ok(()) => {
            state.borrow_mut().close_log();
            let _ = reply(&mut write, &Response::Ok).await;
            std::process::exit(0);
        }
        Err(message) => {
            let _ = reply(&mut write, &Response::Error { message }).await;
        }
    }
}

fn delete(state: &Rc<RefCell<Shim>>) -> Result<(), String> {
    let (root, id, state_dir, init, exited) = {
        let shim = state.borrow();
        (
            shim.root.clone(),
            shim.id.clone(),
            shim.state_dir.clone(),
            shim.init.pid,
            shim.init.exit.is_some(),
        )
    };
    if !exited {
        let _ = container::kill(&root, &id, Signal::SIGKILL, true);
        let _ = kill(Pid::from_raw(init), Signal::SIGKILL);
        // Reaped before the runtime looks: a zombie would keep the cgroup busy.
        let deadline = Instant::now() + KILL_TIMEOUT;
        while state.borrow().init.exit.is_none() && Instant::now() < deadline {
            reaper::reap_all(state);
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    reaper::reap_all(state);
    match container::delete(&root, &id, true) {
        // A poststop hook failure is a warning in the spec.
        Ok(_) | Err(berth_runtime::Error::NotFound(_)) => {}
        Err(err) => {
            return Err(format!(
                "delete container `{id}`: {}",
                super::error_chain(&err)
            ))
        }
    }
    match std::fs::remove_dir_all(&state_dir) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(err) => Err(format!(
            "remove the shim state directory `{}`: {err}",
            state_dir.display()
        )),
    }
}

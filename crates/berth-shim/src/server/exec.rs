//! `Exec`: another process in the container, a child of the shim with its own stdio.

use std::cell::RefCell;
use std::rc::Rc;

use berth_runtime::container::{self, ExecOptions};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use oci_spec::runtime::Process;
use tokio::net::unix::OwnedWriteHalf;

use super::conn::{reply, stream, Input};
use super::pumps;
use super::state::{subscribe, Proc, Shim, Subscription, Target};
use super::stdio::{Prepared, StdioSpec};
use crate::protocol::Response;

/// Serves an `Exec` request.
pub(super) async fn serve(
    state: &Rc<RefCell<Shim>>,
    input: Input,
    mut write: OwnedWriteHalf,
    exec_id: String,
    process: Process,
    stdin: bool,
    detach: bool,
) {
    let target = Target::Exec(exec_id.clone());
    // A detached exec's output is discarded, so its stdin has nobody to come from.
    let stdin = stdin && !detach;
    match start(state, exec_id, process, stdin, detach) {
        Err(message) => {
            let _ = reply(&mut write, &Response::Error { message }).await;
        }
        Ok((pid, None)) => {
            let _ = reply(&mut write, &Response::Pid { pid }).await;
        }
        Ok((pid, Some(subscription))) => {
            let sink = stdin
                .then(|| {
                    let mut shim = state.borrow_mut();
                    shim.proc_mut(&target).and_then(|p| p.stdin.clone())
                })
                .flatten()
                .map(|sink| (sink, true));
            stream(
                state,
                &target,
                input,
                write,
                Response::Pid { pid },
                subscription,
                sink,
            )
            .await;
        }
    }
}

/// Starts the exec; returns its pid and, unless detached, its output's subscription.
fn start(
    state: &Rc<RefCell<Shim>>,
    exec_id: String,
    process: Process,
    stdin: bool,
    detach: bool,
) -> Result<(i32, Option<Subscription>), String> {
    let (root, id) = {
        let shim = state.borrow();
        if shim.has_exec(&exec_id) {
            return Err(format!("exec `{exec_id}` already exists"));
        }
        (shim.root.clone(), shim.id.clone())
    };
    let console_size = process
        .console_size()
        .map(|b| (b.height() as u16, b.width() as u16));
    let tty = process.terminal().unwrap_or(false);
    let stdio_error = |err: std::io::Error| format!("set up the stdio of exec `{exec_id}`: {err}");
    let (prepared, console) = Prepared::new(StdioSpec {
        tty,
        stdin,
        // A detached pty is still read (and discarded): a full pty would block the process.
        output: !detach,
    })
    .map_err(stdio_error)?;
    let pid = prepared
        .around(|| {
            container::exec(
                &root,
                ExecOptions {
                    id: id.clone(),
                    process,
                    console,
                    pid_file: None,
                    preserve_fds: 0,
                },
            )
        })
        .map_err(stdio_error)?
        .map_err(|err| format!("exec in container `{id}`: {}", super::error_chain(&err)))?;
    let target = Target::Exec(exec_id.clone());
    let io = prepared
        .finish(console_size)
        .and_then(|io| pumps::start(state, &target, io, stdin));
    let io = match io {
        Ok(io) => io,
        Err(err) => {
            // Its exit is reaped (and ignored) by the reaper: it has no record.
            let _ = kill(pid, Signal::SIGKILL);
            return Err(stdio_error(err));
        }
    };
    let mut proc = Proc::new(pid.as_raw());
    proc.set_io(io);
    let subscription = (!detach).then(|| {
        let (client, subscription) = subscribe(true, true);
        proc.add_client(client);
        subscription
    });
    state.borrow_mut().add_exec(exec_id, proc);
    Ok((Pid::as_raw(pid), subscription))
}

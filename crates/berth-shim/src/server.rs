//! The shim process (`berth shim`).
//!
//! Start-up is synchronous (fork, setsid, create the container: see [`crate::protocol`]);
//! then one thread runs a current-thread tokio runtime: the runtime library's `exec`
//! forks, so the shim must never have a second thread (no `spawn_blocking`, no
//! `tokio::fs`). Tasks:
//!
//! - one per output stream of each process, copying to the log and attached clients;
//! - one per process stdin, writing what attached clients send;
//! - the reaper, on SIGCHLD;
//! - one per connection to `shim.sock`.

mod conn;
mod delete;
mod exec;
mod exit;
mod fdio;
mod log_sink;
mod pumps;
mod reaper;
mod startup;
mod state;
mod stdio;

use std::cell::RefCell;
use std::fs::File;
use std::io::Write;
use std::rc::Rc;
use std::time::Duration;

use berth_runtime::state::StateRoot;
use nix::unistd::{fork, setsid, ForkResult};
use tokio::net::UnixListener;
use tokio::signal::unix::{signal, SignalKind};

use crate::protocol::{Response, ShimArgs};
use startup::{Created, StartError};
use state::{Proc, Shim, Target};

/// Runs a shim (see the crate docs and [`crate::protocol`]); returns the process exit code.
/// Must be called from a single-threaded process: it forks.
pub fn main(args: ShimArgs) -> i32 {
    // SAFETY: the caller guarantees a single-threaded process, so the child's copy of
    // this thread holds no lock another thread would have released.
    match unsafe { fork() } {
        Err(err) => {
            eprintln!("berth shim: fork: {err}");
            return 1;
        }
        // The daemon reaps this process at once; the shim proper is nobody's child.
        Ok(ForkResult::Parent { .. }) => return 0,
        Ok(ForkResult::Child) => {}
    }
    // A new session: the daemon's terminal and process group signals do not reach us.
    let _ = setsid();
    let mut handshake = match stdio::keep(1) {
        Ok(file) => file,
        Err(err) => {
            eprintln!("berth shim: keep the handshake pipe: {err}");
            return 1;
        }
    };
    let created = match startup::create(&args) {
        Ok(created) => created,
        Err(err) => {
            answer(
                &mut handshake,
                &Response::Error {
                    message: error_chain(&err),
                },
            );
            return 1;
        }
    };
    // Not to keep the daemon's working directory (and its mount) busy.
    let _ = std::env::set_current_dir("/");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(err) => {
            startup::undo(&args, Some(created.pid));
            let message = error_chain(&StartError::EventLoop(err));
            answer(&mut handshake, &Response::Error { message });
            return 1;
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, serve(args, created, handshake))
}

/// An error and its causes on one line (`what: why: why`), for answers to the daemon.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(err) = cause {
        let part = err.to_string();
        // `transparent` errors repeat their source's message.
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = err.source();
    }
    text
}

/// Writes the handshake line (nobody to tell if that fails: the daemon times out).
fn answer(handshake: &mut File, response: &Response) {
    if let Ok(mut line) = serde_json::to_vec(response) {
        line.push(b'\n');
        let _ = handshake.write_all(&line);
    }
}

/// Registers what the event loop needs, answers the handshake, then serves until
/// `Delete` exits the process.
async fn serve(args: ShimArgs, created: Created, mut handshake: File) -> i32 {
    let Created {
        pid,
        io,
        listener,
        log,
    } = created;
    let prepared = signal(SignalKind::child())
        .and_then(|sigchld| Ok((sigchld, UnixListener::from_std(listener)?)));
    let (sigchld, listener) = match prepared {
        Ok(ready) => ready,
        Err(err) => {
            startup::undo(&args, Some(pid));
            let message = error_chain(&StartError::EventLoop(err));
            answer(&mut handshake, &Response::Error { message });
            return 1;
        }
    };
    let state = Rc::new(RefCell::new(Shim::new(
        args.id.clone(),
        StateRoot::new(&args.runtime_root),
        args.state_dir.clone(),
        args.stdin_once,
        Proc::new(pid),
        log,
    )));
    match pumps::start(&state, &Target::Init, io, args.open_stdin) {
        Ok(io) => state.borrow_mut().init.set_io(io),
        Err(err) => {
            startup::undo(&args, Some(pid));
            let message = error_chain(&StartError::EventLoop(err));
            answer(&mut handshake, &Response::Error { message });
            return 1;
        }
    }
    tokio::task::spawn_local(reaper::run(state.clone(), sigchld));
    answer(
        &mut handshake,
        &Response::Created {
            pid,
            shim_pid: std::process::id() as i32,
        },
    );
    drop(handshake);
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::task::spawn_local(conn::serve(state.clone(), stream));
            }
            // Out of descriptors, most likely: wait for some to be freed.
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

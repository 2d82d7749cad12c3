//! Creating the container's process: clone(2) into new namespaces, optionally after
//! joining existing ones in an intermediate process.

use nix::sched::CloneFlags;
use nix::sys::wait::waitpid;
use nix::unistd::{fork, ForkResult, Pid};

use crate::channel::{self, Channel, Message};
use crate::error::{Error, Result};
use crate::namespaces::{self, NamespacePlan};

/// clone(2) with fork semantics (no new stack): returns `None` in the child.
///
/// # Safety
/// The calling process must be single-threaded, as for fork(2): the child gets a copy of
/// this thread only, and must not rely on locks held by others.
unsafe fn clone_process(flags: CloneFlags) -> Result<Option<Pid>> {
    let flags = flags.bits() as libc::c_ulong | libc::SIGCHLD as libc::c_ulong;
    // SAFETY: with a null stack pointer clone(2) behaves like fork(2): the child runs on a
    // copy-on-write copy of this stack and returns here with 0. The caller guarantees the
    // process is single-threaded.
    let ret = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) };
    match ret {
        -1 => Err(Error::Sys {
            what: "clone the container process".into(),
            source: nix::Error::last(),
        }),
        0 => Ok(None),
        pid => Ok(Some(Pid::from_raw(pid as i32))),
    }
}

/// Starts the container's process in the namespaces of `plan`; `child` runs in it and
/// never returns. Returns the new process's pid, which is a child of this process.
///
/// The caller must be single-threaded (see [`clone_process`]).
pub(crate) fn spawn(
    plan: &NamespacePlan,
    child: impl FnOnce() -> std::convert::Infallible,
) -> Result<Pid> {
    if plan.join.is_empty() {
        // SAFETY: the runtime only spawns from single-threaded processes (CLI and shim).
        return match unsafe { clone_process(plan.new)? } {
            Some(pid) => Ok(pid),
            None => never(child),
        };
    }
    // Joining a pid namespace only affects children, so an intermediate process joins,
    // then clones with CLONE_PARENT so that the container's process is our child.
    let (parent_end, child_end) = channel::pair()?;
    // SAFETY: single-threaded, as above.
    match unsafe { fork() }.map_err(Error::sys("fork the intermediate process"))? {
        ForkResult::Child => {
            drop(parent_end);
            intermediate(plan, &child_end, child)
        }
        ForkResult::Parent {
            child: intermediate,
        } => {
            drop(child_end);
            let reply = parent_end.recv("the container's pid");
            let _ = waitpid(intermediate, None);
            match reply? {
                Message::Pid(pid) => Ok(Pid::from_raw(pid)),
                Message::Error(text) => Err(Error::Setup(text)),
                other => Err(Error::Setup(format!(
                    "unexpected message {other:?} from the intermediate process"
                ))),
            }
        }
    }
}

fn intermediate(
    plan: &NamespacePlan,
    channel: &Channel,
    child: impl FnOnce() -> std::convert::Infallible,
) -> ! {
    let result = namespaces::join_all(&plan.join)
        .map_err(Error::from)
        .and_then(|()| {
            // SAFETY: this forked process is single-threaded.
            unsafe { clone_process(plan.new | CloneFlags::CLONE_PARENT) }
        });
    match result {
        Ok(Some(pid)) => {
            let _ = channel.send(&Message::Pid(pid.as_raw()));
            // SAFETY: ends the intermediate without running the parent's exit handlers.
            unsafe { libc::_exit(0) }
        }
        Ok(None) => never(child),
        Err(err) => crate::init::fail(channel, &err),
    }
}

/// Runs a function that never returns, in the child.
#[allow(unreachable_code)]
fn never(child: impl FnOnce() -> std::convert::Infallible) -> ! {
    match child() {}
}

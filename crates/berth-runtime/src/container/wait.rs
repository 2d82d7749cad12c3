//! Waiting for a container's process in the foreground (`run`, `exec` without
//! `--detach`), forwarding the signals the runtime receives to it.

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::error::{Error, Result};

/// Signals that are the runtime's own business, not forwarded.
const NOT_FORWARDED: [Signal; 2] = [Signal::SIGCHLD, Signal::SIGURG];

/// Waits for child `pid` to exit, forwarding every other signal this process receives to
/// it, and returns how it ended. The process must be a child of the caller.
pub fn wait_forwarding_signals(pid: Pid) -> Result<WaitStatus> {
    let mut mask = SigSet::all();
    mask.remove(Signal::SIGKILL);
    mask.remove(Signal::SIGSTOP);
    let mut old = SigSet::empty();
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), Some(&mut old))
        .map_err(Error::sys("block signals"))?;
    let result = (|| {
        let fd =
            SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC).map_err(Error::sys("signalfd"))?;
        loop {
            // The child may have ended before the mask was in place: check first.
            match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => {}
                Ok(status @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => {
                    return Ok(status)
                }
                Ok(_) => {}
                Err(nix::Error::EINTR) => {}
                Err(source) => {
                    return Err(Error::Sys {
                        what: format!("wait for process {pid}"),
                        source,
                    })
                }
            }
            let info = match fd.read_signal() {
                Ok(Some(info)) => info,
                Ok(None) | Err(nix::Error::EINTR) => continue,
                Err(source) => {
                    return Err(Error::Sys {
                        what: "read signals".into(),
                        source,
                    })
                }
            };
            let Ok(signal) = Signal::try_from(info.ssi_signo as i32) else {
                continue;
            };
            if !NOT_FORWARDED.contains(&signal) {
                let _ = nix::sys::signal::kill(pid, signal);
            }
        }
    })();
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    result
}

/// The shell-style exit code of a wait status: the code, or 128 + the signal.
pub fn exit_code(status: WaitStatus) -> i32 {
    match status {
        WaitStatus::Exited(_, code) => code,
        WaitStatus::Signaled(_, signal, _) => 128 + signal as i32,
        _ => 255,
    }
}

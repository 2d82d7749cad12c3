//! Waiting for a container's process in the foreground (`run`, `exec` without
//! `--detach`), forwarding the signals the runtime receives to it.

use std::os::fd::{AsRawFd, BorrowedFd};

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::error::{Error, Result};

/// Signals that are the runtime's own business, not forwarded.
const NOT_FORWARDED: [Signal; 3] = [Signal::SIGCHLD, Signal::SIGURG, Signal::SIGWINCH];

/// Blocks every signal of the calling thread and receives them on a signalfd, until
/// dropped. Install it before starting other threads: they inherit the mask, so signals
/// always reach the forwarder rather than killing the runtime.
#[derive(Debug)]
pub struct SignalForwarder {
    fd: SignalFd,
    old: SigSet,
}

impl SignalForwarder {
    /// Blocks the signals and opens the signalfd.
    pub fn install() -> Result<Self> {
        let mut mask = SigSet::all();
        mask.remove(Signal::SIGKILL);
        mask.remove(Signal::SIGSTOP);
        let mut old = SigSet::empty();
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&mask), Some(&mut old))
            .map_err(Error::sys("block signals"))?;
        match SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC) {
            Ok(fd) => Ok(Self { fd, old }),
            Err(source) => {
                let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
                Err(Error::Sys {
                    what: "signalfd".into(),
                    source,
                })
            }
        }
    }

    /// Waits for child `pid` to exit, forwarding every other signal to it, and returns
    /// how it ended. With `terminal`, a SIGWINCH copies stdin's window size to it.
    pub fn wait(&self, pid: Pid, terminal: Option<BorrowedFd<'_>>) -> Result<WaitStatus> {
        loop {
            // The child may have ended before the mask was in place: check first.
            match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(status @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => {
                    return Ok(status)
                }
                Ok(_) | Err(nix::Error::EINTR) => {}
                Err(source) => {
                    return Err(Error::Sys {
                        what: format!("wait for process {pid}"),
                        source,
                    })
                }
            }
            let info = match self.fd.read_signal() {
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
            if signal == Signal::SIGWINCH {
                if let Some(terminal) = terminal {
                    copy_window_size(terminal);
                }
            } else if !NOT_FORWARDED.contains(&signal) {
                let _ = nix::sys::signal::kill(pid, signal);
            }
        }
    }
}

impl Drop for SignalForwarder {
    fn drop(&mut self) {
        let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&self.old), None);
    }
}

/// Copies the window size of this process's stdin to `terminal`.
pub fn copy_window_size(terminal: BorrowedFd<'_>) {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a winsize into `size`, which lives for the call.
    if unsafe { libc::ioctl(0, libc::TIOCGWINSZ, &mut size) } == 0 {
        // SAFETY: TIOCSWINSZ reads a winsize from `size`, which lives for the call.
        unsafe { libc::ioctl(terminal.as_raw_fd(), libc::TIOCSWINSZ, &size) };
    }
}

/// Waits for child `pid`, forwarding signals (see [`SignalForwarder`]).
pub fn wait_forwarding_signals(pid: Pid) -> Result<WaitStatus> {
    SignalForwarder::install()?.wait(pid, None)
}

/// The shell-style exit code of a wait status: the code, or 128 + the signal.
pub fn exit_code(status: WaitStatus) -> i32 {
    match status {
        WaitStatus::Exited(_, code) => code,
        WaitStatus::Signaled(_, signal, _) => 128 + signal as i32,
        _ => 255,
    }
}

//! A terminal for `run` and `exec` in the foreground without `--console-socket`: berth
//! receives the pty master itself and copies between it and its own stdio, as runc does.

use std::io::{IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::thread::JoinHandle;

use anyhow::{bail, Context};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use nix::sys::termios::{self, SetArg, Termios};

/// Our end of a console socket pair.
pub struct ConsoleReceiver {
    ours: UnixStream,
}

/// A socket pair: the second value goes to the container as its console socket.
pub fn console_pair() -> anyhow::Result<(ConsoleReceiver, OwnedFd)> {
    let (ours, theirs) = UnixStream::pair().context("create a console socket pair")?;
    Ok((ConsoleReceiver { ours }, OwnedFd::from(theirs)))
}

impl ConsoleReceiver {
    /// Receives the pty master sent by the container.
    pub fn receive(&self) -> anyhow::Result<std::fs::File> {
        let mut name = [0u8; 4096];
        let mut iov = [IoSliceMut::new(&mut name)];
        let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let msg = recvmsg::<()>(
            self.ours.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .context("receive the container's terminal")?;
        for cmsg in msg.cmsgs().context("read the terminal message")? {
            if let ControlMessageOwned::ScmRights(fds) = cmsg {
                if let Some(fd) = fds.first() {
                    // SAFETY: the kernel just installed this descriptor for us; we own it.
                    return Ok(unsafe { std::fs::File::from_raw_fd(*fd) });
                }
            }
        }
        bail!("the container sent no terminal")
    }
}

/// Copies stdin to the terminal and the terminal to stdout, with stdin in raw mode,
/// until dropped (restoring the mode) and the output is drained.
pub struct Proxy {
    saved: Option<Termios>,
    output: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Starts copying. Call after signals are blocked (the threads inherit the mask).
    pub fn start(master: std::fs::File) -> anyhow::Result<Self> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).ok();
        if let Some(mode) = &saved {
            let mut raw = mode.clone();
            termios::cfmakeraw(&mut raw);
            termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw)
                .context("set the terminal to raw mode")?;
            berth_runtime::container::copy_window_size(master.as_fd());
        }
        let mut input_side = master.try_clone().context("duplicate the terminal")?;
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin(), &mut input_side);
        });
        let mut output_side = master;
        let output = std::thread::spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            let mut stdout = std::io::stdout();
            // EIO once the last slave descriptor closes: the container is gone.
            while let Ok(n) = output_side.read(&mut buf) {
                if n == 0 || stdout.write_all(&buf[..n]).is_err() {
                    break;
                }
                let _ = stdout.flush();
            }
        });
        Ok(Self {
            saved,
            output: Some(output),
        })
    }

    /// Waits for the output to drain.
    pub fn finish(mut self) {
        if let Some(handle) = self.output.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(mode) = &self.saved {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, mode);
        }
    }
}

//! The stdio of the processes the shim starts: pipes or a pty, handed to the runtime as
//! the shim's own descriptors 0, 1 and 2 (its forked processes inherit them).

use std::fs::File;
use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use nix::fcntl::OFlag;
use nix::sys::signal::{signal, SigHandler, Signal};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};

/// What a process's stdio should be.
#[derive(Debug, Clone, Copy)]
pub(super) struct StdioSpec {
    /// A pty (received over a console socket) instead of pipes.
    pub tty: bool,
    /// A pipe for stdin; else /dev/null.
    pub stdin: bool,
    /// Pipes for stdout and stderr; else /dev/null (output nobody reads).
    pub output: bool,
}

/// The shim's ends of a process's stdio once the process exists.
#[derive(Debug)]
pub(super) enum Io {
    /// Pipes: the write end of stdin, the read ends of stdout and stderr.
    Pipes {
        stdin: Option<OwnedFd>,
        stdout: Option<OwnedFd>,
        stderr: Option<OwnedFd>,
    },
    /// The pty master (stdin and output at once).
    Pty { master: OwnedFd },
}

/// A process's stdio being prepared: the process's ends, and the shim's.
#[derive(Debug)]
pub(super) struct Prepared {
    /// Become descriptors 0, 1, 2 while the runtime forks the process.
    theirs: [OwnedFd; 3],
    /// Our end of the console socket (tty only).
    console: Option<UnixStream>,
    io: Io,
}

impl Prepared {
    /// Pipes, or /dev/null plus a console socket pair; returns the socket end to give the
    /// runtime as `console` (tty only).
    pub(super) fn new(spec: StdioSpec) -> std::io::Result<(Self, Option<OwnedFd>)> {
        if spec.tty {
            let (ours, theirs) = UnixStream::pair()?;
            let prepared = Self {
                theirs: [dev_null()?, dev_null()?, dev_null()?],
                console: Some(ours),
                io: Io::Pipes {
                    stdin: None,
                    stdout: None,
                    stderr: None,
                },
            };
            return Ok((prepared, Some(OwnedFd::from(theirs))));
        }
        let (stdin_theirs, stdin_ours) = if spec.stdin {
            let (read, write) = pipe()?;
            (read, Some(write))
        } else {
            (dev_null()?, None)
        };
        let (stdout_ours, stdout_theirs) = output_pair(spec.output)?;
        let (stderr_ours, stderr_theirs) = output_pair(spec.output)?;
        Ok((
            Self {
                theirs: [stdin_theirs, stdout_theirs, stderr_theirs],
                console: None,
                io: Io::Pipes {
                    stdin: stdin_ours,
                    stdout: stdout_ours,
                    stderr: stderr_ours,
                },
            },
            None,
        ))
    }

    /// Runs `fork` (a runtime call that forks the process) with the process's ends as
    /// descriptors 0, 1 and 2 and SIGPIPE at its default (a disposition the program
    /// would otherwise inherit ignored from Rust's start-up), then puts /dev/null back.
    pub(super) fn around<T>(&self, fork: impl FnOnce() -> T) -> std::io::Result<T> {
        for (target, fd) in self.theirs.iter().enumerate() {
            dup_onto(fd.as_raw_fd(), target as RawFd)?;
        }
        // SAFETY: the shim is single-threaded; SIG_DFL and SIG_IGN install no handler.
        let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
        let result = fork();
        // SAFETY: as above; the shim itself must not die writing to a gone client.
        let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigIgn) };
        null_stdio()?;
        Ok(result)
    }

    /// The shim's ends, once the runtime call succeeded: with a tty, the pty master the
    /// process sent over the console socket, sized `console_size` (rows, columns) when
    /// given (the process's `consoleSize`), so the program sees the client's size from
    /// its first instruction.
    pub(super) fn finish(self, console_size: Option<(u16, u16)>) -> std::io::Result<Io> {
        match &self.console {
            Some(socket) => {
                let master = receive_master(socket)?;
                if let Some((height, width)) = console_size.filter(|(h, w)| *h > 0 && *w > 0) {
                    resize(master.as_raw_fd(), height, width)?;
                }
                Ok(Io::Pty { master })
            }
            None => Ok(self.io),
        }
    }
}

/// Points descriptors 0, 1 and 2 at /dev/null.
pub(super) fn null_stdio() -> std::io::Result<()> {
    let null = dev_null()?;
    for target in 0..3 {
        dup_onto(null.as_raw_fd(), target)?;
    }
    Ok(())
}

/// A close-on-exec copy of descriptor `fd` (kept when `fd` itself is replaced).
pub(super) fn keep(fd: RawFd) -> std::io::Result<File> {
    // SAFETY: F_DUPFD_CLOEXEC creates a new descriptor and touches nothing else.
    let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if copy < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `copy` was just created and is owned by nobody else.
    Ok(unsafe { File::from_raw_fd(copy) })
}

fn output_pair(wanted: bool) -> std::io::Result<(Option<OwnedFd>, OwnedFd)> {
    if wanted {
        let (read, write) = pipe()?;
        Ok((Some(read), write))
    } else {
        Ok((None, dev_null()?))
    }
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(OFlag::O_CLOEXEC)?)
}

fn dev_null() -> std::io::Result<OwnedFd> {
    Ok(File::options()
        .read(true)
        .write(true)
        .open("/dev/null")?
        .into())
}

fn dup_onto(fd: RawFd, target: RawFd) -> std::io::Result<()> {
    // SAFETY: dup2 onto 0..=2 replaces the shim's own stdio, which it owns; nothing in
    // the shim holds those descriptors as objects that would be surprised by it.
    if unsafe { libc::dup2(fd, target) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Receives the pty master the process sent (runc's console protocol). The runtime call
/// returned only once the process was ready, so the message is already queued: never
/// block for it.
fn receive_master(socket: &UnixStream) -> std::io::Result<OwnedFd> {
    let mut name = [0u8; 256];
    let mut iov = [IoSliceMut::new(&mut name)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(
        socket.as_fd().as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC | MsgFlags::MSG_DONTWAIT,
    )?;
    for cmsg in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            let mut owned = fds.into_iter().map(|fd| {
                // SAFETY: the kernel just installed these descriptors for us.
                unsafe { OwnedFd::from_raw_fd(fd) }
            });
            if let Some(master) = owned.next() {
                return Ok(master);
            }
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "the process sent no terminal over the console socket",
    ))
}

/// Sets the window size of the pty whose master is `master`.
pub(super) fn resize(master: RawFd, height: u16, width: u16) -> std::io::Result<()> {
    let size = libc::winsize {
        ws_row: height,
        ws_col: width,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize from `size`, which lives for the call.
    if unsafe { libc::ioctl(master, libc::TIOCSWINSZ, &size) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

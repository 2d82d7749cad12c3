//! Non-blocking reads and writes on a pipe end or pty master, driven by tokio.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use tokio::io::unix::AsyncFd;

/// A descriptor the event loop reads from or writes to.
pub(super) struct FdIo(AsyncFd<OwnedFd>);

impl FdIo {
    /// Makes `fd` non-blocking and registers it.
    pub(super) fn new(fd: OwnedFd) -> io::Result<Self> {
        let flags = OFlag::from_bits_truncate(fcntl(&fd, FcntlArg::F_GETFL)?);
        fcntl(&fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
        // SAFETY: an OwnedFd is a valid open descriptor, owned by the AsyncFd from here
        // on, so it stays open and the same until the AsyncFd is dropped.
        let registered = unsafe { AsyncFd::register(fd) }?;
        Ok(Self(registered))
    }

    /// Reads some bytes; 0 at end of file. A pty master reports the end (its last slave
    /// closed) as EIO, returned as is.
    pub(super) async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut ready = self.0.readable().await?;
            match ready.try_io(|fd| retry_eintr(|| nix::unistd::read(fd.get_ref(), buf))) {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }

    /// Writes all of `buf`.
    pub(super) async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let mut ready = self.0.writable().await?;
            match ready.try_io(|fd| retry_eintr(|| nix::unistd::write(fd.get_ref(), buf))) {
                Ok(Ok(0)) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(Ok(n)) => buf = &buf[n..],
                Ok(Err(err)) => return Err(err),
                Err(_would_block) => continue,
            }
        }
        Ok(())
    }

    /// The raw descriptor (for ioctls).
    pub(super) fn raw(&self) -> RawFd {
        self.0.get_ref().as_raw_fd()
    }
}

fn retry_eintr(mut call: impl FnMut() -> nix::Result<usize>) -> io::Result<usize> {
    loop {
        match call() {
            Err(nix::Error::EINTR) => continue,
            other => return other.map_err(io::Error::from),
        }
    }
}

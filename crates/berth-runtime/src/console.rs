//! The container's terminal, handed to the caller through `--console-socket` with runc's
//! protocol: the pty master is sent as an `SCM_RIGHTS` message whose payload is the slave's
//! name; the container's stdio become the slave.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use nix::unistd::dup2_stdin;

use crate::error::{Error, Result};

/// Connects to the caller's console socket (in the runtime process, before forking).
pub(crate) fn connect(path: &Path) -> Result<OwnedFd> {
    UnixStream::connect(path)
        .map(OwnedFd::from)
        .map_err(|source| Error::Io {
            what: "connect to the console socket",
            path: path.to_path_buf(),
            source,
        })
}

nix::ioctl_write_int_bad!(set_controlling_tty, libc::TIOCSCTTY);

/// In the container: opens a pty, sends its master over `socket`, and makes the slave the
/// controlling terminal and stdio of this process (which must lead its session).
pub(crate) fn setup(socket: &OwnedFd) -> Result<()> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(Error::sys("open /dev/ptmx"))?;
    grantpt(&master).map_err(Error::sys("grantpt"))?;
    unlockpt(&master).map_err(Error::sys("unlockpt"))?;
    let name = ptsname_r(&master).map_err(Error::sys("ptsname"))?;
    let slave = nix::fcntl::open(
        name.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(Error::sys(format!("open terminal `{name}`")))?;
    let fds = [master.as_raw_fd()];
    let payload = [IoSlice::new(name.as_bytes())];
    sendmsg::<()>(
        socket.as_raw_fd(),
        &payload,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(Error::sys("send the terminal over the console socket"))?;
    drop(master);
    make_stdio(slave)
}

fn make_stdio(slave: OwnedFd) -> Result<()> {
    // SAFETY: TIOCSCTTY takes an int argument and only acts on the fd given.
    unsafe { set_controlling_tty(slave.as_raw_fd(), 0) }
        .map_err(Error::sys("set the controlling terminal"))?;
    dup2_stdin(&slave).map_err(Error::sys("dup terminal to stdin"))?;
    nix::unistd::dup2_stdout(&slave).map_err(Error::sys("dup terminal to stdout"))?;
    nix::unistd::dup2_stderr(&slave).map_err(Error::sys("dup terminal to stderr"))?;
    Ok(())
}

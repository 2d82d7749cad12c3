//! The tasks that move a process's stdio: one per output stream (to the log and the
//! attached clients) and one writing its stdin.

use std::cell::RefCell;
use std::os::fd::OwnedFd;
use std::rc::Rc;

use tokio::sync::mpsc;

use super::fdio::FdIo;
use super::state::{Shim, StdinMsg, Target};
use super::stdio::Io;
use crate::protocol::{FRAME_STDERR, FRAME_STDOUT};

/// Bytes read from an output at once: small, to keep the shim small.
const CHUNK: usize = 8 * 1024;
/// Stdin chunks queued before the forwarding clients wait.
const STDIN_QUEUE: usize = 8;

/// What a process's stdio tasks give the process's record.
#[derive(Default)]
pub(super) struct ProcIo {
    /// How many output streams run.
    pub open_outputs: usize,
    /// Where to send its stdin.
    pub stdin: Option<mpsc::Sender<StdinMsg>>,
    /// Its pty master, for resizing.
    pub pty: Option<Rc<FdIo>>,
}

/// Starts the tasks for `target`'s `io`; `stdin`: whether a pty's input is forwarded.
pub(super) fn start(
    state: &Rc<RefCell<Shim>>,
    target: &Target,
    io: Io,
    stdin: bool,
) -> std::io::Result<ProcIo> {
    let mut started = ProcIo::default();
    match io {
        Io::Pipes {
            stdin: input,
            stdout,
            stderr,
        } => {
            for (fd, kind) in [(stdout, FRAME_STDOUT), (stderr, FRAME_STDERR)] {
                if let Some(fd) = fd {
                    let reader = Rc::new(FdIo::new(fd)?);
                    tokio::task::spawn_local(pump(state.clone(), target.clone(), kind, reader));
                    started.open_outputs += 1;
                }
            }
            if let Some(fd) = input {
                started.stdin = Some(stdin_writer(fd)?);
            }
        }
        Io::Pty { master } => {
            // Two descriptors of one pty: the event loop registers each once.
            let input = master.try_clone()?;
            let reader = Rc::new(FdIo::new(master)?);
            started.pty = Some(reader.clone());
            tokio::task::spawn_local(pump(state.clone(), target.clone(), FRAME_STDOUT, reader));
            started.open_outputs = 1;
            if stdin {
                started.stdin = Some(stdin_writer(input)?);
            }
        }
    }
    Ok(started)
}

/// Copies one output stream until its end (EOF, or EIO once a pty's slave is closed).
async fn pump(state: Rc<RefCell<Shim>>, target: Target, kind: u8, output: Rc<FdIo>) {
    let mut buf = vec![0u8; CHUNK];
    while let Ok(n @ 1..) = output.read(&mut buf).await {
        state.borrow_mut().output(&target, kind, &buf[..n]);
    }
    state.borrow_mut().output_closed(&target);
}

/// A task writing what it receives to `fd` until told to close (or every sender is
/// gone); dropping `fd` then closes the pipe (a pty's other descriptor stays open).
fn stdin_writer(fd: OwnedFd) -> std::io::Result<mpsc::Sender<StdinMsg>> {
    let input = FdIo::new(fd)?;
    let (tx, mut rx) = mpsc::channel(STDIN_QUEUE);
    tokio::task::spawn_local(async move {
        while let Some(StdinMsg::Data(bytes)) = rx.recv().await {
            if input.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    Ok(tx)
}

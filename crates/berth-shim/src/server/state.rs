//! What the shim knows about its processes (the container's init and its execs), and
//! the fan-out of their output to the log and to attached clients.
//!
//! The shim is single-threaded: the state lives in one `Rc<RefCell<Shim>>` that tasks
//! borrow briefly, never across an `.await`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;

use berth_runtime::state::StateRoot;
use tokio::sync::{mpsc, oneshot};

use super::exit;
use super::fdio::FdIo;
use super::log_sink::LogSink;
use super::pumps::ProcIo;
use crate::protocol::{ContainerStatus, ExitInfo};

/// Output chunks queued for one client before it counts as too slow and is dropped.
const CLIENT_QUEUE: usize = 64;

/// One of the shim's processes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Target {
    /// The container's init.
    Init,
    /// The exec with this id.
    Exec(String),
}

/// A request to the task writing a process's stdin.
pub(super) enum StdinMsg {
    Data(Vec<u8>),
    Close,
}

/// An attached client, as the fan-out sees it.
pub(super) struct Client {
    frames: mpsc::Sender<(u8, Rc<[u8]>)>,
    exit: oneshot::Sender<i32>,
    stdout: bool,
    stderr: bool,
}

/// What the task serving an attached client receives.
pub(super) struct Subscription {
    /// Output frames (kind, payload).
    pub frames: mpsc::Receiver<(u8, Rc<[u8]>)>,
    /// The exit code, once the process exited and its output was drained; an error when
    /// the client was dropped for being too slow.
    pub exit: oneshot::Receiver<i32>,
}

/// A client that wants stdout and/or stderr frames.
pub(super) fn subscribe(stdout: bool, stderr: bool) -> (Client, Subscription) {
    let (frames_tx, frames) = mpsc::channel(CLIENT_QUEUE);
    let (exit_tx, exit) = oneshot::channel();
    (
        Client {
            frames: frames_tx,
            exit: exit_tx,
            stdout,
            stderr,
        },
        Subscription { frames, exit },
    )
}

/// A process of the shim.
pub(super) struct Proc {
    /// Host pid.
    pub pid: i32,
    /// Set when reaped.
    pub exit: Option<ExitInfo>,
    /// Exited and its output drained (or given up on): waiters and clients were told.
    pub finished: bool,
    /// Output streams not at their end yet.
    pub open_outputs: usize,
    /// Where its stdin goes (None: /dev/null or closed).
    pub stdin: Option<mpsc::Sender<StdinMsg>>,
    /// Its pty master, for resizing.
    pub pty: Option<Rc<FdIo>>,
    clients: Vec<Client>,
    waiters: Vec<oneshot::Sender<ExitInfo>>,
}

impl Proc {
    /// A running process without clients.
    pub(super) fn new(pid: i32) -> Self {
        Self {
            pid,
            exit: None,
            finished: false,
            open_outputs: 0,
            stdin: None,
            pty: None,
            clients: Vec::new(),
            waiters: Vec::new(),
        }
    }

    /// Attaches a client from the start.
    pub(super) fn add_client(&mut self, client: Client) {
        self.clients.push(client);
    }

    /// Records the tasks moving its stdio.
    pub(super) fn set_io(&mut self, io: ProcIo) {
        self.open_outputs = io.open_outputs;
        self.stdin = io.stdin;
        self.pty = io.pty;
    }
}

/// The shim's whole state.
pub(super) struct Shim {
    /// The container id.
    pub id: String,
    /// The runtime's state root.
    pub root: StateRoot,
    /// The shim's state directory.
    pub state_dir: PathBuf,
    /// Close the container's stdin when the first client ends its input.
    pub stdin_once: bool,
    /// `Start` succeeded.
    pub started: bool,
    /// The container's init.
    pub init: Proc,
    execs: HashMap<String, Proc>,
    exec_pids: HashMap<i32, String>,
    log: Box<dyn LogSink>,
}

impl Shim {
    /// The state of a just created container.
    pub(super) fn new(
        id: String,
        root: StateRoot,
        state_dir: PathBuf,
        stdin_once: bool,
        init: Proc,
        log: Box<dyn LogSink>,
    ) -> Self {
        Self {
            id,
            root,
            state_dir,
            stdin_once,
            started: false,
            init,
            execs: HashMap::new(),
            exec_pids: HashMap::new(),
            log,
        }
    }

    /// The process `target`, if it exists.
    pub(super) fn proc_mut(&mut self, target: &Target) -> Option<&mut Proc> {
        match target {
            Target::Init => Some(&mut self.init),
            Target::Exec(id) => self.execs.get_mut(id),
        }
    }

    /// Whether exec `id` exists.
    pub(super) fn has_exec(&self, id: &str) -> bool {
        self.execs.contains_key(id)
    }

    /// Records a new exec process.
    pub(super) fn add_exec(&mut self, id: String, proc: Proc) {
        self.exec_pids.insert(proc.pid, id.clone());
        self.execs.insert(id, proc);
    }

    /// The container's status.
    pub(super) fn status(&self) -> ContainerStatus {
        if self.init.exit.is_some() {
            ContainerStatus::Exited
        } else if self.started {
            ContainerStatus::Running
        } else {
            ContainerStatus::Created
        }
    }

    /// `bytes` came out of `target` on `stream` (1 or 2): log it (the init's) and copy it
    /// to the attached clients, dropping those whose queue is full or gone.
    pub(super) fn output(&mut self, target: &Target, stream: u8, bytes: &[u8]) {
        if *target == Target::Init {
            self.log.write(stream, bytes);
        }
        let Some(proc) = self.proc_mut(target) else {
            return;
        };
        if proc.clients.is_empty() {
            return;
        }
        let chunk: Rc<[u8]> = Rc::from(bytes);
        proc.clients.retain(|client| {
            let wanted = if stream == crate::protocol::FRAME_STDERR {
                client.stderr
            } else {
                client.stdout
            };
            !wanted || client.frames.try_send((stream, chunk.clone())).is_ok()
        });
        // A dropped client's task writes what was queued and closes without an exit frame.
    }

    /// One output stream of `target` reached its end.
    pub(super) fn output_closed(&mut self, target: &Target) {
        if let Some(proc) = self.proc_mut(target) {
            proc.open_outputs = proc.open_outputs.saturating_sub(1);
        }
        self.finish(target, false);
    }

    /// Attaches `client` to `target`; one that comes after the end gets the exit at once.
    pub(super) fn attach(&mut self, target: &Target, client: Client) {
        let Some(proc) = self.proc_mut(target) else {
            return;
        };
        match (&proc.exit, proc.finished) {
            (Some(exit), true) => {
                let _ = client.exit.send(exit.exit_code);
            }
            _ => proc.clients.push(client),
        }
    }

    /// A receiver of `target`'s exit, or the exit itself when it is known and drained.
    pub(super) fn wait(
        &mut self,
        target: &Target,
    ) -> Option<Result<ExitInfo, oneshot::Receiver<ExitInfo>>> {
        let proc = self.proc_mut(target)?;
        if let (Some(exit), true) = (&proc.exit, proc.finished) {
            return Some(Ok(exit.clone()));
        }
        let (tx, rx) = oneshot::channel();
        proc.waiters.push(tx);
        Some(Err(rx))
    }

    /// Process `pid` was reaped with `code`; returns it if its output is still being
    /// drained (the caller bounds the wait with [`Shim::finish`] forced).
    pub(super) fn reaped(&mut self, pid: i32, code: i32) -> Option<Target> {
        let target = if pid == self.init.pid {
            Target::Init
        } else {
            Target::Exec(self.exec_pids.get(&pid)?.clone())
        };
        let oom_killed = target == Target::Init && exit::oom_killed(&self.root, &self.id);
        let proc = self.proc_mut(&target)?;
        if proc.exit.is_some() {
            return None;
        }
        proc.exit = Some(ExitInfo {
            exit_code: code,
            finished_at: berth_runtime::state::now_rfc3339(),
            oom_killed,
        });
        self.finish(&target, false);
        let proc = self.proc_mut(&target)?;
        (!proc.finished).then_some(target)
    }

    /// Once `target` exited and its output is drained (or `force`): tells its clients
    /// and waiters, and for the init closes the log and records `exit.json`.
    pub(super) fn finish(&mut self, target: &Target, force: bool) {
        let Some(proc) = self.proc_mut(target) else {
            return;
        };
        let Some(exit) = proc.exit.clone() else {
            return;
        };
        if proc.finished || (proc.open_outputs > 0 && !force) {
            return;
        }
        proc.finished = true;
        proc.stdin = None;
        proc.pty = None;
        for client in proc.clients.drain(..) {
            let _ = client.exit.send(exit.exit_code);
        }
        for waiter in proc.waiters.drain(..) {
            let _ = waiter.send(exit.clone());
        }
        if *target == Target::Init {
            self.log.close();
            exit::record(&self.state_dir, &exit);
        }
    }

    /// Flushes the log (the shim is about to exit).
    pub(super) fn close_log(&mut self) {
        self.log.close();
    }
}

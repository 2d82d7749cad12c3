//! Creating the container, before the event loop starts: state directory, log, stdio,
//! the runtime's `create`, the socket and the pid file.

use std::os::unix::net::UnixListener;
use std::path::PathBuf;

use berth_runtime::container::{self, CreateOptions};
use berth_runtime::state::StateRoot;
use thiserror::Error;

use super::log_sink::{Discard, LogSink};
use super::stdio::{Io, Prepared, StdioSpec};
use crate::jsonlog::LogWriter;
use crate::protocol::{ShimArgs, EXIT_FILE, PID_FILE, SOCKET_NAME};

/// Why the shim could not create its container.
#[derive(Debug, Error)]
pub(super) enum StartError {
    /// The state directory or a file in it.
    #[error("{what} `{path}`")]
    File {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// Pipes, the console socket or /dev/null.
    #[error("set up the stdio of container `{id}`")]
    Stdio { id: String, source: std::io::Error },
    /// The runtime failed.
    #[error("create container `{id}`")]
    Create {
        id: String,
        source: Box<berth_runtime::Error>,
    },
    /// The pty master did not come.
    #[error(
        "receive the terminal of container `{id}` (does config.json say `process.terminal: true`?)"
    )]
    Terminal { id: String, source: std::io::Error },
    /// The event loop.
    #[error("start the shim's event loop")]
    EventLoop(#[source] std::io::Error),
}

/// A created container, its init waiting for `start`.
pub(super) struct Created {
    /// The init's host pid.
    pub pid: i32,
    /// The shim's ends of the init's stdio.
    pub io: Io,
    /// `shim.sock`, bound.
    pub listener: UnixListener,
    /// The container's log.
    pub log: Box<dyn LogSink>,
}

/// Creates the container of `args`. On failure nothing is left: no runtime state, no
/// state directory.
pub(super) fn create(args: &ShimArgs) -> Result<Created, StartError> {
    let root = StateRoot::new(&args.runtime_root);
    let mut init = None;
    let result = create_steps(args, &root, &mut init);
    if result.is_err() {
        undo(args, init);
    }
    result
}

/// Removes what a failed start made; `init` is the container's init, if it was created.
pub(super) fn undo(args: &ShimArgs, init: Option<i32>) {
    if let Some(pid) = init {
        // Reaped here so that no zombie holds the cgroup the runtime removes.
        let pid = nix::unistd::Pid::from_raw(pid);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(pid, None);
        let _ = container::delete(&StateRoot::new(&args.runtime_root), &args.id, true);
    }
    let _ = std::fs::remove_dir_all(&args.state_dir);
}

fn create_steps(
    args: &ShimArgs,
    root: &StateRoot,
    init: &mut Option<i32>,
) -> Result<Created, StartError> {
    let file_error =
        |what: &'static str, path: PathBuf| move |source| StartError::File { what, path, source };
    std::fs::create_dir_all(&args.state_dir).map_err(file_error(
        "create the shim state directory",
        args.state_dir.clone(),
    ))?;
    // Left by an earlier shim of the same id.
    for stale in [SOCKET_NAME, EXIT_FILE] {
        let _ = std::fs::remove_file(args.state_dir.join(stale));
    }
    if let Some(dir) = args.log_path.as_deref().and_then(|p| p.parent()) {
        std::fs::create_dir_all(dir).map_err(file_error("create", dir.to_path_buf()))?;
    }
    let log: Box<dyn LogSink> = match &args.log_path {
        Some(path) => Box::new(
            LogWriter::open(path, args.log_max_size, args.log_max_files.max(1)).map_err(|e| {
                file_error("open the log", path.clone())(std::io::Error::other(e.to_string()))
            })?,
        ),
        None => Box::new(Discard),
    };

    let stdio_error = |source| StartError::Stdio {
        id: args.id.clone(),
        source,
    };
    let (prepared, console) = Prepared::new(StdioSpec {
        tty: args.tty,
        stdin: args.open_stdin,
        output: true,
    })
    .map_err(stdio_error)?;
    let state = prepared
        .around(|| {
            container::create(
                root,
                CreateOptions {
                    id: args.id.clone(),
                    bundle: args.bundle.clone(),
                    console,
                    start_immediately: false,
                    ..CreateOptions::default()
                },
            )
        })
        .map_err(stdio_error)?
        .map_err(|source| StartError::Create {
            id: args.id.clone(),
            source: Box::new(source),
        })?;
    *init = Some(state.pid);
    let console_size = oci_spec::runtime::Spec::load(args.bundle.join("config.json"))
        .ok()
        .and_then(|spec| spec.process().clone())
        .and_then(|p| p.console_size())
        .map(|b| (b.height() as u16, b.width() as u16));
    let io = prepared
        .finish(console_size)
        .map_err(|source| StartError::Terminal {
            id: args.id.clone(),
            source,
        })?;

    let socket = args.state_dir.join(SOCKET_NAME);
    // Deep state directories exceed sun_path: bind through a descriptor of the directory.
    let (_handle, reachable) = berth_runtime::state::socket_path(&args.state_dir, SOCKET_NAME)
        .map_err(|e| {
            file_error("listen on", socket.clone())(std::io::Error::other(e.to_string()))
        })?;
    let listener =
        UnixListener::bind(&reachable).map_err(file_error("listen on", socket.clone()))?;
    listener
        .set_nonblocking(true)
        .map_err(file_error("listen on", socket))?;
    let pid_file = args.state_dir.join(PID_FILE);
    std::fs::write(&pid_file, std::process::id().to_string())
        .map_err(file_error("write", pid_file))?;
    Ok(Created {
        pid: state.pid,
        io,
        listener,
        log,
    })
}

//! What the daemon and a shim say to each other.
//!
//! ## Start-up handshake
//!
//! The daemon runs `berth shim <ShimArgs as flags>` with stdout a pipe. The shim forks at
//! once (the first process exits 0 so the daemon reaps it immediately; the second calls
//! `setsid` and carries on, so it is nobody's child but init's), creates the container
//! (its init waits for `start`), binds `shim.sock` in its state directory, writes its pid to
//! `shim.pid`, then writes ONE JSON line to stdout: [`Response::Created`] or
//! [`Response::Error`]; then points its own stdio at /dev/null.
//!
//! ## Requests
//!
//! Every connection to `shim.sock` begins with one JSON line holding a [`Request`]; the shim
//! answers with one JSON line holding a [`Response`]. For [`Request::Attach`] and
//! [`Request::Exec`] (when not detached), after an `Ok`/`Pid` answer the connection carries
//! streams:
//!
//! - shim -> client: frames `[kind: u8, 0, 0, 0, len: u32 big-endian]` + `len` bytes, kind
//!   [`FRAME_STDOUT`] or [`FRAME_STDERR`] (a tty's output is all `FRAME_STDOUT`), ending with
//!   one [`FRAME_EXIT`] frame whose payload is the exit code as 4 bytes big-endian (i32)
//!   when the process has exited and its output is drained; then the shim closes.
//! - client -> shim: raw stdin bytes (only when the request asked for stdin); the client
//!   shutting down its write half means end of input (the container's stdin is closed if
//!   the container was created with `stdin_once`; an exec's stdin always is).
//!
//! Output written while no client is attached goes only to the log. An attach made before
//! `Start` sees all output from the first byte.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The socket's file name in the shim's state directory.
pub const SOCKET_NAME: &str = "shim.sock";
/// The exit record's file name in the shim's state directory (written atomically).
pub const EXIT_FILE: &str = "exit.json";
/// The shim's pid file name in its state directory.
pub const PID_FILE: &str = "shim.pid";

/// Frame kind: standard output.
pub const FRAME_STDOUT: u8 = 1;
/// Frame kind: standard error.
pub const FRAME_STDERR: u8 = 2;
/// Frame kind: the process exited; payload is the exit code (i32, big-endian).
pub const FRAME_EXIT: u8 = 0xff;

/// What the daemon gives a new shim (passed as command-line flags by
/// [`crate::client::ShimClient::spawn`]; parsed by `berth shim`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShimArgs {
    /// The container id (also its id in the runtime).
    pub id: String,
    /// The OCI bundle (holds `config.json`; its `root.path` is the mounted rootfs).
    pub bundle: PathBuf,
    /// The runtime's state root (`/run/berth/runtime`).
    pub runtime_root: PathBuf,
    /// The shim's state directory (`/run/berth/shims/<id>`): socket, pid and exit files.
    pub state_dir: PathBuf,
    /// The json-file log; None discards the output (`--log-driver none`).
    pub log_path: Option<PathBuf>,
    /// Rotate the log when it would grow past this many bytes (`max-size`); None = never.
    pub log_max_size: Option<u64>,
    /// How many log files to keep, the live one included (`max-file`, at least 1).
    pub log_max_files: u32,
    /// Give the container a pty (`config.json` must say `process.terminal: true`).
    pub tty: bool,
    /// Keep the container's stdin open for attach (`OpenStdin`); else it is /dev/null.
    pub open_stdin: bool,
    /// Close the container's stdin when the first attached client ends its input.
    pub stdin_once: bool,
}

/// A request to a shim (one JSON line). The `Exec` variant carries a whole OCI process;
/// requests are built once and sent, so their size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// How is the container? Answer: [`Response::State`].
    State,
    /// Start the created container. Answer: `Ok`, or `Error` if it could not start.
    Start,
    /// Answer when the container has exited: [`Response::Exited`] (at once if it already
    /// has). The connection stays open until then.
    Wait,
    /// Attach to the container's stdio. Answer `Ok`, then streams (see the module docs).
    Attach {
        /// Forward client bytes to the container's stdin (needs `open_stdin`).
        stdin: bool,
        /// Send stdout frames.
        stdout: bool,
        /// Send stderr frames.
        stderr: bool,
    },
    /// Run a process in the container. Answer [`Response::Pid`], then, unless `detach`,
    /// streams as for `Attach` (ending with its exit code).
    Exec {
        /// The daemon's id for this exec (used by `Resize` and `ExecWait`).
        exec_id: String,
        /// The process (its `terminal` field says whether it gets a pty).
        process: oci_spec::runtime::Process,
        /// Forward client bytes to the process's stdin; else its stdin is /dev/null.
        stdin: bool,
        /// Do not stream: discard the process's output.
        detach: bool,
    },
    /// Answer when exec `exec_id` has exited: [`Response::Exited`] (at once if it has).
    ExecWait {
        /// The exec's id.
        exec_id: String,
    },
    /// Resize the pty of the container (no `exec_id`) or of an exec.
    Resize {
        /// The exec, or None for the container.
        exec_id: Option<String>,
        /// Rows.
        height: u16,
        /// Columns.
        width: u16,
    },
    /// Close the container's stdin.
    CloseStdin,
    /// The container has exited and the daemon has what it needs: delete the container
    /// from the runtime (force: killing it first if it still runs), remove the state
    /// directory, answer `Ok` and exit.
    Delete,
}

/// How a process ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitInfo {
    /// The exit code; 128 + signal number when killed by a signal.
    pub exit_code: i32,
    /// RFC 3339 (nanoseconds) time of the exit.
    pub finished_at: String,
    /// The container's cgroup recorded an OOM kill.
    #[serde(default)]
    pub oom_killed: bool,
}

/// The container's state as the shim sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContainerStatus {
    /// Created, waiting for `Start`.
    Created,
    /// Its process runs (or is paused: the daemon asks the runtime about that).
    Running,
    /// Its process exited.
    Exited,
}

/// An answer from a shim (one JSON line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Response {
    /// Done.
    Ok,
    /// Handshake: the container is created; its init waits for `Start`.
    Created {
        /// The container init's host pid.
        pid: i32,
        /// The shim's own pid.
        shim_pid: i32,
    },
    /// The pid of a new exec process.
    Pid {
        /// Host pid.
        pid: i32,
    },
    /// The answer to `State`.
    State {
        /// Status.
        status: ContainerStatus,
        /// The init's host pid.
        pid: i32,
        /// Set once exited.
        exit: Option<ExitInfo>,
    },
    /// The answer to `Wait` and `ExecWait`.
    Exited(ExitInfo),
    /// The request failed.
    Error {
        /// What went wrong, for the user.
        message: String,
    },
}

impl ShimArgs {
    /// The command-line flags of `berth shim` that carry these arguments (parsed back by
    /// the `berth shim` verb; keep the two in step).
    pub fn to_flags(&self) -> Vec<std::ffi::OsString> {
        let mut flags: Vec<std::ffi::OsString> = vec![
            "--id".into(),
            self.id.clone().into(),
            "--bundle".into(),
            self.bundle.clone().into(),
            "--runtime-root".into(),
            self.runtime_root.clone().into(),
            "--state-dir".into(),
            self.state_dir.clone().into(),
        ];
        if let Some(path) = &self.log_path {
            flags.push("--log-path".into());
            flags.push(path.clone().into());
        }
        if let Some(size) = self.log_max_size {
            flags.push("--log-max-size".into());
            flags.push(size.to_string().into());
        }
        flags.push("--log-max-files".into());
        flags.push(self.log_max_files.to_string().into());
        for (set, flag) in [
            (self.tty, "--tty"),
            (self.open_stdin, "--open-stdin"),
            (self.stdin_once, "--stdin-once"),
        ] {
            if set {
                flags.push(flag.into());
            }
        }
        flags
    }
}

/// The largest frame payload a reader accepts (the shim sends at most a few KiB).
pub const MAX_FRAME_LEN: u32 = 1 << 20;

/// The 8-byte header of a frame of `kind` carrying `len` bytes.
pub fn frame_header(kind: u8, len: u32) -> [u8; 8] {
    let len = len.to_be_bytes();
    [kind, 0, 0, 0, len[0], len[1], len[2], len[3]]
}

/// The kind and payload length of a frame header.
pub fn parse_frame_header(header: [u8; 8]) -> (u8, u32) {
    (
        header[0],
        u32::from_be_bytes([header[4], header[5], header[6], header[7]]),
    )
}

/// The exit code carried by a [`FRAME_EXIT`] payload.
pub fn exit_code_of(payload: &[u8]) -> Option<i32> {
    Some(i32::from_be_bytes(payload.try_into().ok()?))
}

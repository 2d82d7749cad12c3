//! The daemon's side: spawning a shim and talking to it.

use std::path::{Path, PathBuf};

use thiserror::Error;
use tokio::net::UnixStream;

use crate::protocol::{ExitInfo, Request, Response, ShimArgs};

/// What can go wrong talking to a shim.
#[derive(Debug, Error)]
pub enum SpawnError {
    /// The shim program could not be started.
    #[error("start the shim `{program}`: {source}")]
    Exec {
        /// The program.
        program: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The shim started but could not create the container.
    #[error("{0}")]
    Create(String),
    /// The shim's socket did not answer (the shim is gone).
    #[error("the shim of container {id} does not answer at {path}: {source}")]
    Gone {
        /// The container id.
        id: String,
        /// The socket.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The shim answered with an error.
    #[error("{0}")]
    Shim(String),
    /// The shim broke the protocol.
    #[error("the shim of container {id} answered unexpectedly: {detail}")]
    Protocol {
        /// The container id.
        id: String,
        /// What was wrong.
        detail: String,
    },
}

/// A container's shim, as reached through its state directory.
#[derive(Debug, Clone)]
pub struct ShimClient {
    id: String,
    state_dir: PathBuf,
}

/// A shim just started: the container is created and waits for `start`.
#[derive(Debug)]
pub struct Spawned {
    /// The container init's host pid.
    pub pid: i32,
    /// The shim's pid.
    pub shim_pid: i32,
    /// A client of the new shim.
    pub client: ShimClient,
}

impl ShimClient {
    /// A client of the shim of container `id` whose state directory is `state_dir` (used
    /// by a restarted daemon to reconnect).
    pub fn new(id: impl Into<String>, state_dir: impl Into<PathBuf>) -> Self {
        Self {
            id: id.into(),
            state_dir: state_dir.into(),
        }
    }

    /// Starts `program shim <flags of args>` (program is berth's own executable) and waits
    /// for its handshake.
    pub async fn spawn(program: &Path, args: &ShimArgs) -> Result<Spawned, SpawnError> {
        let _ = (program, args);
        todo!("spawn")
    }

    /// The container id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The shim's state directory.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// Sends one request and reads the one-line answer; `Response::Error` becomes
    /// `SpawnError::Shim`.
    pub async fn request(&self, request: &Request) -> Result<Response, SpawnError> {
        let _ = request;
        todo!("request")
    }

    /// The exit the shim recorded in `exit.json`, if any (readable after the shim is gone).
    pub fn recorded_exit(&self) -> Option<ExitInfo> {
        todo!("recorded_exit")
    }

    /// Opens a connection, sends `request` and reads the answer line; the stream is
    /// returned for what follows (attach and exec streams).
    pub async fn open_stream(
        &self,
        request: &Request,
    ) -> Result<(Response, UnixStream), SpawnError> {
        let _ = request;
        todo!("open_stream")
    }
}

//! The daemon's side: spawning a shim and talking to it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use crate::protocol::{
    frame_header, parse_frame_header, ExitInfo, Request, Response, ShimArgs, EXIT_FILE,
    MAX_FRAME_LEN, SOCKET_NAME,
};

/// How long a new shim may take to create its container.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest answer line read (an answer is a few hundred bytes).
const MAX_LINE: usize = 64 * 1024;

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
        let mut child = tokio::process::Command::new(program)
            .arg("shim")
            .args(args.to_flags())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| SpawnError::Exec {
                program: program.to_path_buf(),
                source,
            })?;
        let (Some(stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(SpawnError::Create(
                "the shim's output was not captured".into(),
            ));
        };
        let handshake = async {
            // The first process exits as soon as it forked the shim proper.
            let status = child.wait().await;
            if !matches!(&status, Ok(s) if s.success()) {
                return Err(match status {
                    Ok(status) => format!("the shim exited with {status}"),
                    Err(err) => format!("wait for the shim: {err}"),
                });
            }
            let mut line = Vec::new();
            let mut stdout = BufReader::new(stdout).take(MAX_LINE as u64);
            match stdout.read_until(b'\n', &mut line).await {
                Ok(0) => Err("the shim exited without an answer".to_string()),
                Ok(_) => Ok(line),
                Err(err) => Err(format!("read the shim's answer: {err}")),
            }
        };
        let line = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
            Ok(Ok(line)) => line,
            Ok(Err(what)) => return Err(SpawnError::Create(with_stderr(what, &mut stderr).await)),
            Err(_) => {
                let what = format!(
                    "the shim did not answer within {}s",
                    HANDSHAKE_TIMEOUT.as_secs()
                );
                return Err(SpawnError::Create(with_stderr(what, &mut stderr).await));
            }
        };
        let client = ShimClient::new(args.id.clone(), args.state_dir.clone());
        match client.parse(&line)? {
            Response::Created { pid, shim_pid } => Ok(Spawned {
                pid,
                shim_pid,
                client,
            }),
            Response::Error { message } => Err(SpawnError::Create(message)),
            other => Err(client.unexpected(&other)),
        }
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
        let (response, _stream) = self.open_stream(request).await?;
        Ok(response)
    }

    /// The exit the shim recorded in `exit.json`, if any (readable after the shim is gone).
    pub fn recorded_exit(&self) -> Option<ExitInfo> {
        let text = std::fs::read(self.state_dir.join(EXIT_FILE)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Opens a connection, sends `request` and reads the answer line; the stream is
    /// returned for what follows (attach and exec streams).
    pub async fn open_stream(
        &self,
        request: &Request,
    ) -> Result<(Response, UnixStream), SpawnError> {
        let path = self.state_dir.join(SOCKET_NAME);
        let gone = |source| SpawnError::Gone {
            id: self.id.clone(),
            path: path.clone(),
            source,
        };
        // Deep state directories exceed sun_path: reach the socket through a descriptor.
        let (_handle, reachable) = berth_runtime::state::socket_path(&self.state_dir, SOCKET_NAME)
            .map_err(|e| gone(std::io::Error::other(e.to_string())))?;
        let mut stream = UnixStream::connect(&reachable).await.map_err(gone)?;
        let mut line = serde_json::to_vec(request).map_err(|err| SpawnError::Protocol {
            id: self.id.clone(),
            detail: format!("encode the request: {err}"),
        })?;
        line.push(b'\n');
        stream.write_all(&line).await.map_err(gone)?;
        let answer = read_line_unbuffered(&mut stream).await.map_err(gone)?;
        match self.parse(&answer)? {
            Response::Error { message } => Err(SpawnError::Shim(message)),
            response => Ok((response, stream)),
        }
    }

    /// The container's state.
    pub async fn state(&self) -> Result<Response, SpawnError> {
        self.request(&Request::State).await
    }

    /// Starts the created container.
    pub async fn start(&self) -> Result<(), SpawnError> {
        self.expect_ok(&Request::Start).await
    }

    /// Waits for the container to exit (at once if it has).
    pub async fn wait(&self) -> Result<ExitInfo, SpawnError> {
        self.expect_exited(&Request::Wait).await
    }

    /// Attaches to the container's stdio: the stream carries frames (see
    /// [`crate::protocol`]) and takes stdin bytes when `stdin`.
    pub async fn attach(
        &self,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<UnixStream, SpawnError> {
        let request = Request::Attach {
            stdin,
            stdout,
            stderr,
        };
        match self.open_stream(&request).await? {
            (Response::Ok, stream) => Ok(stream),
            (other, _) => Err(self.unexpected(&other)),
        }
    }

    /// Runs `process` in the container; returns its pid and, unless `detach`, its stream.
    pub async fn exec(
        &self,
        exec_id: &str,
        process: oci_spec::runtime::Process,
        stdin: bool,
        detach: bool,
    ) -> Result<(i32, Option<UnixStream>), SpawnError> {
        let request = Request::Exec {
            exec_id: exec_id.to_string(),
            process,
            stdin,
            detach,
        };
        match self.open_stream(&request).await? {
            (Response::Pid { pid }, stream) => Ok((pid, (!detach).then_some(stream))),
            (other, _) => Err(self.unexpected(&other)),
        }
    }

    /// Waits for exec `exec_id` to exit (at once if it has).
    pub async fn exec_wait(&self, exec_id: &str) -> Result<ExitInfo, SpawnError> {
        self.expect_exited(&Request::ExecWait {
            exec_id: exec_id.to_string(),
        })
        .await
    }

    /// Resizes the pty of the container (`exec_id` None) or of an exec.
    pub async fn resize(
        &self,
        exec_id: Option<&str>,
        height: u16,
        width: u16,
    ) -> Result<(), SpawnError> {
        self.expect_ok(&Request::Resize {
            exec_id: exec_id.map(str::to_string),
            height,
            width,
        })
        .await
    }

    /// Closes the container's stdin.
    pub async fn close_stdin(&self) -> Result<(), SpawnError> {
        self.expect_ok(&Request::CloseStdin).await
    }

    /// Deletes the container and ends the shim.
    pub async fn delete(&self) -> Result<(), SpawnError> {
        self.expect_ok(&Request::Delete).await
    }

    async fn expect_ok(&self, request: &Request) -> Result<(), SpawnError> {
        match self.request(request).await? {
            Response::Ok => Ok(()),
            other => Err(self.unexpected(&other)),
        }
    }

    async fn expect_exited(&self, request: &Request) -> Result<ExitInfo, SpawnError> {
        match self.request(request).await? {
            Response::Exited(exit) => Ok(exit),
            other => Err(self.unexpected(&other)),
        }
    }

    fn parse(&self, line: &[u8]) -> Result<Response, SpawnError> {
        serde_json::from_slice(line).map_err(|err| SpawnError::Protocol {
            id: self.id.clone(),
            detail: format!("{err}: `{}`", String::from_utf8_lossy(line).trim_end()),
        })
    }

    fn unexpected(&self, response: &Response) -> SpawnError {
        SpawnError::Protocol {
            id: self.id.clone(),
            detail: format!("{response:?}"),
        }
    }
}

/// Appends what the shim wrote on stderr (if anything, within a second) to `what`.
async fn with_stderr(what: String, stderr: &mut tokio::process::ChildStderr) -> String {
    let mut text = Vec::new();
    let mut limited = stderr.take(MAX_LINE as u64);
    let _ = tokio::time::timeout(Duration::from_secs(1), limited.read_to_end(&mut text)).await;
    let text = String::from_utf8_lossy(&text);
    let text = text.trim();
    if text.is_empty() {
        what
    } else {
        format!("{what}: {text}")
    }
}

/// Reads one line byte by byte, so that nothing after it (frames) is consumed.
async fn read_line_unbuffered(stream: &mut UnixStream) -> std::io::Result<Vec<u8>> {
    let mut line = Vec::new();
    loop {
        let byte = stream.read_u8().await?;
        if byte == b'\n' {
            return Ok(line);
        }
        if line.len() >= MAX_LINE {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the answer line is too long",
            ));
        }
        line.push(byte);
    }
}

/// Reads one frame: `(kind, payload)`, or None at a clean end of stream.
pub async fn read_frame(
    reader: &mut (impl AsyncRead + Unpin),
) -> std::io::Result<Option<(u8, Vec<u8>)>> {
    let mut header = [0u8; 8];
    let mut filled = 0;
    while filled < header.len() {
        match reader.read(&mut header[filled..]).await? {
            0 if filled == 0 => return Ok(None),
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => filled += n,
        }
    }
    let (kind, len) = parse_frame_header(header);
    if len > MAX_FRAME_LEN {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("a frame of {len} bytes is too long"),
        ));
    }
    let mut payload = vec![0u8; len as usize];
    reader.read_exact(&mut payload).await?;
    Ok(Some((kind, payload)))
}

/// Writes one frame of `kind` carrying `payload`.
pub async fn write_frame(
    writer: &mut (impl AsyncWrite + Unpin),
    kind: u8,
    payload: &[u8],
) -> std::io::Result<()> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|len| *len <= MAX_FRAME_LEN)
        .ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "frame payload too long")
        })?;
    writer.write_all(&frame_header(kind, len)).await?;
    writer.write_all(payload).await
}

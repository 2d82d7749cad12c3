//! Attach and interactive exec: the daemon answers `101 Switching Protocols` and the HTTP
//! connection becomes a raw bidirectional stream ("hijacking"). Output comes back
//! multiplexed (no TTY) or raw (TTY); stdin goes up raw, and closing the write side
//! (half-close) is how the process sees end of input.

use bytes::Bytes;
use hyper::{Method, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};

use super::containers::FRAMING_HEADER_VERSION;
use super::query::{segment, Query};
use super::streams::{says_multiplexed, Chunks, Frames};
use super::{json_body, DockerClient, Error};
use crate::codec::Frame;
use crate::types::exec::ExecStartConfig;

type Io = TokioIo<hyper::upgrade::Upgraded>;

/// Options of [`DockerClient::attach_container`].
#[derive(Debug, Clone, Default)]
pub struct AttachOptions {
    /// Send stdin to the container.
    pub stdin: bool,
    /// Receive stdout.
    pub stdout: bool,
    /// Receive stderr.
    pub stderr: bool,
    /// Replay the logs so far first.
    pub logs: bool,
    /// The key sequence that detaches (docker's default `ctrl-p,ctrl-q`).
    pub detach_keys: Option<String>,
}

/// A taken-over connection, split so that output can be read while stdin is written.
#[derive(Debug)]
pub struct Hijacked {
    /// The output side.
    pub reader: HijackedReader,
    /// The input side.
    pub writer: HijackedWriter,
}

/// The output of an attached container or exec.
#[derive(Debug)]
pub struct HijackedReader {
    io: ReadHalf<Io>,
    frames: Frames,
    what: String,
}

/// The read half as [`Chunks`].
struct ReadChunks<'a> {
    io: &'a mut ReadHalf<Io>,
    what: &'a str,
}

impl Chunks for ReadChunks<'_> {
    async fn next_chunk(&mut self) -> Option<Result<Bytes, Error>> {
        let mut buf = vec![0u8; 32 * 1024];
        match self.io.read(&mut buf).await {
            Ok(0) => None,
            // A copy: raw TTY output is handed on as is, and should not pin 32 KiB.
            Ok(n) => Some(Ok(Bytes::copy_from_slice(&buf[..n]))),
            Err(source) => Some(Err(Error::Hijacked {
                what: self.what.to_string(),
                source,
            })),
        }
    }
}

/// The stdin of an attached container or exec.
#[derive(Debug)]
pub struct HijackedWriter {
    io: WriteHalf<Io>,
    what: String,
}

impl HijackedReader {
    /// Whether the output is framed (no TTY).
    pub fn is_multiplexed(&self) -> bool {
        self.frames.is_multiplexed()
    }

    /// The next piece of output (raw TTY output is reported as stdout); `None` once the
    /// daemon closed the stream.
    pub async fn next(&mut self) -> Option<Result<Frame, Error>> {
        let mut source = ReadChunks {
            io: &mut self.io,
            what: &self.what,
        };
        self.frames.next(&mut source).await
    }
}

impl HijackedWriter {
    /// Sends `data` to the process's stdin.
    pub async fn write(&mut self, data: &[u8]) -> Result<(), Error> {
        let result = async {
            self.io.write_all(data).await?;
            self.io.flush().await
        }
        .await;
        result.map_err(|source| Error::Hijacked {
            what: self.what.clone(),
            source,
        })
    }

    /// Closes stdin (half-close): the process reads end of file; output keeps coming.
    pub async fn close(&mut self) -> Result<(), Error> {
        self.io.shutdown().await.map_err(|source| Error::Hijacked {
            what: self.what.clone(),
            source,
        })
    }
}

impl DockerClient {
    /// `POST /containers/{id}/attach` with the connection taken over. `tty` is the
    /// container's: before API 1.42 only it tells whether the output is framed.
    pub async fn attach_container(
        &self,
        id: &str,
        options: &AttachOptions,
        tty: bool,
    ) -> Result<Hijacked, Error> {
        let mut query = Query::new();
        query
            .flag("stream", true)
            .flag("stdin", options.stdin)
            .flag("stdout", options.stdout)
            .flag("stderr", options.stderr)
            .flag("logs", options.logs)
            .opt("detachKeys", options.detach_keys.as_ref());
        let target = query.on(&format!("/containers/{}/attach", segment(id)));
        self.hijack(&target, None, tty).await
    }

    /// `POST /exec/{id}/start` attached, with the connection taken over so that stdin can
    /// be written.
    pub async fn start_exec_hijacked(
        &self,
        id: &str,
        tty: bool,
        console_size: Option<[u32; 2]>,
    ) -> Result<Hijacked, Error> {
        let target = format!("/exec/{}/start", segment(id));
        let config = ExecStartConfig {
            detach: false,
            tty,
            console_size,
        };
        let body = json_body(&config, &target)?;
        self.hijack(&target, Some(body), tty).await
    }

    async fn hijack(
        &self,
        target: &str,
        body: Option<super::Body>,
        tty: bool,
    ) -> Result<Hijacked, Error> {
        let what = format!("POST {target}");
        let headers = [
            ("connection", "Upgrade".to_string()),
            ("upgrade", "tcp".to_string()),
        ];
        let response = self
            .call_with(
                Method::POST,
                target,
                body,
                &headers,
                &[StatusCode::SWITCHING_PROTOCOLS],
                true,
            )
            .await?;
        let multiplexed = says_multiplexed(response.headers())
            || (!tty && self.api_version().await? < FRAMING_HEADER_VERSION);
        let upgraded = hyper::upgrade::on(response)
            .await
            .map_err(|source| Error::Upgrade {
                what: what.clone(),
                source,
            })?;
        let (read, write) = tokio::io::split(TokioIo::new(upgraded));
        Ok(Hijacked {
            reader: HijackedReader {
                io: read,
                frames: Frames::new(multiplexed),
                what: what.clone(),
            },
            writer: HijackedWriter { io: write, what },
        })
    }
}

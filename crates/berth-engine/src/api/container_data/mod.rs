//! Routes: what can be read from or written into a container: logs, stats, top,
//! archive (`docker cp`), export, update, changes.
//!
//! Handlers that move files (archive, export) run the tar work on a blocking thread and
//! stream its output through a bounded channel ([`blocking_body`]), and read uploads
//! through the same kind of channel the other way ([`BodyReader`]), so that a large copy
//! never sits in memory.

mod archive;
mod changes;
mod export;
mod fsview;
mod logs;
mod procfs;
mod stats;
mod top;
mod update;

use std::io;
use std::sync::Arc;

use axum::body::Body;
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::AppState;
use crate::container::Container;
use crate::engine::Engine;
use crate::error::Result;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/containers/{id}/logs", get(logs::logs))
        .route("/containers/{id}/stats", get(stats::stats))
        .route("/containers/{id}/top", get(top::top))
        .route(
            "/containers/{id}/archive",
            get(archive::get_archive)
                .head(archive::head_archive)
                .put(archive::put_archive),
        )
        .route("/containers/{id}/export", get(export::export))
        .route("/containers/{id}/update", post(update::update))
        .route("/containers/{id}/changes", get(changes::changes))
}

/// The container named in the path.
fn lookup(engine: &Engine, id: &str) -> Result<Arc<Container>> {
    engine.containers.get(id)
}

/// The host pid of the container's init while it runs.
fn running_pid(container: &Container) -> Option<i64> {
    container.with(|r| (r.state.is_running() && r.state.pid > 0).then_some(r.state.pid))
}

/// How many chunks a blocking producer may be ahead of the client.
const CHANNEL_CHUNKS: usize = 16;
/// The size of the chunks a blocking producer sends.
const CHUNK_SIZE: usize = 64 * 1024;

/// A `Write` for blocking code whose bytes become a response body. Writing fails with
/// `BrokenPipe` once the client has gone, which stops the producer.
pub(crate) struct ChannelWriter {
    sender: mpsc::Sender<io::Result<Bytes>>,
    buffer: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK_SIZE),
        ));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }

    /// Ends the body with an error: the client sees a truncated transfer rather than a
    /// tar that looks complete.
    pub(crate) fn fail(self, error: io::Error) {
        let _ = self.sender.blocking_send(Err(error));
    }
}

impl io::Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK_SIZE {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

impl Drop for ChannelWriter {
    fn drop(&mut self) {
        let _ = self.send();
    }
}

/// A body fed by blocking code, and the writer that feeds it.
pub(crate) fn blocking_body() -> (Body, ChannelWriter) {
    let (sender, receiver) = mpsc::channel::<io::Result<Bytes>>(CHANNEL_CHUNKS);
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    });
    let writer = ChannelWriter {
        sender,
        buffer: Vec::with_capacity(CHUNK_SIZE),
    };
    (Body::from_stream(stream), writer)
}

/// A blocking `Read` over a request body, fed by a task that pulls the body.
pub(crate) struct BodyReader {
    receiver: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl BodyReader {
    /// Starts pulling `body` (on the current runtime).
    pub(crate) fn new(body: Body) -> Self {
        let (sender, receiver) = mpsc::channel(CHANNEL_CHUNKS);
        tokio::spawn(async move {
            let mut stream = body.into_data_stream();
            while let Some(item) = stream.next().await {
                let item = item.map_err(io::Error::other);
                let failed = item.is_err();
                if sender.send(item).await.is_err() || failed {
                    break;
                }
            }
        });
        BodyReader {
            receiver,
            current: Bytes::new(),
        }
    }
}

impl io::Read for BodyReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.receiver.blocking_recv() {
                Some(chunk) => self.current = chunk?,
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len());
        out[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_blocking_writer_streams_into_a_body_and_a_body_into_a_reader() {
        let (body, mut writer) = blocking_body();
        let producer = tokio::task::spawn_blocking(move || {
            for i in 0..100_000u32 {
                writer.write_all(&i.to_le_bytes()).unwrap();
            }
        });
        let mut reader = BodyReader::new(body);
        let bytes = tokio::task::spawn_blocking(move || {
            let mut all = Vec::new();
            reader.read_to_end(&mut all).unwrap();
            all
        })
        .await
        .unwrap();
        producer.await.unwrap();
        assert_eq!(bytes.len(), 400_000);
        assert_eq!(&bytes[4..8], &1u32.to_le_bytes());
        assert_eq!(&bytes[399_996..], &99_999u32.to_le_bytes());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_fails_once_the_client_is_gone() {
        let (body, mut writer) = blocking_body();
        drop(body);
        let result =
            tokio::task::spawn_blocking(move || writer.write_all(&vec![0u8; CHUNK_SIZE * 2]))
                .await
                .unwrap();
        assert_eq!(result.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    }
}

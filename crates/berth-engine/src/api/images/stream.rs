//! Streamed answers: Docker's JSON progress stream (one `JSONMessage` per line) and raw
//! byte streams (tar archives), both fed through a channel by a task doing the work.

use std::collections::HashMap;
use std::io::Write;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use berth_client::types::progress::{JsonMessage, ProgressDetail};
use berth_image::distribution::{ProgressEvent, ProgressState};
use bytes::Bytes;
use hyper::StatusCode;
use tokio::sync::mpsc;

/// How many chunks may wait in a stream's channel before the producer blocks.
const CHANNEL_DEPTH: usize = 16;

/// The sending end of a JSON progress stream.
#[derive(Debug, Clone)]
pub(crate) struct Messages(mpsc::Sender<Result<Bytes, std::io::Error>>);

impl Messages {
    /// Sends one message; false when the client went away.
    pub(crate) async fn send(&self, message: &JsonMessage) -> bool {
        self.0.send(Ok(json_line(message))).await.is_ok()
    }

    /// Sends a status line.
    pub(crate) async fn status(&self, text: impl Into<String>) -> bool {
        self.send(&JsonMessage::status(text)).await
    }

    /// Ends the stream with an error, Docker's way (`errorDetail` and `error`).
    pub(crate) async fn error(&self, text: impl Into<String>) {
        self.send(&JsonMessage::error(text)).await;
    }
}

/// A channel and the `200 application/json` answer streaming what is sent on it.
pub(crate) fn json_stream() -> (Messages, Response) {
    let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
    (Messages(tx), response(rx, "application/json"))
}

/// One message as a line.
pub(crate) fn json_line(message: &JsonMessage) -> Bytes {
    let mut line = serde_json::to_vec(message).unwrap_or_default();
    line.extend_from_slice(b"\r\n");
    Bytes::from(line)
}

/// A 200 answer of `content_type` whose body is what arrives on `rx`; an `Err` chunk
/// breaks the connection off (the client sees a truncated transfer, not a clean end).
pub(crate) fn response(
    rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
    content_type: &'static str,
) -> Response {
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("Content-Type", content_type)
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// A blocking `Write` into a byte stream's channel (for `save` on a blocking thread).
#[derive(Debug)]
pub(crate) struct ChannelWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buffer: Vec<u8>,
}

/// Bytes gathered before a chunk is sent.
const CHUNK: usize = 256 * 1024;

impl ChannelWriter {
    /// A writer into `tx`.
    pub(crate) fn new(tx: mpsc::Sender<Result<Bytes, std::io::Error>>) -> Self {
        Self {
            tx,
            buffer: Vec::with_capacity(CHUNK),
        }
    }

    /// Breaks the stream off with `error`.
    pub(crate) fn fail(self, error: std::io::Error) {
        let _ = self.tx.blocking_send(Err(error));
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK),
        ));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }
}

/// Turns pull and push progress events into Docker's per-layer messages, dropping
/// repeats of a state that carries no byte counts.
#[derive(Debug, Default)]
pub(crate) struct LayerProgress {
    last: HashMap<String, String>,
}

impl LayerProgress {
    /// The message for `event`, or None when it would repeat the last one.
    pub(crate) fn message(&mut self, event: &ProgressEvent) -> Option<JsonMessage> {
        let label = match &event.state {
            // Docker announces every layer as "Pulling fs layer" before it starts.
            ProgressState::Waiting => "Pulling fs layer".to_string(),
            other => other.label(),
        };
        let bytes = match event.state {
            ProgressState::Downloading { current, total }
            | ProgressState::Pushing { current, total } => Some((current, total)),
            _ => None,
        };
        if bytes.is_none() && self.last.get(&event.id) == Some(&label) {
            return None;
        }
        self.last.insert(event.id.clone(), label.clone());
        Some(JsonMessage {
            status: Some(label),
            progress_detail: Some(match bytes {
                Some((current, total)) => ProgressDetail {
                    current: Some(current as i64),
                    total: Some(total as i64),
                },
                None => ProgressDetail::default(),
            }),
            progress: bytes.map(|(current, total)| bar(current, total)),
            id: Some(event.id.clone()),
            ..JsonMessage::default()
        })
    }
}

/// Docker's rendered bar: `[=====>      ]  1.2MB/3.4MB`.
fn bar(current: u64, total: u64) -> String {
    const WIDTH: u64 = 50;
    let filled = (current.min(total) * WIDTH)
        .checked_div(total)
        .unwrap_or(WIDTH)
        .min(WIDTH);
    let mut bar = "=".repeat(filled as usize);
    if filled < WIDTH {
        bar.push('>');
        bar.push_str(&" ".repeat((WIDTH - filled - 1) as usize));
    } else {
        bar.pop();
        bar.push('>');
    }
    format!("[{bar}] {:>7}/{}", size(current), size(total))
}

/// Decimal sizes with docker's units.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes}B")
    } else {
        format!("{value:.3}{}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_image::digest::Digest;

    #[test]
    fn layer_states_read_as_docker_writes_them() {
        let mut progress = LayerProgress::default();
        let d = Digest::sha256_of(b"layer");
        let first = progress
            .message(&ProgressEvent::new(&d, ProgressState::Waiting))
            .unwrap();
        assert_eq!(first.status.as_deref(), Some("Pulling fs layer"));
        assert_eq!(first.id.as_deref(), Some(&d.hex()[..12]));
        assert!(progress
            .message(&ProgressEvent::new(&d, ProgressState::Waiting))
            .is_none());
        let downloading = progress
            .message(&ProgressEvent::new(
                &d,
                ProgressState::Downloading {
                    current: 500,
                    total: 1000,
                },
            ))
            .unwrap();
        assert_eq!(downloading.progress_detail.unwrap().current, Some(500));
        assert!(downloading.progress.unwrap().contains("500B/1.000kB"));
    }

    #[test]
    fn bars_fill_to_the_total() {
        assert!(bar(10, 10).starts_with(&format!("[{}>]", "=".repeat(49))));
        assert!(bar(0, 10).starts_with("[>"));
    }
}

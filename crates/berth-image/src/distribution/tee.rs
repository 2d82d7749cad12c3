//! Feeding a download to an unpacker in the same pass.
//!
//! The download task writes each chunk to the content-store ingest and sends it down a
//! bounded channel; the unpacker reads the channel on a blocking thread. The reader sees a
//! clean end only when the download completed and verified; a broken download makes it
//! fail, so a half layer is never taken for a whole one.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::pull::{BoxError, LayerInfo, LayerUnpacker};

/// The unpack result of a teed download.
pub(super) type UnpackResult = tokio::task::JoinHandle<Result<(), BoxError>>;

/// Feeds downloaded chunks to an unpacker running on a blocking thread.
pub(super) struct Tee {
    tx: Option<mpsc::Sender<Bytes>>,
    complete: Arc<AtomicBool>,
    handle: UnpackResult,
}

impl Tee {
    pub(super) fn start(unpacker: Arc<dyn LayerUnpacker>, layer: &LayerInfo) -> Self {
        // A few chunks of slack: the download is not held up by every untar write.
        let (tx, rx) = mpsc::channel(16);
        let complete = Arc::new(AtomicBool::new(false));
        let mut reader = ChannelReader {
            rx,
            current: Bytes::new(),
            complete: complete.clone(),
        };
        let layer = layer.clone();
        let handle = tokio::task::spawn_blocking(move || unpacker.unpack(&layer, &mut reader));
        Self {
            tx: Some(tx),
            complete,
            handle,
        }
    }

    pub(super) async fn send(&mut self, chunk: Bytes) {
        if let Some(tx) = &self.tx {
            // The unpacker may stop reading early (end of tar); its result tells.
            if tx.send(chunk).await.is_err() {
                self.tx = None;
            }
        }
    }

    /// The download is complete and verified: the reader sees a clean end.
    pub(super) fn finish(self) -> UnpackResult {
        self.complete.store(true, Ordering::SeqCst);
        drop(self.tx);
        self.handle
    }

    /// The download broke: the reader fails, and the unpacker (which must clean up after a
    /// failed unpack) is waited for so that a later unpack of the layer cannot race it.
    pub(super) async fn abort(self) {
        drop(self.tx);
        let _ = self.handle.await;
    }
}

/// The unpacker's end of a [`Tee`].
struct ChannelReader {
    rx: mpsc::Receiver<Bytes>,
    current: Bytes,
    complete: Arc<AtomicBool>,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None if self.complete.load(Ordering::SeqCst) => return Ok(0),
                None => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "layer download interrupted",
                    ))
                }
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

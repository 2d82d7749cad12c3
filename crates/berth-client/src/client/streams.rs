//! Streamed answers: container output (logs, exec) and JSON streams (progress, events),
//! read as the daemon sends them.

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::CONTENT_TYPE;
use hyper::{HeaderMap, Response};
use serde::de::DeserializeOwned;

use super::Error;
use crate::codec::{Frame, FrameDecoder, JsonStreamDecoder, StreamType};
use crate::types::progress::JsonMessage;

/// The content type of framed (non-TTY) output.
const MULTIPLEXED: &str = "application/vnd.docker.multiplexed-stream";

/// Whether the daemon's `Content-Type` says that container output is framed (API 1.42
/// on; before, it says `raw-stream` for both kinds).
pub(super) fn says_multiplexed(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == MULTIPLEXED.as_bytes())
}

/// Reads the next data chunk of a body; `None` at its end.
async fn next_chunk(body: &mut Incoming, what: &str) -> Option<Result<Bytes, Error>> {
    loop {
        match body.frame().await? {
            Ok(frame) => {
                // Trailers carry no output; skip them.
                if let Ok(data) = frame.into_data() {
                    return Some(Ok(data));
                }
            }
            Err(source) => {
                return Some(Err(Error::Body {
                    what: what.to_string(),
                    source,
                }));
            }
        }
    }
}

/// Where container output comes from: an HTTP body ([`OutputStream`]) or a hijacked
/// connection (attach, interactive exec).
pub(super) trait Chunks {
    /// The next chunk; `None` at the end.
    async fn next_chunk(&mut self) -> Option<Result<Bytes, Error>>;
}

/// A body as [`Chunks`].
struct BodyChunks<'a> {
    body: &'a mut Incoming,
    what: &'a str,
}

impl Chunks for BodyChunks<'_> {
    async fn next_chunk(&mut self) -> Option<Result<Bytes, Error>> {
        next_chunk(self.body, self.what).await
    }
}

/// Container output turned into frames, wherever its chunks come from: multiplexed
/// frames decoded for a container without a TTY, each chunk as stdout for one with a TTY.
#[derive(Debug)]
pub(super) struct Frames {
    /// `None` for raw TTY output.
    decoder: Option<FrameDecoder>,
    done: bool,
}

impl Frames {
    pub(super) fn new(multiplexed: bool) -> Frames {
        Frames {
            decoder: multiplexed.then(FrameDecoder::new),
            done: false,
        }
    }

    /// Whether the output is framed (no TTY).
    pub(super) fn is_multiplexed(&self) -> bool {
        self.decoder.is_some()
    }

    /// The next frame, reading from `source` as needed; `None` once it ended (an error
    /// first if it ended inside a frame).
    pub(super) async fn next(&mut self, source: &mut impl Chunks) -> Option<Result<Frame, Error>> {
        if self.done {
            return None;
        }
        loop {
            if let Some(decoder) = &mut self.decoder {
                match decoder.next_frame() {
                    Ok(Some(frame)) => return Some(Ok(frame)),
                    Ok(None) => {}
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e.into()));
                    }
                }
            }
            match source.next_chunk().await {
                Some(Ok(data)) => match &mut self.decoder {
                    Some(decoder) => decoder.push(&data),
                    None => {
                        return Some(Ok(Frame {
                            stream: StreamType::Stdout,
                            data,
                        }))
                    }
                },
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                None => {
                    self.done = true;
                    return match self.decoder.as_ref().map(FrameDecoder::finish) {
                        Some(Err(e)) => Some(Err(e.into())),
                        _ => None,
                    };
                }
            }
        }
    }
}

/// Container output (logs, attached exec): multiplexed frames for a container without a
/// TTY, raw bytes (reported as stdout) for one with a TTY. From API 1.42 the daemon says
/// which in its `Content-Type`; before, it says `raw-stream` for both and the caller must
/// know whether there is a TTY.
#[derive(Debug)]
pub struct OutputStream {
    body: Incoming,
    frames: Frames,
    what: String,
}

impl OutputStream {
    /// `framed_without_header`: whether the output is framed when the daemon's
    /// `Content-Type` does not say so (API < 1.42: true if there is no TTY).
    pub(crate) fn new(
        response: Response<Incoming>,
        what: String,
        framed_without_header: bool,
    ) -> OutputStream {
        let multiplexed = says_multiplexed(response.headers()) || framed_without_header;
        OutputStream {
            body: response.into_body(),
            frames: Frames::new(multiplexed),
            what,
        }
    }

    /// Whether the output is framed (no TTY).
    pub fn is_multiplexed(&self) -> bool {
        self.frames.is_multiplexed()
    }

    /// The next piece of output; `None` once the daemon closed the stream.
    pub async fn next(&mut self) -> Option<Result<Frame, Error>> {
        let mut source = BodyChunks {
            body: &mut self.body,
            what: &self.what,
        };
        self.frames.next(&mut source).await
    }

    /// Reads to the end: (stdout, stderr). A daemon-side error frame becomes an error.
    pub async fn collect(mut self) -> Result<(Vec<u8>, Vec<u8>), Error> {
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        while let Some(frame) = self.next().await {
            let frame = frame?;
            match frame.stream {
                StreamType::Stdout | StreamType::Stdin => stdout.extend_from_slice(&frame.data),
                StreamType::Stderr => stderr.extend_from_slice(&frame.data),
                StreamType::SystemErr => {
                    return Err(Error::Stream {
                        message: String::from_utf8_lossy(&frame.data).into_owned(),
                    })
                }
            }
        }
        Ok((stdout, stderr))
    }
}

/// A stream of JSON values: progress messages or events.
#[derive(Debug)]
pub struct JsonStream<T> {
    body: Incoming,
    decoder: JsonStreamDecoder<T>,
    what: String,
    done: bool,
}

impl<T: DeserializeOwned> JsonStream<T> {
    pub(crate) fn new(response: Response<Incoming>, what: String) -> JsonStream<T> {
        JsonStream {
            body: response.into_body(),
            decoder: JsonStreamDecoder::new(),
            what,
            done: false,
        }
    }

    /// The next value; `None` once the daemon closed the stream.
    pub async fn next(&mut self) -> Option<Result<T, Error>> {
        if self.done {
            return None;
        }
        loop {
            match self.decoder.next_value() {
                Ok(Some(value)) => return Some(Ok(value)),
                Ok(None) => {}
                Err(e) => {
                    self.done = true;
                    return Some(Err(e.into()));
                }
            }
            match next_chunk(&mut self.body, &self.what).await {
                Some(Ok(data)) => self.decoder.push(&data),
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                None => {
                    self.done = true;
                    return self.decoder.finish().err().map(|e| Err(e.into()));
                }
            }
        }
    }
}

impl JsonStream<JsonMessage> {
    /// Reads a progress stream to the end and returns its messages; the first message
    /// that reports a failure becomes [`Error::Stream`].
    pub async fn finish(mut self) -> Result<Vec<JsonMessage>, Error> {
        let mut messages = Vec::new();
        while let Some(message) = self.next().await {
            let message = message?;
            if let Some(failure) = message.error_message() {
                return Err(Error::Stream {
                    message: failure.to_string(),
                });
            }
            messages.push(message);
        }
        Ok(messages)
    }
}

/// A body of plain bytes read as it arrives: a tar archive (export, archive get).
#[derive(Debug)]
pub struct ByteStream {
    body: Incoming,
    what: String,
}

impl ByteStream {
    pub(crate) fn new(response: Response<Incoming>, what: String) -> ByteStream {
        ByteStream {
            body: response.into_body(),
            what,
        }
    }

    /// The next chunk; `None` at the end.
    pub async fn next(&mut self) -> Option<Result<Bytes, Error>> {
        next_chunk(&mut self.body, &self.what).await
    }

    /// Reads to the end.
    pub async fn collect(mut self) -> Result<Vec<u8>, Error> {
        let mut all = Vec::new();
        while let Some(chunk) = self.next().await {
            all.extend_from_slice(&chunk?);
        }
        Ok(all)
    }
}

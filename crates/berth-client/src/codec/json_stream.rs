//! JSON streams: one JSON value after another, as pull/push/build progress and events
//! are sent. Docker writes each value followed by `\n`, but values are also accepted back
//! to back or split anywhere across reads.

use std::marker::PhantomData;

use bytes::{Buf, BytesMut};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A value in the stream that is not the expected JSON.
#[derive(Debug, thiserror::Error)]
#[error("invalid value in a JSON stream: {snippet}")]
pub struct JsonStreamError {
    /// The start of the offending bytes.
    pub snippet: String,
    /// The parser's complaint.
    #[source]
    pub source: serde_json::Error,
}

/// Encodes `value` as one line of a JSON stream.
pub fn encode_json_line<T: Serialize>(value: &T, out: &mut Vec<u8>) -> serde_json::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.push(b'\n');
    Ok(())
}

/// Decodes a JSON stream of `T` from bytes that arrive in pieces.
#[derive(Debug)]
pub struct JsonStreamDecoder<T> {
    buf: BytesMut,
    _values: PhantomData<fn() -> T>,
}

impl<T> Default for JsonStreamDecoder<T> {
    fn default() -> Self {
        JsonStreamDecoder {
            buf: BytesMut::new(),
            _values: PhantomData,
        }
    }
}

impl<T: DeserializeOwned> JsonStreamDecoder<T> {
    /// An empty decoder.
    pub fn new() -> JsonStreamDecoder<T> {
        JsonStreamDecoder::default()
    }

    /// Adds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete value, `Ok(None)` if more bytes are needed.
    pub fn next_value(&mut self) -> Result<Option<T>, JsonStreamError> {
        let skip = self
            .buf
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
        self.buf.advance(skip);
        if self.buf.is_empty() {
            return Ok(None);
        }
        let mut values = serde_json::Deserializer::from_slice(&self.buf).into_iter::<T>();
        match values.next() {
            Some(Ok(value)) => {
                let used = values.byte_offset();
                self.buf.advance(used);
                Ok(Some(value))
            }
            // An incomplete value: wait for the rest.
            Some(Err(e)) if e.is_eof() => Ok(None),
            Some(Err(source)) => Err(self.error(source)),
            None => Ok(None),
        }
    }

    /// Call at the end of the stream: an error if a partial value is left.
    pub fn finish(&mut self) -> Result<(), JsonStreamError> {
        let skip = self
            .buf
            .iter()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
        self.buf.advance(skip);
        if self.buf.is_empty() {
            return Ok(());
        }
        match serde_json::from_slice::<T>(&self.buf) {
            Ok(_) => Ok(()),
            Err(source) => Err(self.error(source)),
        }
    }

    fn error(&self, source: serde_json::Error) -> JsonStreamError {
        let end = self.buf.len().min(120);
        JsonStreamError {
            snippet: String::from_utf8_lossy(&self.buf[..end]).into_owned(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::progress::{JsonMessage, ProgressDetail};

    fn pull_messages() -> Vec<JsonMessage> {
        vec![
            JsonMessage::status("Pulling from library/busybox"),
            JsonMessage {
                status: Some("Downloading".into()),
                id: Some("a1b2c3".into()),
                progress_detail: Some(ProgressDetail {
                    current: Some(512),
                    total: Some(2048),
                }),
                progress: Some("[====>   ] 512B/2.048kB".into()),
                ..JsonMessage::default()
            },
            JsonMessage::error("manifest unknown"),
        ]
    }

    #[test]
    fn round_trips_split_anywhere() {
        let messages = pull_messages();
        let mut bytes = Vec::new();
        for m in &messages {
            encode_json_line(m, &mut bytes).unwrap();
        }
        for chunk in [1, 2, 5, 17, bytes.len()] {
            let mut decoder = JsonStreamDecoder::<JsonMessage>::new();
            let mut got = Vec::new();
            for piece in bytes.chunks(chunk) {
                decoder.push(piece);
                while let Some(m) = decoder.next_value().unwrap() {
                    got.push(m);
                }
            }
            decoder.finish().unwrap();
            assert_eq!(got, messages, "chunks of {chunk}");
        }
    }

    #[test]
    fn reads_docker_wire_names_and_values_back_to_back() {
        let wire = br#"{"status":"Downloading","progressDetail":{"current":1,"total":2},"id":"x"}{"errorDetail":{"message":"boom"},"error":"boom"}"#;
        let mut decoder = JsonStreamDecoder::<JsonMessage>::new();
        decoder.push(wire);
        let first = decoder.next_value().unwrap().unwrap();
        assert_eq!(first.progress_detail.unwrap().total, Some(2));
        let second = decoder.next_value().unwrap().unwrap();
        assert_eq!(second.error_message(), Some("boom"));
        assert!(decoder.next_value().unwrap().is_none());
    }

    #[test]
    fn reports_garbage_and_truncation() {
        let mut decoder = JsonStreamDecoder::<JsonMessage>::new();
        decoder.push(b"not json\n");
        assert!(decoder.next_value().is_err());

        let mut decoder = JsonStreamDecoder::<JsonMessage>::new();
        decoder.push(br#"{"status":"Down"#);
        assert!(decoder.next_value().unwrap().is_none());
        assert!(decoder.finish().is_err());
    }
}

//! The multiplexed stdout/stderr framing of attach, logs and exec without a TTY.
//!
//! Each frame is an 8-byte header — stream type (0 stdin, 1 stdout, 2 stderr, 3 a
//! daemon-side error), three zero bytes, the payload length as a big-endian u32 — then
//! the payload. With a TTY there is no framing: the bytes are the terminal's.

use bytes::{Buf, Bytes, BytesMut};

/// Size of a frame header.
pub const HEADER_LEN: usize = 8;

/// Which stream a frame belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamType {
    /// Standard input (written by clients on a hijacked connection, never framed back).
    Stdin,
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
    /// A daemon-side error that ended the stream (API 1.42+).
    SystemErr,
}

impl StreamType {
    /// The header byte.
    pub fn to_byte(self) -> u8 {
        match self {
            StreamType::Stdin => 0,
            StreamType::Stdout => 1,
            StreamType::Stderr => 2,
            StreamType::SystemErr => 3,
        }
    }

    /// The stream of a header byte, `None` for an unknown one.
    pub fn from_byte(byte: u8) -> Option<StreamType> {
        match byte {
            0 => Some(StreamType::Stdin),
            1 => Some(StreamType::Stdout),
            2 => Some(StreamType::Stderr),
            3 => Some(StreamType::SystemErr),
            _ => None,
        }
    }
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Its stream.
    pub stream: StreamType,
    /// Its bytes.
    pub data: Bytes,
}

/// A byte sequence that is not the multiplexed framing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The first header byte is not a stream type; often a TTY stream read as framed.
    #[error("invalid stream type {0} in a multiplexed stream header (is the container a TTY?)")]
    StreamType(u8),
    /// The padding bytes are not zero.
    #[error("invalid multiplexed stream header {0:02x?}: bytes 1-3 must be zero")]
    Padding([u8; HEADER_LEN]),
    /// The stream ended inside a frame.
    #[error("the multiplexed stream ended inside a frame ({0} bytes left over)")]
    Truncated(usize),
    /// A payload longer than a u32 can say.
    #[error("a frame of {0} bytes is too long for the multiplexed framing")]
    TooLong(usize),
}

/// Encodes `data` as one frame of `stream` into `out`.
pub fn encode_frame(stream: StreamType, data: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
    let len = u32::try_from(data.len()).map_err(|_| FrameError::TooLong(data.len()))?;
    out.reserve(HEADER_LEN + data.len());
    out.extend_from_slice(&[stream.to_byte(), 0, 0, 0]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
    Ok(())
}

/// Decodes frames from bytes that arrive in arbitrary pieces (a header or payload may be
/// split across reads).
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: BytesMut,
}

impl FrameDecoder {
    /// An empty decoder.
    pub fn new() -> FrameDecoder {
        FrameDecoder::default()
    }

    /// Adds received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame, `Ok(None)` if more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if self.buf.len() < HEADER_LEN {
            return Ok(None);
        }
        let mut header = [0u8; HEADER_LEN];
        header.copy_from_slice(&self.buf[..HEADER_LEN]);
        let stream = StreamType::from_byte(header[0]).ok_or(FrameError::StreamType(header[0]))?;
        if header[1..4] != [0, 0, 0] {
            return Err(FrameError::Padding(header));
        }
        let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
        if self.buf.len() < HEADER_LEN + len {
            return Ok(None);
        }
        self.buf.advance(HEADER_LEN);
        let data = self.buf.split_to(len).freeze();
        Ok(Some(Frame { stream, data }))
    }

    /// Call at the end of the stream: an error if a partial frame is left.
    pub fn finish(&self) -> Result<(), FrameError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(FrameError::Truncated(self.buf.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(frames: &[(StreamType, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (stream, data) in frames {
            encode_frame(*stream, data, &mut out).unwrap();
        }
        out
    }

    #[test]
    fn header_layout_matches_docker() {
        let bytes = encoded(&[(StreamType::Stderr, b"hello")]);
        assert_eq!(bytes, b"\x02\x00\x00\x00\x00\x00\x00\x05hello");
        let big = vec![b'x'; 0x01_0203];
        let bytes = encoded(&[(StreamType::Stdout, &big)]);
        assert_eq!(&bytes[..8], &[1, 0, 0, 0, 0, 0x01, 0x02, 0x03]);
    }

    #[test]
    fn decodes_frames_split_at_every_byte() {
        let frames: [(StreamType, &[u8]); 4] = [
            (StreamType::Stdout, b"line one\n"),
            (StreamType::Stderr, b"oops\n"),
            (StreamType::Stdout, b""),
            (StreamType::SystemErr, b"daemon error"),
        ];
        let bytes = encoded(&frames);
        for chunk in [1, 3, 7, 8, 9, 13, bytes.len()] {
            let mut decoder = FrameDecoder::new();
            let mut got = Vec::new();
            for piece in bytes.chunks(chunk) {
                decoder.push(piece);
                while let Some(frame) = decoder.next_frame().unwrap() {
                    got.push(frame);
                }
            }
            decoder.finish().unwrap();
            let want: Vec<Frame> = frames
                .iter()
                .map(|(stream, data)| Frame {
                    stream: *stream,
                    data: Bytes::copy_from_slice(data),
                })
                .collect();
            assert_eq!(got, want, "chunks of {chunk}");
        }
    }

    #[test]
    fn rejects_what_is_not_framed() {
        let mut decoder = FrameDecoder::new();
        decoder.push(b"hello world\n");
        assert_eq!(decoder.next_frame(), Err(FrameError::StreamType(b'h')));

        let mut decoder = FrameDecoder::new();
        decoder.push(&[1, 0, 9, 0, 0, 0, 0, 1, b'x']);
        assert!(matches!(decoder.next_frame(), Err(FrameError::Padding(_))));

        let mut decoder = FrameDecoder::new();
        decoder.push(&[1, 0, 0, 0, 0, 0, 0, 5, b'a', b'b']);
        assert_eq!(decoder.next_frame(), Ok(None));
        assert_eq!(decoder.finish(), Err(FrameError::Truncated(10)));
    }
}

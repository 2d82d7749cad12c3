//! Stream framings of the Engine API: the multiplexed stdout/stderr framing and JSON
//! streams. Both are sans-I/O: push bytes in, take frames or values out.

pub mod json_stream;
pub mod mux;

pub use json_stream::{encode_json_line, JsonStreamDecoder, JsonStreamError};
pub use mux::{encode_frame, Frame, FrameDecoder, FrameError, StreamType};

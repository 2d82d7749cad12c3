//! Where the container's output is logged: the json-file writer of [`crate::jsonlog`]
//! (or nothing, for `--log-driver none`), behind the small [`LogSink`] the shim needs.

use crate::jsonlog::{LogWriter, Stream};

/// Stream number of standard error, as passed to [`LogSink::write`] (1 is stdout).
pub(super) const STDERR: u8 = 2;

/// The shim's view of a log.
pub(super) trait LogSink {
    /// Logs `bytes` written by the container on `stream` (1 stdout, 2 stderr).
    fn write(&mut self, stream: u8, bytes: &[u8]);
    /// The output ended: log what is left of unfinished lines.
    fn close(&mut self);
}

/// `--log-driver none`.
pub(super) struct Discard;

impl LogSink for Discard {
    fn write(&mut self, _stream: u8, _bytes: &[u8]) {}
    fn close(&mut self) {}
}

impl LogSink for LogWriter {
    fn write(&mut self, stream: u8, bytes: &[u8]) {
        let stream = if stream == STDERR {
            Stream::Stderr
        } else {
            Stream::Stdout
        };
        // A full disk must not stop the container: the output still reaches attached
        // clients, and the log picks up again when there is room.
        let _ = LogWriter::write(self, stream, bytes);
    }

    fn close(&mut self) {
        let _ = LogWriter::close(self);
    }
}

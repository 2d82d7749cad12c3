//! Docker's json-file log driver: one JSON object per line,
//! `{"log":"text\n","stream":"stdout","time":"2024-01-02T03:04:05.123456789Z"}`,
//! rotated to `<path>.1`, `<path>.2`, ... when `max-size` is reached.
//!
//! ## Writing ([`LogWriter`])
//!
//! The container's output is cut into entries the way dockerd's log copier cuts it: each
//! complete line (with its `\n`) is one entry; a line longer than 16 KiB is cut into 16 KiB
//! pieces written without a `\n` (Docker's "partial" messages; every piece of one line gets
//! the time of its first piece); what is left when the writer closes is written without a
//! `\n` too. Lines are buffered per stream, so stdout and stderr never mix within a line.
//!
//! The bytes on disk are the ones dockerd writes: the same key order, the same escaping
//! (`<`, `>`, `&`, U+2028, U+2029 and control characters as `\u00XX`), each byte that is not
//! part of valid UTF-8 written as `\ufffd`, and the time in Go's `RFC3339Nano` (UTC,
//! trailing zeros of the fraction dropped). dockerd can read berth's logs and the other way
//! round.
//!
//! Rotation follows dockerd: before an entry is written, if the live file has reached
//! `max_size`, `<path>.N-1` becomes `<path>.N`, ..., `<path>` becomes `<path>.1` and a new
//! `<path>` is started, so at most `max_files` files exist; with `max_files == 1` the live
//! file is truncated in place instead. A file thus ends a little past `max_size` (by at most
//! one entry), as dockerd's do.
//!
//! ## Reading ([`read_all`], [`read_logs`], [`follow`])
//!
//! Files are read oldest first (`<path>.N`, ..., `<path>.1`, `<path>`), and only lines that
//! end in `\n` are taken from the live file (the writer may be half way through one). A
//! line that is not a json-file entry (bad JSON, unknown stream, bad time) is skipped and
//! counted instead of failing the read: one damaged line (a crash mid-write, a full disk)
//! must not hide the rest of a container's log. Times are read in UTC only (`Z` or
//! `+00:00`), which is what dockerd writes.
//!
//! The follower polls (every [`POLL_INTERVAL`]) rather than using inotify: it is one
//! blocking thread per follower, and a rename or a write is noticed within one interval.
//! It notices a rotation by the live path naming another inode, reads the old file to its
//! end, then the files rotated after it, then the new live file, so no line is lost or read
//! twice unless the writer deletes a file (rotation past `max_files`) before the follower
//! has opened it.

mod encode;
mod follow;
mod lines;
mod reader;
mod snapshot;
mod writer;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

pub use follow::follow;
pub use reader::{read_all, read_logs, LogRead, ReadOptions};
pub use writer::LogWriter;

/// How long the follower sleeps when it has read everything there is.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// The longest entry the writer cuts a line into (dockerd's copier buffer size).
pub const MAX_ENTRY_LINE: usize = 16 * 1024;

/// Which output of the container an entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Standard output (all of a tty's output).
    Stdout,
    /// Standard error.
    Stderr,
}

impl Stream {
    /// The name in the `stream` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Which output it came from.
    pub stream: Stream,
    /// The output bytes: a line with its `\n`, or a piece of one without.
    pub line: Vec<u8>,
    /// When the shim read it.
    pub time: SystemTime,
    /// `time` as `docker logs --timestamps` prints it: RFC 3339, UTC, always nine digits of
    /// fraction (`2024-01-02T03:04:05.120000000Z`).
    pub time_text: String,
}

/// What went wrong with a json-file log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// `max_size` must be at least one byte.
    #[error("invalid log options for `{path}`: max-size must be a positive number")]
    ZeroMaxSize {
        /// The log file.
        path: PathBuf,
    },
    /// `max_files` must be at least one.
    #[error("invalid log options for `{path}`: max-file cannot be less than 1")]
    ZeroMaxFiles {
        /// The log file.
        path: PathBuf,
    },
    /// The log file could not be opened or created.
    #[error("failed to open log file `{path}`")]
    Open {
        /// The log file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// An entry could not be written.
    #[error("failed to write to log file `{path}`")]
    Write {
        /// The log file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A rotation step (rename or truncate) failed.
    #[error("failed to rotate log file `{from}` to `{to}`")]
    Rotate {
        /// The file being moved (or truncated, when `from == to`).
        from: PathBuf,
        /// Where it was going.
        to: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A log file could not be read.
    #[error("failed to read log file `{path}`")]
    Read {
        /// The log file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Lines that are not json-file entries were skipped. Only the follower reports this
    /// (as an item of its stream, after which it goes on); [`read_logs`] counts them.
    #[error("skipped {lines} corrupt line(s) in log `{path}`")]
    Corrupt {
        /// The live log file's path (the line may have been in a rotated file).
        path: PathBuf,
        /// How many lines.
        lines: u64,
    },
}

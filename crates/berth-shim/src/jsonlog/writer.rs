//! [`LogWriter`]: the container's output into a json-file log.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::encode::encode_entry;
use super::snapshot::rotated_name;
use super::{LogError, Stream, MAX_ENTRY_LINE};

/// dockerd's log file mode.
const LOG_FILE_MODE: u32 = 0o640;

/// Writes a container's output as a json-file log (see the [module docs](super)).
///
/// Every entry is one `write(2)` to a file opened with `O_APPEND`, with no buffering in
/// between, so a reader sees it at once. Meant for one thread (the shim's output loop).
/// [`LogWriter::close`] writes the unfinished lines; dropping the writer does the same,
/// ignoring errors.
#[derive(Debug)]
pub struct LogWriter {
    path: PathBuf,
    file: File,
    /// Bytes in the live file (dockerd's count: it ignores anyone else writing to it).
    size: u64,
    max_size: Option<u64>,
    max_files: u32,
    stdout: PendingLine,
    stderr: PendingLine,
    /// The entry being encoded, kept to reuse its allocation.
    encoded: Vec<u8>,
}

/// The part of a stream's output that is not a complete line yet.
#[derive(Debug, Default)]
struct PendingLine {
    bytes: Vec<u8>,
    /// Set once a piece of this line went out as a partial entry: the later pieces carry
    /// the same time, as dockerd's copier gives them.
    first_piece_time: Option<SystemTime>,
}

/// Where entry times come from.
#[derive(Clone, Copy)]
enum Clock {
    Now,
    At(SystemTime),
}

impl Clock {
    fn time(self) -> SystemTime {
        match self {
            Clock::Now => SystemTime::now(),
            Clock::At(time) => time,
        }
    }
}

impl LogWriter {
    /// Opens (creating it if needed) the log at `path` for appending. `max_size` is the size
    /// at which the live file is rotated (None = never); `max_files` how many files to keep,
    /// the live one included (1 = truncate the live file in place).
    pub fn open(path: &Path, max_size: Option<u64>, max_files: u32) -> Result<Self, LogError> {
        if max_size == Some(0) {
            return Err(LogError::ZeroMaxSize {
                path: path.to_path_buf(),
            });
        }
        if max_files == 0 {
            return Err(LogError::ZeroMaxFiles {
                path: path.to_path_buf(),
            });
        }
        let file = open_live(path)?;
        let mut writer = LogWriter {
            path: path.to_path_buf(),
            size: 0,
            file,
            max_size,
            max_files,
            stdout: PendingLine::default(),
            stderr: PendingLine::default(),
            encoded: Vec::new(),
        };
        writer.size = writer.end_last_line()?;
        Ok(writer)
    }

    /// Logs output of `stream` read now.
    pub fn write(&mut self, stream: Stream, bytes: &[u8]) -> Result<(), LogError> {
        self.push(stream, bytes, Clock::Now)
    }

    /// Logs output of `stream` as read at `time` (for tests and imports).
    pub fn write_at(
        &mut self,
        stream: Stream,
        bytes: &[u8],
        time: SystemTime,
    ) -> Result<(), LogError> {
        self.push(stream, bytes, Clock::At(time))
    }

    /// Writes each stream's unfinished line as an entry without `\n` (the stream ended).
    /// The writer can still be used afterwards.
    pub fn close(&mut self) -> Result<(), LogError> {
        self.flush_pending(Stream::Stdout, Clock::Now)?;
        self.flush_pending(Stream::Stderr, Clock::Now)
    }

    /// The live file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn push(&mut self, stream: Stream, bytes: &[u8], clock: Clock) -> Result<(), LogError> {
        let mut pending = std::mem::take(self.pending_mut(stream));
        pending.bytes.extend_from_slice(bytes);
        let result = self.write_complete(stream, &mut pending, clock);
        *self.pending_mut(stream) = pending;
        result
    }

    /// Writes the complete lines of `pending`, cutting lines longer than
    /// [`MAX_ENTRY_LINE`] the way dockerd's copier does: it fills a 16 KiB buffer and
    /// sends it whole when there is no `\n` in it. Bytes written (or lost to a failed
    /// write) leave `pending`, so nothing is written twice.
    fn write_complete(
        &mut self,
        stream: Stream,
        pending: &mut PendingLine,
        clock: Clock,
    ) -> Result<(), LogError> {
        let mut start = 0;
        let mut result = Ok(());
        while result.is_ok() {
            let rest = &pending.bytes[start..];
            let window = &rest[..rest.len().min(MAX_ENTRY_LINE)];
            let (piece_len, time) = if let Some(nl) = window.iter().position(|&b| b == b'\n') {
                let time = pending
                    .first_piece_time
                    .take()
                    .unwrap_or_else(|| clock.time());
                (nl + 1, time)
            } else if rest.len() >= MAX_ENTRY_LINE {
                let time = *pending.first_piece_time.get_or_insert_with(|| clock.time());
                (MAX_ENTRY_LINE, time)
            } else {
                break;
            };
            result = self.write_entry(stream, &rest[..piece_len], time);
            start += piece_len;
        }
        pending.bytes.drain(..start);
        result
    }

    fn flush_pending(&mut self, stream: Stream, clock: Clock) -> Result<(), LogError> {
        let pending = std::mem::take(self.pending_mut(stream));
        if pending.bytes.is_empty() {
            return Ok(());
        }
        let time = pending.first_piece_time.unwrap_or_else(|| clock.time());
        self.write_entry(stream, &pending.bytes, time)
    }

    fn pending_mut(&mut self, stream: Stream) -> &mut PendingLine {
        match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        }
    }

    fn write_entry(
        &mut self,
        stream: Stream,
        line: &[u8],
        time: SystemTime,
    ) -> Result<(), LogError> {
        // dockerd checks before each entry whether the file has reached max-size.
        if self.max_size.is_some_and(|max| self.size >= max) {
            self.rotate()?;
        }
        let mut encoded = std::mem::take(&mut self.encoded);
        encoded.clear();
        encode_entry(&mut encoded, stream, line, time);
        let written = self.file.write_all(&encoded);
        self.encoded = encoded;
        written.map_err(|source| LogError::Write {
            path: self.path.clone(),
            source,
        })?;
        self.size += self.encoded.len() as u64;
        Ok(())
    }

    /// `<path>.N-1` -> `<path>.N`, ..., `<path>` -> `<path>.1`, new `<path>`; or truncates
    /// `<path>` in place when only one file is kept.
    fn rotate(&mut self) -> Result<(), LogError> {
        if self.max_files <= 1 {
            self.file.set_len(0).map_err(|source| LogError::Rotate {
                from: self.path.clone(),
                to: self.path.clone(),
                source,
            })?;
            self.size = 0;
            return Ok(());
        }
        for index in (1..self.max_files).rev() {
            let from = rotated_name(&self.path, index - 1);
            let to = rotated_name(&self.path, index);
            match std::fs::rename(&from, &to) {
                Ok(()) => {}
                // Fewer files than max_files so far (or the live file was deleted: a new
                // one is started all the same).
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => return Err(LogError::Rotate { from, to, source }),
            }
        }
        self.file = open_live(&self.path)?;
        self.size = 0;
        Ok(())
    }

    /// The live file's size, after ending an unfinished last line (left by a writer that
    /// died mid-entry) so that the next entry starts on a line of its own.
    fn end_last_line(&mut self) -> Result<u64, LogError> {
        let read_error = |source| LogError::Read {
            path: self.path.clone(),
            source,
        };
        let len = self.file.metadata().map_err(read_error)?.len();
        if len == 0 {
            return Ok(0);
        }
        let mut last = [0];
        self.file
            .read_exact_at(&mut last, len - 1)
            .map_err(read_error)?;
        if last[0] == b'\n' {
            return Ok(len);
        }
        self.file
            .write_all(b"\n")
            .map_err(|source| LogError::Write {
                path: self.path.clone(),
                source,
            })?;
        Ok(len + 1)
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        // The output's end must not be lost because a caller forgot close(); there is no
        // one to tell about an error here.
        let _ = self.close();
    }
}

fn open_live(path: &Path) -> Result<File, LogError> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(LOG_FILE_MODE)
        .open(path)
        .map_err(|source| LogError::Open {
            path: path.to_path_buf(),
            source,
        })
}

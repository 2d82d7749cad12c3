//! Reading a log that may still be written: [`read_all`] and [`read_logs`], and the
//! starting point of [`super::follow`].

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::ops::ControlFlow;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::SystemTime;

use super::encode::decode_entry;
use super::lines::{for_each_line_rev, last_newline, LineCursor};
use super::snapshot::{open_all, FileId, OpenLog};
use super::{LogEntry, LogError};

/// Which entries to read (the query of `GET /containers/{id}/logs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// Only entries at or after this time.
    pub since: Option<SystemTime>,
    /// Only entries at or before this time (a follower ends at the first entry after it).
    pub until: Option<SystemTime>,
    /// Only the last this many entries that pass the other filters; None = all of them.
    pub tail: Option<usize>,
    /// Whether the caller wants to follow: [`read_all`] ignores it and
    /// [`super::follow`] always follows; it travels with the other options for the caller.
    pub follow: bool,
    /// Entries from standard output.
    pub stdout: bool,
    /// Entries from standard error.
    pub stderr: bool,
}

impl Default for ReadOptions {
    /// Everything, both streams, no follow.
    fn default() -> Self {
        ReadOptions {
            since: None,
            until: None,
            tail: None,
            follow: false,
            stdout: true,
            stderr: true,
        }
    }
}

impl ReadOptions {
    /// Whether `entry` passes the stream and time filters.
    pub(crate) fn accepts(&self, entry: &LogEntry) -> bool {
        let stream_wanted = match entry.stream {
            super::Stream::Stdout => self.stdout,
            super::Stream::Stderr => self.stderr,
        };
        stream_wanted
            && self.since.is_none_or(|since| entry.time >= since)
            && !self.is_past_until(entry)
    }

    /// Whether `entry` is later than `until`.
    pub(crate) fn is_past_until(&self, entry: &LogEntry) -> bool {
        self.until.is_some_and(|until| entry.time > until)
    }
}

/// What [`read_logs`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogRead {
    /// The entries, oldest first.
    pub entries: Vec<LogEntry>,
    /// How many lines were skipped as not json-file entries (only those looked at: a tail
    /// read stops early).
    pub corrupt_lines: u64,
}

/// The entries of the log at `path` (and its rotated files) that `opts` selects, oldest
/// first; lines that are not entries are skipped (see [`read_logs`] for their count). A log
/// that does not exist (a container never started) is empty.
pub fn read_all(path: &Path, opts: &ReadOptions) -> Result<Vec<LogEntry>, LogError> {
    Ok(read_logs(path, opts)?.entries)
}

/// Like [`read_all`], also counting the lines skipped as corrupt.
pub fn read_logs(path: &Path, opts: &ReadOptions) -> Result<LogRead, LogError> {
    Ok(read_initial(path, opts)?.read)
}

/// What is there when a read starts.
#[derive(Debug)]
pub(crate) struct Initial {
    pub(crate) read: LogRead,
    pub(crate) newest: Option<NewestCursor>,
    /// Whether an entry later than `until` was seen: a follower is done.
    pub(crate) past_until: bool,
}

/// Where a follower goes on after the initial read: the newest file read (the live one
/// unless the read fell inside a rotation), just past the last line read.
#[derive(Debug)]
pub(crate) struct NewestCursor {
    pub(crate) cursor: LineCursor,
    pub(crate) id: FileId,
}

/// Reads what is there now, and where the live file was left.
pub(crate) fn read_initial(path: &Path, opts: &ReadOptions) -> Result<Initial, LogError> {
    let files = open_all(path)?;
    match opts.tail {
        None => read_forward(files, opts),
        Some(tail) => read_tail(files, opts, tail),
    }
}

/// Everything, oldest file first.
fn read_forward(files: Vec<OpenLog>, opts: &ReadOptions) -> Result<Initial, LogError> {
    let mut read = Initial {
        read: LogRead::default(),
        newest: None,
        past_until: false,
    };
    let mut newest = None;
    let count = files.len();
    for (index, log) in files.into_iter().enumerate() {
        let read_error = |source| LogError::Read {
            path: log.name.clone(),
            source,
        };
        let mut cursor = LineCursor::new(log.file, 0);
        while let Some((_, line)) = cursor.next_line().map_err(read_error)? {
            take_line(&mut read, line, opts);
        }
        // A rotated file is finished: an unfinished last line will stay so.
        if !log.live {
            if let Some((_, line)) = cursor.take_unterminated().map_err(read_error)? {
                take_line(&mut read, &line, opts);
            }
        }
        if index + 1 == count {
            newest = Some(NewestCursor { cursor, id: log.id });
        }
    }
    read.newest = newest;
    Ok(read)
}

fn take_line(read: &mut Initial, line: &[u8], opts: &ReadOptions) {
    match decode_entry(line) {
        Ok(entry) if opts.accepts(&entry) => read.read.entries.push(entry),
        Ok(entry) => read.past_until |= opts.is_past_until(&entry),
        Err(_) => read.read.corrupt_lines += 1,
    }
}

/// The last `tail` selected entries, reading backwards from the newest file and holding no
/// more than `tail` entries.
fn read_tail(
    mut files: Vec<OpenLog>,
    opts: &ReadOptions,
    tail: usize,
) -> Result<Initial, LogError> {
    let mut found = TailFound {
        entries: VecDeque::new(),
        corrupt_lines: 0,
        past_until: false,
        tail,
    };
    let mut newest = None;
    if let Some(log) = files.pop() {
        let read_error = |source| LogError::Read {
            path: log.name.clone(),
            source,
        };
        let (end, offset) = if log.live {
            // Lines end at the last `\n`; the follower goes on from just past it.
            let len = log.file.metadata().map_err(read_error)?.len();
            let last = last_newline(&log.file, len).map_err(read_error)?;
            (last, last.map_or(0, |nl| nl + 1))
        } else {
            let len = log.file.metadata().map_err(read_error)?.len();
            (rotated_end(&log.file).map_err(read_error)?, len)
        };
        if let Some(end) = end {
            found.scan(&log.file, end, opts).map_err(read_error)?;
        }
        newest = Some(NewestCursor {
            cursor: LineCursor::new(log.file, offset),
            id: log.id,
        });
    }
    for log in files.iter().rev() {
        if found.is_full() {
            break;
        }
        let read_error = |source| LogError::Read {
            path: log.name.clone(),
            source,
        };
        if let Some(end) = rotated_end(&log.file).map_err(read_error)? {
            found.scan(&log.file, end, opts).map_err(read_error)?;
        }
    }
    Ok(Initial {
        read: LogRead {
            entries: found.entries.into(),
            corrupt_lines: found.corrupt_lines,
        },
        newest,
        past_until: found.past_until,
    })
}

/// The newest selected entries found so far by a backward read.
struct TailFound {
    entries: VecDeque<LogEntry>,
    corrupt_lines: u64,
    past_until: bool,
    tail: usize,
}

impl TailFound {
    fn is_full(&self) -> bool {
        self.entries.len() >= self.tail
    }

    /// Takes entries from `file[..end]`, newest first, until there are `tail` of them.
    fn scan(&mut self, file: &File, end: u64, opts: &ReadOptions) -> io::Result<()> {
        if self.is_full() {
            return Ok(());
        }
        for_each_line_rev(file, end, |_, line| {
            match decode_entry(line) {
                Ok(entry) if opts.accepts(&entry) => self.entries.push_front(entry),
                Ok(entry) => self.past_until |= opts.is_past_until(&entry),
                Err(_) => self.corrupt_lines += 1,
            }
            if self.is_full() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
    }
}

/// Where the last line of a rotated file ends (see [`for_each_line_rev`]); None if empty.
fn rotated_end(file: &File) -> io::Result<Option<u64>> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(None);
    }
    let mut last = [0];
    file.read_exact_at(&mut last, len - 1)?;
    Ok(Some(if last[0] == b'\n' { len - 1 } else { len }))
}

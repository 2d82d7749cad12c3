//! [`follow`]: the log as it is written (`docker logs --follow`).

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use tokio::sync::{mpsc, watch};

use super::encode::decode_entry;
use super::lines::LineCursor;
use super::reader::{read_initial, ReadOptions};
use super::snapshot::{open_all, stat_id, FileId};
use super::{LogEntry, LogError, POLL_INTERVAL};

/// How many entries may wait in the channel for a slow reader.
const CHANNEL_CAPACITY: usize = 256;

/// Follows the log at `path`: first the entries [`super::read_all`] would give for `opts`,
/// then each entry as it is written, across rotations, oldest first.
///
/// It ends when `stop` is true (or its sender is gone) and everything written by then has
/// been sent; when an entry is later than `opts.until` or the clock passes it; when the
/// receiver is dropped; or after sending an error that is not [`LogError::Corrupt`]
/// (a `Corrupt` item is a warning: the stream goes on). The work runs on tokio's blocking
/// pool, so this must be called inside a tokio runtime.
pub fn follow(
    path: &Path,
    opts: ReadOptions,
    stop: watch::Receiver<bool>,
) -> mpsc::Receiver<Result<LogEntry, LogError>> {
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    let follower = Follower {
        path: path.to_path_buf(),
        opts,
        stop,
        tx,
    };
    tokio::task::spawn_blocking(move || follower.run());
    rx
}

#[derive(Debug)]
struct Follower {
    path: PathBuf,
    opts: ReadOptions,
    stop: watch::Receiver<bool>,
    tx: mpsc::Sender<Result<LogEntry, LogError>>,
}

/// A log file being read.
#[derive(Debug)]
struct Tracked {
    cursor: LineCursor,
    id: FileId,
}

/// `Break` = the stream is over (receiver gone, or past `until`).
type Flow = ControlFlow<()>;

impl Follower {
    fn run(mut self) {
        if let Err(error) = self.follow() {
            let _ = self.tx.blocking_send(Err(error));
        }
    }

    fn follow(&mut self) -> Result<(), LogError> {
        let initial = read_initial(&self.path, &self.opts)?;
        let corrupt_lines = initial.read.corrupt_lines;
        if corrupt_lines > 0 && self.warn_corrupt(corrupt_lines).is_break() {
            return Ok(());
        }
        for entry in initial.read.entries {
            if self.tx.blocking_send(Ok(entry)).is_err() {
                return Ok(());
            }
        }
        if initial.past_until {
            return Ok(());
        }
        let newest = initial.newest;
        // Front: files rotated away, to be read to their end; back: the newest file.
        let mut files: VecDeque<Tracked> = VecDeque::new();
        files.extend(newest.map(|n| Tracked {
            cursor: n.cursor,
            id: n.id,
        }));
        loop {
            // Read before the pass: what was written before stop was set is read in it.
            let stopping = self.stop_requested();
            let mut progressed = false;
            while files.len() > 1 {
                if let Some(mut finished) = files.pop_front() {
                    progressed = true;
                    if self.read_finished(&mut finished)?.is_break() {
                        return Ok(());
                    }
                }
            }
            if let Some(current) = files.back_mut() {
                let (read, flow) = self.read_available(current)?;
                if flow.is_break() {
                    return Ok(());
                }
                progressed |= read;
                progressed |= restart_if_truncated(current, &self.path)?;
            }
            progressed |= self.check_rotation(&mut files)?;
            if self.tx.is_closed() {
                return Ok(());
            }
            if !progressed {
                let past_until = self.opts.until.is_some_and(|u| SystemTime::now() > u);
                if stopping || past_until {
                    return Ok(());
                }
                std::thread::sleep(POLL_INTERVAL);
            }
        }
    }

    /// If `<path>` no longer names the newest file read (a rotation, or the log appeared),
    /// queues the files that came after it. Returns whether any were queued.
    fn check_rotation(&self, files: &mut VecDeque<Tracked>) -> Result<bool, LogError> {
        let current = files.back().map(|t| t.id);
        let live = stat_id(&self.path)?;
        if live.is_none() && current.is_some() {
            // Between the writer's rename and its create: look again next pass.
            return Ok(false);
        }
        if live == current {
            return Ok(false);
        }
        let all = open_all(&self.path)?;
        // Everything after the current file; all of them if it is gone (deleted by a
        // rotation past max-file before it could be read to its end: those lines are lost).
        let after = match current {
            Some(id) => all.iter().position(|f| f.id == id).map_or(0, |p| p + 1),
            None => 0,
        };
        let mut queued = false;
        for log in all.into_iter().skip(after) {
            files.push_back(Tracked {
                cursor: LineCursor::new(log.file, 0),
                id: log.id,
            });
            queued = true;
        }
        Ok(queued)
    }

    /// Sends the complete lines of the newest file written so far; returns whether there
    /// were any.
    fn read_available(&mut self, file: &mut Tracked) -> Result<(bool, Flow), LogError> {
        let mut read = false;
        loop {
            let next = file.cursor.next_line().map_err(|source| LogError::Read {
                path: self.path.clone(),
                source,
            })?;
            let Some((_, line)) = next else {
                return Ok((read, Flow::Continue(())));
            };
            read = true;
            if self.send_line(line).is_break() {
                return Ok((read, Flow::Break(())));
            }
        }
    }

    /// Sends the rest of a file that has been rotated away, an unfinished last line too.
    fn read_finished(&mut self, file: &mut Tracked) -> Result<Flow, LogError> {
        if self.read_available(file)?.1.is_break() {
            return Ok(Flow::Break(()));
        }
        let tail = file
            .cursor
            .take_unterminated()
            .map_err(|source| LogError::Read {
                path: self.path.clone(),
                source,
            })?;
        Ok(match tail {
            Some((_, line)) => self.send_line(&line),
            None => Flow::Continue(()),
        })
    }

    fn send_line(&self, line: &[u8]) -> Flow {
        let entry = match decode_entry(line) {
            Ok(entry) => entry,
            Err(_) => return self.warn_corrupt(1),
        };
        if self.opts.is_past_until(&entry) {
            return Flow::Break(());
        }
        if !self.opts.accepts(&entry) {
            return Flow::Continue(());
        }
        match self.tx.blocking_send(Ok(entry)) {
            Ok(()) => Flow::Continue(()),
            Err(_) => Flow::Break(()),
        }
    }

    fn warn_corrupt(&self, lines: u64) -> Flow {
        let warning = LogError::Corrupt {
            path: self.path.clone(),
            lines,
        };
        match self.tx.blocking_send(Err(warning)) {
            Ok(()) => Flow::Continue(()),
            Err(_) => Flow::Break(()),
        }
    }

    fn stop_requested(&mut self) -> bool {
        // A dropped sender can never say stop: take it as stop rather than run forever.
        *self.stop.borrow() || self.stop.has_changed().is_err()
    }
}

/// With max-file 1 the writer truncates the live file in place; start it again from the
/// top. Lines written between the last read and the truncation are lost, as with dockerd.
fn restart_if_truncated(file: &mut Tracked, path: &Path) -> Result<bool, LogError> {
    let len = file.cursor.file_len().map_err(|source| LogError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if len < file.cursor.offset() {
        file.cursor.restart();
        return Ok(true);
    }
    Ok(false)
}

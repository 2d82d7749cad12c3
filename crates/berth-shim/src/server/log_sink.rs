//! Where the container's output is logged: Docker's json-file lines, one per line of
//! output. A stand-in until [`crate::jsonlog`]'s writer is wired in: the shim only needs
//! [`LogSink`].

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Stream number of standard output, as passed to [`LogSink::write`].
pub(super) const STDOUT: u8 = 1;
/// Stream number of standard error.
pub(super) const STDERR: u8 = 2;

/// Docker splits a line longer than this into several records.
const MAX_LINE: usize = 16 * 1024;

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

/// One record of a json-file log.
#[derive(Serialize)]
struct Record<'a> {
    log: &'a str,
    stream: &'a str,
    time: &'a str,
}

/// A json-file log at `path`, rotated to `path.1`, `path.2`, ... past `max_size`.
pub(super) struct JsonFile {
    path: PathBuf,
    file: File,
    size: u64,
    max_size: Option<u64>,
    max_files: u32,
    /// The unfinished line of stdout and of stderr.
    partial: [Vec<u8>; 2],
}

impl JsonFile {
    /// Opens (appending to) the log at `path`.
    pub(super) fn open(
        path: &Path,
        max_size: Option<u64>,
        max_files: u32,
    ) -> std::io::Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            path: path.to_path_buf(),
            file,
            size,
            max_size,
            max_files: max_files.max(1),
            partial: [Vec::new(), Vec::new()],
        })
    }

    fn record(&mut self, stream: u8, line: &[u8]) {
        let record = Record {
            log: &String::from_utf8_lossy(line),
            stream: if stream == STDERR { "stderr" } else { "stdout" },
            time: &berth_runtime::state::now_rfc3339(),
        };
        let Ok(mut text) = serde_json::to_vec(&record) else {
            return;
        };
        text.push(b'\n');
        if let Some(max) = self.max_size {
            if self.size > 0 && self.size + text.len() as u64 > max {
                // A failed rotation keeps writing to the current file: losing the
                // size limit is better than losing output.
                let _ = self.rotate();
            }
        }
        // Nobody to tell about a full disk: the container must go on regardless.
        if self.file.write_all(&text).is_ok() {
            self.size += text.len() as u64;
        }
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        if self.max_files > 1 {
            for n in (1..self.max_files - 1).rev() {
                let from = numbered(&self.path, n);
                if from.exists() {
                    std::fs::rename(&from, numbered(&self.path, n + 1))?;
                }
            }
            std::fs::rename(&self.path, numbered(&self.path, 1))?;
            self.file = open_append(&self.path)?;
        } else {
            self.file.set_len(0)?;
        }
        self.size = 0;
        Ok(())
    }
}

impl LogSink for JsonFile {
    fn write(&mut self, stream: u8, bytes: &[u8]) {
        let slot = usize::from(stream == STDERR);
        let mut pending = std::mem::take(&mut self.partial[slot]);
        pending.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(end) = pending[start..].iter().position(|b| *b == b'\n') {
            self.record(stream, &pending[start..=start + end]);
            start += end + 1;
        }
        while pending.len() - start >= MAX_LINE {
            self.record(stream, &pending[start..start + MAX_LINE]);
            start += MAX_LINE;
        }
        pending.drain(..start);
        self.partial[slot] = pending;
    }

    fn close(&mut self) {
        for (slot, stream) in [(0, STDOUT), (1, STDERR)] {
            let rest = std::mem::take(&mut self.partial[slot]);
            if !rest.is_empty() {
                self.record(stream, &rest);
            }
        }
    }
}

fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// Log files are readable by the owner's group only, as Docker makes them.
fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(path: &Path) -> Vec<serde_json::Value> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn splits_on_newlines_and_flushes_the_rest_at_close() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let mut log = JsonFile::open(&path, None, 1).unwrap();
        log.write(STDOUT, b"one\ntw");
        log.write(STDERR, b"err\n");
        log.write(STDOUT, b"o\nthree");
        log.close();
        let got: Vec<(String, String)> = records(&path)
            .iter()
            .map(|r| {
                assert!(r["time"].as_str().unwrap().ends_with('Z'));
                (
                    r["log"].as_str().unwrap().to_string(),
                    r["stream"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let want = [
            ("one\n", "stdout"),
            ("err\n", "stderr"),
            ("two\n", "stdout"),
            ("three", "stdout"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn rotates_past_max_size_keeping_max_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c-json.log");
        let mut log = JsonFile::open(&path, Some(200), 3).unwrap();
        for n in 0..20 {
            log.write(STDOUT, format!("line {n}\n").as_bytes());
        }
        assert!(std::fs::metadata(&path).unwrap().len() <= 200);
        assert!(numbered(&path, 1).exists());
        assert!(numbered(&path, 2).exists());
        assert!(!numbered(&path, 3).exists());
        let last = records(&path);
        assert_eq!(last.last().unwrap()["log"], "line 19\n");
    }
}

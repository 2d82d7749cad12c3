//! What the json-file log tests share: fixed times, paths, and reading back.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_shim::jsonlog::{LogEntry, LogWriter, ReadOptions, Stream};

/// 2024-01-02T03:04:05Z
pub fn base() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_704_164_645)
}

pub fn at_ms(ms: u64) -> SystemTime {
    base() + Duration::from_millis(ms)
}

pub fn log_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("container-json.log")
}

pub fn file_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

pub fn texts(entries: &[LogEntry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| String::from_utf8(e.line.clone()).unwrap())
        .collect()
}

pub fn all() -> ReadOptions {
    ReadOptions::default()
}

/// Writes lines "line <i>" for i in range, one millisecond apart.
pub fn write_numbered(w: &mut LogWriter, range: std::ops::Range<u64>) {
    for i in range {
        w.write_at(Stream::Stdout, format!("line {i}\n").as_bytes(), at_ms(i))
            .unwrap();
    }
}

pub fn numbers(entries: &[LogEntry]) -> Vec<u64> {
    entries
        .iter()
        .map(|e| {
            let text = std::str::from_utf8(&e.line).unwrap();
            text.trim_end()
                .strip_prefix("line ")
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect()
}

/// stdout lines "o0".."o4" at 0,10,..40 ms; stderr lines "e0".."e4" at 5,15,..45 ms.
pub fn interleaved_log(path: &Path) {
    let mut w = LogWriter::open(path, None, 1).unwrap();
    for i in 0..5u64 {
        w.write_at(Stream::Stdout, format!("o{i}\n").as_bytes(), at_ms(i * 10))
            .unwrap();
        w.write_at(
            Stream::Stderr,
            format!("e{i}\n").as_bytes(),
            at_ms(i * 10 + 5),
        )
        .unwrap();
    }
}

//! Following a json-file log that is being written and rotated: every line once, in
//! order; tail then follow; waiting, draining and ending (stop, `until`); corrupt lines.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime};

use berth_shim::jsonlog::{follow, LogEntry, LogError, LogWriter, ReadOptions, Stream};
use tokio::sync::watch;

mod jsonlog_common;

use jsonlog_common::{all, at_ms, interleaved_log, log_path, numbers, texts, write_numbered};

/// Receives until the stream ends, failing the test if it takes longer than `limit`.
async fn collect_until_end(
    rx: &mut tokio::sync::mpsc::Receiver<Result<LogEntry, LogError>>,
    limit: Duration,
) -> Vec<LogEntry> {
    let mut entries = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(item)) => entries.push(item.unwrap()),
            Ok(None) => return entries,
            Err(_) => panic!("follow did not end; got {} entries", entries.len()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_receives_every_line_once_in_order_while_the_writer_rotates_fast() {
    const LINES: u64 = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    // ~90 bytes an entry: ~9 MB in 128 KiB files, rotated ~70 times. 100 files hold it
    // all, so every line is still on disk for a reader that falls behind.
    let mut w = LogWriter::open(&path, Some(128 * 1024), 100).unwrap();
    write_numbered(&mut w, 0..1000);
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let writer = std::thread::spawn(move || {
        started_tx.send(()).unwrap();
        for i in 1000..LINES {
            // Now, not write_at: the real clock path, many lines per millisecond.
            w.write(Stream::Stdout, format!("line {i}\n").as_bytes())
                .unwrap();
        }
        w.close().unwrap();
    });
    started_rx.recv().unwrap();
    let (stop_tx, stop_rx) = watch::channel(false);
    // Started while the writer runs: the initial read and the switch to following race it.
    let mut rx = follow(&path, all(), stop_rx);

    let mut got = Vec::with_capacity(LINES as usize);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while (got.len() as u64) < LINES {
        let item = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out after {} lines", got.len()))
            .expect("follow ended early");
        got.push(item.unwrap());
    }
    writer.join().unwrap();
    let rotated = std::fs::read_dir(dir.path()).unwrap().count();
    assert!(
        rotated > 50,
        "only {rotated} files: rotation did not happen"
    );
    stop_tx.send(true).unwrap();
    let rest = collect_until_end(&mut rx, Duration::from_secs(10)).await;
    assert!(rest.is_empty(), "extra entries: {:?}", texts(&rest));
    assert_eq!(numbers(&got), (0..LINES).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_with_tail_starts_with_the_last_lines_then_follows() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let mut w = LogWriter::open(&path, Some(4096), 50).unwrap();
    write_numbered(&mut w, 0..300);
    let (stop_tx, stop_rx) = watch::channel(false);
    let opts = ReadOptions {
        tail: Some(5),
        follow: true,
        ..all()
    };
    let mut rx = follow(&path, opts, stop_rx);
    let first: Vec<LogEntry> = {
        let mut v = Vec::new();
        for _ in 0..5 {
            v.push(rx.recv().await.unwrap().unwrap());
        }
        v
    };
    assert_eq!(numbers(&first), (295..300).collect::<Vec<_>>());
    write_numbered(&mut w, 300..600);
    drop(w);
    stop_tx.send(true).unwrap();
    let rest = collect_until_end(&mut rx, Duration::from_secs(10)).await;
    assert_eq!(numbers(&rest), (300..600).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_waits_while_not_stopped_and_drains_everything_before_ending() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let mut w = LogWriter::open(&path, Some(2048), 200).unwrap();
    write_numbered(&mut w, 0..10);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut rx = follow(&path, all(), stop_rx);
    for i in 0..10 {
        let e = rx.recv().await.unwrap().unwrap();
        assert_eq!(numbers(&[e]), [i]);
    }
    // Nothing more is written: the follower keeps waiting instead of ending.
    let idle = tokio::time::timeout(Duration::from_millis(300), rx.recv()).await;
    assert!(idle.is_err(), "follow ended or sent while idle: {idle:?}");

    // Lines written (across rotations) right before stop, and an unfinished last line
    // that close() writes: all of them come before the end.
    write_numbered(&mut w, 10..2000);
    w.write_at(Stream::Stderr, b"no newline", at_ms(5000))
        .unwrap();
    w.close().unwrap();
    stop_tx.send(true).unwrap();
    let rest = collect_until_end(&mut rx, Duration::from_secs(10)).await;
    assert_eq!(rest.last().unwrap().line, b"no newline");
    assert_eq!(
        numbers(&rest[..rest.len() - 1]),
        (10..2000).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_waits_for_the_log_to_appear_and_applies_filters() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let (stop_tx, stop_rx) = watch::channel(false);
    let opts = ReadOptions {
        stdout: false,
        since: Some(at_ms(15)),
        ..all()
    };
    let mut rx = follow(&path, opts, stop_rx);
    tokio::time::sleep(Duration::from_millis(100)).await;
    interleaved_log(&path);
    stop_tx.send(true).unwrap();
    let got = collect_until_end(&mut rx, Duration::from_secs(10)).await;
    assert_eq!(texts(&got), ["e1\n", "e2\n", "e3\n", "e4\n"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_ends_at_the_first_entry_past_until() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let t0 = SystemTime::now();
    let second = |i: u64| t0 + Duration::from_secs(i);
    let mut w = LogWriter::open(&path, None, 1).unwrap();
    let mut write = |range: std::ops::Range<u64>| {
        for i in range {
            w.write_at(Stream::Stdout, format!("line {i}\n").as_bytes(), second(i))
                .unwrap();
        }
    };
    write(0..3);
    let (_stop_tx, stop_rx) = watch::channel(false);
    let opts = ReadOptions {
        until: Some(second(60)),
        ..all()
    };
    let mut rx = follow(&path, opts, stop_rx);
    write(3..100);
    // Ends without stop: line 61 is past until.
    let got = collect_until_end(&mut rx, Duration::from_secs(10)).await;
    assert_eq!(numbers(&got), (0..=60).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_ends_when_the_clock_passes_until() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let mut w = LogWriter::open(&path, None, 1).unwrap();
    w.write(Stream::Stdout, b"only\n").unwrap();
    let (_stop_tx, stop_rx) = watch::channel(false);
    let until = SystemTime::now() + Duration::from_millis(300);
    let opts = ReadOptions {
        until: Some(until),
        ..all()
    };
    let mut rx = follow(&path, opts, stop_rx);
    let got = collect_until_end(&mut rx, Duration::from_secs(10)).await;
    assert_eq!(texts(&got), ["only\n"]);
    assert!(SystemTime::now() >= until, "ended before until");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_reports_corrupt_lines_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let mut w = LogWriter::open(&path, None, 1).unwrap();
    write_numbered(&mut w, 0..2);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut rx = follow(&path, all(), stop_rx);
    assert_eq!(numbers(&[rx.recv().await.unwrap().unwrap()]), [0]);
    assert_eq!(numbers(&[rx.recv().await.unwrap().unwrap()]), [1]);
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"garbage\n").unwrap();
    }
    write_numbered(&mut w, 2..3);
    stop_tx.send(true).unwrap();
    let warning = rx.recv().await.unwrap();
    assert!(
        matches!(warning, Err(LogError::Corrupt { lines: 1, .. })),
        "{warning:?}"
    );
    assert_eq!(numbers(&[rx.recv().await.unwrap().unwrap()]), [2]);
    assert!(rx.recv().await.is_none());
}

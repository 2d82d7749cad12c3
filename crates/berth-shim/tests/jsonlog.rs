//! The json-file log: what the writer puts on disk, what the readers give back, rotation,
//! and following a log that is being written and rotated.

#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_shim::jsonlog::{
    follow, read_all, read_logs, LogEntry, LogError, LogWriter, ReadOptions, Stream, MAX_ENTRY_LINE,
};
use tokio::sync::watch;

/// 2024-01-02T03:04:05Z
fn base() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_704_164_645)
}

fn at_ms(ms: u64) -> SystemTime {
    base() + Duration::from_millis(ms)
}

fn log_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("container-json.log")
}

fn file_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn texts(entries: &[LogEntry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| String::from_utf8(e.line.clone()).unwrap())
        .collect()
}

fn all() -> ReadOptions {
    ReadOptions::default()
}

#[test]
fn complete_lines_are_entries_and_a_partial_line_waits_for_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let mut w = LogWriter::open(&path, None, 1).unwrap();
    w.write_at(Stream::Stdout, b"one\ntw", at_ms(0)).unwrap();
    // Nothing of "tw" is on disk yet: only the complete line.
    assert_eq!(
        file_lines(&path),
        [r#"{"log":"one\n","stream":"stdout","time":"2024-01-02T03:04:05Z"}"#]
    );
    w.write_at(Stream::Stdout, b"o\nthree\nfour", at_ms(120))
        .unwrap();
    assert_eq!(
        file_lines(&path)[1..],
        [
            r#"{"log":"two\n","stream":"stdout","time":"2024-01-02T03:04:05.12Z"}"#,
            r#"{"log":"three\n","stream":"stdout","time":"2024-01-02T03:04:05.12Z"}"#,
        ]
    );
    w.close().unwrap();
    let entries = read_all(&path, &all()).unwrap();
    assert_eq!(texts(&entries), ["one\n", "two\n", "three\n", "four"]);
    assert_eq!(entries[1].time, at_ms(120));
    assert_eq!(entries[1].time_text, "2024-01-02T03:04:05.120000000Z");
}

#[test]
fn stdout_and_stderr_lines_are_buffered_apart() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let mut w = LogWriter::open(&path, None, 1).unwrap();
    w.write_at(Stream::Stdout, b"a", at_ms(1)).unwrap();
    w.write_at(Stream::Stderr, b"b\n", at_ms(2)).unwrap();
    w.write_at(Stream::Stdout, b"c\n", at_ms(3)).unwrap();
    w.write_at(Stream::Stderr, b"tail-err", at_ms(4)).unwrap();
    w.close().unwrap();
    let entries = read_all(&path, &all()).unwrap();
    let got: Vec<(Stream, String)> = entries
        .iter()
        .map(|e| (e.stream, String::from_utf8(e.line.clone()).unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            (Stream::Stderr, "b\n".to_owned()),
            (Stream::Stdout, "ac\n".to_owned()),
            (Stream::Stderr, "tail-err".to_owned()),
        ]
    );
}

#[test]
fn a_long_line_is_cut_into_16k_pieces_that_keep_the_first_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let mut w = LogWriter::open(&path, None, 1).unwrap();
    let line = vec![b'x'; 40_000];
    w.write_at(Stream::Stdout, &line[..20_000], at_ms(10))
        .unwrap();
    // The first 16 KiB went out as soon as there were 16 KiB without a newline.
    assert_eq!(read_all(&path, &all()).unwrap().len(), 1);
    w.write_at(Stream::Stdout, &line[20_000..], at_ms(20))
        .unwrap();
    w.write_at(Stream::Stdout, b"\nnext\n", at_ms(30)).unwrap();
    let entries = read_all(&path, &all()).unwrap();
    let lens: Vec<usize> = entries.iter().map(|e| e.line.len()).collect();
    assert_eq!(
        lens,
        [
            MAX_ENTRY_LINE,
            MAX_ENTRY_LINE,
            40_000 - 2 * MAX_ENTRY_LINE + 1,
            5
        ]
    );
    assert!(!entries[0].line.ends_with(b"\n"));
    assert!(entries[2].line.ends_with(b"x\n"));
    let times: Vec<SystemTime> = entries.iter().map(|e| e.time).collect();
    assert_eq!(times, [at_ms(10), at_ms(10), at_ms(10), at_ms(30)]);
    let joined: Vec<u8> = entries[..3].iter().flat_map(|e| e.line.clone()).collect();
    assert_eq!(joined.len(), 40_001);
}

#[test]
fn escaping_and_invalid_utf8_are_written_as_dockerd_writes_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let mut w = LogWriter::open(&path, None, 1).unwrap();
    w.write_at(Stream::Stderr, b"<a & \"b\"\t\xff\xfe>\n", at_ms(0))
        .unwrap();
    assert_eq!(
        file_lines(&path),
        [
            r#"{"log":"\u003ca \u0026 \"b\"\u0009\ufffd\ufffd\u003e\n","stream":"stderr","time":"2024-01-02T03:04:05Z"}"#
        ]
    );
    let entries = read_all(&path, &all()).unwrap();
    assert_eq!(texts(&entries), ["<a & \"b\"\t\u{fffd}\u{fffd}>\n"]);
}

#[test]
fn reads_a_log_written_by_dockerd() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    // As dockerd 28 writes them: trimmed fractions, `attrs` when labels are logged.
    let docker = concat!(
        r#"{"log":"hello\n","stream":"stdout","time":"2024-05-06T07:08:09.5Z"}"#,
        "\n",
        r#"{"log":"oops\n","stream":"stderr","attrs":{"app":"web"},"time":"2024-05-06T07:08:10.000000001Z"}"#,
        "\n",
    );
    std::fs::write(&path, docker).unwrap();
    let entries = read_all(&path, &all()).unwrap();
    assert_eq!(texts(&entries), ["hello\n", "oops\n"]);
    assert_eq!(entries[0].time_text, "2024-05-06T07:08:09.500000000Z");
    assert_eq!(entries[1].stream, Stream::Stderr);
    assert_eq!(
        entries[1].time,
        humantime::parse_rfc3339("2024-05-06T07:08:10.000000001Z").unwrap()
    );
}

#[test]
fn a_missing_log_reads_as_empty() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(read_all(&log_path(&dir), &all()).unwrap(), []);
}

#[test]
fn corrupt_lines_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    {
        let mut w = LogWriter::open(&path, None, 1).unwrap();
        w.write_at(Stream::Stdout, b"before\n", at_ms(0)).unwrap();
    }
    // A writer that died half way through an entry.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(br#"{"log":"half"#);
    std::fs::write(&path, &bytes).unwrap();
    // Reopening ends the broken line, so the next entry is whole.
    let mut w = LogWriter::open(&path, None, 1).unwrap();
    w.write_at(Stream::Stdout, b"after\n", at_ms(5)).unwrap();
    let read = read_logs(&path, &all()).unwrap();
    assert_eq!(texts(&read.entries), ["before\n", "after\n"]);
    assert_eq!(read.corrupt_lines, 1);
}

#[test]
fn invalid_rotation_options_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    assert!(matches!(
        LogWriter::open(&path, Some(0), 3),
        Err(LogError::ZeroMaxSize { .. })
    ));
    assert!(matches!(
        LogWriter::open(&path, Some(100), 0),
        Err(LogError::ZeroMaxFiles { .. })
    ));
}

/// stdout lines "o0".."o4" at 0,10,..40 ms; stderr lines "e0".."e4" at 5,15,..45 ms.
fn interleaved_log(path: &Path) {
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

#[test]
fn stream_filters() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    interleaved_log(&path);
    let only_out = ReadOptions {
        stderr: false,
        ..all()
    };
    assert_eq!(
        texts(&read_all(&path, &only_out).unwrap()),
        ["o0\n", "o1\n", "o2\n", "o3\n", "o4\n"]
    );
    let only_err = ReadOptions {
        stdout: false,
        ..all()
    };
    assert_eq!(
        texts(&read_all(&path, &only_err).unwrap()),
        ["e0\n", "e1\n", "e2\n", "e3\n", "e4\n"]
    );
    let neither = ReadOptions {
        stdout: false,
        stderr: false,
        ..all()
    };
    assert_eq!(read_all(&path, &neither).unwrap(), []);
}

#[test]
fn since_and_until_are_inclusive_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    interleaved_log(&path);
    let window = ReadOptions {
        since: Some(at_ms(15)),
        until: Some(at_ms(30)),
        ..all()
    };
    assert_eq!(
        texts(&read_all(&path, &window).unwrap()),
        ["e1\n", "o2\n", "e2\n", "o3\n"]
    );
    let after_end = ReadOptions {
        since: Some(at_ms(46)),
        ..all()
    };
    assert_eq!(read_all(&path, &after_end).unwrap(), []);
    // Tail counts only what the time window lets through.
    let tail_in_window = ReadOptions {
        tail: Some(2),
        ..window
    };
    assert_eq!(
        texts(&read_all(&path, &tail_in_window).unwrap()),
        ["e2\n", "o3\n"]
    );
}

#[test]
fn tail_zero_some_and_more_than_exist() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    interleaved_log(&path);
    let tail = |n| ReadOptions {
        tail: Some(n),
        ..all()
    };
    assert_eq!(read_all(&path, &tail(0)).unwrap(), []);
    assert_eq!(
        texts(&read_all(&path, &tail(3)).unwrap()),
        ["e3\n", "o4\n", "e4\n"]
    );
    assert_eq!(
        read_all(&path, &tail(1000)).unwrap(),
        read_all(&path, &all()).unwrap()
    );
    assert_eq!(read_all(&path, &tail(1000)).unwrap().len(), 10);
    // The last N after the stream filter, not the last N lines filtered.
    let err_tail = ReadOptions {
        tail: Some(2),
        stdout: false,
        ..all()
    };
    assert_eq!(
        texts(&read_all(&path, &err_tail).unwrap()),
        ["e3\n", "e4\n"]
    );
}

#[test]
fn tail_ignores_an_unfinished_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    interleaved_log(&path);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(br#"{"log":"being writ"#);
    std::fs::write(&path, &bytes).unwrap();
    let tail = ReadOptions {
        tail: Some(1),
        ..all()
    };
    let read = read_logs(&path, &tail).unwrap();
    assert_eq!(texts(&read.entries), ["e4\n"]);
    assert_eq!(read.corrupt_lines, 0);
    assert_eq!(read_logs(&path, &all()).unwrap().entries.len(), 10);
}

/// Writes lines "line <i>" for i in range, one millisecond apart.
fn write_numbered(w: &mut LogWriter, range: std::ops::Range<u64>) {
    for i in range {
        w.write_at(Stream::Stdout, format!("line {i}\n").as_bytes(), at_ms(i))
            .unwrap();
    }
}

fn numbers(entries: &[LogEntry]) -> Vec<u64> {
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

#[test]
fn rotation_keeps_max_files_and_reads_in_order_across_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let max_size = 1000;
    let mut w = LogWriter::open(&path, Some(max_size), 3).unwrap();
    write_numbered(&mut w, 0..500);
    drop(w);

    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "container-json.log",
            "container-json.log.1",
            "container-json.log.2"
        ]
    );
    let longest_entry = file_lines(&path).iter().map(|l| l.len() + 1).max().unwrap() as u64;
    for rotated in ["container-json.log.1", "container-json.log.2"] {
        let size = std::fs::metadata(dir.path().join(rotated)).unwrap().len();
        // Rotated once it reached max-size, so past it by less than one entry.
        assert!(
            size >= max_size && size < max_size + longest_entry,
            "{rotated}: {size} bytes"
        );
    }

    let got = numbers(&read_all(&path, &all()).unwrap());
    let on_disk: usize = [
        "container-json.log.2",
        "container-json.log.1",
        "container-json.log",
    ]
    .iter()
    .map(|n| file_lines(&dir.path().join(n)).len())
    .sum();
    assert_eq!(got.len(), on_disk);
    // The newest lines, in order, with no gap: the oldest files were deleted whole.
    let first = 500 - got.len() as u64;
    assert_eq!(got, (first..500).collect::<Vec<_>>());
    assert!(first > 0, "rotation should have dropped the oldest lines");

    // Tail reads backwards across file boundaries.
    assert!(got.len() > 20);
    let tail = ReadOptions {
        tail: Some(20),
        ..all()
    };
    assert_eq!(
        numbers(&read_all(&path, &tail).unwrap()),
        (480..500).collect::<Vec<_>>()
    );
    let live_lines = file_lines(&path).len() as u64;
    let across = ReadOptions {
        tail: Some(live_lines as usize + 3),
        ..all()
    };
    assert_eq!(
        numbers(&read_all(&path, &across).unwrap()),
        (500 - live_lines - 3..500).collect::<Vec<_>>()
    );
}

#[test]
fn one_file_rotation_truncates_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let mut w = LogWriter::open(&path, Some(500), 1).unwrap();
    write_numbered(&mut w, 0..100);
    drop(w);
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1);
    let got = numbers(&read_all(&path, &all()).unwrap());
    assert!(!got.is_empty() && got.len() < 100);
    assert_eq!(got, (100 - got.len() as u64..100).collect::<Vec<_>>());
}

#[test]
fn a_reopened_writer_appends_and_keeps_rotating() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let mut w = LogWriter::open(&path, Some(2000), 10).unwrap();
    write_numbered(&mut w, 0..50);
    drop(w);
    let mut w = LogWriter::open(&path, Some(2000), 10).unwrap();
    write_numbered(&mut w, 50..100);
    drop(w);
    assert!(dir.path().join("container-json.log.1").exists());
    assert_eq!(
        numbers(&read_all(&path, &all()).unwrap()),
        (0..100).collect::<Vec<_>>()
    );
}

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

/// What the container in the dockerd test prints, per stream.
const DOCKER_SCRIPT: &str = r"printf 'hello <&>\n'; printf 'err\tline\n' >&2; \
printf 'bad \377\376 utf8 \342\200\250 sep\n'; head -c 40000 /dev/zero | tr '\0' x; \
printf '\nlast line, no newline'; printf 'err tail' >&2";

fn docker_script_output() -> (Vec<u8>, Vec<u8>) {
    let mut out = Vec::new();
    out.extend_from_slice(b"hello <&>\n");
    out.extend_from_slice(b"bad \xff\xfe utf8 \xe2\x80\xa8 sep\n");
    out.extend_from_slice(&[b'x'; 40_000]);
    out.extend_from_slice(b"\nlast line, no newline");
    (out, b"err\tline\nerr tail".to_vec())
}

/// The part of a json-file line before `"time"`: what is not a clock reading.
fn without_time(line: &str) -> &str {
    &line[..line.find(r#","time":"#).unwrap()]
}

#[test]
fn dockerd_and_berth_write_the_same_log_and_read_each_other() {
    const DOCKERD: &str = "/usr/sbin/dockerd";
    if !Path::new(DOCKERD).exists() || !Path::new(berth_testkit::busybox::BUSYBOX).exists() {
        eprintln!("SKIPPED: {DOCKERD} or busybox is not installed");
        return;
    }
    let Some(dockerd) = berth_testkit::PrivateDockerd::builder()
        .dockerd(DOCKERD)
        .prefix("berth-jsonlog-")
        .start()
    else {
        return;
    };
    let tar = berth_testkit::busybox::rootfs_tar(dockerd.dir());
    dockerd.docker_ok(&["import", tar.to_str().unwrap(), "berth-jsonlog:1"]);
    dockerd.docker_ok(&[
        "run",
        "--name",
        "printer",
        "--network",
        "none",
        "--log-driver",
        "json-file",
        "berth-jsonlog:1",
        "sh",
        "-c",
        DOCKER_SCRIPT,
    ]);
    let docker_log = PathBuf::from(
        dockerd
            .docker_ok(&["inspect", "-f", "{{.LogPath}}", "printer"])
            .trim(),
    );
    let docker_lines = file_lines(&docker_log);

    // berth's writer fed the same output, one stream after the other.
    let (out, err) = docker_script_output();
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let mut w = LogWriter::open(&path, None, 1).unwrap();
    w.write(Stream::Stdout, &out).unwrap();
    w.write(Stream::Stderr, &err).unwrap();
    w.close().unwrap();
    let berth_lines = file_lines(&path);

    // Byte for byte the same entries (times aside), stream by stream: dockerd copies the
    // two streams concurrently, so only the order within a stream is fixed.
    for stream in [r#""stream":"stdout""#, r#""stream":"stderr""#] {
        let of = |lines: &[String]| -> Vec<String> {
            lines
                .iter()
                .map(|l| without_time(l).to_owned())
                .filter(|l| l.contains(stream))
                .collect()
        };
        // Not assert_eq!: the lines are 16 KiB long.
        assert!(
            of(&berth_lines) == of(&docker_lines),
            "{stream} entries differ"
        );
    }
    // stdout: hello, bad, three pieces of the x line, last; stderr: err, err tail.
    assert_eq!(docker_lines.len(), 8);

    // berth reads dockerd's log.
    let from_docker = read_logs(&docker_log, &all()).unwrap();
    assert_eq!(from_docker.corrupt_lines, 0);
    let stdout_of = |entries: &[LogEntry]| -> Vec<u8> {
        entries
            .iter()
            .filter(|e| e.stream == Stream::Stdout)
            .flat_map(|e| e.line.clone())
            .collect()
    };
    // Each invalid byte became one U+FFFD on disk.
    let expected_stdout = String::from_utf8_lossy(&out);
    assert!(expected_stdout.contains("bad \u{fffd}\u{fffd} utf8"));
    assert_eq!(stdout_of(&from_docker.entries), expected_stdout.as_bytes());

    // dockerd reads berth's log: put it in place of its own and ask `docker logs`.
    std::fs::copy(&path, &docker_log).unwrap();
    let logs = dockerd.docker(&["logs", "--timestamps", "printer"]);
    assert!(logs.status.success(), "{logs:?}");
    let stderr = String::from_utf8(logs.stderr).unwrap();
    let berth_entries = read_all(&path, &all()).unwrap();
    let err_entries: Vec<&LogEntry> = berth_entries
        .iter()
        .filter(|e| e.stream == Stream::Stderr)
        .collect();
    // `docker logs -t` prints our time_text, then the line.
    assert_eq!(
        stderr,
        format!(
            "{} err\tline\n{} err tail",
            err_entries[0].time_text, err_entries[1].time_text
        )
    );
    let stdout = dockerd.docker(&["logs", "printer"]).stdout;
    assert_eq!(stdout, expected_stdout.as_bytes());

    // berth reads dockerd's rotated files, in order, as `docker logs` shows them.
    dockerd.docker_ok(&[
        "run",
        "--name",
        "rotating",
        "--network",
        "none",
        "--log-opt",
        "max-size=1k",
        "--log-opt",
        "max-file=3",
        "berth-jsonlog:1",
        "sh",
        "-c",
        "i=0; while [ $i -lt 300 ]; do echo \"line $i\"; i=$((i+1)); done",
    ]);
    let rotating_log = PathBuf::from(
        dockerd
            .docker_ok(&["inspect", "-f", "{{.LogPath}}", "rotating"])
            .trim(),
    );
    assert!(Path::new(&format!("{}.2", rotating_log.display())).exists());
    let got = numbers(&read_all(&rotating_log, &all()).unwrap());
    let first = *got.first().unwrap();
    assert!(first > 0);
    assert_eq!(got, (first..300).collect::<Vec<_>>());
    let docker_says = dockerd.docker_ok(&["logs", "rotating"]);
    let berth_says: String = texts(&read_all(&rotating_log, &all()).unwrap()).concat();
    assert_eq!(berth_says, docker_says);
}

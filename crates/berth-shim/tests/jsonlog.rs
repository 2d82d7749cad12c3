//! The json-file log: what the writer puts on disk, what the readers give back, rotation,
//! and agreement with dockerd's own logs (following a log: `jsonlog_follow.rs`).

#![allow(clippy::unwrap_used)] // helpers outside #[test] functions unwrap too

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use berth_shim::jsonlog::{
    read_all, read_logs, LogEntry, LogError, LogWriter, ReadOptions, Stream, MAX_ENTRY_LINE,
};

mod jsonlog_common;

use jsonlog_common::{
    all, at_ms, file_lines, interleaved_log, log_path, numbers, texts, write_numbered,
};

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

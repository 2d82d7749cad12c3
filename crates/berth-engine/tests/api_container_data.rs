//! The container data routes (logs, stats, top, cp, export, update, diff) driven by the
//! docker CLI against a real `berth daemon` in a temporary root.
//!
//! Needs the daemon binary (`BERTH_BIN`, or `target/debug/berth` from
//! `cargo build -p berth`) and the docker CLI; skips with a message without them.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use berth_testkit::{busybox, run_with_timeout};

mod daemon_bin;

use daemon_bin::Daemon;

#[test]
fn container_data_through_the_docker_cli() {
    let Some(d) = Daemon::start() else {
        return;
    };
    let tar = busybox::rootfs_tar(d.dir.path());
    d.ok(&["import", &tar.to_string_lossy(), "cdata-bb:latest"]);
    d.ok(&[
        "run",
        "-d",
        "--name",
        "app",
        "-v",
        "cdata-vol:/data",
        "cdata-bb:latest",
        "sh",
        "-c",
        "echo out1; echo err1 >&2; echo kept > /data/f; rm /etc/passwd; \
         i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done",
    ]);

    logs(&d);
    stats(&d);
    top(&d);
    copy(&d);
    update(&d);
    diff_and_export(&d);
    stopped(&d);
}

fn logs(d: &Daemon) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !d.ok(&["logs", "app"]).contains("tick 3") {
        assert!(Instant::now() < deadline, "no ticks in the log");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Multiplexed: stdout and stderr reach the CLI's own streams.
    let out = d.docker(&["logs", "app"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.starts_with("out1\ntick 1\n"), "{stdout}");
    assert_eq!(stderr, "err1\n");
    let tail = d.ok(&["logs", "--tail", "2", "-t", "app"]);
    let lines: Vec<&str> = tail.lines().collect();
    assert_eq!(lines.len(), 2, "{tail}");
    assert!(lines[0].contains("Z tick "), "{tail}");
    // A follow goes on with new lines (it is cut off here, the container runs on).
    let mut cmd = d.command(&["logs", "-f", "--tail", "0", "app"]);
    let out = run_with_timeout(&mut cmd, Duration::from_millis(1500));
    match out {
        Ok(out) => panic!("follow ended while the container runs: {out:?}"),
        Err(e) => assert!(e.contains("did not finish"), "{e}"),
    }
}

fn stats(d: &Daemon) {
    let out = d.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.PIDs}}",
        "app",
    ]);
    let fields: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(fields[0], "app", "{out}");
    assert!(fields[1].ends_with('%'), "{out}");
    // `123KiB / 7.5GiB`: a usage, and the host's memory as the limit.
    assert!(fields[2].ends_with("iB") && fields[3] == "/", "{out}");
    assert!(!fields[2].starts_with("0B"), "no memory use: {out}");
    assert!(fields[5].parse::<u32>().unwrap() >= 2, "{out}");
}

fn top(d: &Daemon) {
    let out = d.ok(&["top", "app"]);
    let mut lines = out.lines();
    assert!(lines.next().unwrap().contains("PID"), "{out}");
    let rows: Vec<&str> = lines.collect();
    assert!(rows.iter().any(|r| r.contains("sh -c echo out1")), "{out}");
    // Nothing of the host's: every row is the container's shell or its sleep.
    assert!(
        rows.iter()
            .all(|r| r.contains("sh -c") || r.contains("sleep")),
        "{out}"
    );
    let aux = d.ok(&["top", "app", "aux"]);
    assert!(aux.lines().next().unwrap().contains("%CPU"), "{aux}");
}

fn copy(d: &Daemon) {
    let out = d.dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // From a volume of the running container.
    d.ok(&["cp", "app:/data/f", &out.to_string_lossy()]);
    assert_eq!(std::fs::read_to_string(out.join("f")).unwrap(), "kept\n");
    let local = d.dir.path().join("in.txt");
    std::fs::write(&local, "payload\n").unwrap();
    d.ok(&["cp", &local.to_string_lossy(), "app:/tmp/"]);
    assert_eq!(d.ok(&["exec", "app", "cat", "/tmp/in.txt"]), "payload\n");
    let err = d.fails(&["cp", "app:/nonexistent", &out.to_string_lossy()]);
    assert!(
        err.contains("Could not find the file /nonexistent in container app"),
        "{err}"
    );
}

fn update(d: &Daemon) {
    let err = d.fails(&["update", "--memory", "64m", "app"]);
    assert!(
        err.contains("update the memoryswap at the same time"),
        "{err}"
    );
    d.ok(&[
        "update",
        "--memory",
        "64m",
        "--memory-swap",
        "128m",
        "--pids-limit",
        "40",
        "app",
    ]);
    let inspect = d.ok(&[
        "inspect",
        "-f",
        "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.PidsLimit}}",
        "app",
    ]);
    assert_eq!(inspect.trim(), "67108864 134217728 40");
    let out = d.ok(&["stats", "--no-stream", "--format", "{{.MemUsage}}", "app"]);
    assert!(
        out.trim().ends_with("/ 64MiB"),
        "the cgroup limit is in force: {out}"
    );
}

fn diff_and_export(d: &Daemon) {
    let diff = d.ok(&["diff", "app"]);
    let lines: Vec<&str> = diff.lines().collect();
    assert!(lines.contains(&"D /etc/passwd"), "{diff}");
    assert!(lines.contains(&"A /tmp/in.txt"), "{diff}");
    assert!(lines.contains(&"C /etc"), "{diff}");
    assert!(
        !lines
            .iter()
            .any(|l| l.ends_with("/etc/hosts") || l.ends_with(" /proc")),
        "{diff}"
    );
    let file = d.dir.path().join("export.tar");
    d.ok(&["export", "-o", &file.to_string_lossy(), "app"]);
    let mut names = Vec::new();
    let mut archive = tar::Archive::new(std::fs::File::open(&file).unwrap());
    for entry in archive.entries().unwrap() {
        names.push(entry.unwrap().path().unwrap().display().to_string());
    }
    assert!(names.iter().any(|n| n == "bin/busybox"), "{names:?}");
    assert!(names.iter().any(|n| n == "tmp/in.txt"), "{names:?}");
    assert!(!names.iter().any(|n| n == "etc/passwd"), "{names:?}");
}

fn stopped(d: &Daemon) {
    d.ok(&[
        "run",
        "-d",
        "--name",
        "short",
        "cdata-bb:latest",
        "sh",
        "-c",
        "echo one; sleep 1; echo two",
    ]);
    // A follow ends when the run ends, with everything it wrote.
    let started = Instant::now();
    let out = d.ok(&["logs", "-f", "short"]);
    assert_eq!(out, "one\ntwo\n");
    assert!(started.elapsed() < Duration::from_secs(20));
    let err = d.fails(&["top", "short"]);
    assert!(err.contains("is not running"), "{err}");
    let out = d.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.CPUPerc}} {{.MemUsage}}",
        "short",
    ]);
    assert_eq!(out.trim(), "0.00% 0B / 0B");
    // cp out of a stopped container, and its logs without follow.
    let out = d.dir.path().join("out-stopped");
    std::fs::create_dir(&out).unwrap();
    d.ok(&["cp", "short:/bin/busybox", &out.to_string_lossy()]);
    assert!(out.join("busybox").metadata().unwrap().len() > 100_000);
    assert_eq!(d.ok(&["logs", "--tail", "1", "short"]), "two\n");
    d.ok(&[
        "run",
        "-d",
        "--name",
        "quiet",
        "--log-driver",
        "none",
        "cdata-bb:latest",
        "true",
    ]);
    let err = d.fails(&["logs", "quiet"]);
    assert!(
        err.contains("configured logging driver does not support reading"),
        "{err}"
    );
}

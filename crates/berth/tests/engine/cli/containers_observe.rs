//! inspect, logs, attach, top, stats, export and cp: what a user sees of a container.

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use crate::engine::{scope, CONFIGURED, IMAGE};

#[test]
fn inspect_merges_image_config_and_shows_host_config_mounts_networks() {
    let t = scope();
    let name = t.name("inspect");
    t.docker_ok(&[
        "create",
        "--name",
        &name,
        "-e",
        "Y=2",
        "--memory",
        "32m",
        "--restart",
        "on-failure:3",
        CONFIGURED,
    ]);
    let json = t.docker_ok(&["inspect", &name]);
    let all: serde_json::Value = serde_json::from_str(&json).expect("inspect JSON");
    let c = &all[0];
    assert_eq!(c["Name"], format!("/{name}"));
    assert_eq!(c["State"]["Status"], "created");
    let config = &c["Config"];
    let env: Vec<&str> = config["Env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e.as_str())
        .collect();
    for wanted in ["X=1", "GREETING=hi", "Y=2"] {
        assert!(
            env.contains(&wanted),
            "{wanted} missing from Config.Env {env:?}"
        );
    }
    assert_eq!(
        config["Cmd"],
        serde_json::json!(["sh", "-c", "echo configured $GREETING"])
    );
    assert_eq!(config["WorkingDir"], "/data");
    assert_eq!(config["Image"], CONFIGURED);
    assert!(config["ExposedPorts"].get("80/tcp").is_some(), "{config}");
    assert!(config["Volumes"].get("/data").is_some(), "{config}");
    assert_eq!(config["Labels"]["e2e.image"], "configured");
    let host = &c["HostConfig"];
    assert_eq!(host["Memory"], 33554432);
    assert_eq!(host["RestartPolicy"]["Name"], "on-failure");
    assert_eq!(host["RestartPolicy"]["MaximumRetryCount"], 3);
    let mounts = c["Mounts"].as_array().unwrap();
    assert_eq!(mounts.len(), 1, "the image's VOLUME: {mounts:?}");
    assert_eq!(mounts[0]["Type"], "volume");
    assert_eq!(mounts[0]["Destination"], "/data");
    assert_eq!(mounts[0]["RW"], true);
    assert_eq!(
        mounts[0]["Name"].as_str().unwrap().len(),
        64,
        "anonymous volume name"
    );
    assert!(
        c["Id"].as_str().unwrap().len() == 64
            && c["Image"].as_str().unwrap().starts_with("sha256:")
    );

    t.docker_ok(&["start", &name]);
    assert_eq!(t.docker_ok(&["wait", &name]).trim(), "0");
    assert_eq!(
        t.inspect(
            &name,
            "{{.State.Status}} {{.State.ExitCode}} {{.State.Running}}"
        ),
        "exited 0 false"
    );
    assert_eq!(t.docker_ok(&["logs", &name]), "configured hi\n");

    // A running container on a bridge network has an address there.
    let up = t.name("up");
    let mut args = vec!["run", "-d", "--name", &up];
    args.extend(t.bridge_args());
    args.extend([IMAGE, "sleep", "1000"]);
    t.docker_ok(&args);
    let state: serde_json::Value =
        serde_json::from_str(&t.inspect(&up, "{{json .State}}")).unwrap();
    assert_eq!(state["Running"], true);
    assert!(state["Pid"].as_u64().unwrap() > 0, "{state}");
    assert!(
        !state["StartedAt"].as_str().unwrap().starts_with("0001"),
        "{state}"
    );
    let format = format!(
        "{{{{(index .NetworkSettings.Networks \"{}\").IPAddress}}}}",
        t.bridge_name()
    );
    let ip = t.inspect(&up, &format);
    assert!(ip.parse::<std::net::Ipv4Addr>().is_ok(), "IPAddress {ip:?}");
    let seen = t.docker_ok(&["exec", &up, "ip", "-4", "-o", "addr", "show", "eth0"]);
    assert!(seen.contains(&format!("{ip}/")), "eth0 inside: {seen}");
}

#[test]
fn logs_follow_a_fast_writer_exactly() {
    let t = scope();
    let name = t.name("fast");
    t.docker_ok(&[
        "run",
        "-d",
        "--name",
        &name,
        IMAGE,
        "sh",
        "-c",
        "sleep 1; seq 1 20000",
    ]);
    let out = t.docker_ok(&["logs", "-f", &name]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 20000, "lines seen by logs -f");
    let expected: Vec<String> = (1..=20000).map(|i| i.to_string()).collect();
    assert!(
        lines.iter().zip(&expected).all(|(a, b)| a == b),
        "lines out of order or damaged"
    );
    // stderr is kept apart.
    let both = t.name("both");
    t.docker_ok(&[
        "run",
        "--name",
        &both,
        IMAGE,
        "sh",
        "-c",
        "echo out; echo err >&2",
    ]);
    let done = t.docker(&["logs", &both]);
    assert_eq!(String::from_utf8_lossy(&done.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&done.stderr), "err\n");
}

#[test]
fn logs_timestamps_since_and_tail() {
    let t = scope();
    let name = t.name("phases");
    t.docker_ok(&[
        "run",
        "--name",
        &name,
        IMAGE,
        "sh",
        "-c",
        "seq 1 10; sleep 2; echo late",
    ]);
    let stamped = t.docker_ok(&["logs", "-t", &name]);
    let lines: Vec<&str> = stamped.lines().collect();
    assert_eq!(lines.len(), 11, "{stamped}");
    for line in &lines {
        let (stamp, _) = line.split_once(' ').expect("timestamp then line");
        assert!(
            stamp.len() > 20 && stamp.contains('T') && stamp.ends_with('Z'),
            "timestamp {stamp:?}"
        );
    }
    let late_stamp = lines[10].split_once(' ').unwrap().0;
    assert_eq!(
        t.docker_ok(&["logs", "--since", late_stamp, &name]),
        "late\n"
    );
    assert_eq!(
        t.docker_ok(&["logs", "--tail", "3", &name]),
        "9\n10\nlate\n"
    );
    assert_eq!(t.docker_ok(&["logs", "--tail", "0", &name]), "");
}

#[test]
fn attach_streams_output_and_stdin_and_returns_the_exit_code() {
    let t = scope();
    let name = t.name("attach");
    let script = "sleep 1; for i in 1 2 3; do echo tick$i; sleep 0.3; done; exit 3";
    t.docker_ok(&["run", "-d", "--name", &name, IMAGE, "sh", "-c", script]);
    let done = t.docker(&["attach", &name]);
    assert_eq!(
        String::from_utf8_lossy(&done.stdout),
        "tick1\ntick2\ntick3\n"
    );
    assert_eq!(done.status.code(), Some(3), "docker attach exit code");

    let reader = t.name("reader");
    t.docker_ok(&[
        "run",
        "-d",
        "-i",
        "--name",
        &reader,
        IMAGE,
        "sh",
        "-c",
        "read line; echo got:$line",
    ]);
    let mut child = t
        .command()
        .args(["attach", &reader])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Give attach a moment to connect before the line goes out; stdin stays open until
    // the container has answered and exited (at EOF the CLI stops attaching).
    std::thread::sleep(Duration::from_millis(500));
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"hello\n").unwrap();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "got:hello\n",
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn top_and_stats_show_the_processes_and_usage() {
    let t = scope();
    let name = t.name("top");
    t.docker_ok(&["run", "-d", "--name", &name, IMAGE, "sleep", "1000"]);
    let top = t.docker_ok(&["top", &name]);
    let header = top.lines().next().unwrap_or_default();
    assert!(
        header.contains("PID") && header.contains("CMD"),
        "top header: {header}"
    );
    assert!(
        top.lines().skip(1).any(|l| l.ends_with("sleep 1000")),
        "docker top:\n{top}"
    );
    let stats = t.docker_ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}}|{{.MemUsage}}|{{.PIDs}}",
        &name,
    ]);
    let fields: Vec<&str> = stats.trim().split('|').collect();
    assert_eq!(fields.len(), 3, "{stats}");
    assert_eq!(fields[0], name);
    assert!(fields[1].contains("iB / "), "MemUsage {}", fields[1]);
    assert_eq!(fields[2], "1", "PIDs");
}

#[test]
fn export_tars_the_container_file_system() {
    let t = scope();
    let name = t.name("export");
    t.docker_ok(&[
        "run",
        "--name",
        &name,
        IMAGE,
        "sh",
        "-c",
        "echo x > /made-by-test",
    ]);
    let tar = t.dir().join(format!("{name}.tar"));
    t.docker_ok(&["export", "-o", &tar.to_string_lossy(), &name]);
    let listing = std::process::Command::new("tar")
        .arg("-tf")
        .arg(&tar)
        .output()
        .unwrap();
    std::fs::remove_file(&tar).unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    let names: Vec<&str> = listing
        .lines()
        .map(|l| l.trim_start_matches("./"))
        .collect();
    for wanted in ["made-by-test", "bin/busybox", "etc/passwd"] {
        assert!(
            names.contains(&wanted),
            "{wanted} missing from the export: {names:?}"
        );
    }
}

#[test]
fn cp_files_and_directories_both_ways() {
    let t = scope();
    let name = t.name("cp");
    t.docker_ok(&["run", "-d", "--name", &name, CONFIGURED, "sleep", "1000"]);
    let host = tempfile::tempdir().unwrap();
    let file = host.path().join("in.txt");
    std::fs::write(&file, "from the host\n").unwrap();
    let dir = host.path().join("tree");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/leaf.txt"), "leaf\n").unwrap();

    t.docker_ok(&[
        "cp",
        &file.to_string_lossy(),
        &format!("{name}:/tmp/in.txt"),
    ]);
    t.docker_ok(&["cp", &dir.to_string_lossy(), &format!("{name}:/tmp/")]);
    let inside = t.docker_ok(&[
        "exec",
        &name,
        "cat",
        "/tmp/in.txt",
        "/tmp/tree/sub/leaf.txt",
    ]);
    assert_eq!(inside, "from the host\nleaf\n");

    t.docker_ok(&[
        "exec",
        &name,
        "sh",
        "-c",
        "echo made-inside > /data/new.txt",
    ]);
    let out = host.path().join("out");
    t.docker_ok(&["cp", &format!("{name}:/data"), &out.to_string_lossy()]);
    assert_eq!(
        std::fs::read_to_string(out.join("seed.txt")).unwrap(),
        crate::engine::images::SEED
    );
    assert_eq!(
        std::fs::read_to_string(out.join("new.txt")).unwrap(),
        "made-inside\n"
    );
    let single = host.path().join("hostname");
    t.docker_ok(&[
        "cp",
        &format!("{name}:/etc/hostname"),
        &single.to_string_lossy(),
    ]);
    assert_eq!(
        std::fs::read_to_string(&single).unwrap().trim(),
        t.inspect(&name, "{{.Config.Hostname}}")
    );

    // cp works on a stopped container too.
    t.docker_ok(&["stop", "-t", "0", &name]);
    let after = host.path().join("after.txt");
    t.docker_ok(&[
        "cp",
        &format!("{name}:/tmp/in.txt"),
        &after.to_string_lossy(),
    ]);
    assert_eq!(std::fs::read_to_string(&after).unwrap(), "from the host\n");
}

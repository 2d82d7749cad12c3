//! `berth` container verbs against a Docker Engine API daemon: run, ps, logs, exec, stop,
//! rm, exit codes, --rm, --format, inspect -f, rename, pause, wait, top, stats, cp,
//! events. One daemon for the whole file; the scenarios run one after the other.

#![allow(clippy::unwrap_used)]

mod cli_harness;

use std::time::{SystemTime, UNIX_EPOCH};

use cli_harness::{stderr, stdout, Harness};

#[test]
fn container_verbs_against_a_docker_api_daemon() {
    let Some(h) = Harness::start("berth-cli-c-") else {
        eprintln!("skipped: dockerd is not installed");
        return;
    };
    detached_run_ps_logs_exec_stop_rm(&h);
    exit_codes_and_rm(&h);
    ps_formats(&h);
    inspect_rename_pause_wait(&h);
    top_and_stats(&h);
    cp_both_ways(&h);
    events_between_times(&h);
}

fn detached_run_ps_logs_exec_stop_rm(h: &Harness) {
    let name = h.name("web");
    let id = h.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        &name,
        "-e",
        "GREETING=hello",
        &h.image,
        "sh",
        "-c",
        "echo $GREETING from-stdout; echo oops >&2; exec sleep 1000",
    ]);
    let id = id.trim();
    assert_eq!(id.len(), 64, "run -d prints the full id: {id:?}");

    let ps = h.ok(&["ps"]);
    let mut lines = ps.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("CONTAINER ID   IMAGE"),
        "docker's header: {header:?}"
    );
    for column in ["COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"] {
        assert!(header.contains(column), "{column} in {header:?}");
    }
    let row = lines
        .find(|l| l.contains(&name))
        .expect("the container is listed");
    assert!(row.starts_with(&id[..12]), "short id first: {row:?}");
    assert!(
        row.contains("\"sh -c 'echo $GREETI…\""),
        "quoted, cut command: {row:?}"
    );
    assert!(row.contains(" Up "), "status: {row:?}");

    let logs = h.until(&["logs", &name], |l| l.contains("from-stdout"));
    assert_eq!(logs.trim(), "hello from-stdout");
    let out = h.berth(&["logs", &name]);
    assert_eq!(stderr(&out).trim(), "oops", "stderr stays stderr");
    let tail = h.ok(&["logs", "-n", "2", "-t", &name]);
    assert!(tail.contains("Z hello from-stdout"), "timestamps: {tail:?}");

    let out = h.berth(&["exec", &name, "sh", "-c", "echo in-$GREETING; exit 3"]);
    assert_eq!(stdout(&out).trim(), "in-hello");
    assert_eq!(out.status.code(), Some(3), "exec's exit code");
    let out = h.ok(&[
        "exec",
        "-e",
        "X=1",
        "-w",
        "/tmp",
        &name,
        "sh",
        "-c",
        "echo $X $(pwd)",
    ]);
    assert_eq!(out.trim(), "1 /tmp");
    // stdin through the hijacked connection, closed at EOF.
    let mut cmd = h.command(&["exec", "-i", &name, "sh", "-c", "tr a-z A-Z"]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"piped in\n")
        .unwrap();
    let done = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&done.stdout).trim(), "PIPED IN");

    assert_eq!(h.ok(&["stop", "-t", "1", &name]).trim(), name);
    let state = h.ok(&[
        "inspect",
        "-f",
        "{{.State.Status}} {{.State.ExitCode}}",
        &name,
    ]);
    assert_eq!(state.trim(), "exited 137", "sleep as pid 1 ignores SIGTERM");
    let ps = h.ok(&["ps", "-a", "--filter", &format!("name={name}")]);
    assert!(ps.contains("Exited (137)"), "{ps}");
    assert!(!h.ok(&["ps"]).contains(&name), "not running any more");
    assert_eq!(h.ok(&["rm", &name]).trim(), name);
    let out = h.berth(&["inspect", &name]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("No such object"), "{}", stderr(&out));
}

fn exit_codes_and_rm(h: &Harness) {
    let name = h.name("exit");
    let out = h.berth(&[
        "run",
        "--network",
        "none",
        "--name",
        &name,
        &h.image,
        "sh",
        "-c",
        "echo out; echo err >&2; exit 7",
    ]);
    assert_eq!(
        out.status.code(),
        Some(7),
        "run exits with the container's code"
    );
    assert_eq!(stdout(&out), "out\n");
    assert_eq!(stderr(&out), "err\n");
    h.ok(&["rm", &name]);

    // stdin to run -i, and --rm removes it.
    let name = h.name("rm");
    let mut cmd = h.command(&[
        "run",
        "--rm",
        "-i",
        "--network",
        "none",
        "--name",
        &name,
        &h.image,
        "sh",
        "-c",
        "read line; echo got-$line",
    ]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"abc\n").unwrap();
    let done = child.wait_with_output().unwrap();
    assert!(done.status.success());
    assert_eq!(String::from_utf8_lossy(&done.stdout).trim(), "got-abc");
    let all = h.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!all.lines().any(|l| l == name), "--rm removed it: {all}");

    // A registry on a closed loopback port: the pull fails at once, and nothing leaves
    // this machine.
    let out = h.berth(&["run", "--network", "none", "127.0.0.1:1/no-such-image:1"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("Unable to find image '127.0.0.1:1/no-such-image:1' locally"),
        "{}",
        stderr(&out)
    );
}

fn ps_formats(h: &Harness) {
    let name = h.name("fmt");
    h.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        &name,
        "-l",
        "tier=web",
        "-l",
        "team=a",
        &h.image,
        "sleep",
        "1000",
    ]);
    let filter = format!("name={name}");
    let out = h.ok(&[
        "ps",
        "--filter",
        &filter,
        "--format",
        "{{.Names}} {{.Label \"tier\"}} {{.State}}",
    ]);
    assert_eq!(out.trim(), format!("{name} web running"));
    let out = h.ok(&[
        "ps",
        "--filter",
        &filter,
        "--format",
        "table {{.Names}}\t{{.Labels}}",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0].trim_end(),
        format!("NAMES{}LABELS", " ".repeat(name.len().max(7) + 3 - 5))
    );
    assert_eq!(lines[1], format!("{name}   team=a,tier=web"));
    let out = h.ok(&["ps", "--filter", &filter, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(json["Names"], name.as_str());
    assert_eq!(json["State"], "running");
    let out = h.ok(&["ps", "-q", "--filter", &filter]);
    assert_eq!(out.trim().len(), 12);
    let out = h.ok(&["ps", "-q", "--no-trunc", "--filter", &filter]);
    assert_eq!(out.trim().len(), 64);
    let out = h.ok(&["ps", "-s", "--filter", &filter]);
    assert!(out.lines().next().unwrap().ends_with("SIZE"), "{out}");
    assert!(out.contains("(virtual "), "{out}");
    let out = h.ok(&["inspect", "-f", "{{json .Config.Labels}}", &name]);
    assert_eq!(out.trim(), r#"{"team":"a","tier":"web"}"#);
    let out = h.ok(&[
        "inspect",
        "-f",
        "{{index .Config.Labels \"tier\"}}{{range .Config.Cmd}} {{.}}{{end}}",
        &name,
    ]);
    assert_eq!(out.trim(), "web sleep 1000");
    let out = h.ok(&["inspect", &name, &h.image]);
    let both: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        both.as_array().unwrap().len(),
        2,
        "a container and an image"
    );
    assert!(both[1]["RootFS"].is_object(), "the image's inspect, whole");
    h.ok(&["rm", "-f", &name]);
}

fn inspect_rename_pause_wait(h: &Harness) {
    let name = h.name("pause");
    let renamed = h.name("renamed");
    h.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        &name,
        &h.image,
        "sleep",
        "1000",
    ]);
    h.ok(&["rename", &name, &renamed]);
    let out = h.ok(&["inspect", "-f", "{{.Name}}", &renamed]);
    assert_eq!(out.trim(), format!("/{renamed}"));
    assert_eq!(h.ok(&["pause", &renamed]).trim(), renamed);
    let status = h.ok(&[
        "ps",
        "--filter",
        &format!("name={renamed}"),
        "--format",
        "{{.Status}}",
    ]);
    assert!(status.contains("(Paused)"), "{status}");
    let out = h.ok(&["inspect", "-f", "{{.State.Paused}}", &renamed]);
    assert_eq!(out.trim(), "true");
    h.ok(&["unpause", &renamed]);
    let out = h.ok(&["inspect", "-f", "{{.State.Paused}}", &renamed]);
    assert_eq!(out.trim(), "false");
    h.ok(&["kill", "-s", "TERM", &renamed]);
    // `berth wait` prints the exit code once it stopped; SIGKILL to be sure it does.
    h.ok(&["kill", &renamed]);
    assert_eq!(h.ok(&["wait", &renamed]).trim(), "137");
    h.ok(&["rm", &renamed]);
}

fn top_and_stats(h: &Harness) {
    let name = h.name("top");
    h.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        &name,
        &h.image,
        "sleep",
        "1000",
    ]);
    let top = h.ok(&["top", &name]);
    let header = top.lines().next().unwrap();
    assert!(header.contains("PID") && header.contains("CMD"), "{top}");
    assert!(top.lines().any(|l| l.ends_with("sleep 1000")), "{top}");
    let stats = h.ok(&["stats", "--no-stream", &name]);
    let mut lines = stats.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("CONTAINER ID   NAME"), "{header:?}");
    for column in [
        "CPU %",
        "MEM USAGE / LIMIT",
        "MEM %",
        "NET I/O",
        "BLOCK I/O",
        "PIDS",
    ] {
        assert!(header.contains(column), "{column} in {header:?}");
    }
    let row = lines.next().unwrap();
    assert!(
        row.contains(&name) && row.contains('%') && row.contains("iB / "),
        "{row}"
    );
    assert!(row.trim_end().ends_with(" 1"), "one process: {row}");
    let out = h.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}}:{{.PIDs}}",
        &name,
    ]);
    assert_eq!(out.trim(), format!("{name}:1"));
    h.ok(&["rm", "-f", &name]);
}

fn cp_both_ways(h: &Harness) {
    let name = h.name("cp");
    h.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        &name,
        &h.image,
        "sleep",
        "1000",
    ]);
    let local = h.dir.join("cp-src");
    std::fs::create_dir_all(local.join("sub")).unwrap();
    std::fs::write(local.join("sub/file.txt"), "copied in\n").unwrap();
    // A directory into an existing directory keeps its name.
    h.ok(&["cp", local.to_str().unwrap(), &format!("{name}:/tmp")]);
    let out = h.ok(&["exec", &name, "cat", "/tmp/cp-src/sub/file.txt"]);
    assert_eq!(out, "copied in\n");
    // A file to a new path takes that name.
    h.ok(&[
        "cp",
        local.join("sub/file.txt").to_str().unwrap(),
        &format!("{name}:/renamed.txt"),
    ]);
    assert_eq!(h.ok(&["exec", &name, "cat", "/renamed.txt"]), "copied in\n");

    h.ok(&[
        "exec",
        &name,
        "sh",
        "-c",
        "mkdir -p /out/d && echo from-container > /out/d/f",
    ]);
    let back = h.dir.join("cp-back");
    h.ok(&["cp", &format!("{name}:/out/d"), back.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(back.join("f")).unwrap(),
        "from-container\n"
    );
    std::fs::create_dir_all(h.dir.join("cp-into")).unwrap();
    h.ok(&[
        "cp",
        &format!("{name}:/out/d/f"),
        h.dir.join("cp-into").to_str().unwrap(),
    ]);
    assert_eq!(
        std::fs::read_to_string(h.dir.join("cp-into/f")).unwrap(),
        "from-container\n"
    );
    // `-`: a tar on stdout.
    let out = h.berth(&["cp", &format!("{name}:/out/d/f"), "-"]);
    let mut archive = tar::Archive::new(out.stdout.as_slice());
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(names, ["f"]);
    let missing = h.berth(&["cp", &format!("{name}:/nope"), "-"]);
    assert!(!missing.status.success());
    h.ok(&["rm", "-f", &name]);
}

fn events_between_times(h: &Harness) {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let name = h.name("events");
    h.ok(&[
        "run",
        "--network",
        "none",
        "--name",
        &name,
        &h.image,
        "true",
    ]);
    h.ok(&["rm", &name]);
    let until = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    let out = h.ok(&[
        "events",
        "--since",
        &since.to_string(),
        "--until",
        &until.to_string(),
        "--filter",
        "type=container",
        "--filter",
        &format!("container={name}"),
        "--format",
        "{{.Action}}",
    ]);
    let actions: Vec<&str> = out.lines().collect();
    for action in ["create", "attach", "start", "die", "destroy"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let out = h.ok(&[
        "events",
        "--since",
        &since.to_string(),
        "--until",
        &until.to_string(),
        "--filter",
        "event=destroy",
        "--filter",
        &format!("container={name}"),
    ]);
    let line = out.lines().next().expect("the destroy event");
    assert!(line.contains(" container destroy "), "{line}");
    assert!(line.contains(&format!("name={name}")), "{line}");
}

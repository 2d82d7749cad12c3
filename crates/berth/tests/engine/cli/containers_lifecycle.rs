//! create, start, stop, kill, restart, wait, rm, ps, rename, pause, update, prune.

use std::time::{Duration, Instant};

use crate::engine::{scope, wait_for, IMAGE};

/// A script that logs `term` and exits 7 on SIGTERM, `usr1` on SIGUSR1, and says `ready`.
const TRAPS: &str = "trap 'echo term; exit 7' TERM; trap 'echo usr1' USR1; echo ready; \
                     while true; do sleep 0.1; done";

#[test]
fn create_then_start_then_stop_with_docker_exit_codes() {
    let t = scope();
    let name = t.name("created");
    t.docker_ok(&["create", "-t", "--name", &name, IMAGE, "sleep", "1000"]);
    assert_eq!(t.inspect(&name, "{{.State.Status}}"), "created");
    assert_eq!(t.inspect(&name, "{{.Config.Tty}}"), "true");
    t.docker_ok(&["start", &name]);
    assert_eq!(
        t.inspect(&name, "{{.State.Status}} {{.State.Running}}"),
        "running true"
    );
    // sleep as pid 1 ignores SIGTERM: stop waits the timeout, then SIGKILL: 137.
    let started = Instant::now();
    t.docker_ok(&["stop", "-t", "1", &name]);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "stop did not wait"
    );
    assert_eq!(
        t.inspect(&name, "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 137"
    );

    // Under --init, SIGTERM reaches sleep, which dies of it: 128 + 15.
    let init = t.name("init");
    t.docker_ok(&[
        "run", "-d", "--init", "--name", &init, IMAGE, "sleep", "1000",
    ]);
    t.docker_ok(&["stop", "-t", "10", &init]);
    assert_eq!(t.inspect(&init, "{{.State.ExitCode}}"), "143");

    // A process that handles SIGTERM exits with its own code.
    let trap = t.name("trap");
    t.docker_ok(&["run", "-d", "--name", &trap, IMAGE, "sh", "-c", TRAPS]);
    wait_for("the trap script to start", Duration::from_secs(20), || {
        t.docker_ok(&["logs", &trap])
            .contains("ready")
            .then_some(())
    });
    t.docker_ok(&["stop", &trap]);
    assert_eq!(t.inspect(&trap, "{{.State.ExitCode}}"), "7");
    assert_eq!(t.docker_ok(&["logs", &trap]), "ready\nterm\n");
}

#[test]
fn kill_with_a_signal_and_wait_for_the_exit_code() {
    let t = scope();
    let name = t.name("kill");
    t.docker_ok(&["run", "-d", "--name", &name, IMAGE, "sh", "-c", TRAPS]);
    wait_for("the trap script to start", Duration::from_secs(20), || {
        t.docker_ok(&["logs", &name])
            .contains("ready")
            .then_some(())
    });
    t.docker_ok(&["kill", "-s", "USR1", &name]);
    wait_for("usr1 in the logs", Duration::from_secs(10), || {
        t.docker_ok(&["logs", &name]).contains("usr1").then_some(())
    });
    assert_eq!(
        t.inspect(&name, "{{.State.Running}}"),
        "true",
        "USR1 is handled"
    );
    t.docker_ok(&["kill", &name]);
    assert_eq!(
        t.docker_ok(&["wait", &name]).trim(),
        "137",
        "docker wait after SIGKILL"
    );

    let waited = t.name("waited");
    t.docker_ok(&[
        "run",
        "-d",
        "--name",
        &waited,
        IMAGE,
        "sh",
        "-c",
        "sleep 1; exit 9",
    ]);
    assert_eq!(t.docker_ok(&["wait", &waited]).trim(), "9");
    let err = t.docker_fails(&["kill", &waited]);
    assert!(
        err.contains("is not running"),
        "kill of an exited container: {err}"
    );
}

#[test]
fn restart_runs_a_new_process() {
    let t = scope();
    let name = t.name("restart");
    t.docker_ok(&["run", "-d", "--name", &name, IMAGE, "sleep", "1000"]);
    let before = t.inspect(&name, "{{.State.Pid}} {{.State.StartedAt}}");
    t.docker_ok(&["restart", "-t", "1", &name]);
    let after = t.inspect(&name, "{{.State.Pid}} {{.State.StartedAt}}");
    assert_ne!(before, after, "same process after docker restart");
    assert_eq!(t.inspect(&name, "{{.State.Status}}"), "running");
    // A restart asked for by the user is not one of the policy's.
    assert_eq!(t.inspect(&name, "{{.RestartCount}}"), "0");
}

#[test]
fn rm_refuses_running_unless_forced() {
    let t = scope();
    let name = t.name("rm");
    t.docker_ok(&["run", "-d", "--name", &name, IMAGE, "sleep", "1000"]);
    let err = t.docker_fails(&["rm", &name]);
    assert!(
        err.contains("cannot remove") || err.contains("You cannot remove a running container"),
        "rm of a running container: {err}"
    );
    t.docker_ok(&["rm", "-f", &name]);
    let err = t.docker_fails(&["inspect", "--type", "container", &name]);
    assert!(err.contains("No such container"), "{err}");
}

#[test]
fn ps_all_format_and_filters() {
    let t = scope();
    let (up, down) = (t.name("up"), t.name("down"));
    let label = t.label();
    t.docker_ok(&[
        "run", "-d", "--label", &label, "--name", &up, IMAGE, "sleep", "1000",
    ]);
    let exited = t.docker(&[
        "run", "--label", &label, "--name", &down, IMAGE, "sh", "-c", "exit 3",
    ]);
    assert_eq!(exited.status.code(), Some(3));
    let by_label = format!("label={label}");
    let running = t.docker_ok(&["ps", "--filter", &by_label, "--format", "{{.Names}}"]);
    assert_eq!(
        running.trim(),
        up,
        "ps without -a lists only running containers"
    );
    let all = t.docker_ok(&[
        "ps",
        "-a",
        "--filter",
        &by_label,
        "--format",
        "{{.Names}}|{{.Image}}|{{.Command}}|{{.Status}}",
    ]);
    let mut rows: Vec<&str> = all.lines().collect();
    rows.sort();
    assert_eq!(rows.len(), 2, "{all}");
    let (down_row, up_row) = if rows[0].starts_with(&down) {
        (rows[0], rows[1])
    } else {
        (rows[1], rows[0])
    };
    assert!(
        up_row.starts_with(&format!("{up}|{IMAGE}|\"sleep 1000\"|Up ")),
        "{up_row}"
    );
    assert!(
        down_row.starts_with(&format!("{down}|{IMAGE}|")),
        "{down_row}"
    );
    assert!(down_row.contains("|Exited (3) "), "{down_row}");
    let exited = t.docker_ok(&[
        "ps",
        "-a",
        "--filter",
        &by_label,
        "--filter",
        "status=exited",
        "--format",
        "{{.Names}}",
    ]);
    assert_eq!(exited.trim(), down);
    let by_name = format!("name={up}");
    let quiet = t.docker_ok(&["ps", "-q", "--no-trunc", "--filter", &by_name]);
    assert_eq!(
        quiet.trim(),
        t.inspect(&up, "{{.Id}}"),
        "ps -q --no-trunc gives the full id"
    );
    let exit_filter = t.docker_ok(&[
        "ps",
        "-a",
        "--filter",
        &by_label,
        "--filter",
        "exited=3",
        "--format",
        "{{.Names}}",
    ]);
    assert_eq!(exit_filter.trim(), down);
}

#[test]
fn rename_pause_unpause_update() {
    let t = scope();
    let (old, new) = (t.name("old"), t.name("new"));
    let counter = "i=0; while true; do echo $i; i=$((i+1)); sleep 0.05; done";
    t.docker_ok(&[
        "run", "-d", "--memory", "32m", "--name", &old, IMAGE, "sh", "-c", counter,
    ]);
    t.docker_ok(&["rename", &old, &new]);
    assert_eq!(t.inspect(&new, "{{.Name}}"), format!("/{new}"));
    assert!(t
        .docker_fails(&["inspect", "--type", "container", &old])
        .contains("No such container"));

    t.docker_ok(&["pause", &new]);
    assert_eq!(
        t.inspect(&new, "{{.State.Status}} {{.State.Paused}}"),
        "paused true"
    );
    let status = t.docker_ok(&[
        "ps",
        "--filter",
        &format!("name={new}"),
        "--format",
        "{{.Status}}",
    ]);
    assert!(
        status.contains("(Paused)"),
        "ps status of a paused container: {status}"
    );
    let frozen = t.docker_ok(&["logs", &new]).lines().count();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        t.docker_ok(&["logs", &new]).lines().count(),
        frozen,
        "a paused container wrote"
    );
    t.docker_ok(&["unpause", &new]);
    assert_eq!(t.inspect(&new, "{{.State.Status}}"), "running");
    wait_for("the counter to go on", Duration::from_secs(10), || {
        (t.docker_ok(&["logs", &new]).lines().count() > frozen).then_some(())
    });

    t.docker_ok(&["update", "--memory", "64m", "--memory-swap", "128m", &new]);
    assert_eq!(t.inspect(&new, "{{.HostConfig.Memory}}"), "67108864");
    let inside = t.docker_ok(&["exec", &new, "sh", "-c",
        "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes"]);
    assert_eq!(
        inside.trim(),
        "67108864",
        "memory limit in the cgroup after update"
    );
}

#[test]
fn container_prune_removes_only_stopped_ones() {
    let t = scope();
    let (up, down) = (t.name("keep"), t.name("pruned"));
    let label = t.label();
    t.docker_ok(&[
        "run", "-d", "--label", &label, "--name", &up, IMAGE, "sleep", "1000",
    ]);
    t.docker_ok(&["run", "--label", &label, "--name", &down, IMAGE, "true"]);
    let id = t.inspect(&down, "{{.Id}}");
    let filter = format!("label={label}");
    let out = t.docker_ok(&["container", "prune", "-f", "--filter", &filter]);
    assert!(
        out.contains(&id),
        "prune output names the removed container:\n{out}"
    );
    let left = t.docker_ok(&["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"]);
    assert_eq!(left.trim(), up);
}

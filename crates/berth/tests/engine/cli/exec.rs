//! `docker exec`: a second process in a running container.

use std::time::Duration;

use crate::common::pty::PtySession;
use crate::engine::{scope, wait_for, CONFIGURED, IMAGE};

#[test]
fn exec_env_user_workdir_and_exit_code() {
    let t = scope();
    let name = t.name("exec");
    t.docker_ok(&["run", "-d", "--name", &name, CONFIGURED, "sleep", "1000"]);
    assert_eq!(t.docker_ok(&["exec", &name, "echo", "plain"]), "plain\n");
    // The container's env (the image's included) and working dir are the defaults.
    assert_eq!(
        t.docker_ok(&["exec", &name, "sh", "-c", "echo $X $(pwd)"]),
        "1 /data\n"
    );
    assert_eq!(
        t.docker_ok(&[
            "exec",
            "-e",
            "X=2",
            "-e",
            "NEW=n",
            &name,
            "sh",
            "-c",
            "echo $X $NEW"
        ]),
        "2 n\n"
    );
    assert_eq!(
        t.docker_ok(&["exec", "-u", "nobody", &name, "id", "-u"]),
        "65534\n"
    );
    assert_eq!(t.docker_ok(&["exec", "-w", "/tmp", &name, "pwd"]), "/tmp\n");
    assert_eq!(
        t.docker(&["exec", &name, "sh", "-c", "exit 5"])
            .status
            .code(),
        Some(5)
    );
    // dockerd 20.10 says 126 for a missing command, later versions 127 (as `docker run`).
    let missing = t.docker(&["exec", &name, "/no/such"]).status.code();
    assert!(
        matches!(missing, Some(126 | 127)),
        "exec of a missing command: {missing:?}"
    );
    // exec shares the container's pid namespace: pid 1 is its sleep.
    let comm = t.docker_ok(&["exec", &name, "cat", "/proc/1/comm"]);
    assert_eq!(comm, "sleep\n");

    let stopped = t.name("stopped");
    t.docker_ok(&["run", "--name", &stopped, IMAGE, "true"]);
    let err = t.docker_fails(&["exec", &stopped, "true"]);
    assert!(
        err.contains("is not running"),
        "exec in a stopped container: {err}"
    );
}

#[test]
fn exec_it_gets_a_terminal_of_the_client_s_size() {
    let t = scope();
    let name = t.name("exectty");
    t.docker_ok(&["run", "-d", "--name", &name, IMAGE, "sleep", "1000"]);
    let mut cmd = t.command();
    // The arithmetic keeps the echo of the typed line from matching what is awaited.
    cmd.args(["exec", "-it", &name, "sh"]);
    let mut term = PtySession::spawn(cmd);
    term.expect("# ", Duration::from_secs(30));
    term.send("[ -t 0 ] && echo tty-$((6*7)) size-$(stty size | tr ' ' x); exit 4\r");
    term.expect("tty-42", Duration::from_secs(30));
    let status = term.wait(Duration::from_secs(30));
    let screen = term.screen();
    // PtySession's terminal is 24 rows by 80 columns; the CLI passes its size on.
    assert!(
        screen.contains("size-24x80"),
        "stty size in exec -it:\n{screen}"
    );
    assert_eq!(status.code(), Some(4), "exit code of exec -it:\n{screen}");
}

#[test]
fn exec_detached_runs_in_the_background() {
    let t = scope();
    let name = t.name("execd");
    t.docker_ok(&["run", "-d", "--name", &name, IMAGE, "sleep", "1000"]);
    let out = t.docker_ok(&[
        "exec",
        "-d",
        &name,
        "sh",
        "-c",
        "sleep 1; echo done > /tmp/flag",
    ]);
    assert_eq!(out, "", "exec -d prints nothing");
    let found = t.docker(&["exec", &name, "cat", "/tmp/flag"]);
    assert!(!found.status.success(), "exec -d waited for its command");
    wait_for(
        "the detached exec to finish",
        Duration::from_secs(20),
        || {
            let done = t.docker(&["exec", &name, "cat", "/tmp/flag"]);
            (String::from_utf8_lossy(&done.stdout) == "done\n").then_some(())
        },
    );
}

//! `berth run -it` and `berth exec -it` through a pseudo-terminal: raw mode, the
//! container's own TTY, keystrokes up and the exit code back.

#![allow(clippy::unwrap_used)]

mod cli_harness;
#[path = "common/pty.rs"]
mod pty;

use std::time::Duration;

use cli_harness::Harness;
use pty::PtySession;

#[test]
fn interactive_terminals() {
    let Some(h) = Harness::start("berth-cli-t-") else {
        eprintln!("skipped: dockerd is not installed");
        return;
    };
    run_it_shell(&h);
    exec_it(&h);
}

fn run_it_shell(h: &Harness) {
    let cmd = h.command(&["run", "--rm", "-it", "--network", "none", &h.image, "sh"]);
    let mut term = PtySession::spawn(cmd);
    term.expect("# ", Duration::from_secs(60));
    // The arithmetic keeps the echo of the typed line from matching what is awaited;
    // stty reports the size berth sent on start (the test's pty is 24x80).
    term.send("[ -t 0 ] && echo tty-$((6*7)) $(stty size); exit 4\r");
    term.expect("tty-42 24 80", Duration::from_secs(30));
    let status = term.wait(Duration::from_secs(30));
    assert_eq!(
        status.code(),
        Some(4),
        "exit code of `berth run -it`; the terminal showed:\n{}",
        term.screen()
    );
}

fn exec_it(h: &Harness) {
    let name = h.name("tty");
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
    let cmd = h.command(&["exec", "-it", &name, "sh"]);
    let mut term = PtySession::spawn(cmd);
    term.expect("# ", Duration::from_secs(30));
    term.send("[ -t 0 ] && echo exec-tty-$((6*7)); exit 5\r");
    term.expect("exec-tty-42", Duration::from_secs(30));
    let status = term.wait(Duration::from_secs(30));
    assert_eq!(
        status.code(),
        Some(5),
        "exit code of `berth exec -it`; the terminal showed:\n{}",
        term.screen()
    );
    h.ok(&["rm", "-f", &name]);
}

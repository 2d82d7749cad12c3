//! What a process inside a `berth runtime` container sees of devices and terminals: host
//! devices absent and denied, `linux.devices` created and allowed, the default /dev, and
//! terminals handed over the console socket for `run` and `exec`. Every check runs busybox
//! inside the container and asserts on its output.
//!
//! Check the tests themselves with `BERTH_TEST_RUNTIME=runc cargo test -p berth --test
//! 'runtime_isolation*'`.

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

#[path = "runtime_isolation/common.rs"]
mod common;
mod support;

use std::time::Duration;

use common::sh;
use serde_json::json;
use support::{read_pty, Bundle, ConsoleSocket, Runtime};

#[test]
fn host_devices_are_absent_and_denied() {
    let out = sh(
        Bundle::new("devices"),
        "for d in sda vda kvm mem kmsg loop0; do test -e /dev/$d && echo present $d; done; \
         for d in null zero full random urandom tty; do test -c /dev/$d || echo missing $d; done; \
         echo x > /dev/null && head -c 3 /dev/zero | wc -c; \
         mknod /tmp/vda b 254 0 2>/dev/null; head -c 1 /tmp/vda >/dev/null 2>&1 || echo denied",
    );
    assert_eq!(out, "3\ndenied");
}

#[test]
fn linux_devices_are_created_and_allowed() {
    let mut bundle = Bundle::new("linux-devices");
    bundle.config_mut()["linux"]["devices"] = json!([{
        "path": "/dev/berth-null", "type": "c", "major": 1, "minor": 3,
        "fileMode": 0o640, "uid": 0, "gid": 0
    }]);
    bundle.resources(json!({ "devices": [
        { "allow": false, "access": "rwm" },
        { "allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw" }
    ]}));
    let out = sh(
        bundle,
        "stat -c '%F %t,%T %a' /dev/berth-null; echo data > /dev/berth-null && echo write-ok; \
         mknod /tmp/mem c 1 1 && { head -c 1 /tmp/mem >/dev/null 2>&1 || echo mem-denied; }",
    );
    // 1:1 (/dev/mem) is outside the allow-list, even though the node can be made.
    assert_eq!(out, "character special file 1,3 640\nwrite-ok\nmem-denied");
}

#[test]
fn dev_has_the_default_nodes_and_its_own_devpts() {
    let out = sh(
        Bundle::new("dev-defaults"),
        "ls /dev/pts; test -c /dev/pts/ptmx && echo ptmx-node; \
         [ /dev/ptmx -ef /dev/pts/ptmx ] && echo ptmx-is-pts; \
         for l in fd stdin stdout stderr; do readlink /dev/$l; done; \
         sed 's/^[^ ]* [^ ]* [^ ]* [^ ]* \\([^ ]*\\) .* - \\([^ ]*\\) .*/\\1 \\2/' /proc/self/mountinfo \
         | grep '^/dev' | sort",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[..7],
        [
            "ptmx",
            "ptmx-node",
            "ptmx-is-pts",
            "/proc/self/fd",
            "/proc/self/fd/0",
            "/proc/self/fd/1",
            "/proc/self/fd/2"
        ],
        "{out}"
    );
    let mounts = &lines[7..];
    for want in [
        "/dev tmpfs",
        "/dev/mqueue mqueue",
        "/dev/pts devpts",
        "/dev/shm tmpfs",
    ] {
        assert!(mounts.contains(&want), "{want} missing: {out}");
    }
}

#[test]
fn terminal_goes_through_the_console_socket() {
    let rt = Runtime::new();
    let socket = ConsoleSocket::new();
    let mut bundle = Bundle::new("tty");
    bundle
        .terminal(true)
        .sh("tty; test -t 0 && test -t 1 && echo is-a-tty; stty size");
    let c = rt.container(bundle);
    c.create(&["--console-socket", socket.path().to_str().unwrap()])
        .ok();
    let master = socket.receive_master(Duration::from_secs(10));
    c.start().ok();
    let text = read_pty(master, Duration::from_secs(10));
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    assert_eq!(lines.first(), Some(&"/dev/pts/0"), "{text:?}");
    assert_eq!(lines.get(1), Some(&"is-a-tty"), "{text:?}");
    c.wait_status("stopped");
    c.delete(&[]).ok();
    c.assert_nothing_left();
}

#[test]
fn exec_tty_goes_through_the_console_socket() {
    let rt = Runtime::new();
    let mut bundle = Bundle::new("exec-tty");
    bundle.sh("trap 'exit 0' TERM; sleep 1000 & wait");
    let c = rt.container(bundle);
    c.start_running();
    let socket = ConsoleSocket::new();
    let path = socket.path().to_str().unwrap().to_string();
    // As containerd's shim does it: detached, the pty master handed over the socket.
    c.exec(
        &["--tty", "--detach", "--console-socket", &path],
        &["sh", "-c", "tty; echo exec-tty-ok"],
    )
    .ok();
    let master = socket.receive_master(Duration::from_secs(10));
    let text = read_pty(master, Duration::from_secs(10));
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    assert!(
        lines.first().is_some_and(|l| l.starts_with("/dev/pts/")),
        "{text:?}"
    );
    assert_eq!(lines.get(1), Some(&"exec-tty-ok"), "{text:?}");
}

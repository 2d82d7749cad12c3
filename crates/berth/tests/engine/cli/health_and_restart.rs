//! Restart policies and health checks: what the daemon does on its own over time.

use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::engine::{scope, wait_for, Scope, IMAGE};

/// `State.Status RestartCount`.
fn status_and_count(t: &Scope, name: &str) -> (String, u32) {
    let out = t.inspect(name, "{{.State.Status}} {{.RestartCount}}");
    let (status, count) = out.split_once(' ').expect("status and count");
    (status.to_string(), count.parse().expect("RestartCount"))
}

#[test]
fn on_failure_restarts_up_to_the_maximum_then_stays_exited() {
    let t = scope();
    let name = t.name("onfail");
    t.docker_ok(&[
        "run",
        "-d",
        "--restart",
        "on-failure:2",
        "--name",
        &name,
        IMAGE,
        "sh",
        "-c",
        "echo try; exit 3",
    ]);
    wait_for("two restarts then exited", Duration::from_secs(30), || {
        (status_and_count(&t, &name) == ("exited".to_string(), 2)).then_some(())
    });
    thread::sleep(Duration::from_secs(2));
    assert_eq!(
        status_and_count(&t, &name),
        ("exited".to_string(), 2),
        "restarted past the maximum"
    );
    assert_eq!(t.inspect(&name, "{{.State.ExitCode}}"), "3");
    assert_eq!(
        t.docker_ok(&["logs", &name]),
        "try\ntry\ntry\n",
        "one run and two restarts"
    );

    // A success is not a failure: no restart.
    let ok = t.name("onfail-ok");
    t.docker_ok(&[
        "run",
        "-d",
        "--restart",
        "on-failure:2",
        "--name",
        &ok,
        IMAGE,
        "true",
    ]);
    assert_eq!(t.docker_ok(&["wait", &ok]).trim(), "0");
    thread::sleep(Duration::from_secs(1));
    assert_eq!(status_and_count(&t, &ok), ("exited".to_string(), 0));
}

#[test]
fn always_restarts_after_every_exit_until_stopped() {
    let t = scope();
    let name = t.name("always");
    t.docker_ok(&[
        "run",
        "-d",
        "--restart",
        "always",
        "--name",
        &name,
        IMAGE,
        "sh",
        "-c",
        "echo run; sleep 0.5; exit 0",
    ]);
    wait_for("two restarts", Duration::from_secs(30), || {
        (status_and_count(&t, &name).1 >= 2).then_some(())
    });
    wait_for("three runs in the logs", Duration::from_secs(10), || {
        (t.docker_ok(&["logs", &name]).matches("run").count() >= 3).then_some(())
    });
    t.docker_ok(&["stop", "-t", "1", &name]);
    let (status, count) = status_and_count(&t, &name);
    assert_eq!(status, "exited");
    thread::sleep(Duration::from_secs(2));
    assert_eq!(
        status_and_count(&t, &name),
        (status, count),
        "restarted after docker stop"
    );
}

#[test]
fn unless_stopped_restarts_until_stopped() {
    let t = scope();
    let name = t.name("unless");
    t.docker_ok(&[
        "run",
        "-d",
        "--restart",
        "unless-stopped",
        "--name",
        &name,
        IMAGE,
        "sh",
        "-c",
        "sleep 0.5; exit 1",
    ]);
    wait_for("a restart", Duration::from_secs(30), || {
        (status_and_count(&t, &name).1 >= 1).then_some(())
    });
    t.docker_ok(&["stop", "-t", "1", &name]);
    let stopped = status_and_count(&t, &name);
    assert_eq!(stopped.0, "exited");
    thread::sleep(Duration::from_secs(2));
    assert_eq!(
        status_and_count(&t, &name),
        stopped,
        "restarted after docker stop"
    );
    assert_eq!(
        t.inspect(&name, "{{.HostConfig.RestartPolicy.Name}}"),
        "unless-stopped"
    );
}

#[test]
fn health_check_passing_is_healthy_failing_is_unhealthy_with_events() {
    let t = scope();
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let (good, bad) = (t.name("healthy"), t.name("sick"));
    t.docker_ok(&[
        "run",
        "-d",
        "--name",
        &good,
        "--health-cmd",
        "test -e /bin/sh",
        "--health-interval",
        "1s",
        IMAGE,
        "sleep",
        "1000",
    ]);
    t.docker_ok(&[
        "run",
        "-d",
        "--name",
        &bad,
        "--health-cmd",
        "echo failing; exit 1",
        "--health-interval",
        "1s",
        "--health-retries",
        "2",
        IMAGE,
        "sleep",
        "1000",
    ]);
    assert_eq!(
        t.inspect(&good, "{{.State.Health.Status}}"),
        "starting",
        "before the first check"
    );
    wait_for("healthy", Duration::from_secs(30), || {
        (t.inspect(&good, "{{.State.Health.Status}}") == "healthy").then_some(())
    });
    wait_for("unhealthy", Duration::from_secs(30), || {
        (t.inspect(&bad, "{{.State.Health.Status}}") == "unhealthy").then_some(())
    });
    let ps = |name: &str| {
        t.docker_ok(&[
            "ps",
            "--filter",
            &format!("name={name}"),
            "--format",
            "{{.Status}}",
        ])
    };
    assert!(ps(&good).contains("(healthy)"), "ps: {}", ps(&good));
    assert!(ps(&bad).contains("(unhealthy)"), "ps: {}", ps(&bad));
    let by_health = t.docker_ok(&[
        "ps",
        "--filter",
        "health=unhealthy",
        "--filter",
        &format!("name={}", t.token()),
        "--format",
        "{{.Names}}",
    ]);
    assert_eq!(by_health.trim(), bad, "ps --filter health=unhealthy");

    let health: serde_json::Value =
        serde_json::from_str(&t.inspect(&bad, "{{json .State.Health}}")).unwrap();
    assert!(health["FailingStreak"].as_u64().unwrap() >= 2, "{health}");
    let last = health["Log"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["ExitCode"], 1, "{health}");
    assert_eq!(
        last["Output"].as_str().unwrap().trim(),
        "failing",
        "{health}"
    );

    let until = (SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1)
    .to_string();
    let events = |name: &str| {
        t.docker_ok(&[
            "events",
            "--since",
            &since,
            "--until",
            &until,
            "--filter",
            &format!("container={name}"),
            "--filter",
            "event=health_status",
            "--format",
            "{{.Action}}",
        ])
    };
    let good_events = events(&good);
    assert_eq!(
        good_events.lines().next(),
        Some("health_status: healthy"),
        "events:\n{good_events}"
    );
    let bad_events = events(&bad);
    assert!(
        bad_events.lines().any(|l| l == "health_status: unhealthy"),
        "events:\n{bad_events}"
    );
}

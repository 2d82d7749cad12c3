//! End to end: the Python docker SDK (docker-py) against the engine `BERTH_TEST_ENGINE`
//! names. Each test runs one script of tests/python/ with `DOCKER_HOST` set and requires
//! its exit code 0; on failure the script's output says which check failed.

#![allow(clippy::unwrap_used)] // helpers outside #[test] fns: a failed step fails the test

mod engine;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use berth_testkit::run_with_timeout;

use engine::{scope, CONFIGURED, IMAGE};

/// Runs `tests/python/SCRIPT` against the shared engine, in a scope of its own.
fn run_script(script: &str) {
    let t = scope();
    let check = Command::new("python3")
        .args(["-c", "import docker"])
        .output();
    if !check.is_ok_and(|o| o.status.success()) {
        eprintln!("SKIPPED: the Python docker SDK is not installed (pip install docker)");
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python");
    let bridge = t
        .bridge_args()
        .get(1)
        .map(|s| s.to_string())
        .unwrap_or_default();
    let mut cmd = Command::new("python3");
    cmd.arg(dir.join(script))
        .current_dir(&dir)
        .env("DOCKER_HOST", t.host())
        .env_remove("DOCKER_CONTEXT")
        .env_remove("DOCKER_TLS_VERIFY")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("E2E_TOKEN", t.token())
        .env("E2E_IMAGE", IMAGE)
        .env("E2E_CONFIGURED", CONFIGURED)
        .env("E2E_BRIDGE", bridge);
    let done =
        run_with_timeout(&mut cmd, Duration::from_secs(180)).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        done.status.success()
            && String::from_utf8_lossy(&done.stdout)
                .trim_end()
                .ends_with("ok"),
        "{script} failed with {}\nstdout:\n{}\nstderr:\n{}",
        done.status,
        String::from_utf8_lossy(&done.stdout),
        String::from_utf8_lossy(&done.stderr),
    );
}

#[test]
fn sdk_containers() {
    run_script("containers.py");
}

#[test]
fn sdk_images() {
    run_script("images.py");
}

#[test]
fn sdk_networks() {
    run_script("networks.py");
}

#[test]
fn sdk_volumes() {
    run_script("volumes.py");
}

#[test]
fn sdk_exec_and_log_stream() {
    run_script("exec_and_logs.py");
}

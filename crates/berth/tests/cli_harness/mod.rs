//! The harness of the `cli_*` tests: a daemon that speaks the Docker Engine API, known to
//! the tests only by its address (`host`), with a busybox image in it, and `berth -H
//! host ...` to drive it. The daemon is berth's own (`berth daemon` on temp roots), or a
//! private dockerd with `BERTH_TEST_ENGINE=dockerd`; nothing here but [`Harness::start`]
//! knows which.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use berth_testkit::{busybox, run_with_timeout, PrivateDockerd};

#[path = "../engine/berth.rs"]
mod berth_daemon;

/// What `berth_daemon` needs of the engine suites' harness.
mod daemon {
    pub const DOCKER_CLI: &str = "/usr/local/bin/docker";
}

/// The daemon under test.
enum Daemon {
    Berth(berth_daemon::BerthDaemon),
    Dockerd(PrivateDockerd),
}

/// A daemon to test against and the image the tests run.
pub struct Harness {
    /// `unix:///...`: the daemon's address.
    pub host: String,
    /// A busybox image in the daemon.
    pub image: String,
    /// A directory for the test's own files.
    pub dir: PathBuf,
    /// Keeps the daemon alive as long as the harness.
    _daemon: Daemon,
}

impl Harness {
    /// A daemon with busybox imported as `image`; `None` (after saying why) when no
    /// daemon can be had here.
    pub fn start(prefix: &str) -> Option<Harness> {
        let image = format!("{prefix}busybox:latest");
        if std::env::var("BERTH_TEST_ENGINE").as_deref() == Ok("dockerd") {
            let daemon = PrivateDockerd::builder().prefix(prefix).start()?;
            let tar = busybox::rootfs_tar(daemon.dir());
            // `docker import` is a plain API client: it works against any Docker API daemon.
            daemon.docker_ok(&["import", &tar.to_string_lossy(), &image]);
            return Some(Harness {
                host: daemon.host(),
                image,
                dir: daemon.dir().to_path_buf(),
                _daemon: Daemon::Dockerd(daemon),
            });
        }
        let daemon = berth_daemon::BerthDaemon::start();
        let tar = busybox::rootfs_tar(daemon.dir());
        let out = run_with_timeout(
            daemon
                .command()
                .args(["import", &tar.to_string_lossy(), &image]),
            Duration::from_secs(60),
        )
        .unwrap_or_else(|e| panic!("docker import into berth: {e}"));
        assert!(
            out.status.success(),
            "docker import into berth: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            daemon.log_tail()
        );
        Some(Harness {
            host: daemon.host(),
            image,
            dir: daemon.dir().to_path_buf(),
            _daemon: Daemon::Berth(daemon),
        })
    }

    /// `berth -H host ARGS`, with its data and exec roots in the test's directory.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.arg("-H")
            .arg(&self.host)
            .arg("--data-root")
            .arg(self.dir.join("berth-data"))
            .arg("--exec-root")
            .arg(self.dir.join("berth-exec"))
            .args(args)
            .env_remove("BERTH_HOST");
        cmd
    }

    /// Runs `berth ARGS` (at most 60 s).
    pub fn berth(&self, args: &[&str]) -> Output {
        run_with_timeout(&mut self.command(args), Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("berth {}: {e}", args.join(" ")))
    }

    /// Runs `berth ARGS`, requires success, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.berth(args);
        assert!(
            out.status.success(),
            "`berth {}` failed with {}\nstdout: {}\nstderr: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Polls `check` on `berth ARGS`'s stdout until it holds; returns the last stdout.
    pub fn until(&self, args: &[&str], check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = self.ok(args);
            if check(&out) || Instant::now() > deadline {
                return out;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A name no other test uses.
    pub fn name(&self, what: &str) -> String {
        format!("cli-{what}-{}", std::process::id())
    }
}

/// stdout as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

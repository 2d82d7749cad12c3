//! [`Engine`]: the daemon under test, whichever it is, seen only through its socket and the
//! docker CLI; and [`shared`], the one engine of a test binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;

use berth_testkit::{run_with_timeout, PrivateDockerd};

use super::berth::BerthDaemon;
use super::images;

/// The docker CLI every suite drives (docker 28).
pub const DOCKER_CLI: &str = "/usr/local/bin/docker";

/// How long one docker CLI command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// Which daemon serves the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `berth daemon`.
    Berth,
    /// A private dockerd: the reference the suites are checked against.
    Dockerd,
}

impl Kind {
    /// `BERTH_TEST_ENGINE`: `berth` (default) or `dockerd`.
    pub fn from_env() -> Kind {
        match std::env::var("BERTH_TEST_ENGINE").as_deref() {
            Ok("dockerd") => Kind::Dockerd,
            Ok("berth") | Ok("") | Err(_) => Kind::Berth,
            Ok(other) => panic!("BERTH_TEST_ENGINE={other}: expected `berth` or `dockerd`"),
        }
    }
}

#[derive(Debug)]
enum Daemon {
    Berth(BerthDaemon),
    Dockerd(PrivateDockerd),
}

/// A running engine with the test images imported.
#[derive(Debug)]
pub struct Engine {
    daemon: Daemon,
    /// For dockerd, which runs with `--bridge=none` (so as not to touch the host's network):
    /// a user network standing in for the default bridge.
    bridge: Option<String>,
}

impl Engine {
    /// Starts the engine `BERTH_TEST_ENGINE` names and imports the test images. `None`,
    /// after saying why, when dockerd is asked for and cannot run here.
    pub fn start() -> Option<Engine> {
        let daemon = match Kind::from_env() {
            Kind::Berth => Daemon::Berth(BerthDaemon::start()),
            Kind::Dockerd => Daemon::Dockerd(
                PrivateDockerd::builder()
                    .prefix("berth-engine-dockerd-")
                    .docker_cli(DOCKER_CLI)
                    .start()?,
            ),
        };
        let mut engine = Engine {
            daemon,
            bridge: None,
        };
        if engine.kind() == Kind::Dockerd {
            let name = format!("e2e-bridge-{}", std::process::id());
            let subnet = super::scope::random_subnet();
            engine.docker_ok(&["network", "create", "--subnet", &subnet, &name]);
            engine.bridge = Some(name);
        }
        images::import_test_images(&engine);
        Some(engine)
    }

    /// The berth daemon itself (to kill and restart it); `None` for dockerd.
    pub fn berth_daemon(&mut self) -> Option<&mut BerthDaemon> {
        match &mut self.daemon {
            Daemon::Berth(d) => Some(d),
            Daemon::Dockerd(_) => None,
        }
    }

    /// Which daemon this is.
    pub fn kind(&self) -> Kind {
        match self.daemon {
            Daemon::Berth(_) => Kind::Berth,
            Daemon::Dockerd(_) => Kind::Dockerd,
        }
    }

    /// `unix://SOCKET`, for `DOCKER_HOST`.
    pub fn host(&self) -> String {
        match &self.daemon {
            Daemon::Berth(d) => d.host(),
            Daemon::Dockerd(d) => d.host(),
        }
    }

    /// The API socket, for curl.
    pub fn socket(&self) -> PathBuf {
        match &self.daemon {
            Daemon::Berth(d) => d.socket(),
            Daemon::Dockerd(d) => d.socket().to_path_buf(),
        }
    }

    /// A temp dir of the engine's own where tests may put files.
    pub fn dir(&self) -> &Path {
        match &self.daemon {
            Daemon::Berth(d) => d.dir(),
            Daemon::Dockerd(d) => d.dir(),
        }
    }

    /// The last lines of the daemon's log.
    pub fn log_tail(&self) -> String {
        match &self.daemon {
            Daemon::Berth(d) => d.log_tail(),
            Daemon::Dockerd(d) => d.log_tail(),
        }
    }

    /// A docker CLI command talking to this engine only.
    pub fn command(&self) -> Command {
        match &self.daemon {
            Daemon::Berth(d) => d.command(),
            Daemon::Dockerd(d) => d.command(),
        }
    }

    /// `docker ARGS` with stdin closed, whatever its exit code.
    pub fn docker(&self, args: &[&str]) -> Output {
        run_with_timeout(self.command().args(args), COMMAND_TIMEOUT)
            .unwrap_or_else(|e| panic!("{e}\n{}", self.log_tail()))
    }

    /// `docker ARGS`; requires success and returns stdout.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        let done = self.docker(args);
        assert!(
            done.status.success(),
            "`docker {}` failed with {}\nstdout: {}\nstderr: {}",
            args.join(" "),
            done.status,
            String::from_utf8_lossy(&done.stdout),
            String::from_utf8_lossy(&done.stderr),
        );
        String::from_utf8_lossy(&done.stdout).into_owned()
    }

    /// `docker ARGS`; requires failure and returns stderr.
    pub fn docker_fails(&self, args: &[&str]) -> String {
        let done = self.docker(args);
        assert!(
            !done.status.success(),
            "`docker {}` succeeded but should have failed\nstdout: {}",
            args.join(" "),
            String::from_utf8_lossy(&done.stdout),
        );
        String::from_utf8_lossy(&done.stderr).into_owned()
    }

    /// `docker inspect -f FORMAT TARGET`, trimmed.
    pub fn inspect(&self, target: &str, format: &str) -> String {
        self.docker_ok(&["inspect", "-f", format, target])
            .trim()
            .to_string()
    }

    /// `--network NAME` for containers that need a bridge network: nothing for berth (its
    /// default bridge), a user network for dockerd.
    pub fn bridge_args(&self) -> Vec<&str> {
        match &self.bridge {
            Some(name) => vec!["--network", name],
            None => vec![],
        }
    }

    /// The network key under `NetworkSettings.Networks` of a container on
    /// [`Engine::bridge_args`].
    pub fn bridge_name(&self) -> &str {
        self.bridge.as_deref().unwrap_or("bridge")
    }
}

type Started = Result<Arc<Engine>, String>;

/// The engine of this test binary, started by the first test that asks, stopped at exit.
static SHARED: Mutex<Option<Started>> = Mutex::new(None);

/// The binary's shared engine. Every test fails with the same message if it did not start;
/// `None` (said why) when dockerd was asked for and is absent.
pub fn shared() -> Arc<Engine> {
    let mut slot = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    if slot.is_none() {
        *slot = Some(start_on_keeper_thread());
        // SAFETY: atexit registers a plain extern "C" fn; it runs once, at exit, after
        // every test has returned.
        unsafe {
            libc::atexit(stop_shared);
        }
    }
    match slot.as_ref() {
        Some(Ok(engine)) => engine.clone(),
        Some(Err(why)) => panic!("{why}"),
        None => unreachable!("just filled"),
    }
}

/// Starts the engine on a thread that lives as long as the process: the daemon's parent
/// death signal fires when the thread that spawned it ends, and test threads end early.
fn start_on_keeper_thread() -> Started {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let started = std::panic::catch_unwind(Engine::start);
        let started = match started {
            Ok(Some(engine)) => Ok(Arc::new(engine)),
            Ok(None) => Err("the engine under test cannot run here (see above)".to_string()),
            Err(panic) => Err(panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "the engine did not start".to_string())),
        };
        let _ = tx.send(started);
        loop {
            thread::park();
        }
    });
    rx.recv()
        .unwrap_or_else(|_| Err("the engine's keeper thread died".to_string()))
}

extern "C" fn stop_shared() {
    let taken = SHARED.lock().map(|mut slot| slot.take()).ok().flatten();
    drop(taken);
}

//! `berth daemon` for the engine's end-to-end tests: the binary (`BERTH_BIN`, or
//! `target/debug/berth` from `cargo build -p berth`; it is also the shim) started on
//! temporary roots with a network instance of its own, driven with the docker CLI or raw
//! HTTP, and everything it made removed on drop.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use berth_testkit::{find_program, run_with_timeout};

pub fn berth_binary() -> Option<PathBuf> {
    let berth = std::env::var_os("BERTH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/berth"));
    if berth.is_file() {
        Some(berth)
    } else {
        eprintln!(
            "skipped: no berth binary at {} (cargo build -p berth)",
            berth.display()
        );
        None
    }
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}{:06x}", rand::random::<u32>() & 0xff_ffff)
}

/// A `berth daemon` on temporary roots, with its own network instance.
pub struct Daemon {
    child: Child,
    host: String,
    socket: PathBuf,
    docker: PathBuf,
    instance: String,
    /// The temporary root: `d` the data root, `e` the exec root, `daemon.log`.
    pub dir: tempfile::TempDir,
}

impl Daemon {
    pub fn start() -> Option<Daemon> {
        let berth = berth_binary()?;
        let Some(docker) = find_program("docker") else {
            eprintln!("skipped: the docker CLI is not installed");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("berth-daemon-")
            .tempdir()
            .unwrap();
        let exec_root = dir.path().join("e");
        let socket = exec_root.join("s.sock");
        let host = format!("unix://{}", socket.display());
        let instance = unique("tb");
        let child = spawn(&berth, dir.path(), &host, &instance);
        let daemon = Daemon {
            child,
            host,
            socket,
            docker,
            instance,
            dir,
        };
        daemon.wait_ready();
        Some(daemon)
    }

    /// Stops the daemon (SIGTERM) and starts it again on the same roots.
    pub fn restart(&mut self) {
        self.stop();
        let berth = berth_binary().expect("the berth binary started this daemon");
        self.child = spawn(&berth, self.dir.path(), &self.host, &self.instance);
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.docker(&["version"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "the daemon did not answer:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        if berth_testkit::wait_until(&mut self.child, deadline).is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("daemon.log")).unwrap_or_default()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.docker);
        cmd.args(args)
            .env("DOCKER_HOST", &self.host)
            .env("DOCKER_BUILDKIT", "0")
            .env("DOCKER_CONFIG", self.dir.path().join("docker-config"))
            .env_remove("DOCKER_CONTEXT");
        cmd
    }

    pub fn docker(&self, args: &[&str]) -> Output {
        run_with_timeout(&mut self.command(args), Duration::from_secs(120))
            .unwrap_or_else(|e| panic!("docker {}: {e}", args.join(" ")))
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "`docker {}` failed: {}{}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A raw HTTP/1.1 request on the daemon's socket: (status, body).
    pub fn http(&self, method: &str, target: &str, body: &[u8]) -> (u16, String) {
        let mut stream = std::os::unix::net::UnixStream::connect(&self.socket).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        write!(
            stream,
            "{method} {target} HTTP/1.1\r\nHost: berth\r\nContent-Type: application/x-tar\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        // The daemon may answer (a bad query) and close before it has read the whole body:
        // the rest of the body then meets a closed socket, and the answer is still there.
        if let Err(e) = stream.write_all(body) {
            assert!(
                matches!(
                    e.kind(),
                    std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
                ),
                "send the body: {e}"
            );
        }
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer).into_owned();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap();
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    /// Runs `docker ARGS`, requires failure, returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            !out.status.success(),
            "`docker {}` succeeded",
            args.join(" ")
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

/// `berth daemon` on the roots under `dir` (data `d`, exec `e`), its log appended to
/// `dir/daemon.log`.
fn spawn(berth: &Path, dir: &Path, host: &str, instance: &str) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("daemon.log"))
        .unwrap();
    Command::new(berth)
        .arg("daemon")
        .arg("--data-root")
        .arg(dir.join("d"))
        .arg("--exec-root")
        .arg(dir.join("e"))
        .arg("-H")
        .arg(host)
        .arg("--instance")
        .arg(instance)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap()
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let ids = self.docker(&["ps", "-aq"]);
        for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
            self.docker(&["rm", "-f", "-v", id]);
        }
        self.stop();
        let _ = Command::new("ip")
            .args(["link", "del", &format!("{}0", self.instance)])
            .output();
        let _ = berth_net::nat::Nft::new(&self.instance).delete_table();
    }
}

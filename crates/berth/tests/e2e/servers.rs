//! Servers the tests start as children, each behind a guard whose Drop kills it (and
//! whatever it started) even when the test panics: `berth registry serve`, distribution
//! (`docker-registry`) and dockerd with its own containerd.

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `berth registry serve`.
pub struct BerthRegistry {
    child: Option<Child>,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    pub root: PathBuf,
    log: Arc<Mutex<String>>,
}

impl BerthRegistry {
    /// Starts a registry on a free loopback port (`--listen 127.0.0.1:0`, the address read
    /// back from its "serving on" line) with `extra` flags.
    pub fn start(root: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["registry", "serve", "--listen", "127.0.0.1:0", "--root"])
            .arg(root)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = log.clone();
        // Keeps draining stderr so that the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.split("serving on ").nth(1) {
                    let _ = tx.send(addr.trim().to_string());
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut server = Self {
            child: Some(child),
            addr: String::new(),
            root: root.to_path_buf(),
            log,
        };
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(addr) => server.addr = addr,
            Err(_) => panic!("berth registry did not start: {}", server.log()),
        }
        server
    }

    /// Everything the server wrote on stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// SIGKILL, as a crash would.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for BerthRegistry {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A loopback port nobody listens on now (bound, then released; callers retry on the rare
/// conflict).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `addr` accepts connections or `child` exits; false if it exited.
fn wait_listening(addr: &str, child: &mut Child, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if TcpStream::connect(addr).is_ok() {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{addr} did not come up within {limit:?}");
}

fn output_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut text);
    }
    text
}

/// A running distribution (Debian's `docker-registry`) with filesystem storage.
pub struct Distribution {
    child: Child,
    pub addr: String,
}

impl Distribution {
    pub fn start(dir: &Path) -> Self {
        let mut last = String::new();
        for _ in 0..5 {
            let addr = format!("127.0.0.1:{}", free_port());
            let config = dir.join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
                    dir.join("storage").display()
                ),
            )
            .unwrap();
            let mut child = Command::new("docker-registry")
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            if wait_listening(&addr, &mut child, Duration::from_secs(20)) {
                return Self { child, addr };
            }
            last = output_of(&mut child);
        }
        panic!("docker-registry did not start: {last}");
    }
}

impl Drop for Distribution {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A dockerd of the test's own: its socket, data root, exec root and pid file in a temp
/// dir, no networking set up on the host; it starts its own containerd under the exec root.
pub struct Dockerd {
    child: Child,
    pub dir: PathBuf,
    pub host: String,
}

impl Dockerd {
    pub fn start(dir: &Path, insecure_registry: &str) -> Self {
        let socket = dir.join("docker.sock");
        let log = std::fs::File::create(dir.join("dockerd.log")).unwrap();
        // An empty daemon.json of its own: the host's /etc/docker/daemon.json is not ours.
        std::fs::write(dir.join("daemon.json"), "{}").unwrap();
        let child = Command::new("dockerd")
            .arg("--host")
            .arg(format!("unix://{}", socket.display()))
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("dockerd.pid"))
            .args(["--insecure-registry", insecure_registry])
            .args(["--bridge=none", "--iptables=false", "--ip6tables=false"])
            .arg("--storage-driver=vfs")
            .arg("--config-file")
            .arg(dir.join("daemon.json"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        // The guard exists before the wait, so that a failed start still kills the daemon.
        let mut daemon = Self {
            child,
            dir: dir.to_path_buf(),
            host: format!("unix://{}", socket.display()),
        };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if daemon.docker(&["version"]).status.success() {
                return daemon;
            }
            if daemon.child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "dockerd did not start: {}",
            std::fs::read_to_string(dir.join("dockerd.log")).unwrap_or_default()
        );
    }

    /// The docker CLI talking to this daemon, with a config dir of its own.
    pub fn docker(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", self.dir.join("cli"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        // SIGTERM lets dockerd stop its containerd; SIGKILL if it takes too long.
        let pid = self.child.id() as i32;
        // SAFETY: kill(2) on our own child's pid has no memory effects.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if self.child.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Its containerd, if it outlived dockerd.
        let containerd_pid = self.dir.join("exec/containerd/containerd.pid");
        if let Some(pid) = std::fs::read_to_string(containerd_pid)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok())
        {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&*self.dir.to_string_lossy()) {
                // SAFETY: as above; the pid is containerd's, checked by its command line.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        // Mounts the daemon may have left under its roots (deepest first).
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut points: Vec<&str> = mounts
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|p| p.starts_with(&*self.dir.to_string_lossy()))
            .collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for point in points {
            let _ = Command::new("umount").arg("-l").arg(point).status();
        }
    }
}

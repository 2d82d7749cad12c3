//! Servers the tests start as children, each behind a guard whose Drop kills it (and
//! whatever it started) even when the test panics: `berth registry serve`, distribution
//! (`docker-registry`). The private dockerd comes from `berth-testkit`.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;

use berth_testkit::free_port;
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

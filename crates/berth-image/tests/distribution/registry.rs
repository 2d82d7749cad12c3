//! A real distribution server (Debian's docker-registry) for the tests.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running docker-registry, killed on drop.
pub struct Registry {
    child: Option<Child>,
    config: PathBuf,
    pub addr: String,
    _dir: tempfile::TempDir,
}

impl Registry {
    /// Starts a registry with filesystem storage; with `htpasswd` users when given.
    pub fn start(users: &[(&str, &str)]) -> Self {
        Self::start_with(users, None)
    }

    /// Like [`start`](Self::start), serving TLS with `(certificate, key)` when given.
    pub fn start_with(users: &[(&str, &str)], tls: Option<(&Path, &Path)>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = berth_testkit::free_port();
        let addr = format!("127.0.0.1:{port}");
        let storage = dir.path().join("storage");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
            storage.display()
        );
        if let Some((cert, key)) = tls {
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ));
        }
        if !users.is_empty() {
            let htpasswd = dir.path().join("htpasswd");
            let lines: String = users
                .iter()
                .map(|(u, p)| format!("{u}:{}\n", bcrypt::hash(p, 5).unwrap()))
                .collect();
            std::fs::write(&htpasswd, lines).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let mut registry = Self {
            child: None,
            config: config_path,
            addr,
            _dir: dir,
        };
        registry.spawn();
        registry
    }

    fn spawn(&mut self) {
        let child = Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(&self.config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry (Debian package docker-registry) must be installed");
        self.child = Some(child);
        wait_for_port(&self.addr);
    }

    /// Stops the registry (SIGKILL) and starts it again on the same port and storage.
    #[allow(dead_code)]
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The storage directory (tests look at what the registry holds).
    #[allow(dead_code)]
    pub fn storage(&self) -> &Path {
        self._dir.path()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits until something listens on `addr`.
pub fn wait_for_port(addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

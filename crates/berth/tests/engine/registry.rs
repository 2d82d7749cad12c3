//! A local registry for push and pull: distribution (Debian's `docker-registry`) on a free
//! loopback port, which docker treats as insecure (plain HTTP) without configuration.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use berth_testkit::{find_program, free_port};

/// A running `docker-registry`, killed on drop.
#[derive(Debug)]
pub struct Registry {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
}

impl Registry {
    /// Starts distribution with its storage under `dir`; `None`, after saying why, when it
    /// is not installed.
    pub fn start(dir: &Path) -> Option<Registry> {
        let Some(program) = find_program("docker-registry") else {
            eprintln!(
                "SKIPPED: docker-registry is not installed (apt-get install docker-registry)"
            );
            return None;
        };
        std::fs::create_dir_all(dir).expect("create the registry dir");
        for _ in 0..5 {
            let addr = format!("127.0.0.1:{}", free_port());
            let config = dir.join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    \
                     rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
                    dir.join("storage").display()
                ),
            )
            .expect("write the registry config");
            let mut child = Command::new(&program)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start docker-registry");
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if TcpStream::connect(&addr).is_ok() {
                    return Some(Registry { child, addr });
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break; // the port was taken meanwhile: try another
                }
                thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("docker-registry did not start on any of 5 free ports");
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! An in-process berth daemon for API tests: the engine and router on a temporary unix
//! socket, with a network instance of its own (nftables table, bridge names) so that
//! tests cannot touch each other's or the host's networks. Dropping it removes every
//! network it made, its nftables table and its directories.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use berth_client::DockerClient;
use berth_engine::{DaemonConfig, Engine};
use berth_net::CreateNetwork;

pub fn rand_hex(n: usize) -> String {
    (0..n)
        .map(|_| format!("{:x}", rand::random::<u8>() % 16))
        .collect()
}

pub struct TestDaemon {
    pub rt: tokio::runtime::Runtime,
    pub engine: Arc<Engine>,
    pub socket: PathBuf,
    pub instance: String,
    docker_config: tempfile::TempDir,
    _data: tempfile::TempDir,
    _exec: tempfile::TempDir,
}

impl TestDaemon {
    pub fn start() -> TestDaemon {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let data = tempfile::tempdir().unwrap();
        let exec = tempfile::tempdir().unwrap();
        let instance = format!("t{}", rand_hex(6));
        let mut config = DaemonConfig::new(data.path().to_path_buf(), exec.path().to_path_buf());
        config.network_instance = instance.clone();
        let socket = exec.path().join("berth.sock");
        let engine = rt.block_on(Engine::open(config)).unwrap();
        let listener = rt
            .block_on(berth_engine::api::bind(&format!(
                "unix://{}",
                socket.display()
            )))
            .unwrap();
        rt.spawn(berth_engine::api::serve(
            listener,
            berth_engine::api::router(engine.clone()),
        ));
        TestDaemon {
            rt,
            engine,
            socket,
            instance,
            docker_config: tempfile::tempdir().unwrap(),
            _data: data,
            _exec: exec,
        }
    }

    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    pub fn client(&self) -> DockerClient {
        DockerClient::new(&self.host()).unwrap()
    }

    pub fn data_root(&self) -> PathBuf {
        self.engine.config().data_root.clone()
    }

    /// The default `bridge` network, as the daemon's start-up makes it, with a bridge
    /// name and a /24 of its own.
    pub fn create_default_bridge(&self) -> berth_net::state::NetworkState {
        for _ in 0..20 {
            let subnet = random_subnet();
            let created = self
                .rt
                .block_on(self.engine.networks().create_network(CreateNetwork {
                    id: rand_hex(64),
                    name: "bridge".into(),
                    subnet: Some(subnet.parse().unwrap()),
                    bridge: Some(format!("b{}", self.instance)),
                    default_bridge: true,
                    ..Default::default()
                }));
            match created {
                Ok(state) => return state,
                Err(berth_net::NetError::PoolOverlap { .. }) => continue,
                Err(e) => panic!("create the default bridge: {e}"),
            }
        }
        panic!("no free subnet for the default bridge");
    }

    /// Runs the docker CLI against this daemon.
    pub fn docker(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("/usr/local/bin/docker");
        cmd.args(args)
            .env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", self.docker_config.path())
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_API_VERSION");
        berth_testkit::run_with_timeout(&mut cmd, Duration::from_secs(60)).unwrap()
    }

    /// Runs the docker CLI and returns its stdout; panics with its output on failure.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs the docker CLI expecting failure; returns its stderr.
    pub fn docker_err(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            !out.status.success(),
            "docker {args:?} succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

/// A random 10.x.y.0/24 from a corner of 10/8 that Docker's default pools do not favour.
pub fn random_subnet() -> String {
    format!(
        "10.{}.{}.0/24",
        200 + rand::random::<u8>() % 50,
        rand::random::<u8>()
    )
}

pub fn link_exists(name: &str) -> bool {
    Command::new("ip")
        .args(["link", "show", "dev", name])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        let networks = self.rt.block_on(self.engine.networks().networks());
        for net in networks {
            let _ = self
                .rt
                .block_on(self.engine.networks().remove_network(&net.id));
            // Whatever the manager could not remove, the bridge must not stay behind.
            let _ = Command::new("ip")
                .args(["link", "del", &net.bridge])
                .output();
        }
        let _ = berth_net::nat::Nft::new(&self.instance).delete_table();
    }
}

pub fn nft_table_exists(instance: &str) -> bool {
    Command::new("nft")
        .args(["list", "table", "ip", instance])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

//! Test scaffolding: namespaces as "containers", an "outside" host behind a veth, unique names
//! and subnets per test, and Drop guards that clean up even when a test panics.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use berth_net::{Config, Connect, NetworkManager};

pub fn sh(cmd: &str) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("run sh")
}

pub fn sh_ok(cmd: &str) -> String {
    let out = sh(cmd);
    assert!(
        out.status.success(),
        "`{cmd}` failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn rand_hex(n: usize) -> String {
    (0..n)
        .map(|_| format!("{:x}", rand::random::<u8>() % 16))
        .collect()
}

/// A network namespace made with `ip netns add`, deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new() -> Self {
        let name = format!("bnt-{}", rand_hex(8));
        sh_ok(&format!("ip netns add {name}"));
        Self { name }
    }
    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!("/run/netns/{}", self.name))
    }
    pub fn exec(&self, cmd: &str) -> Output {
        sh(&format!("ip netns exec {} {cmd}", self.name))
    }
    pub fn exec_ok(&self, cmd: &str) -> String {
        sh_ok(&format!("ip netns exec {} {cmd}", self.name))
    }
    /// Starts a long-running process in the namespace, killed on drop of the guard.
    pub fn spawn(&self, cmd: &str) -> ChildGuard {
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.name,
                "sh",
                "-c",
                &format!("exec {cmd}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn in netns");
        ChildGuard(child)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        sh(&format!("ip netns del {}", self.name));
    }
}

pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A web root with an index.html holding `body`, served by `busybox httpd` in a namespace.
pub fn httpd(ns: &Netns, port: u16, body: &str) -> (ChildGuard, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), body).unwrap();
    let guard = ns.spawn(&format!(
        "busybox httpd -f -p 0.0.0.0:{port} -h {}",
        dir.path().display()
    ));
    // Wait until it listens.
    for _ in 0..50 {
        if ns
            .exec(&format!(
                "curl -s -o /dev/null --max-time 1 http://127.0.0.1:{port}/"
            ))
            .status
            .success()
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (guard, dir)
}

/// Retries `cmd` on the host for up to ~5 s; returns its last output.
pub fn retry(cmd: &str) -> Output {
    let mut out = sh(cmd);
    for _ in 0..25 {
        if out.status.success() {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
        out = sh(cmd);
    }
    out
}

/// A unique /24 in 10.100-199.x.0 for a test network.
pub fn test_subnet() -> ipnet::Ipv4Net {
    let a = 100 + rand::random::<u8>() % 100;
    let b = rand::random::<u8>();
    format!("10.{a}.{b}.0/24").parse().unwrap()
}

/// A manager with a unique instance tag (its own nft table, its own link aliases) and a
/// temporary state dir; drop deletes every link carrying the tag and the table.
pub struct Env {
    pub instance: String,
    pub state: tempfile::TempDir,
    pub resolv: PathBuf,
}

impl Env {
    pub fn new(resolv_conf: &str) -> Self {
        let state = tempfile::tempdir().unwrap();
        let resolv = state.path().join("resolv.conf");
        std::fs::write(&resolv, resolv_conf).unwrap();
        Self {
            instance: format!("bt{}", rand_hex(8)),
            state,
            resolv,
        }
    }
    pub fn config(&self) -> Config {
        let mut cfg = Config::new(self.state.path().to_path_buf());
        cfg.instance = self.instance.clone();
        cfg.resolv_conf = self.resolv.clone();
        cfg
    }
    pub async fn manager(&self) -> NetworkManager {
        NetworkManager::open(self.config()).await.unwrap()
    }
    /// Names of links carrying this instance's alias.
    pub fn tagged_links(&self) -> Vec<String> {
        let out = sh_ok("ip -j link show");
        let links: serde_json::Value = serde_json::from_str(&out).unwrap();
        links
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["ifalias"].as_str() == Some(self.instance.as_str()))
            .map(|l| l["ifname"].as_str().unwrap().to_string())
            .collect()
    }
    /// The nft rules of this instance's table, as text.
    pub fn rules(&self) -> String {
        String::from_utf8_lossy(&sh(&format!("nft list table ip {}", self.instance)).stdout)
            .into_owned()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for link in self.tagged_links() {
            sh(&format!("ip link del {link}"));
        }
        sh(&format!("nft delete table ip {}", self.instance));
    }
}

/// An "outside host": a namespace joined to the host by a veth on a /30 of its own,
/// host side .1, outside side .2, with no route to anything else.
pub struct Outside {
    pub ns: Netns,
    pub host_link: String,
    pub host_ip: Ipv4Addr,
    pub ip: Ipv4Addr,
}

impl Outside {
    pub fn new() -> Self {
        let ns = Netns::new();
        let a = 200 + rand::random::<u8>() % 50;
        let b = rand::random::<u8>();
        let c = (rand::random::<u8>() % 64) * 4;
        let host_ip = Ipv4Addr::new(10, a, b, c + 1);
        let ip = Ipv4Addr::new(10, a, b, c + 2);
        let host_link = format!("bo{}", rand_hex(8));
        let peer = format!("bi{}", rand_hex(8));
        sh_ok(&format!(
            "ip link add {host_link} type veth peer name {peer}"
        ));
        sh_ok(&format!("ip link set {peer} netns {}", ns.name));
        sh_ok(&format!(
            "ip addr add {host_ip}/30 dev {host_link} && ip link set {host_link} up"
        ));
        ns.exec_ok(&format!("ip addr add {ip}/30 dev {peer}"));
        ns.exec_ok(&format!("ip link set {peer} up"));
        ns.exec_ok("ip link set lo up");
        Self {
            ns,
            host_link,
            host_ip,
            ip,
        }
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        sh(&format!("ip link del {}", self.host_link));
    }
}

/// A host port nothing listens on now.
pub fn free_port() -> u16 {
    loop {
        let p = 20000 + rand::random::<u16>() % 20000;
        if std::net::TcpListener::bind(("0.0.0.0", p)).is_ok() {
            return p;
        }
    }
}

/// A container `id` on `network` in `ns` as `eth0`, publishing `ports`.
pub fn connect(id: &str, network: &str, ns: &Netns, ports: &[String]) -> Connect {
    Connect {
        container_id: id.to_string(),
        name: format!("c-{}", &id[..6]),
        network: network.to_string(),
        netns: ns.path(),
        ifname: "eth0".to_string(),
        aliases: vec![],
        ip: None,
        ports: ports.iter().map(|p| p.parse().unwrap()).collect(),
        default_route: true,
    }
}

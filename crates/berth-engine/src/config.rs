//! How a daemon is set up (`berth daemon` flags).

use std::path::PathBuf;

/// The daemon's configuration.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// Images, containers, volumes, networks (`--data-root`, `/var/lib/berth`).
    pub data_root: PathBuf,
    /// Sockets, shims' and the runtime's state (`--exec-root`, `/run/berth`).
    pub exec_root: PathBuf,
    /// Addresses to serve: `unix:///path` or `tcp://host:port` (`-H`).
    pub hosts: Vec<String>,
    /// Keep containers running when the daemon stops (on by default).
    pub live_restore: bool,
    /// berth's own executable, run as `berth shim` for each container.
    pub shim_program: PathBuf,
    /// The network manager's ownership tag (nftables table, link aliases); `berth` for the
    /// real daemon, unique per test daemon.
    pub network_instance: String,
    /// A static init for `--init` (tini); None: looked up on the host.
    pub init_binary: Option<PathBuf>,
    /// The cgroup parent of containers (`/berth`, or the instance's name for tests).
    pub cgroup_parent: String,
}

impl DaemonConfig {
    /// The defaults under the given roots.
    pub fn new(data_root: PathBuf, exec_root: PathBuf) -> Self {
        let socket = exec_root.join("berth.sock");
        Self {
            hosts: vec![format!("unix://{}", socket.display())],
            data_root,
            exec_root,
            live_restore: true,
            shim_program: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("berth")),
            network_instance: "berth".to_string(),
            init_binary: None,
            cgroup_parent: "/berth".to_string(),
        }
    }

    /// The runtime's state root.
    pub fn runtime_root(&self) -> PathBuf {
        self.exec_root.join("runtime")
    }

    /// The shims' state directories' parent.
    pub fn shims_dir(&self) -> PathBuf {
        self.exec_root.join("shims")
    }

    /// Where container records live.
    pub fn containers_dir(&self) -> PathBuf {
        self.data_root.join("containers")
    }
}

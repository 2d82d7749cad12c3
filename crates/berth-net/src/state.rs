//! What berth-net remembers across daemon restarts: one JSON file per network under
//! `<state_dir>/networks/<id>.json`, written atomically (temp file, fsync, rename), holding the
//! network's address plan, its allocations and its endpoints (which carry the published ports).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{NetError, Result};
use crate::ipam::AddressPool;
use crate::ports::PortMapping;

/// A network as persisted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkState {
    /// The network id (64 hex characters for Docker, any unique string works).
    pub id: String,
    /// The user-visible name (`bridge` for the default one).
    pub name: String,
    /// The Linux bridge backing it.
    pub bridge: String,
    /// True for the default bridge: no embedded DNS, like docker0.
    pub default_bridge: bool,
    /// Subnet, gateway and allocated addresses.
    pub pool: AddressPool,
    /// Attached containers by container id.
    pub endpoints: BTreeMap<String, EndpointState>,
}

/// One container's attachment to a network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointState {
    /// The container id.
    pub container_id: String,
    /// The container name, resolvable on user networks.
    pub name: String,
    /// Extra names (`--network-alias`).
    pub aliases: Vec<String>,
    /// The container's address.
    pub ip: Ipv4Addr,
    /// The container interface's MAC, `02:42:..`.
    pub mac: String,
    /// The host end of the veth pair.
    pub host_veth: String,
    /// The container's network namespace path, kept so reconcile can find the container.
    pub netns: PathBuf,
    /// Published ports with their host ports resolved.
    pub ports: Vec<PortMapping>,
    /// The interface name inside the container.
    #[serde(default = "default_ifname")]
    pub ifname: String,
    /// Whether this network gives the container its default route.
    #[serde(default = "default_true")]
    pub default_route: bool,
}

fn default_ifname() -> String {
    "eth0".to_string()
}

fn default_true() -> bool {
    true
}

/// The directory of network files.
#[derive(Debug, Clone)]
pub struct StateDir {
    dir: PathBuf,
}

impl StateDir {
    /// Uses (and creates) `<root>/networks`.
    pub fn open(root: &Path) -> Result<Self> {
        let dir = root.join("networks");
        fs::create_dir_all(&dir).map_err(|source| NetError::Io {
            action: "create",
            path: dir.clone(),
            source,
        })?;
        Ok(Self { dir })
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// Loads every network; temp files of interrupted writes are removed.
    pub fn load_all(&self) -> Result<Vec<NetworkState>> {
        let io = |action, path: &Path| {
            let path = path.to_path_buf();
            move |source| NetError::Io {
                action,
                path,
                source,
            }
        };
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io("read", &self.dir))? {
            let path = entry.map_err(io("read", &self.dir))?.path();
            match path.extension().and_then(|e| e.to_str()) {
                Some("json") => {
                    let bytes = fs::read(&path).map_err(io("read", &path))?;
                    let net = serde_json::from_slice(&bytes).map_err(|source| {
                        NetError::CorruptState {
                            path: path.clone(),
                            source,
                        }
                    })?;
                    out.push(net);
                }
                Some("tmp") => {
                    let _ = fs::remove_file(&path);
                }
                _ => {}
            }
        }
        out.sort_by(|a: &NetworkState, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Writes one network atomically.
    pub fn save(&self, net: &NetworkState) -> Result<()> {
        let path = self.path(&net.id);
        let tmp = self.dir.join(format!("{}.tmp", net.id));
        let io = |action, p: &Path| {
            let p = p.to_path_buf();
            move |source| NetError::Io {
                action,
                path: p,
                source,
            }
        };
        let bytes = serde_json::to_vec_pretty(net).map_err(|source| NetError::CorruptState {
            path: path.clone(),
            source,
        })?;
        let mut file = fs::File::create(&tmp).map_err(io("create", &tmp))?;
        file.write_all(&bytes).map_err(io("write", &tmp))?;
        file.sync_all().map_err(io("fsync", &tmp))?;
        fs::rename(&tmp, &path).map_err(io("rename", &path))?;
        // The rename is durable only once the directory entry is.
        if let Ok(dir) = fs::File::open(&self.dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// Forgets a network.
    pub fn remove(&self, id: &str) -> Result<()> {
        let path = self.path(id);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(NetError::Io {
                action: "remove",
                path,
                source: e,
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_roundtrip_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateDir::open(dir.path()).unwrap();
        let mut pool = AddressPool::new("n", "10.3.0.0/24".parse().unwrap(), None, None).unwrap();
        pool.allocate("n").unwrap();
        let net = NetworkState {
            id: "abc".into(),
            name: "n".into(),
            bridge: "br-abc".into(),
            default_bridge: false,
            pool,
            endpoints: BTreeMap::new(),
        };
        store.save(&net).unwrap();
        std::fs::write(dir.path().join("networks/half.tmp"), b"{").unwrap();
        assert_eq!(store.load_all().unwrap(), vec![net]);
        assert!(!dir.path().join("networks/half.tmp").exists());
        store.remove("abc").unwrap();
        assert!(store.load_all().unwrap().is_empty());
    }
}

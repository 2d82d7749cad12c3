//! What Docker shows of a network that berth-net does not keep: creation time, labels,
//! driver options, flags. One JSON file per network under `<data_root>/network/meta/`,
//! written atomically; berth-net's own state stays the source of truth for addresses
//! and endpoints.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Result};

/// The API-level settings of one network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkMeta {
    /// RFC 3339 creation time.
    pub created: String,
    /// `--label`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `--opt` (driver options).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// `--ipam-opt`.
    #[serde(default)]
    pub ipam_options: BTreeMap<String, String>,
    /// `--internal`: recorded and shown; berth-net does not yet cut outside traffic.
    #[serde(default)]
    pub internal: bool,
    /// `--attachable`.
    #[serde(default)]
    pub attachable: bool,
}

/// The directory of network settings files.
#[derive(Debug, Clone)]
pub struct MetaStore {
    dir: PathBuf,
}

impl MetaStore {
    /// The store of the daemon whose data root is `data_root`.
    pub fn new(data_root: &Path) -> Self {
        Self {
            dir: data_root.join("network").join("meta"),
        }
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// The settings of network `id`, if recorded.
    pub fn load(&self, id: &str) -> Result<Option<NetworkMeta>> {
        let path = self.path(id);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| EngineError::Internal(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(EngineError::io("read", &path, e)),
        }
    }

    /// Records the settings of network `id` (temporary file, then rename).
    pub fn save(&self, id: &str, meta: &NetworkMeta) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| EngineError::io("create", &self.dir, e))?;
        let path = self.path(id);
        let temporary = self.dir.join(format!(".{id}.json.tmp"));
        let bytes = serde_json::to_vec_pretty(meta)
            .map_err(|e| EngineError::Internal(format!("encode network settings: {e}")))?;
        std::fs::write(&temporary, bytes).map_err(|e| EngineError::io("write", &temporary, e))?;
        std::fs::rename(&temporary, &path).map_err(|e| EngineError::io("rename", &path, e))
    }

    /// The settings of `id`, recording `make()` first if there are none yet (for networks
    /// created outside the API: the pre-defined ones).
    pub fn load_or_init(
        &self,
        id: &str,
        make: impl FnOnce() -> NetworkMeta,
    ) -> Result<NetworkMeta> {
        if let Some(meta) = self.load(id)? {
            return Ok(meta);
        }
        let meta = make();
        self.save(id, &meta)?;
        Ok(meta)
    }

    /// Forgets network `id`.
    pub fn remove(&self, id: &str) -> Result<()> {
        let path = self.path(id);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(EngineError::io("remove", &path, e))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_init_once() {
        let root = tempfile::tempdir().unwrap();
        let store = MetaStore::new(root.path());
        assert_eq!(store.load("n1").unwrap(), None);
        let meta = NetworkMeta {
            created: "2024-01-01T00:00:00Z".into(),
            labels: BTreeMap::from([("a".into(), "b".into())]),
            internal: true,
            ..Default::default()
        };
        store.save("n1", &meta).unwrap();
        assert_eq!(store.load("n1").unwrap(), Some(meta.clone()));
        let first = store
            .load_or_init("n2", || NetworkMeta {
                created: "first".into(),
                ..Default::default()
            })
            .unwrap();
        let again = store
            .load_or_init("n2", || NetworkMeta {
                created: "second".into(),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(first, again);
        store.remove("n1").unwrap();
        store.remove("n1").unwrap();
        assert_eq!(store.load("n1").unwrap(), None);
    }
}

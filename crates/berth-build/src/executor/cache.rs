//! The build cache: one small JSON file per step under `<data_root>/build-cache/steps/`,
//! named by the step's cache id, written atomically (temporary file + rename), so the
//! cache survives restarts and a crash never leaves half a record.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::config::History;
use crate::args::ImageConfig;
use berth_image::digest::{Digest, Hasher};

/// A layer in the content store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LayerRef {
    pub diff_id: Digest,
    pub blob: Digest,
    pub size: u64,
}

/// What a step produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StepRecord {
    /// The layer, for steps that change files.
    pub layer: Option<LayerRef>,
    pub history: History,
    /// The config after the step.
    pub config: ImageConfig,
}

/// The step cache of one data root.
#[derive(Debug, Clone)]
pub(crate) struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub fn new(data_root: &Path) -> Self {
        Cache {
            dir: data_root.join("build-cache").join("steps"),
        }
    }

    /// A step's cache id: its parent's, and everything the step's result depends on.
    pub fn key(parent: &Digest, parts: &[&str]) -> Digest {
        let mut h = Hasher::new();
        h.update(parent.to_string().as_bytes());
        for part in parts {
            // Length-prefixed, so that parts cannot run into each other.
            h.update(format!("\n{}:", part.len()).as_bytes());
            h.update(part.as_bytes());
        }
        h.finish()
    }

    /// The record of `key`; a missing or unreadable record is a miss.
    pub fn get(&self, key: &Digest) -> Option<StepRecord> {
        let bytes = fs::read(self.dir.join(key.hex())).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    pub fn put(&self, key: &Digest, record: &StepRecord) -> std::io::Result<()> {
        fs::create_dir_all(&self.dir)?;
        let bytes = serde_json::to_vec(record).map_err(std::io::Error::other)?;
        let tmp = self
            .dir
            .join(format!(".{}.tmp-{:x}", key.hex(), std::process::id()));
        fs::write(&tmp, bytes)?;
        fs::rename(&tmp, self.dir.join(key.hex()))
    }

    /// The persistent directory of a `RUN --mount=type=cache` with this id.
    pub fn mount_dir(data_root: &Path, id: &str) -> PathBuf {
        let name = Digest::sha256_of(id.as_bytes());
        data_root
            .join("build-cache")
            .join("mounts")
            .join(name.hex())
    }
}

//! Named volumes (the `local` driver): `<data_root>/volumes/<name>/_data`, with the
//! volume's metadata in `<data_root>/volumes/<name>/volume.json` (written atomically).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_client::types::volumes::Volume;
use thiserror::Error;

/// What can go wrong with volumes.
#[derive(Debug, Error)]
pub enum VolumeError {
    /// No such volume (404).
    #[error("get {0}: no such volume")]
    NotFound(String),
    /// A bad name or option (400).
    #[error("{0}")]
    Invalid(String),
    /// Still used by containers (409).
    #[error("remove {name}: volume is in use - [{containers}]")]
    InUse {
        /// The volume.
        name: String,
        /// Ids of the containers using it, comma-separated.
        containers: String,
    },
    /// Disk trouble.
    #[error("volume {name}: {action} `{path}`: {source}")]
    Io {
        /// The volume.
        name: String,
        /// What was being done.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The volumes of one daemon.
#[derive(Debug)]
pub struct VolumeStore {
    root: PathBuf,
}

/// `docker volume create` options.
#[derive(Debug, Clone, Default)]
pub struct CreateVolume {
    /// The name; None generates 64 hex characters (an anonymous volume).
    pub name: Option<String>,
    /// Driver; only `local` (or empty) is accepted.
    pub driver: Option<String>,
    /// `--opt` for the local driver: `type`, `device`, `o` (mounted as `mount -t type -o o
    /// device _data` when given), else a plain directory.
    pub driver_opts: BTreeMap<String, String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

impl VolumeStore {
    /// Opens (creating) `<data_root>/volumes`.
    pub fn open(data_root: &Path) -> Result<Self, VolumeError> {
        let _ = data_root;
        todo!("open")
    }
    /// Creates a volume, or returns the existing one of that name (Docker's create is
    /// idempotent for the same name).
    pub fn create(&self, request: CreateVolume) -> Result<Volume, VolumeError> {
        let _ = (request, &self.root);
        todo!("create")
    }
    /// One volume.
    pub fn inspect(&self, name: &str) -> Result<Volume, VolumeError> {
        let _ = name;
        todo!("inspect")
    }
    /// All volumes.
    pub fn list(&self) -> Result<Vec<Volume>, VolumeError> {
        todo!("list")
    }
    /// The host directory a container mounts (`_data`).
    pub fn data_path(&self, name: &str) -> PathBuf {
        let _ = name;
        todo!("data_path")
    }
    /// Removes a volume; `users` are the ids of containers that reference it (removal is
    /// refused with `InUse` unless empty).
    pub fn remove(&self, name: &str, users: &[String]) -> Result<(), VolumeError> {
        let _ = (name, users);
        todo!("remove")
    }
    /// Copies the image's content at the mount path into the volume when the volume is
    /// empty and was never seeded (Docker's "copy-up" on first use); `source` is the
    /// path inside the container's mounted rootfs. Keeps ownership, modes, xattrs,
    /// symlinks. Records that the volume was seeded.
    pub fn seed(&self, name: &str, source: &Path) -> Result<(), VolumeError> {
        let _ = (name, source);
        todo!("seed")
    }
}

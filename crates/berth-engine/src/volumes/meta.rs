//! `volume.json`: what berth remembers about a volume, written atomically.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use berth_client::types::volumes::Volume;
use serde::{Deserialize, Serialize};

use super::{io, VolumeError};

const FILE: &str = "volume.json";

/// A volume's metadata.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Meta {
    pub name: String,
    pub driver: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// RFC 3339.
    pub created_at: String,
    /// Created without a name: `prune` removes it without `all`.
    #[serde(default)]
    pub anonymous: bool,
    /// The image's content was copied up (or the volume had content when first used).
    #[serde(default)]
    pub seeded: bool,
}

impl Meta {
    /// Reads `dir/volume.json`; a missing file is a missing volume.
    pub fn load(dir: &Path, name: &str) -> Result<Meta, VolumeError> {
        let path = dir.join(FILE);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(VolumeError::NotFound(name.to_string()))
            }
            Err(source) => return Err(io(name, "read", &path, source)),
        };
        serde_json::from_slice(&bytes).map_err(|err| {
            io(
                name,
                "parse",
                &path,
                std::io::Error::new(std::io::ErrorKind::InvalidData, err),
            )
        })
    }

    /// Writes `dir/volume.json` so that a crash leaves the old or the new file, never a
    /// torn one: a temporary file, fsync, rename, fsync of the directory.
    pub fn store(&self, dir: &Path) -> Result<(), VolumeError> {
        let name = self.name.as_str();
        let bytes = serde_json::to_vec_pretty(self).map_err(|err| {
            io(
                name,
                "encode",
                dir,
                std::io::Error::new(std::io::ErrorKind::InvalidData, err),
            )
        })?;
        let temp = dir.join(format!(".{FILE}.tmp"));
        let path = dir.join(FILE);
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&temp)?;
            file.write_all(&bytes)?;
            file.sync_all()
        };
        write().map_err(|source| io(name, "write", &temp, source))?;
        std::fs::rename(&temp, &path).map_err(|source| io(name, "rename", &path, source))?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| io(name, "sync", dir, source))
    }

    /// The volume as the Engine API shows it.
    pub fn to_volume(&self, data: &Path) -> Volume {
        Volume {
            name: self.name.clone(),
            driver: self.driver.clone(),
            mountpoint: data.to_string_lossy().into_owned(),
            created_at: Some(self.created_at.clone()),
            status: None,
            labels: self.labels.clone(),
            scope: "local".to_string(),
            options: self.options.clone(),
            usage_data: None,
        }
    }
}

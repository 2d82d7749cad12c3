//! The names file: which manifests are images, and which references point at them.
//!
//! ```text
//! <root>/images/index.json   {"images": [manifest digests], "names": {reference: digest}}
//! <root>/images/lock         flock(2)ed for every read-modify-write
//! ```
//!
//! Readers just read the file: it is only ever replaced whole (written to a temporary
//! file, fsynced, renamed over, directory fsynced), so a reader sees the old or the new
//! version. Writers, in this process or another berth, serialise on the lock file.
//!
//! The file holds no content: if it is lost, [`super::ImageStore::rebuild`] finds the
//! images again from the manifests in the content store (as untagged images; tags are
//! the one thing that cannot be recovered and must be given again).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::digest::Digest;

/// The on-disk index.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Names {
    /// Manifests (or indexes) that are images, tagged or not.
    #[serde(default)]
    pub images: BTreeSet<Digest>,
    /// Full reference (`docker.io/library/busybox:latest`, `…/busybox@sha256:…`) to the
    /// manifest digest it names.
    #[serde(default)]
    pub names: BTreeMap<String, Digest>,
}

impl Names {
    /// The names pointing at `digest`.
    pub fn names_of(&self, digest: &Digest) -> Vec<String> {
        self.names
            .iter()
            .filter(|(_, d)| *d == digest)
            .map(|(n, _)| n.clone())
            .collect()
    }
}

/// The names file of a store.
#[derive(Debug, Clone)]
pub(super) struct NamesFile {
    dir: PathBuf,
}

fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

impl NamesFile {
    pub fn open(dir: PathBuf) -> Result<Self, StoreError> {
        fs::create_dir_all(&dir).map_err(io_err("create image names directory", &dir))?;
        Ok(Self { dir })
    }

    fn path(&self) -> PathBuf {
        self.dir.join("index.json")
    }

    /// The current names (a consistent snapshot, without locking).
    pub fn read(&self) -> Result<Names, StoreError> {
        let path = self.path();
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| StoreError::Corrupt {
                path: path.clone(),
                source,
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Names::default()),
            Err(e) => Err(io_err("read image names", &path)(e)),
        }
    }

    /// Takes the writers' lock (blocking until other writers are done).
    pub fn lock(&self) -> Result<Flock<File>, StoreError> {
        let path = self.dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err("open image names lock", &path))?;
        Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, errno)| io_err("lock image names", &path)(errno.into()))
    }

    /// Replaces the file atomically. The caller holds the lock.
    pub fn write(&self, names: &Names) -> Result<(), StoreError> {
        let path = self.path();
        let tmp = self
            .dir
            .join(format!(".index.json.{}.tmp", uuid::Uuid::new_v4()));
        let result = (|| {
            let bytes = serde_json::to_vec_pretty(names).map_err(|source| StoreError::Corrupt {
                path: path.clone(),
                source,
            })?;
            let mut file = File::create(&tmp).map_err(io_err("write image names", &tmp))?;
            file.write_all(&bytes)
                .and_then(|()| file.sync_all())
                .map_err(io_err("write image names", &tmp))?;
            fs::rename(&tmp, &path).map_err(io_err("replace image names", &path))?;
            let dir = File::open(&self.dir).map_err(io_err("sync image names", &self.dir))?;
            nix::unistd::fsync(dir.as_fd())
                .map_err(|e| io_err("sync image names", &self.dir)(e.into()))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Read-modify-write under the lock; the file is rewritten only if `change` changed it.
    pub fn update<T>(
        &self,
        change: impl FnOnce(&mut Names) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let _lock = self.lock()?;
        let before = self.read()?;
        let mut names = before.clone();
        let out = change(&mut names)?;
        if names != before {
            self.write(&names)?;
        }
        Ok(out)
    }
}

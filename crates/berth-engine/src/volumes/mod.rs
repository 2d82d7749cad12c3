//! Named volumes (the `local` driver): `<data_root>/volumes/<name>/_data`, with the
//! volume's metadata in `<data_root>/volumes/<name>/volume.json` (written atomically).
//!
//! ## Terms
//!
//! - An *anonymous* volume is one created without a name (`docker run -v /data`); it
//!   gets 64 hex characters as its name. `prune` removes only anonymous volumes unless
//!   asked for all (Docker 23+).
//! - A volume with driver options `type`/`device`/`o` is *mounted*: its `_data` is the
//!   mount point of `mount -t type -o o device`. The mount is made when the first
//!   container mounts the volume ([`VolumeStore::mount_if_needed`]) and undone when the
//!   last one lets go ([`VolumeStore::release`]); the count lives in memory only, so a
//!   restarted daemon starts with every volume unmounted (and unmounts leftovers on
//!   remove).
//! - *Seeding* ("copy-up") copies the image's content at the mount path into a volume
//!   that is empty, once ([`VolumeStore::seed`]).
//!
//! Every operation that reads and writes a volume's metadata holds the store's lock, so
//! the daemon may call them from many tasks at once.

mod copy;
mod meta;
mod mount;
mod validate;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use berth_client::types::volumes::Volume;
use rand::RngCore;
use thiserror::Error;

use meta::Meta;

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
    /// Guards metadata read-modify-write and holds how many containers currently use
    /// each volume through [`VolumeStore::mount_if_needed`].
    users: Mutex<HashMap<String, usize>>,
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

/// `docker volume prune` filters.
#[derive(Debug, Clone, Default)]
pub struct PruneFilter {
    /// `all=true`: named volumes too, not only anonymous ones.
    pub all: bool,
    /// `label=key` or `label=key=value`: every one must match.
    pub labels: Vec<String>,
    /// `label!=key` or `label!=key=value`: none may match.
    pub not_labels: Vec<String>,
}

impl PruneFilter {
    fn keeps(&self, meta: &Meta) -> bool {
        if !self.all && !meta.anonymous {
            return true;
        }
        let matches = |filter: &String| match filter.split_once('=') {
            Some((key, value)) => meta.labels.get(key).is_some_and(|v| v == value),
            None => meta.labels.contains_key(filter),
        };
        !self.labels.iter().all(matches) || self.not_labels.iter().any(matches)
    }
}

impl VolumeStore {
    /// Opens (creating) `<data_root>/volumes`.
    pub fn open(data_root: &Path) -> Result<Self, VolumeError> {
        let root = data_root.join("volumes");
        std::fs::create_dir_all(&root).map_err(|source| VolumeError::Io {
            name: String::new(),
            action: "create",
            path: root.clone(),
            source,
        })?;
        Ok(VolumeStore {
            root,
            users: Mutex::new(HashMap::new()),
        })
    }

    /// Creates a volume, or returns the existing one of that name (Docker's create is
    /// idempotent for the same name: the existing volume is returned unchanged, its
    /// labels and options are not updated).
    pub fn create(&self, request: CreateVolume) -> Result<Volume, VolumeError> {
        validate::driver(request.driver.as_deref())?;
        let anonymous = request.name.is_none();
        let name = match request.name {
            Some(name) => {
                validate::name(&name)?;
                name
            }
            None => {
                let mut bytes = [0u8; 32];
                rand::rng().fill_bytes(&mut bytes);
                hex::encode(bytes)
            }
        };
        let _users = self.lock();
        match Meta::load(&self.dir(&name), &name) {
            Ok(existing) => return Ok(existing.to_volume(&self.data_path(&name))),
            Err(VolumeError::NotFound(_)) => {}
            Err(other) => return Err(other),
        }
        validate::options(&name, &request.driver_opts)?;
        let meta = Meta {
            name: name.clone(),
            driver: "local".to_string(),
            labels: request.labels,
            options: request.driver_opts,
            created_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            anonymous,
            seeded: false,
        };
        let dir = self.dir(&name);
        let data = self.data_path(&name);
        std::fs::create_dir_all(&data).map_err(|source| io(&name, "create", &data, source))?;
        if let Err(err) = meta.store(&dir) {
            // A volume without metadata would be invisible and block the name's directory.
            let _ = std::fs::remove_dir_all(&dir);
            return Err(err);
        }
        Ok(meta.to_volume(&data))
    }

    /// One volume.
    pub fn inspect(&self, name: &str) -> Result<Volume, VolumeError> {
        validate::known_name(name)?;
        let meta = Meta::load(&self.dir(name), name)?;
        Ok(meta.to_volume(&self.data_path(name)))
    }

    /// All volumes, by name. A directory without readable metadata is skipped with a
    /// warning in the log rather than failing the whole list.
    pub fn list(&self) -> Result<Vec<Volume>, VolumeError> {
        Ok(self
            .all_meta()?
            .iter()
            .map(|meta| meta.to_volume(&self.data_path(&meta.name)))
            .collect())
    }

    /// The host directory a container mounts (`_data`).
    pub fn data_path(&self, name: &str) -> PathBuf {
        self.dir(name).join("_data")
    }

    /// Removes a volume; `users` are the ids of containers that reference it (removal is
    /// refused with `InUse` unless empty).
    pub fn remove(&self, name: &str, users: &[String]) -> Result<(), VolumeError> {
        validate::known_name(name)?;
        let mut counts = self.lock();
        let meta = Meta::load(&self.dir(name), name)?;
        if !users.is_empty() {
            return Err(VolumeError::InUse {
                name: name.to_string(),
                containers: users.join(", "),
            });
        }
        self.remove_locked(&mut counts, &meta)?;
        Ok(())
    }

    /// Removes the volumes `filter` selects that no container in `in_use` (volume names)
    /// uses; returns their names and the bytes freed.
    pub fn prune(
        &self,
        in_use: &HashSet<String>,
        filter: &PruneFilter,
    ) -> Result<(Vec<String>, u64), VolumeError> {
        let mut counts = self.lock();
        let mut removed = Vec::new();
        let mut space = 0;
        for meta in self.all_meta()? {
            if in_use.contains(&meta.name)
                || counts.get(&meta.name).is_some_and(|n| *n > 0)
                || filter.keeps(&meta)
            {
                continue;
            }
            let size = copy::usage(&self.data_path(&meta.name)).unwrap_or(0);
            self.remove_locked(&mut counts, &meta)?;
            space += size;
            removed.push(meta.name);
        }
        Ok((removed, space))
    }

    /// Bytes used by the volume's files (`system df`); hard links count once.
    pub fn usage(&self, name: &str) -> Result<u64, VolumeError> {
        validate::known_name(name)?;
        Meta::load(&self.dir(name), name)?;
        let data = self.data_path(name);
        copy::usage(&data).map_err(|source| io(name, "measure", &data, source))
    }

    /// Readies the volume for a container and counts it as one more user: a volume with
    /// a `type` option is mounted on its `_data` by the first user. Returns `_data`.
    /// Every successful call must be paired with one [`VolumeStore::release`].
    pub fn mount_if_needed(&self, name: &str) -> Result<PathBuf, VolumeError> {
        validate::known_name(name)?;
        let mut counts = self.lock();
        let meta = Meta::load(&self.dir(name), name)?;
        let data = self.data_path(name);
        let count = counts.entry(name.to_string()).or_insert(0);
        if *count == 0 {
            if let Some(options) = mount::Options::from_driver_opts(&meta.options) {
                options
                    .mount(&data)
                    .map_err(|source| io(name, "mount", &data, source))?;
            }
        }
        *count += 1;
        Ok(data)
    }

    /// One user fewer; the last one unmounts a mounted volume. Releasing a volume that
    /// nobody uses does nothing.
    pub fn release(&self, name: &str) -> Result<(), VolumeError> {
        validate::known_name(name)?;
        let mut counts = self.lock();
        let Some(count) = counts.get_mut(name) else {
            return Ok(());
        };
        *count -= 1;
        if *count > 0 {
            return Ok(());
        }
        counts.remove(name);
        let meta = Meta::load(&self.dir(name), name)?;
        if mount::Options::from_driver_opts(&meta.options).is_some() {
            let data = self.data_path(name);
            mount::unmount(&data).map_err(|source| io(name, "unmount", &data, source))?;
        }
        Ok(())
    }

    /// Copies the image's content at the mount path into the volume when the volume is
    /// empty and was never seeded (Docker's "copy-up" on first use); `source` is the
    /// host path of the mount path inside the container's mounted rootfs, already
    /// resolved inside that rootfs by the caller (see [`crate::archive::resolve`]).
    /// Keeps ownership, modes, times, xattrs (best effort) and symlinks; hard links
    /// become separate files. The volume's own directory takes the owner and mode of
    /// `source`. A missing `source` does nothing; a volume that already has content is
    /// not touched but counts as seeded. Records that the volume was seeded. Call it
    /// after [`VolumeStore::mount_if_needed`] so that a mounted volume is seeded inside
    /// its mount.
    pub fn seed(&self, name: &str, source: &Path) -> Result<(), VolumeError> {
        validate::known_name(name)?;
        // Held while copying, so that two containers starting together seed once.
        let _counts = self.lock();
        let dir = self.dir(name);
        let mut meta = Meta::load(&dir, name)?;
        if meta.seeded {
            return Ok(());
        }
        match std::fs::symlink_metadata(source) {
            Ok(found) if found.is_dir() => {}
            // Docker copies up directories only; nothing there, nothing to copy.
            Ok(_) => return Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source_err) => return Err(io(name, "stat", source, source_err)),
        }
        let data = self.data_path(name);
        let empty = std::fs::read_dir(&data)
            .map_err(|source| io(name, "read", &data, source))?
            .next()
            .is_none();
        if empty {
            copy::copy_up(source, &data)
                .map_err(|err| io(name, err.action, &err.path, err.source))?;
        }
        meta.seeded = true;
        meta.store(&dir)
    }

    fn remove_locked(
        &self,
        counts: &mut HashMap<String, usize>,
        meta: &Meta,
    ) -> Result<(), VolumeError> {
        let name = meta.name.as_str();
        let dir = self.dir(name);
        let data = self.data_path(name);
        if mount::Options::from_driver_opts(&meta.options).is_some() {
            // Left mounted by a daemon that stopped without releasing; never delete
            // through a mount into what it shows.
            mount::unmount(&data).map_err(|source| io(name, "unmount", &data, source))?;
        }
        counts.remove(name);
        std::fs::remove_dir_all(&dir).map_err(|source| io(name, "remove", &dir, source))
    }

    fn all_meta(&self) -> Result<Vec<Meta>, VolumeError> {
        let entries =
            std::fs::read_dir(&self.root).map_err(|source| io("", "read", &self.root, source))?;
        let mut all = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| io("", "read", &self.root, source))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if validate::known_name(&name).is_err() {
                continue;
            }
            match Meta::load(&entry.path(), &name) {
                Ok(meta) => all.push(meta),
                Err(err) => tracing::warn!(volume = %name, error = %err, "skipping a volume"),
            }
        }
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, usize>> {
        // A panic while holding the lock leaves the counts as they were: still usable.
        self.users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn io(name: &str, action: &'static str, path: &Path, source: std::io::Error) -> VolumeError {
    VolumeError::Io {
        name: name.to_string(),
        action,
        path: path.to_path_buf(),
        source,
    }
}

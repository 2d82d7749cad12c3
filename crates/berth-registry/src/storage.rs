//! Repository metadata on disk, with an in-memory cache that serves every read.
//!
//! ```text
//! <root>/content/                          the content store (every blob and manifest)
//! <root>/repositories/<name>/_blobs/<alg>/<hex>      link: the repo may serve this blob
//! <root>/repositories/<name>/_manifests/<alg>/<hex>  link: holds the manifest's media type
//! <root>/repositories/<name>/_tags/<tag>             holds the tag's manifest digest
//! <root>/gc.lock                           manifest PUTs (shared) vs gc (exclusive)
//! <root>/gc-epoch                          rewritten by gc: tells a server to reload
//! ```
//!
//! The `_` prefixes keep metadata apart from nested repository names, which cannot start
//! with `_`. A manifest becomes visible in a crash-safe order: its bytes in the content
//! store (fsynced), then its link, then its tag (each an atomic rename). The cache is
//! loaded at start and updated by every write of this process; gc (in this process or
//! another) rewrites `gc-epoch` and the cache reloads when it sees the change.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File, FileTimes};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use berth_image::content::ContentStore;
use berth_image::digest::Digest;
use bytes::Bytes;
use nix::fcntl::{Flock, FlockArg};

use crate::error::{ApiError, ErrorCode, RegistryError};
use crate::fsutil::{io_err, remove_if_exists, sync_dir, write_atomic};
use crate::manifest::{self, ManifestInfo, MAX_MANIFEST_SIZE};

/// A manifest as served: media type, bytes, and its parsed facts.
#[derive(Debug)]
pub struct StoredManifest {
    /// The media type it was pushed with.
    pub media_type: String,
    /// Its bytes.
    pub bytes: Bytes,
    /// What it references.
    pub info: ManifestInfo,
}

#[derive(Debug, Default)]
struct Repo {
    blobs: HashSet<Digest>,
    manifests: HashMap<Digest, Arc<StoredManifest>>,
    tags: BTreeMap<String, Digest>,
}

/// The registry's storage: the content store plus per-repository links.
#[derive(Debug)]
pub struct Storage {
    root: PathBuf,
    content: ContentStore,
    repos: RwLock<BTreeMap<String, Repo>>,
    /// The gc epoch file's mtime (ns since the epoch, 0: absent) when the cache was loaded.
    epoch_seen: AtomicU64,
}

/// A held gc lock (shared for manifest writes, exclusive for gc); released on drop.
#[derive(Debug)]
pub(crate) struct GcLock(#[allow(dead_code)] Flock<File>);

pub(crate) fn lock_gc(root: &Path, exclusive: bool) -> Result<GcLock, RegistryError> {
    let path = root.join("gc.lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err("open", &path))?;
    let arg = if exclusive {
        FlockArg::LockExclusive
    } else {
        FlockArg::LockShared
    };
    Flock::lock(file, arg)
        .map(GcLock)
        .map_err(|(_, errno)| io_err("lock", &path)(errno.into()))
}

pub(crate) fn repositories_dir(root: &Path) -> PathBuf {
    root.join("repositories")
}

pub(crate) fn epoch_path(root: &Path) -> PathBuf {
    root.join("gc-epoch")
}

fn epoch_of(root: &Path) -> u64 {
    fs::metadata(epoch_path(root))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Every repository name under `dir` (a directory with `_blobs`, `_manifests` or `_tags`).
pub(crate) fn list_repositories(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        let mut is_repo = false;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('_') {
                is_repo = true;
            } else if entry.file_type().is_ok_and(|t| t.is_dir()) {
                walk(base, &entry.path(), out);
            }
        }
        if is_repo {
            if let Ok(rel) = dir.strip_prefix(base) {
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The digests named by files `<dir>/<alg>/<hex>`, with each file's path.
pub(crate) fn list_links(dir: &Path) -> Vec<(Digest, PathBuf)> {
    let mut out = Vec::new();
    for alg in ["sha256", "sha512"] {
        let Ok(entries) = fs::read_dir(dir.join(alg)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if let Ok(d) = format!("{alg}:{}", name.to_string_lossy()).parse() {
                out.push((d, entry.path()));
            }
        }
    }
    out
}

fn link_path(dir: &Path, digest: &Digest) -> PathBuf {
    dir.join(digest.algorithm().name()).join(digest.hex())
}

impl Storage {
    /// Opens (creating) the storage at `root` and loads every repository's metadata.
    pub fn open(root: &Path) -> Result<Self, RegistryError> {
        let content = ContentStore::open(root.join("content"))?;
        let repos_dir = repositories_dir(root);
        fs::create_dir_all(&repos_dir).map_err(io_err("create directory", &repos_dir))?;
        let storage = Storage {
            root: root.to_path_buf(),
            content,
            repos: RwLock::new(BTreeMap::new()),
            epoch_seen: AtomicU64::new(epoch_of(root)),
        };
        storage.reload();
        Ok(storage)
    }

    /// The content store.
    pub fn content(&self) -> &ContentStore {
        &self.content
    }

    fn repo_dir(&self, name: &str) -> PathBuf {
        repositories_dir(&self.root).join(name)
    }

    /// Reloads every repository from disk. The cache's write lock is held through the
    /// scan: writers change the disk first and the cache after, so none is lost.
    fn reload(&self) {
        let dir = repositories_dir(&self.root);
        let mut guard = self.repos.write().unwrap_or_else(|e| e.into_inner());
        let mut repos = BTreeMap::new();
        for name in list_repositories(&dir) {
            repos.insert(name.clone(), self.load_repo(&dir.join(&name)));
        }
        *guard = repos;
    }

    fn load_repo(&self, dir: &Path) -> Repo {
        let mut repo = Repo::default();
        for (digest, _) in list_links(&dir.join("_blobs")) {
            repo.blobs.insert(digest);
        }
        for (digest, path) in list_links(&dir.join("_manifests")) {
            let Ok(media_type) = fs::read_to_string(&path) else {
                continue;
            };
            // A manifest whose bytes are gone (gc) is not served.
            let Ok(bytes) = self.content.read_blob(&digest, MAX_MANIFEST_SIZE as u64) else {
                continue;
            };
            let Ok(info) = manifest::parse(&bytes, Some(&media_type)) else {
                continue;
            };
            let stored = StoredManifest {
                media_type,
                bytes: Bytes::from(bytes),
                info,
            };
            repo.manifests.insert(digest, Arc::new(stored));
        }
        if let Ok(entries) = fs::read_dir(dir.join("_tags")) {
            for entry in entries.flatten() {
                let tag = entry.file_name().to_string_lossy().into_owned();
                if tag.starts_with('.') {
                    continue; // a temporary file of an interrupted tag write
                }
                let target = fs::read_to_string(entry.path())
                    .ok()
                    .and_then(|t| t.trim().parse::<Digest>().ok());
                if let Some(d) = target.filter(|d| repo.manifests.contains_key(d)) {
                    repo.tags.insert(tag, d);
                }
            }
        }
        repo
    }

    /// Reloads the cache if a gc ran since it was loaded (one `stat` per call).
    pub fn refresh_if_gc_ran(&self) {
        let now = epoch_of(&self.root);
        if self.epoch_seen.swap(now, Ordering::AcqRel) != now {
            self.reload();
        }
    }

    fn read<T>(&self, f: impl FnOnce(&BTreeMap<String, Repo>) -> T) -> T {
        f(&self.repos.read().unwrap_or_else(|e| e.into_inner()))
    }

    fn write<T>(&self, f: impl FnOnce(&mut BTreeMap<String, Repo>) -> T) -> T {
        f(&mut self.repos.write().unwrap_or_else(|e| e.into_inner()))
    }

    /// The size of blob `digest` if repository `name` may serve it.
    pub fn blob_size(&self, name: &str, digest: &Digest) -> Option<u64> {
        let linked = self.read(|r| r.get(name).is_some_and(|r| r.blobs.contains(digest)));
        if linked {
            self.content.size(digest)
        } else {
            None
        }
    }

    /// Lets repository `name` serve blob `digest` (which must be in the content store).
    /// Also refreshes the blob's mtime, which gc's grace period counts from, so that a
    /// blob just uploaded or mounted survives until a manifest references it.
    pub fn link_blob(&self, name: &str, digest: &Digest) -> Result<(), RegistryError> {
        let blob = self.content.blob_path(digest);
        if let Ok(file) = File::options().write(true).open(&blob) {
            let _ = file.set_times(FileTimes::new().set_modified(SystemTime::now()));
        }
        let path = link_path(&self.repo_dir(name).join("_blobs"), digest);
        if !path.exists() {
            let dir = path.parent().unwrap_or(Path::new("."));
            fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
            File::create(&path).map_err(io_err("create blob link", &path))?;
            sync_dir(dir);
        }
        self.write(|r| {
            r.entry(name.to_string())
                .or_default()
                .blobs
                .insert(digest.clone())
        });
        Ok(())
    }

    /// Removes repository `name`'s link to blob `digest`; false if there was none.
    pub fn unlink_blob(&self, name: &str, digest: &Digest) -> Result<bool, RegistryError> {
        remove_if_exists(&link_path(&self.repo_dir(name).join("_blobs"), digest))?;
        Ok(self.write(|r| r.get_mut(name).is_some_and(|r| r.blobs.remove(digest))))
    }

    /// Resolves a tag or digest in repository `name`.
    pub fn manifest(&self, name: &str, reference: &str) -> Option<(Digest, Arc<StoredManifest>)> {
        self.read(|repos| {
            let repo = repos.get(name)?;
            let digest = match reference.parse::<Digest>() {
                Ok(d) => d,
                Err(_) => repo.tags.get(reference)?.clone(),
            };
            let stored = repo.manifests.get(&digest)?.clone();
            Some((digest, stored))
        })
    }

    /// Stores a manifest (already parsed) in repository `name`, tagging it if `tag` is
    /// given. Every blob it references must be linked to the repository and every child
    /// manifest present in it.
    pub fn put_manifest(
        &self,
        name: &str,
        bytes: Bytes,
        info: ManifestInfo,
        tag: Option<&str>,
    ) -> Result<Digest, ApiError> {
        let _gc = lock_gc(&self.root, false).map_err(ApiError::internal)?;
        for blob in &info.blobs {
            if self.blob_size(name, blob).is_none() {
                return Err(ApiError::new(
                    ErrorCode::ManifestBlobUnknown,
                    format!("blob `{blob}` is not in repository `{name}`"),
                )
                .detail(serde_json::json!({ "digest": blob.to_string() })));
            }
        }
        for child in &info.children {
            let present = self.manifest(name, &child.to_string()).is_some();
            if !present {
                return Err(ApiError::new(
                    ErrorCode::ManifestUnknown,
                    format!("child manifest `{child}` is not in repository `{name}`"),
                )
                .detail(serde_json::json!({ "digest": child.to_string() })));
            }
        }
        let digest = self.content.put(&bytes)?;
        let dir = self.repo_dir(name);
        let link = link_path(&dir.join("_manifests"), &digest);
        write_atomic(&link, info.media_type.as_bytes()).map_err(ApiError::internal)?;
        if let Some(tag) = tag {
            write_atomic(&dir.join("_tags").join(tag), digest.to_string().as_bytes())
                .map_err(ApiError::internal)?;
        }
        let stored = Arc::new(StoredManifest {
            media_type: info.media_type.clone(),
            bytes,
            info,
        });
        self.write(|r| {
            let repo = r.entry(name.to_string()).or_default();
            repo.manifests.insert(digest.clone(), stored);
            if let Some(tag) = tag {
                repo.tags.insert(tag.to_string(), digest.clone());
            }
        });
        Ok(digest)
    }

    /// Deletes a tag; false if it did not exist.
    pub fn delete_tag(&self, name: &str, tag: &str) -> Result<bool, RegistryError> {
        remove_if_exists(&self.repo_dir(name).join("_tags").join(tag))?;
        Ok(self.write(|r| r.get_mut(name).and_then(|r| r.tags.remove(tag)).is_some()))
    }

    /// Deletes a manifest and every tag pointing at it; false if it did not exist.
    /// The bytes stay in the content store until gc.
    pub fn delete_manifest(&self, name: &str, digest: &Digest) -> Result<bool, RegistryError> {
        let tags: Vec<String> = self.read(|r| {
            r.get(name)
                .map(|repo| {
                    let pointing = repo.tags.iter().filter(|(_, d)| *d == digest);
                    pointing.map(|(t, _)| t.clone()).collect()
                })
                .unwrap_or_default()
        });
        let dir = self.repo_dir(name);
        for tag in &tags {
            remove_if_exists(&dir.join("_tags").join(tag))?;
        }
        remove_if_exists(&link_path(&dir.join("_manifests"), digest))?;
        Ok(self.write(|r| {
            let Some(repo) = r.get_mut(name) else {
                return false;
            };
            repo.tags.retain(|_, d| d != digest);
            repo.manifests.remove(digest).is_some()
        }))
    }

    /// The tags of repository `name` (sorted), or None if it does not exist.
    pub fn tags(&self, name: &str) -> Option<Vec<String>> {
        self.read(|r| r.get(name).map(|r| r.tags.keys().cloned().collect()))
    }

    /// Every repository name (sorted).
    pub fn catalog(&self) -> Vec<String> {
        self.read(|r| r.keys().cloned().collect())
    }

    /// The manifests of repository `name` whose `subject` is `digest`.
    pub fn referrers(&self, name: &str, digest: &Digest) -> Vec<(Digest, Arc<StoredManifest>)> {
        self.read(|r| {
            let Some(repo) = r.get(name) else {
                return Vec::new();
            };
            let mut out: Vec<_> = repo
                .manifests
                .iter()
                .filter(|(_, m)| m.info.subject.as_ref() == Some(digest))
                .map(|(d, m)| (d.clone(), m.clone()))
                .collect();
            out.sort_by(|a, b| a.0.cmp(&b.0));
            out
        })
    }
}

//! The content store: blobs named by their digest.
//!
//! ```text
//! <root>/blobs/sha256/<hex>      complete, verified blobs (read-only once there)
//! <root>/ingest/<key>/data       a blob being written (resumable)
//! <root>/ingest/<key>/ref        the writer's reference, for listing
//! ```
//!
//! A blob becomes visible only when complete: the writer hashes every byte as it is
//! written, and `commit` checks the digest (and size) it was promised, fsyncs, and renames
//! the ingest file into `blobs/`. Two writers of the same blob under different references
//! both succeed: the second rename replaces identical content. Two writers under the same
//! reference are refused (the ingest file is locked). An interrupted writer leaves only its
//! ingest, which the next writer with the same reference resumes; ingests untouched for a
//! day are removed when the store is opened.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use nix::fcntl::{Flock, FlockArg};

use crate::digest::{Digest, Hasher};

/// How long an untouched ingest is kept.
const INGEST_EXPIRY: Duration = Duration::from_secs(24 * 3600);

/// Errors of the content store.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// A file of the store could not be read or written.
    #[error("{what} `{path}`")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The content does not hash to the digest it was promised.
    #[error("digest mismatch: expected `{expected}`, content hashes to `{actual}`")]
    DigestMismatch {
        /// The promised digest.
        expected: Digest,
        /// What the bytes hash to.
        actual: Digest,
    },
    /// The content does not have the size it was promised.
    #[error("size mismatch for `{digest}`: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        /// The digest of what was written.
        digest: Digest,
        /// The promised size.
        expected: u64,
        /// The written size.
        actual: u64,
    },
    /// No blob has this digest.
    #[error("blob `{0}` not found")]
    NotFound(Digest),
    /// Another writer holds this ingest reference.
    #[error("blob upload `{0}` is in use by another writer")]
    Locked(String),
}

type Result<T, E = ContentError> = std::result::Result<T, E>;

fn io_err<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> ContentError + 'a {
    move |source| ContentError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// A content store rooted at a directory.
#[derive(Debug, Clone)]
pub struct ContentStore {
    root: PathBuf,
}

impl ContentStore {
    /// Opens (creating if needed) the store at `root`, removing expired ingests.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let store = Self { root: root.into() };
        for dir in [
            store.root.join("blobs/sha256"),
            store.root.join("blobs/sha512"),
            store.ingest_root(),
        ] {
            fs::create_dir_all(&dir).map_err(io_err("create content store directory", &dir))?;
        }
        store.remove_expired_ingests();
        Ok(store)
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn ingest_root(&self) -> PathBuf {
        self.root.join("ingest")
    }

    /// The path of blob `digest` (it may not exist).
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().name())
            .join(digest.hex())
    }

    /// The size of blob `digest`, if present.
    pub fn size(&self, digest: &Digest) -> Option<u64> {
        fs::metadata(self.blob_path(digest)).ok().map(|m| m.len())
    }

    /// Whether blob `digest` is present.
    pub fn contains(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// Opens blob `digest` for reading.
    pub fn open_blob(&self, digest: &Digest) -> Result<File> {
        let path = self.blob_path(digest);
        File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => ContentError::NotFound(digest.clone()),
            _ => ContentError::Io {
                what: "open blob",
                path,
                source: e,
            },
        })
    }

    /// Reads blob `digest` whole (for manifests and configs; refuses more than `limit`).
    pub fn read_blob(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>> {
        let path = self.blob_path(digest);
        let mut bytes = Vec::new();
        self.open_blob(digest)?
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(io_err("read blob", &path))?;
        if bytes.len() as u64 > limit {
            return Err(ContentError::Io {
                what: "read blob larger than the limit",
                path,
                source: io::Error::new(io::ErrorKind::InvalidData, format!("over {limit} bytes")),
            });
        }
        Ok(bytes)
    }

    /// Stores `bytes`, returning their digest.
    pub fn put(&self, bytes: &[u8]) -> Result<Digest> {
        let digest = Digest::sha256_of(bytes);
        if self.contains(&digest) {
            return Ok(digest);
        }
        let mut writer = self.writer(&format!("put-{}-{}", digest.hex(), uuid::Uuid::new_v4()))?;
        writer
            .write_all(bytes)
            .map_err(io_err("write blob", &writer.dir))?;
        writer.commit(Some(&digest), Some(bytes.len() as u64))
    }

    /// Removes blob `digest` (absent is fine).
    pub fn delete(&self, digest: &Digest) -> Result<()> {
        let path = self.blob_path(digest);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("delete blob", &path)(e)),
        }
    }

    /// Every blob in the store.
    pub fn list(&self) -> Result<Vec<Digest>> {
        let mut digests = Vec::new();
        for algorithm in ["sha256", "sha512"] {
            let dir = self.root.join("blobs").join(algorithm);
            let entries = fs::read_dir(&dir).map_err(io_err("list blobs", &dir))?;
            for entry in entries.flatten() {
                if let Some(name) = entry.file_name().to_str() {
                    if let Ok(d) = format!("{algorithm}:{name}").parse() {
                        digests.push(d);
                    }
                }
            }
        }
        digests.sort();
        Ok(digests)
    }

    /// A writer for the ingest `reference` (any string: a pull's `<repo>@<digest>`, an
    /// upload id). An existing ingest of that reference is resumed: [`BlobWriter::offset`]
    /// tells where it stands.
    pub fn writer(&self, reference: &str) -> Result<BlobWriter> {
        let key = Digest::sha256_of(reference.as_bytes()).hex().to_string();
        let dir = self.ingest_root().join(key);
        fs::create_dir_all(&dir).map_err(io_err("create ingest", &dir))?;
        let data_path = dir.join("data");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&data_path)
            .map_err(io_err("open ingest", &data_path))?;
        // The lock lives as long as the writer's open file.
        let mut file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(locked) => locked,
            Err((_, nix::Error::EWOULDBLOCK)) => {
                return Err(ContentError::Locked(reference.to_string()))
            }
            Err((_, errno)) => return Err(io_err("lock ingest", &data_path)(errno.into())),
        };
        let _ = fs::write(dir.join("ref"), reference);
        // Resume: hash what an earlier writer left.
        let mut hasher = Hasher::new();
        let mut buf = vec![0u8; 1 << 20];
        file.seek(SeekFrom::Start(0))
            .map_err(io_err("resume ingest", &data_path))?;
        loop {
            let n = file
                .read(&mut buf)
                .map_err(io_err("resume ingest", &data_path))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(BlobWriter {
            store: self.clone(),
            dir,
            file,
            hasher,
        })
    }

    /// The references of ingests in progress (or interrupted).
    pub fn ingests(&self) -> Vec<String> {
        let Ok(entries) = fs::read_dir(self.ingest_root()) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| fs::read_to_string(e.path().join("ref")).ok())
            .collect()
    }

    fn remove_expired_ingests(&self) {
        let Ok(entries) = fs::read_dir(self.ingest_root()) else {
            return;
        };
        let now = SystemTime::now();
        for entry in entries.flatten() {
            let modified = fs::metadata(entry.path().join("data"))
                .or_else(|_| entry.metadata())
                .and_then(|m| m.modified());
            let expired = modified
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .is_some_and(|age| age > INGEST_EXPIRY);
            if expired {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// A blob being written; see [`ContentStore::writer`].
#[derive(Debug)]
pub struct BlobWriter {
    store: ContentStore,
    dir: PathBuf,
    file: Flock<File>,
    hasher: Hasher,
}

impl BlobWriter {
    /// Bytes written so far (including a resumed ingest's).
    pub fn offset(&self) -> u64 {
        self.hasher.len()
    }

    /// Makes the blob visible if it hashes to `expected` (and has `size`, if given);
    /// otherwise discards it. Returns its digest.
    pub fn commit(mut self, expected: Option<&Digest>, size: Option<u64>) -> Result<Digest> {
        let hasher = std::mem::take(&mut self.hasher);
        let written = hasher.len();
        let actual = hasher.finish();
        let data = self.dir.join("data");
        if let Some(expected) = expected {
            if *expected != actual {
                self.discard();
                return Err(ContentError::DigestMismatch {
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        if let Some(size) = size.filter(|s| *s != written) {
            self.discard();
            return Err(ContentError::SizeMismatch {
                digest: actual,
                expected: size,
                actual: written,
            });
        }
        self.file.flush().map_err(io_err("flush blob", &data))?;
        self.file.sync_all().map_err(io_err("sync blob", &data))?;
        let target = self.store.blob_path(&actual);
        fs::rename(&data, &target).map_err(io_err("commit blob", &target))?;
        if let Some(parent) = target.parent() {
            if let Ok(dir) = File::open(parent) {
                let _ = nix::unistd::fsync(dir.as_fd());
            }
        }
        let _ = fs::remove_dir_all(&self.dir);
        Ok(actual)
    }

    /// Discards the ingest.
    pub fn discard(self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_read_list_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContentStore::open(dir.path()).unwrap();
        let d = store.put(b"hello").unwrap();
        assert_eq!(store.read_blob(&d, 100).unwrap(), b"hello");
        assert_eq!(store.size(&d), Some(5));
        assert_eq!(store.list().unwrap(), vec![d.clone()]);
        assert!(store.read_blob(&d, 2).is_err());
        store.delete(&d).unwrap();
        assert!(!store.contains(&d));
        assert!(matches!(
            store.open_blob(&d),
            Err(ContentError::NotFound(_))
        ));
    }

    #[test]
    fn wrong_digest_is_refused_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContentStore::open(dir.path()).unwrap();
        let mut w = store.writer("x").unwrap();
        w.write_all(b"evil").unwrap();
        let claimed = Digest::sha256_of(b"good");
        assert!(matches!(
            w.commit(Some(&claimed), None),
            Err(ContentError::DigestMismatch { .. })
        ));
        assert!(store.list().unwrap().is_empty());
        assert!(store.ingests().is_empty());
    }

    #[test]
    fn interrupted_ingest_resumes_and_same_ref_is_locked() {
        let dir = tempfile::tempdir().unwrap();
        let store = ContentStore::open(dir.path()).unwrap();
        let mut w = store.writer("upload-1").unwrap();
        w.write_all(b"hello ").unwrap();
        assert!(matches!(
            store.writer("upload-1"),
            Err(ContentError::Locked(_))
        ));
        drop(w); // interrupted: not committed
        assert!(store.list().unwrap().is_empty());
        let mut w = store.writer("upload-1").unwrap();
        assert_eq!(w.offset(), 6);
        w.write_all(b"world").unwrap();
        let d = w
            .commit(Some(&Digest::sha256_of(b"hello world")), Some(11))
            .unwrap();
        assert_eq!(store.read_blob(&d, 100).unwrap(), b"hello world");
    }
}

//! Content digests of context files, remembered by inode so that a rebuild does not read
//! files that did not change.
//!
//! An entry is keyed by (device, inode) and valid while the file's size, mtime and ctime
//! (nanoseconds) are those it was hashed at. ctime cannot be set from user space and moves
//! on every write, rename into place and chmod, so a changed file misses even when an
//! editor or `touch -r` put its old mtime back. The kernel stamps times from a coarse clock
//! (a tick is a few milliseconds): a file written again within the tick of its hashing
//! would keep all its times. So, as git does with its "racily clean" entries, a file whose
//! mtime or ctime is less than [`SETTLE`] old is hashed but not remembered.

use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_image::digest::{Digest, Hasher};

use super::BuildError;

/// How old a file's times must be for its digest to be remembered.
const SETTLE: Duration = Duration::from_secs(2);

/// Past this many entries the cache starts over (a bound on the daemon's memory: about
/// 100 bytes an entry).
const MAX_ENTRIES: usize = 1 << 20;

/// What identifies a version of a file's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(meta: &Metadata) -> Stamp {
        Stamp {
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// Whether both times are at least [`SETTLE`] before `now`.
    fn settled(&self, now: SystemTime) -> bool {
        let Ok(now) = now.duration_since(UNIX_EPOCH) else {
            return false;
        };
        let limit = now.saturating_sub(SETTLE);
        let before = |(secs, nanos): (i64, i64)| {
            u64::try_from(secs)
                .is_ok_and(|s| Duration::new(s, u32::try_from(nanos).unwrap_or(0)) < limit)
        };
        before(self.mtime) && before(self.ctime)
    }
}

/// The remembered digests of one daemon's builds, shared by its builds.
#[derive(Debug, Default)]
pub struct FileDigests {
    entries: Mutex<HashMap<(u64, u64), (Stamp, Digest)>>,
}

impl FileDigests {
    /// An empty cache.
    pub fn new() -> FileDigests {
        FileDigests::default()
    }

    /// The sha256 of the regular file at `path`, whose metadata (from `lstat`) is `meta`:
    /// remembered, or read.
    pub(crate) fn digest(&self, path: &Path, meta: &Metadata) -> Result<Digest, BuildError> {
        let key = (meta.dev(), meta.ino());
        let stamp = Stamp::of(meta);
        if let Some((known, digest)) = self.lock().get(&key) {
            if *known == stamp {
                return Ok(digest.clone());
            }
        }
        let (digest, opened) = read_digest(path)?;
        // Remembered only if what was read is the version `meta` describes, and settled.
        if Stamp::of(&opened) == stamp
            && (opened.dev(), opened.ino()) == key
            && stamp.settled(SystemTime::now())
        {
            let mut entries = self.lock();
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(key, (stamp, digest.clone()));
        }
        Ok(digest)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(u64, u64), (Stamp, Digest)>> {
        // A panic while holding the lock leaves a map that is still consistent.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Reads the file at `path` through: its sha256, and its metadata taken on the open file
/// after the read.
pub(crate) fn read_digest(path: &Path) -> Result<(Digest, Metadata), BuildError> {
    let err = |what: &str, e: std::io::Error| {
        BuildError::Other(format!("{what} {}: {e}", path.display()))
    };
    let mut file = File::open(path).map_err(|e| err("open", e))?;
    let mut hasher = Hasher::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(|e| err("read", e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let meta = file.metadata().map_err(|e| err("stat", e))?;
    Ok((hasher.finish(), meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Puts the file's mtime at a fixed time long past.
    fn age(path: &Path) {
        filetime::set_file_mtime(path, filetime::FileTime::from_unix_time(1_600_000_000, 0))
            .unwrap();
    }

    #[test]
    fn settled_files_are_remembered_and_recent_ones_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "one").unwrap();
        let cache = FileDigests::new();
        // Just written: its ctime is now, so it is hashed every time.
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert_eq!(
            cache.digest(&path, &meta).unwrap(),
            Digest::sha256_of(b"one")
        );
        assert!(cache.lock().is_empty());
        // Settled (ctime cannot be set back: the entry is made by hand, as if long ago).
        let stamp = Stamp::of(&meta);
        cache.lock().insert(
            (meta.dev(), meta.ino()),
            (stamp, Digest::sha256_of(b"remembered")),
        );
        assert_eq!(
            cache.digest(&path, &meta).unwrap(),
            Digest::sha256_of(b"remembered"),
            "an unchanged stamp is answered from memory"
        );
    }

    #[test]
    fn a_changed_file_misses_even_with_its_old_size_and_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "aaaa").unwrap();
        age(&path);
        let before = std::fs::symlink_metadata(&path).unwrap();
        let cache = FileDigests::new();
        cache.lock().insert(
            (before.dev(), before.ino()),
            (Stamp::of(&before), Digest::sha256_of(b"aaaa")),
        );
        // Same size, same mtime put back: only the ctime tells.
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&path, "bbbb").unwrap();
        age(&path);
        let after = std::fs::symlink_metadata(&path).unwrap();
        assert_eq!(
            (after.size(), after.mtime(), after.mtime_nsec()),
            (before.size(), before.mtime(), before.mtime_nsec())
        );
        assert_eq!(
            cache.digest(&path, &after).unwrap(),
            Digest::sha256_of(b"bbbb")
        );
    }

    #[test]
    fn times_settle_after_two_seconds() {
        let now = SystemTime::now();
        let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
        let stamp = |t: SystemTime| Stamp {
            size: 1,
            mtime: (secs(t), 0),
            ctime: (secs(t), 0),
        };
        assert!(stamp(now - Duration::from_secs(10)).settled(now));
        assert!(!stamp(now).settled(now));
        let mixed = Stamp {
            ctime: (secs(now), 0),
            ..stamp(now - Duration::from_secs(10))
        };
        assert!(
            !mixed.settled(now),
            "a recent ctime alone keeps it unsettled"
        );
    }
}

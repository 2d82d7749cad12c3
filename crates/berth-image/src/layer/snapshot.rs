//! Snapshots: one directory per layer stack, stacked by overlayfs into a rootfs.
//!
//! ```text
//! <root>/snapshots/<chain-id hex>/fs       the layer, unpacked in overlay mode
//! <root>/snapshots/<chain-id hex>/parent   the parent's chain ID (absent for a base layer)
//! <root>/tmp/<chain-id hex>-<random>/      a snapshot being prepared (locked while it is)
//! ```
//!
//! A snapshot is valid exactly when its directory is in `snapshots/`: it is prepared in
//! `tmp/`, synced (one `syncfs`, not one fsync per file) and renamed into place. Two
//! processes preparing the same snapshot each fill their own temporary directory; the first
//! rename wins and the loser discards its copy. Temporary directories whose preparer died
//! (their lock is free, and they are over a minute old) are removed by
//! [`Snapshotter::open`].
//!
//! Removal: a snapshot that is the parent of another is refused; beyond that, which images
//! and containers still need a snapshot (a mounted one must stay) is the image store's and
//! the engine's knowledge, so they decide when to call [`Snapshotter::remove`].

use std::fs::{self, File};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};
use nix::mount::{mount, umount2, MntFlags, MsFlags};

use super::unpack::temporary_sibling;
use super::LayerError;
use crate::digest::{Digest, Hasher};

/// How old an unlocked temporary directory must be to count as abandoned.
const ABANDONED_AFTER: Duration = Duration::from_secs(60);

/// The chain ID of a layer stacked on `parent` (the OCI image spec's definition).
pub fn chain_id(parent: Option<&Digest>, diff_id: &Digest) -> Digest {
    match parent {
        None => diff_id.clone(),
        Some(parent) => {
            let mut hasher = Hasher::new();
            hasher.update(format!("{parent} {diff_id}").as_bytes());
            hasher.finish()
        }
    }
}

/// Whether [`Snapshotter::prepare`] made the snapshot or found it made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prepared {
    /// This call unpacked it.
    Created,
    /// It existed already (or a concurrent preparer won the race).
    Existed,
}

/// Snapshot directories under a root.
#[derive(Debug, Clone)]
pub struct Snapshotter {
    root: PathBuf,
    sync: bool,
}

impl Snapshotter {
    /// Opens (creating) the snapshot root, and removes abandoned temporary directories.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, LayerError> {
        let root = root.into();
        for dir in ["snapshots", "tmp"] {
            let path = root.join(dir);
            fs::create_dir_all(&path).map_err(LayerError::io("create", &path))?;
        }
        let snapshotter = Snapshotter { root, sync: true };
        snapshotter.remove_abandoned()?;
        Ok(snapshotter)
    }

    /// Whether snapshots are synced to disk before they become visible (default: yes).
    /// Without it, a crash can leave a visible snapshot with lost data.
    pub fn with_sync(mut self, sync: bool) -> Self {
        self.sync = sync;
        self
    }

    fn dir(&self, id: &Digest) -> PathBuf {
        self.root.join("snapshots").join(id.hex())
    }

    /// The directory holding the snapshot's files.
    pub fn fs_path(&self, id: &Digest) -> PathBuf {
        self.dir(id).join("fs")
    }

    /// Whether the snapshot exists.
    pub fn exists(&self, id: &Digest) -> bool {
        self.dir(id).is_dir()
    }

    /// Makes the snapshot `id` on `parent` unless it exists: `unpack` fills an empty
    /// directory (with [`apply`](super::apply) in [`WhiteoutMode::Overlay`](super::WhiteoutMode)),
    /// which becomes visible only if it succeeds.
    pub fn prepare(
        &self,
        id: &Digest,
        parent: Option<&Digest>,
        unpack: impl FnOnce(&Path) -> Result<(), LayerError>,
    ) -> Result<Prepared, LayerError> {
        if self.exists(id) {
            return Ok(Prepared::Existed);
        }
        if let Some(parent) = parent {
            if !self.exists(parent) {
                return Err(LayerError::SnapshotNotFound(parent.clone()));
            }
        }
        let temporary = temporary_sibling(&self.root.join("tmp").join(id.hex()));
        fs::create_dir(&temporary).map_err(LayerError::io("create", &temporary))?;
        let result = self.fill(&temporary, id, parent, unpack);
        if !matches!(result, Ok(Prepared::Created)) {
            let _ = fs::remove_dir_all(&temporary);
        }
        result
    }

    fn fill(
        &self,
        temporary: &Path,
        id: &Digest,
        parent: Option<&Digest>,
        unpack: impl FnOnce(&Path) -> Result<(), LayerError>,
    ) -> Result<Prepared, LayerError> {
        let dir = File::open(temporary).map_err(LayerError::io("open", temporary))?;
        // Held until the rename: tells `remove_abandoned` of other processes hands off.
        let _lock = Flock::lock(dir, FlockArg::LockExclusive)
            .map_err(|(_, e)| LayerError::io("lock", temporary)(e.into()))?;
        let fs_dir = temporary.join("fs");
        fs::create_dir(&fs_dir).map_err(LayerError::io("create", &fs_dir))?;
        unpack(&fs_dir)?;
        if let Some(parent) = parent {
            let path = temporary.join("parent");
            fs::write(&path, parent.to_string()).map_err(LayerError::io("write", &path))?;
        }
        if self.sync {
            nix::unistd::syncfs(&*_lock)
                .map_err(|e| LayerError::io("sync", temporary)(e.into()))?;
        }
        let target = self.dir(id);
        match fs::rename(temporary, &target) {
            Ok(()) => Ok(Prepared::Created),
            // Another preparer's rename won: theirs is as good as ours.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTEMPTY | libc::EEXIST)) => {
                Ok(Prepared::Existed)
            }
            Err(e) => Err(LayerError::io("rename into place", &target)(e)),
        }
    }

    /// The parent of a snapshot.
    pub fn parent(&self, id: &Digest) -> Result<Option<Digest>, LayerError> {
        if !self.exists(id) {
            return Err(LayerError::SnapshotNotFound(id.clone()));
        }
        let path = self.dir(id).join("parent");
        match fs::read_to_string(&path) {
            Ok(text) => text.trim().parse().map(Some).map_err(|e| {
                LayerError::io("parse", &path)(io::Error::new(io::ErrorKind::InvalidData, e))
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(LayerError::io("read", &path)(e)),
        }
    }

    /// The `fs` directories of the snapshots `ids` (base first, as an image lists its
    /// layers) in overlayfs `lowerdir` order: topmost first.
    pub fn lower_dirs(&self, ids: &[Digest]) -> Result<Vec<PathBuf>, LayerError> {
        let mut dirs = Vec::with_capacity(ids.len());
        for id in ids.iter().rev() {
            if !self.exists(id) {
                return Err(LayerError::SnapshotNotFound(id.clone()));
            }
            dirs.push(self.fs_path(id));
        }
        Ok(dirs)
    }

    /// Removes a snapshot; refused while another snapshot names it as parent. It leaves
    /// `snapshots/` by a rename first, so a half-removed snapshot is never visible.
    pub fn remove(&self, id: &Digest) -> Result<(), LayerError> {
        if !self.exists(id) {
            return Err(LayerError::SnapshotNotFound(id.clone()));
        }
        let snapshots = self.root.join("snapshots");
        for entry in fs::read_dir(&snapshots).map_err(LayerError::io("list", &snapshots))? {
            let entry = entry.map_err(LayerError::io("list", &snapshots))?;
            let Ok(child) =
                format!("sha256:{}", entry.file_name().to_string_lossy()).parse::<Digest>()
            else {
                continue;
            };
            if self.parent(&child).ok().flatten().as_ref() == Some(id) {
                return Err(LayerError::SnapshotInUse {
                    id: id.clone(),
                    child,
                });
            }
        }
        let doomed = temporary_sibling(&self.root.join("tmp").join(id.hex()));
        let dir = self.dir(id);
        fs::rename(&dir, &doomed).map_err(LayerError::io("move out of snapshots", &dir))?;
        fs::remove_dir_all(&doomed).map_err(LayerError::io("remove", &doomed))
    }

    /// The disk usage of a snapshot in bytes (allocated blocks, hardlinks counted once).
    pub fn usage(&self, id: &Digest) -> Result<u64, LayerError> {
        if !self.exists(id) {
            return Err(LayerError::SnapshotNotFound(id.clone()));
        }
        let mut seen = std::collections::HashSet::new();
        disk_usage(&self.fs_path(id), &mut seen)
    }

    fn remove_abandoned(&self) -> Result<(), LayerError> {
        let tmp = self.root.join("tmp");
        for entry in fs::read_dir(&tmp).map_err(LayerError::io("list", &tmp))? {
            let entry = entry.map_err(LayerError::io("list", &tmp))?;
            let path = entry.path();
            // A preparer locks its directory just after creating it: leave young ones be.
            let young = entry
                .metadata()
                .and_then(|meta| meta.modified())
                .ok()
                .and_then(|modified| modified.elapsed().ok())
                .is_none_or(|age| age < ABANDONED_AFTER);
            if young {
                continue;
            }
            let Ok(dir) = File::open(&path) else { continue };
            // A preparer that is alive holds the lock.
            if let Ok(_lock) = Flock::lock(dir, FlockArg::LockExclusiveNonblock) {
                fs::remove_dir_all(&path).map_err(LayerError::io("remove", &path))?;
            }
        }
        Ok(())
    }
}

fn disk_usage(
    path: &Path,
    seen: &mut std::collections::HashSet<(u64, u64)>,
) -> Result<u64, LayerError> {
    let meta = path
        .symlink_metadata()
        .map_err(LayerError::io("stat", path))?;
    let mut total = 0;
    if seen.insert((meta.dev(), meta.ino())) {
        total += meta.blocks() * 512;
    }
    if meta.is_dir() {
        for entry in fs::read_dir(path).map_err(LayerError::io("list", path))? {
            let entry = entry.map_err(LayerError::io("list", path))?;
            total += disk_usage(&entry.path(), seen)?;
        }
    }
    Ok(total)
}

/// Mounts `lowers` (topmost first) on `target`: an overlayfs with `upper` (`(upperdir,
/// workdir)`) when given, a read-only overlayfs of several lowers otherwise, or a read-only
/// bind mount of a single lower. The mount options must fit in a page (4096 bytes), which
/// bounds the number of layers by their paths' length.
pub fn mount_overlay(
    lowers: &[PathBuf],
    upper: Option<(&Path, &Path)>,
    target: &Path,
) -> Result<(), LayerError> {
    let fail = |what| {
        move |e: nix::errno::Errno| LayerError::Mount {
            what,
            target: target.to_path_buf(),
            source: e.into(),
        }
    };
    if lowers.is_empty() {
        return Err(fail("an overlay without lower directories")(
            nix::errno::Errno::EINVAL,
        ));
    }
    if let ([single], None) = (lowers, upper) {
        mount(
            Some(single.as_path()),
            target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(fail("a bind mount"))?;
        let readonly = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        return mount(None::<&str>, target, None::<&str>, readonly, None::<&str>).map_err(|e| {
            let _ = umount2(target, MntFlags::MNT_DETACH);
            fail("a bind mount read-only")(e)
        });
    }
    let mut options = b"lowerdir=".to_vec();
    for (i, lower) in lowers.iter().enumerate() {
        if i > 0 {
            options.push(b':');
        }
        escape(lower, &mut options);
    }
    let mut flags = MsFlags::empty();
    match upper {
        Some((upper, work)) => {
            options.extend_from_slice(b",upperdir=");
            escape(upper, &mut options);
            options.extend_from_slice(b",workdir=");
            escape(work, &mut options);
            // pack_diff reads the upper dir as plain files and whiteouts.
            options.extend_from_slice(b",redirect_dir=off,metacopy=off,index=off");
        }
        None => flags |= MsFlags::MS_RDONLY,
    }
    if options.len() >= 4096 {
        return Err(fail("an overlay (options longer than a page)")(
            nix::errno::Errno::ENAMETOOLONG,
        ));
    }
    let options = std::ffi::OsStr::from_bytes(&options);
    mount(
        Some("overlay"),
        target,
        Some("overlay"),
        flags,
        Some(options),
    )
    .map_err(fail("an overlay"))
}

/// Overlayfs splits its options on `,` and `:`: escape them (and `\`).
fn escape(path: &Path, out: &mut Vec<u8>) {
    for &byte in path.as_os_str().as_bytes() {
        if matches!(byte, b',' | b':' | b'\\') {
            out.push(b'\\');
        }
        out.push(byte);
    }
}

/// Unmounts `target` (lazily: a busy mount is detached and goes when unused).
pub fn unmount(target: &Path) -> Result<(), LayerError> {
    umount2(target, MntFlags::MNT_DETACH).map_err(|e| LayerError::Mount {
        what: "nothing (unmount)",
        target: target.to_path_buf(),
        source: e.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_ids_follow_the_spec() {
        let a = Digest::sha256_of(b"a");
        let b = Digest::sha256_of(b"b");
        assert_eq!(chain_id(None, &a), a);
        let expected = Digest::sha256_of(format!("{a} {b}").as_bytes());
        assert_eq!(chain_id(Some(&a), &b), expected);
    }

    #[test]
    fn escapes_overlay_separators() {
        let mut out = Vec::new();
        escape(Path::new("/a:b,c"), &mut out);
        assert_eq!(out, b"/a\\:b\\,c");
    }
}

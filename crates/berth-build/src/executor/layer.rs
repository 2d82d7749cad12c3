//! A step's root filesystem and its diff: an overlay of the stage's snapshots with a fresh
//! upper directory; after the step, the upper directory is packed into a layer blob (its
//! overlay whiteouts become `.wh.` entries) and then moved, as is, into a new snapshot:
//! the upper directory already has the overlay lower format, so no unpacking is needed.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use berth_image::digest::Digest;
use berth_image::layer::{self, chain_id, PackOptions, Snapshotter, UnpackOptions, WhiteoutMode};
use berth_image::store::ImageStore;

use super::cache::LayerRef;
use super::BuildError;

fn other(what: &str, path: &Path, e: impl std::fmt::Display) -> BuildError {
    BuildError::Other(format!("{what} {}: {e}", path.display()))
}

/// The chain ids of a stack of layers (snapshot names), base first.
pub(crate) fn chain_ids(layers: &[LayerRef]) -> Vec<Digest> {
    let diffs: Vec<Digest> = layers.iter().map(|l| l.diff_id.clone()).collect();
    berth_image::manifest::chain_ids(&diffs)
}

/// Makes sure every layer of the stack has its snapshot (a cached step's snapshot may
/// have been removed): a missing one is unpacked from its blob.
pub(crate) fn ensure_snapshots(
    images: &ImageStore,
    snapshots: &Snapshotter,
    layers: &[LayerRef],
) -> Result<(), BuildError> {
    let chains = chain_ids(layers);
    for (i, layer) in layers.iter().enumerate() {
        if snapshots.exists(&chains[i]) {
            continue;
        }
        let blob = images
            .content()
            .open_blob(&layer.blob)
            .map_err(|e| BuildError::Other(format!("open layer {}: {e}", layer.blob)))?;
        let parent = i.checked_sub(1).map(|p| &chains[p]);
        snapshots
            .prepare(&chains[i], parent, |dir| {
                let options = UnpackOptions {
                    whiteouts: WhiteoutMode::Overlay,
                    expected_diff_id: Some(layer.diff_id.clone()),
                    ..UnpackOptions::default()
                };
                layer::apply(std::io::BufReader::new(blob), dir, &options).map(|_| ())
            })
            .map_err(|e| BuildError::Other(format!("unpack layer {}: {e}", layer.diff_id)))?;
    }
    Ok(())
}

/// A mounted view of a stack of layers, unmounted and removed on drop.
#[derive(Debug)]
pub(crate) struct Mounted {
    pub root: PathBuf,
    pub upper: Option<PathBuf>,
    dir: PathBuf,
    mounted: bool,
}

impl Mounted {
    /// Mounts `layers` at `<dir>/root`: writable (upper in `<dir>/upper`) or read-only.
    pub fn new(
        snapshots: &Snapshotter,
        layers: &[LayerRef],
        dir: PathBuf,
        writable: bool,
    ) -> Result<Mounted, BuildError> {
        let root = dir.join("root");
        let empty = dir.join("empty");
        for d in [&root, &empty] {
            fs::create_dir_all(d).map_err(|e| other("create", d, e))?;
        }
        let mut lowers = snapshots
            .lower_dirs(&chain_ids(layers))
            .map_err(|e| BuildError::Other(format!("the layers' snapshots: {e}")))?;
        if lowers.is_empty() {
            // overlayfs needs a lower directory: scratch is an empty one.
            lowers.push(empty);
        }
        let mut mounted = Mounted {
            root: root.clone(),
            upper: None,
            dir: dir.clone(),
            mounted: false,
        };
        if writable {
            let upper = dir.join("upper");
            let work = dir.join("work");
            for d in [&upper, &work] {
                fs::create_dir_all(d).map_err(|e| other("create", d, e))?;
            }
            layer::mount_overlay(&lowers, Some((&upper, &work)), &root)
                .map_err(|e| BuildError::Other(e.to_string()))?;
            mounted.upper = Some(upper);
        } else {
            layer::mount_overlay(&lowers, None, &root)
                .map_err(|e| BuildError::Other(e.to_string()))?;
        }
        mounted.mounted = true;
        Ok(mounted)
    }

    /// A writable view of a host directory whose writes are thrown away: an overlay with
    /// `source` as its only lower layer and a fresh upper in `dir`, for
    /// `RUN --mount=type=bind,rw` ("written data will be discarded", as Docker documents).
    pub fn throwaway(source: &Path, dir: PathBuf) -> Result<Mounted, BuildError> {
        let root = dir.join("root");
        let upper = dir.join("upper");
        let work = dir.join("work");
        for d in [&root, &upper, &work] {
            fs::create_dir_all(d).map_err(|e| other("create", d, e))?;
        }
        let mut mounted = Mounted {
            root: root.clone(),
            upper: Some(upper.clone()),
            dir,
            mounted: false,
        };
        layer::mount_overlay(&[source.to_path_buf()], Some((&upper, &work)), &root)
            .map_err(|e| BuildError::Other(e.to_string()))?;
        mounted.mounted = true;
        Ok(mounted)
    }

    /// A directory owned like a mount (removed when dropped) with nothing mounted: the
    /// home of a throwaway copy of a single file.
    pub fn throwaway_file_dir(dir: PathBuf) -> Result<Mounted, BuildError> {
        fs::create_dir_all(&dir).map_err(|e| other("create", &dir, e))?;
        Ok(Mounted {
            root: dir.clone(),
            upper: None,
            dir,
            mounted: false,
        })
    }

    /// The directory that holds this mount's root and upper layer.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn unmount(&mut self) -> Result<(), BuildError> {
        if self.mounted {
            layer::unmount(&self.root).map_err(|e| BuildError::Other(e.to_string()))?;
            self.mounted = false;
        }
        Ok(())
    }

    /// Unmounts, packs the upper directory into a layer blob in the content store, and
    /// moves it into the snapshot on top of `parent_layers`.
    pub fn commit(
        mut self,
        images: &ImageStore,
        snapshots: &Snapshotter,
        parent_layers: &[LayerRef],
        epoch: Option<i64>,
    ) -> Result<LayerRef, BuildError> {
        self.unmount()?;
        let upper = self
            .upper
            .clone()
            .ok_or_else(|| BuildError::Other("commit of a read-only mount".into()))?;
        let mut writer = images
            .content()
            .writer(&format!("build-{}", rand_suffix()))
            .map_err(|e| BuildError::Other(format!("write a layer: {e}")))?;
        let options = PackOptions {
            mtime: epoch.map(|e| UNIX_EPOCH + Duration::from_secs(e.max(0) as u64)),
            ..PackOptions::default()
        };
        let packed = layer::pack_diff(&upper, &mut writer, &options)
            .map_err(|e| other("pack", &upper, e))?;
        let blob = writer
            .commit(Some(&packed.digest), Some(packed.size))
            .map_err(|e| BuildError::Other(format!("store a layer: {e}")))?;
        let parent = chain_ids(parent_layers).last().cloned();
        let id = chain_id(parent.as_ref(), &packed.diff_id);
        snapshots
            .prepare(&id, parent.as_ref(), |fs_dir| move_contents(&upper, fs_dir))
            .map_err(|e| BuildError::Other(format!("snapshot {id}: {e}")))?;
        Ok(LayerRef {
            diff_id: packed.diff_id,
            blob,
            size: packed.size,
        })
    }
}

/// Moves the entries of `from` into `to` (same filesystem: renames only).
fn move_contents(from: &Path, to: &Path) -> Result<(), layer::LayerError> {
    let io = |source: std::io::Error| layer::LayerError::Io {
        action: "move the step's files",
        path: from.to_path_buf(),
        source,
    };
    for entry in fs::read_dir(from).map_err(io)? {
        let entry = entry.map_err(io)?;
        fs::rename(entry.path(), to.join(entry.file_name())).map_err(io)?;
    }
    // The upper directory's own mode and owner are the root directory's.
    let meta = fs::symlink_metadata(from).map_err(io)?;
    fs::set_permissions(to, meta.permissions()).map_err(io)?;
    Ok(())
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = self.unmount();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

pub(crate) fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!(
        "{:x}-{:x}-{}",
        now,
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

//! A container's root filesystem: the image's layers (snapshots) as overlay lower dirs,
//! with `upper` and `work` in the container's directory, mounted on `rootfs`.
//!
//! The mount lives in the host's mount namespace from the first start until removal, so
//! it survives daemon restarts; `ensure_mounted` is idempotent.

use std::path::{Path, PathBuf};

use berth_image::digest::Digest;
use berth_image::layer::{self, UnpackOptions, WhiteoutMode};
use berth_image::manifest;
use berth_image::store::Image;

use crate::engine::Engine;
use crate::error::{EngineError, Result};

/// The chain ids of `image`'s layers, base first, unpacking any snapshot that is missing
/// (images that were loaded or imported rather than pulled have none yet).
pub fn prepare_layers(engine: &Engine, image: &Image) -> Result<Vec<String>> {
    let diff_ids = manifest::diff_ids(&image.config)
        .map_err(|e| EngineError::Internal(format!("image {}: {e}", image.id())))?;
    if diff_ids.len() != image.layers.len() {
        return Err(EngineError::Internal(format!(
            "image {}: the config lists {} layers but the manifest {}",
            image.id(),
            diff_ids.len(),
            image.layers.len()
        )));
    }
    let chain = manifest::chain_ids(&diff_ids);
    let snapshots = engine.snapshots();
    for (i, chain_id) in chain.iter().enumerate() {
        if snapshots.exists(chain_id) {
            continue;
        }
        let blob = manifest::descriptor_digest(&image.layers[i])
            .map_err(|e| EngineError::Internal(format!("image {}: {e}", image.id())))?;
        let file = engine.images().content().open_blob(&blob).map_err(|e| {
            EngineError::Internal(format!("layer {blob} of image {}: {e}", image.id()))
        })?;
        let options = UnpackOptions {
            whiteouts: WhiteoutMode::Overlay,
            expected_diff_id: Some(diff_ids[i].clone()),
            ..UnpackOptions::default()
        };
        let parent = i.checked_sub(1).map(|p| &chain[p]);
        snapshots
            .prepare(chain_id, parent, |dir| {
                layer::apply(std::io::BufReader::new(file), dir, &options).map(drop)
            })
            .map_err(|e| EngineError::Internal(format!("unpack layer {blob}: {e}")))?;
    }
    Ok(chain.iter().map(Digest::to_string).collect())
}

/// Whether `path` is a mount point (it is on another device than its parent, or the
/// kernel lists it).
pub fn is_mounted(path: &Path) -> bool {
    let Ok(mountinfo) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let wanted = path.to_string_lossy();
    mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .any(|mount_point| unescape(mount_point) == wanted)
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let bytes = field.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            if let Ok(code) = u8::from_str_radix(&field[i + 1..i + 4], 8) {
                out.push(code as char);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i] as char);
        i += 1;
    }
    out
}

/// Mounts the container's overlay on `<dir>/rootfs` unless it is mounted.
pub fn ensure_mounted(engine: &Engine, dir: &Path, layers: &[String]) -> Result<PathBuf> {
    let target = dir.join("rootfs");
    if is_mounted(&target) {
        return Ok(target);
    }
    let upper = dir.join("upper");
    let work = dir.join("work");
    for d in [&upper, &work, &target] {
        std::fs::create_dir_all(d).map_err(|e| EngineError::io("create", d, e))?;
    }
    let mut ids: Vec<Digest> = Vec::with_capacity(layers.len());
    for text in layers {
        let id: Digest = text
            .parse()
            .map_err(|e| EngineError::Internal(format!("layer id `{text}`: {e}")))?;
        ids.push(id);
    }
    let mut lowers = engine
        .snapshots()
        .lower_dirs(&ids)
        .map_err(|e| EngineError::Internal(format!("the image's layers: {e}")))?;
    if lowers.is_empty() {
        // An image with no layers (FROM scratch with nothing added): an empty lower.
        let empty = dir.join("empty");
        std::fs::create_dir_all(&empty).map_err(|e| EngineError::io("create", &empty, e))?;
        lowers.push(empty);
    }
    layer::mount_overlay(&lowers, Some((&upper, &work)), &target)
        .map_err(|e| EngineError::Internal(format!("mount the root filesystem: {e}")))?;
    Ok(target)
}

/// Unmounts the container's rootfs if mounted.
pub fn unmount(dir: &Path) -> Result<()> {
    let target = dir.join("rootfs");
    if is_mounted(&target) {
        layer::unmount(&target)
            .map_err(|e| EngineError::Internal(format!("unmount the root filesystem: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(unescape(r"/a\040b"), "/a b");
        assert_eq!(unescape("/plain"), "/plain");
    }
}

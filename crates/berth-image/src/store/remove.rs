//! `rmi` and `image prune`: removing names, images and the blobs only they used.

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, SystemTime};

use super::names::Names;
use super::{ImageStore, Result, StoreError};
use crate::digest::Digest;
use crate::manifest::{self, Manifest};
use crate::reference::Reference;

/// Blobs that no image references are deleted by `prune` only when older than this: a
/// pull in progress writes its blobs before it tags the image.
const ORPHAN_GRACE: Duration = Duration::from_secs(3600);

/// One thing `remove` or `prune` did, in docker's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    /// A name was removed.
    Untagged(Reference),
    /// An image (by id) was deleted.
    Deleted(Digest),
    /// A blob no image needs any more was deleted (digest, size).
    Blob(Digest, u64),
}

/// What `prune` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Names and images removed.
    pub removed: Vec<Removed>,
    /// Bytes of blobs deleted.
    pub reclaimed: u64,
}

impl ImageStore {
    /// `rmi`: removes the name `text`, or the image with id `text`, with docker's rules.
    ///
    /// - By name: the name goes; if the image keeps a tag, that is all. If no tag is left,
    ///   its repo digests go too and the image is deleted.
    /// - By id: all its names go and it is deleted; if its names span several
    ///   repositories, only with `force`.
    ///
    /// Deleting an image deletes the blobs that no other image uses.
    pub fn remove(&self, text: &str, force: bool) -> Result<Vec<Removed>> {
        let _lock = self.names.lock()?;
        let mut names = self.names.read()?;
        let (digest, by_name) = self.resolve_in(&names, text)?;
        let mut removed = Vec::new();
        let untag = |names: &mut Names, key: &str, removed: &mut Vec<Removed>| {
            names.names.remove(key);
            if let Ok(r) = Reference::parse(key) {
                removed.push(Removed::Untagged(r));
            }
        };
        match by_name {
            Some(key) => {
                untag(&mut names, &key, &mut removed);
                let rest = names.names_of(&digest);
                let has_tag = rest.iter().any(|n| !n.contains('@'));
                if has_tag {
                    self.names.write(&names)?;
                    return Ok(removed);
                }
                for key in rest {
                    untag(&mut names, &key, &mut removed);
                }
            }
            None => {
                let rest = names.names_of(&digest);
                let repos: BTreeSet<String> = rest
                    .iter()
                    .filter_map(|n| Reference::parse(n).ok().map(|r| r.name()))
                    .collect();
                if repos.len() > 1 && !force {
                    let id = self
                        .image(&digest)
                        .map_or(digest.clone(), |i| i.config_digest);
                    return Err(StoreError::Conflict {
                        id,
                        reason: "image is referenced in multiple repositories".to_string(),
                    });
                }
                for key in rest {
                    untag(&mut names, &key, &mut removed);
                }
            }
        }
        let deleted = BTreeSet::from([digest]);
        removed.extend(self.delete_images(&mut names, &deleted, false)?.0);
        Ok(removed)
    }

    /// `image prune`: deletes dangling images (with `dangling_only`), or every image whose
    /// id is not in `in_use` (the images of containers, which the store does not know),
    /// then blobs that no image references. Returns what went and the bytes reclaimed.
    pub fn prune(&self, dangling_only: bool, in_use: &HashSet<Digest>) -> Result<PruneReport> {
        let _lock = self.names.lock()?;
        let mut names = self.names.read()?;
        let mut removed = Vec::new();
        let mut doomed = BTreeSet::new();
        for digest in &names.images {
            let named = names.names.values().any(|d| d == digest);
            if dangling_only && named {
                continue;
            }
            let id = self.image(digest).ok().map(|i| i.config_digest);
            if id.is_some_and(|id| in_use.contains(&id)) || in_use.contains(digest) {
                continue;
            }
            doomed.insert(digest.clone());
        }
        for digest in &doomed {
            for key in names.names_of(digest) {
                names.names.remove(&key);
                if let Ok(r) = Reference::parse(&key) {
                    removed.push(Removed::Untagged(r));
                }
            }
        }
        let (more, reclaimed) = self.delete_images(&mut names, &doomed, true)?;
        removed.extend(more);
        Ok(PruneReport { removed, reclaimed })
    }

    /// Drops the records `doomed`, writes the names, then deletes the blobs no remaining
    /// image reaches: those of the doomed images, and (with `orphans`) any other blob
    /// older than [`ORPHAN_GRACE`]. The caller holds the lock.
    fn delete_images(
        &self,
        names: &mut Names,
        doomed: &BTreeSet<Digest>,
        orphans: bool,
    ) -> Result<(Vec<Removed>, u64)> {
        let mut removed = Vec::new();
        let mut candidates = BTreeSet::new();
        for digest in doomed {
            if let Ok(image) = self.image(digest) {
                removed.push(Removed::Deleted(image.config_digest));
            }
            candidates.extend(self.blobs_of(digest));
            names.images.remove(digest);
        }
        // Names first: a crash after this leaves unreferenced blobs, never a named image
        // with missing blobs.
        self.names.write(names)?;
        let mut keep = BTreeSet::new();
        for digest in &names.images {
            keep.extend(self.blobs_of(digest));
        }
        if orphans {
            let now = SystemTime::now();
            for blob in self.content.list()? {
                let old = std::fs::metadata(self.content.blob_path(&blob))
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|m| now.duration_since(m).ok())
                    .is_some_and(|age| age > ORPHAN_GRACE);
                if old {
                    candidates.insert(blob);
                }
            }
        }
        let mut reclaimed = 0;
        for blob in candidates.difference(&keep) {
            let Some(size) = self.content.size(blob) else {
                continue;
            };
            self.content.delete(blob)?;
            reclaimed += size;
            removed.push(Removed::Blob(blob.clone(), size));
        }
        Ok((removed, reclaimed))
    }

    /// Every blob image `digest` reaches: itself, and for an index every listed manifest
    /// present, with their configs and layers.
    pub fn blobs_of(&self, digest: &Digest) -> BTreeSet<Digest> {
        let mut out = BTreeSet::from([digest.clone()]);
        let mut queue = vec![digest.clone()];
        while let Some(next) = queue.pop() {
            match self.read_manifest(&next) {
                Ok(Manifest::Image(m)) => out.extend(
                    std::iter::once(m.config())
                        .chain(m.layers())
                        .filter_map(|d| manifest::descriptor_digest(d).ok()),
                ),
                Ok(Manifest::Index(index)) => {
                    for child in index.manifests() {
                        if let Ok(d) = manifest::descriptor_digest(child) {
                            if self.content.contains(&d) && out.insert(d.clone()) {
                                queue.push(d);
                            }
                        }
                    }
                }
                Err(_) => {}
            }
        }
        out
    }
}

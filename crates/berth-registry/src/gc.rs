//! Online garbage collection: mark every blob that a manifest of any repository
//! references, sweep the rest.
//!
//! Safe while the server runs (in this process or another):
//! - mark and sweep hold `<root>/gc.lock` exclusively; a manifest PUT holds it shared from
//!   checking its blobs to writing its link, so no manifest appears mid-gc whose blobs the
//!   sweep could take;
//! - uploads in progress are ingests, which gc never touches;
//! - a blob (or an untagged manifest) newer than the grace period is kept, so that a blob
//!   uploaded or mounted but not yet referenced (its manifest comes later) survives;
//!   linking a blob to a repository refreshes its mtime for the same reason;
//! - at the end gc rewrites `<root>/gc-epoch`; a server reloads its cache when it sees
//!   the change.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, SystemTime};

use berth_image::content::ContentStore;
use berth_image::digest::Digest;

use crate::error::RegistryError;
use crate::fsutil::{remove_if_exists, write_atomic};
use crate::manifest::{self, ManifestInfo, MAX_MANIFEST_SIZE};
use crate::storage::{epoch_path, list_links, list_repositories, lock_gc, repositories_dir};

/// What gc may remove.
#[derive(Debug, Clone)]
pub struct GcOptions {
    /// Blobs and untagged manifests modified more recently than this are kept.
    pub grace: Duration,
    /// Also remove manifests that no tag reaches (directly, as an index child, or as a
    /// referrer of a kept manifest). Off by default: pushing by digest is legitimate.
    pub delete_untagged: bool,
    /// Report what would be removed without removing it.
    pub dry_run: bool,
}

impl Default for GcOptions {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(10 * 60),
            delete_untagged: false,
            dry_run: false,
        }
    }
}

/// What gc removed (or would have, in a dry run).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Blobs deleted from the content store.
    pub blobs_deleted: Vec<Digest>,
    /// Their total size.
    pub bytes_freed: u64,
    /// Untagged manifests unlinked, as `<repository>@<digest>`.
    pub manifests_deleted: Vec<String>,
    /// Blobs kept only because they are newer than the grace period.
    pub blobs_in_grace: usize,
}

fn older_than(path: &Path, grace: Duration, now: SystemTime) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|m| now.duration_since(m).ok())
        .is_some_and(|age| age >= grace)
}

/// Runs garbage collection on the registry at `root`.
pub fn gc(root: &Path, options: &GcOptions) -> Result<GcReport, RegistryError> {
    let content = ContentStore::open(root.join("content"))?;
    let _lock = lock_gc(root, true)?;
    let now = SystemTime::now();
    let mut report = GcReport::default();
    let repos_dir = repositories_dir(root);
    let read = |d: &Digest, media: Option<&str>| -> Option<ManifestInfo> {
        let bytes = content.read_blob(d, MAX_MANIFEST_SIZE as u64).ok()?;
        manifest::parse(&bytes, media).ok()
    };
    let mut marked: HashSet<Digest> = HashSet::new();
    for name in list_repositories(&repos_dir) {
        let dir = repos_dir.join(&name);
        let mut manifests: HashMap<Digest, (std::path::PathBuf, Option<ManifestInfo>)> =
            HashMap::new();
        for (digest, path) in list_links(&dir.join("_manifests")) {
            let media = std::fs::read_to_string(&path).ok();
            let info = read(&digest, media.as_deref());
            manifests.insert(digest, (path, info));
        }
        if options.delete_untagged {
            let keep = reachable(&dir, &manifests, options.grace, now);
            for (digest, (path, _)) in &manifests {
                if !keep.contains(digest) {
                    if !options.dry_run {
                        remove_if_exists(path)?;
                    }
                    report.manifests_deleted.push(format!("{name}@{digest}"));
                }
            }
            manifests.retain(|d, _| keep.contains(d));
        }
        for (digest, (_, info)) in manifests {
            if let Some(info) = info {
                marked.extend(info.blobs);
                marked.extend(info.children);
                marked.extend(info.subject);
            }
            marked.insert(digest);
        }
    }
    for digest in content.list()? {
        if marked.contains(&digest) {
            continue;
        }
        let path = content.blob_path(&digest);
        if !older_than(&path, options.grace, now) {
            report.blobs_in_grace += 1;
            continue;
        }
        report.bytes_freed += content.size(&digest).unwrap_or(0);
        if !options.dry_run {
            content.delete(&digest)?;
        }
        report.blobs_deleted.push(digest);
    }
    if !options.dry_run {
        // Links to blobs that are gone would only make a repository claim what it lacks.
        for name in list_repositories(&repos_dir) {
            for (digest, path) in list_links(&repos_dir.join(&name).join("_blobs")) {
                if !content.contains(&digest) {
                    remove_if_exists(&path)?;
                }
            }
        }
        let stamp = format!("{:?} {}", now, uuid::Uuid::new_v4());
        write_atomic(&epoch_path(root), stamp.as_bytes())?;
    }
    Ok(report)
}

/// The manifests of one repository that a tag reaches, plus those in their grace period,
/// closed under index children and referrers (a signature of a kept image is kept).
fn reachable(
    dir: &Path,
    manifests: &HashMap<Digest, (std::path::PathBuf, Option<ManifestInfo>)>,
    grace: Duration,
    now: SystemTime,
) -> HashSet<Digest> {
    let mut keep: HashSet<Digest> = HashSet::new();
    if let Ok(entries) = std::fs::read_dir(dir.join("_tags")) {
        for entry in entries.flatten() {
            let target = std::fs::read_to_string(entry.path())
                .ok()
                .and_then(|t| t.trim().parse::<Digest>().ok());
            keep.extend(target);
        }
    }
    for (digest, (path, _)) in manifests {
        if !older_than(path, grace, now) {
            keep.insert(digest.clone());
        }
    }
    loop {
        let before = keep.len();
        for (digest, (_, info)) in manifests {
            let Some(info) = info else { continue };
            if keep.contains(digest) {
                keep.extend(info.children.iter().cloned());
            }
            if info.subject.as_ref().is_some_and(|s| keep.contains(s)) {
                keep.insert(digest.clone());
            }
        }
        if keep.len() == before {
            return keep;
        }
    }
}

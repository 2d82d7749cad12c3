//! `GET /containers/{id}/changes` (`docker diff`): what the container changed, read from
//! its overlay's upper directory as dockerd's overlay driver does.
//!
//! Every entry of the upper directory is a change: a whiteout (a 0:0 character device)
//! is a deletion, an opaque directory that hides a lower one is a deletion of that
//! directory (its entries in the upper directory then show as added), anything else is
//! a modification if the image's layers have the path and an addition if not. A
//! directory that was only copied up because something below it changed, and whose
//! size, mode and time are those of the lower one, is not listed itself; the parent of an
//! addition or deletion always is (as modified).

use std::collections::HashSet;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path as FsPath, PathBuf};

use axum::extract::{Path, State};
use axum::response::Response;
use berth_image::digest::Digest;
use serde::Serialize;

use super::lookup;
use crate::api::{json, ApiResult, AppState};
use crate::error::EngineError;

/// How a path changed (Docker's numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `C`.
    Modified = 0,
    /// `A`.
    Added = 1,
    /// `D`.
    Deleted = 2,
}

impl Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(*self as u8)
    }
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Change {
    /// Container path.
    pub path: String,
    /// What happened to it.
    pub kind: Kind,
}

/// What the runtime and the daemon create in every container (mount points, generated
/// files). dockerd keeps them in an "init" layer below the container's, so they never
/// show as changes; berth's runtime creates them in the upper directory, so they are
/// left out here.
const INIT_PATHS: &[&str] = &[
    "/.dockerenv",
    "/dev",
    "/dev/console",
    "/dev/mqueue",
    "/dev/pts",
    "/dev/shm",
    "/etc/hostname",
    "/etc/hosts",
    "/etc/mtab",
    "/etc/resolv.conf",
    "/proc",
    "/sys",
];

/// The overlay xattr marking a directory that hides the lower ones.
const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

fn is_whiteout(meta: &std::fs::Metadata) -> bool {
    meta.file_type().is_char_device() && meta.rdev() == 0
}

fn is_opaque(path: &FsPath) -> bool {
    matches!(xattr::get(path, OPAQUE_XATTR), Ok(Some(v)) if v == b"y")
}

/// The path's metadata in the topmost lower layer that has it (None when no layer has
/// it or the topmost one that does whites it out).
fn in_lowers(lowers: &[PathBuf], relative: &FsPath) -> Option<std::fs::Metadata> {
    lowers
        .iter()
        .find_map(|layer| {
            let meta = std::fs::symlink_metadata(layer.join(relative)).ok()?;
            Some(meta)
        })
        .filter(|meta| !is_whiteout(meta))
}

/// The changes the upper directory `upper` records over `lowers` (topmost first).
pub fn diff(upper: &FsPath, lowers: &[PathBuf]) -> std::io::Result<Vec<Change>> {
    let mut out = Vec::new();
    let mut changed_dirs = HashSet::new();
    if upper.is_dir() {
        walk(upper, FsPath::new(""), lowers, &mut out, &mut changed_dirs)?;
    }
    // A directory that only looks modified because an init path was created in it
    // (its time changed) is not a change either.
    let listed: Vec<String> = out.iter().map(|c| c.path.clone()).collect();
    out.retain(|change| {
        let holds_init_path = INIT_PATHS
            .iter()
            .any(|p| FsPath::new(p).parent() == Some(FsPath::new(&change.path)));
        let prefix = format!("{}/", change.path);
        let has_listed_child = listed.iter().any(|p| p.starts_with(&prefix));
        !(change.kind == Kind::Modified && holds_init_path && !has_listed_child)
    });
    Ok(out)
}

fn walk(
    upper: &FsPath,
    relative: &FsPath,
    lowers: &[PathBuf],
    out: &mut Vec<Change>,
    changed_dirs: &mut HashSet<PathBuf>,
) -> std::io::Result<()> {
    let mut names: Vec<_> = std::fs::read_dir(upper.join(relative))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()?;
    names.sort();
    for name in names {
        let child = relative.join(&name);
        let host = upper.join(&child);
        let meta = std::fs::symlink_metadata(&host)?;
        let lower = in_lowers(lowers, &child);
        let path = format!("/{}", child.display());
        if INIT_PATHS.contains(&path.as_str()) && !is_whiteout(&meta) {
            if meta.is_dir() {
                walk(upper, &child, lowers, out, changed_dirs)?;
            }
            continue;
        }
        // A whiteout, or an opaque directory hiding a lower one, deletes the path.
        let deleted = is_whiteout(&meta) || (meta.is_dir() && lower.is_some() && is_opaque(&host));
        let kind = if deleted {
            Some(Kind::Deleted)
        } else {
            match &lower {
                None => Some(Kind::Added),
                Some(old) if meta.is_dir() && old.is_dir() && same_dir(&meta, old) => None,
                Some(_) => Some(Kind::Modified),
            }
        };
        if let Some(kind) = kind {
            out.push(Change { path, kind });
        }
        // A directory listed itself needs no listing as a parent.
        if meta.is_dir() && kind.is_some() {
            changed_dirs.insert(child.clone());
        }
        if matches!(kind, Some(Kind::Added | Kind::Deleted)) {
            let parent = relative.to_path_buf();
            if !parent.as_os_str().is_empty() && !changed_dirs.contains(&parent) {
                out.push(Change {
                    path: format!("/{}", parent.display()),
                    kind: Kind::Modified,
                });
                changed_dirs.insert(parent);
            }
        }
        if meta.is_dir() {
            walk(upper, &child, lowers, out, changed_dirs)?;
        }
    }
    Ok(())
}

/// dockerd's test for a directory that did not really change.
fn same_dir(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.size() == b.size()
        && a.mode() == b.mode()
        && a.mtime() == b.mtime()
        && a.mtime_nsec() == b.mtime_nsec()
}

/// The handler.
pub async fn changes(
    State(engine): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let container = lookup(&engine, &id)?;
    let layers = container.with(|r| r.layers.clone());
    let ids = layers
        .iter()
        .map(|l| l.parse::<Digest>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| EngineError::Internal(format!("layer id: {e}")))?;
    let lowers = engine
        .snapshots()
        .lower_dirs(&ids)
        .map_err(|e| EngineError::Internal(format!("the image's layers: {e}")))?;
    let upper = container.dir().join("upper");
    let list = tokio::task::spawn_blocking(move || diff(&upper, &lowers))
        .await
        .map_err(|e| EngineError::Internal(format!("changes: {e}")))?
        .map_err(|e| EngineError::io("read", container.dir().join("upper"), e))?;
    Ok(json(&list))
}

#[cfg(test)]
mod tests {
    use nix::sys::stat::{makedev, mknod, Mode, SFlag};

    use super::*;

    fn change(path: &str, kind: Kind) -> Change {
        Change {
            path: path.into(),
            kind,
        }
    }

    #[test]
    fn a_real_upper_dir_is_classified() {
        let lower = tempfile::tempdir().unwrap();
        let upper = tempfile::tempdir().unwrap();
        let (l, u) = (lower.path(), upper.path());
        for d in ["etc", "var/lib", "opt/old"] {
            std::fs::create_dir_all(l.join(d)).unwrap();
        }
        std::fs::write(l.join("etc/passwd"), b"root").unwrap();
        std::fs::write(l.join("etc/gone"), b"x").unwrap();
        std::fs::write(l.join("opt/old/file"), b"x").unwrap();

        // etc copied up (same metadata as below), passwd modified, gone deleted,
        // new added.
        std::fs::create_dir(u.join("etc")).unwrap();
        std::fs::write(u.join("etc/passwd"), b"root2").unwrap();
        mknod(
            &u.join("etc/gone"),
            SFlag::S_IFCHR,
            Mode::from_bits_truncate(0o600),
            makedev(0, 0),
        )
        .unwrap();
        std::fs::write(u.join("etc/new"), b"n").unwrap();
        // opt/old replaced by a new directory (opaque), holding a new file.
        std::fs::create_dir_all(u.join("opt/old")).unwrap();
        xattr::set(u.join("opt/old"), OPAQUE_XATTR, b"y").unwrap();
        std::fs::write(u.join("opt/old/fresh"), b"f").unwrap();
        // A whole new directory.
        std::fs::create_dir(u.join("srv")).unwrap();
        std::fs::write(u.join("srv/app"), b"a").unwrap();
        // Make the copied-up dirs look unchanged except for their content.
        for d in ["etc", "opt"] {
            let meta = std::fs::metadata(l.join(d)).unwrap();
            std::fs::set_permissions(u.join(d), meta.permissions()).unwrap();
            filetime::set_file_mtime(
                u.join(d),
                filetime::FileTime::from_last_modification_time(&meta),
            )
            .unwrap();
        }

        let list = diff(u, &[l.to_path_buf()]).unwrap();
        assert_eq!(
            list,
            [
                change("/etc/gone", Kind::Deleted),
                change("/etc", Kind::Modified),
                change("/etc/new", Kind::Added),
                change("/etc/passwd", Kind::Modified),
                change("/opt/old", Kind::Deleted),
                change("/opt", Kind::Modified),
                change("/opt/old/fresh", Kind::Added),
                change("/srv", Kind::Added),
                change("/srv/app", Kind::Added),
            ]
        );
        let json = serde_json::to_string(&list[0]).unwrap();
        assert_eq!(json, r#"{"Path":"/etc/gone","Kind":2}"#);
    }

    #[test]
    fn a_whiteout_in_a_higher_layer_hides_the_lower_file() {
        let base = tempfile::tempdir().unwrap();
        let top = tempfile::tempdir().unwrap();
        let upper = tempfile::tempdir().unwrap();
        std::fs::write(base.path().join("f"), b"x").unwrap();
        mknod(
            &top.path().join("f"),
            SFlag::S_IFCHR,
            Mode::from_bits_truncate(0o600),
            makedev(0, 0),
        )
        .unwrap();
        std::fs::write(upper.path().join("f"), b"again").unwrap();
        let lowers = [top.path().to_path_buf(), base.path().to_path_buf()];
        assert_eq!(
            diff(upper.path(), &lowers).unwrap(),
            [change("/f", Kind::Added)]
        );
    }

    #[test]
    fn the_runtimes_mount_points_and_generated_files_are_not_changes() {
        let lower = tempfile::tempdir().unwrap();
        let upper = tempfile::tempdir().unwrap();
        std::fs::create_dir(lower.path().join("etc")).unwrap();
        std::fs::write(lower.path().join("etc/passwd"), b"root").unwrap();
        for d in ["proc", "sys", "dev/pts", "etc"] {
            std::fs::create_dir_all(upper.path().join(d)).unwrap();
        }
        for f in ["etc/hosts", "etc/hostname", "etc/resolv.conf"] {
            std::fs::write(upper.path().join(f), b"").unwrap();
        }
        std::fs::write(upper.path().join("dev/pts/x"), b"").unwrap();
        let list = diff(upper.path(), &[lower.path().to_path_buf()]).unwrap();
        // Only what the container itself made below an init path remains (with its
        // parent, as for any addition).
        assert_eq!(
            list,
            [
                change("/dev/pts/x", Kind::Added),
                change("/dev/pts", Kind::Modified)
            ]
        );
    }

    #[test]
    fn no_upper_dir_means_no_changes() {
        let dir = tempfile::tempdir().unwrap();
        assert!(diff(&dir.path().join("upper"), &[]).unwrap().is_empty());
    }
}

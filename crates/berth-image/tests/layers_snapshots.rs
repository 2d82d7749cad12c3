//! Layers: snapshots stacked on overlayfs, concurrent preparers, and diffs of an overlay
//! upper directory.
//!
//! These tests run as root (mounts, trusted xattrs).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "layers/common.rs"]
mod common;

use std::fs;
use std::io::Cursor;
use std::path::PathBuf;

use berth_image::digest::Digest;
use berth_image::layer::{
    apply, chain_id, mount_overlay, pack_diff, unmount, unpack, LayerError, PackOptions, Prepared,
    Snapshotter, UnpackOptions, WhiteoutMode,
};
use common::{layer1, layer2, layer3, options, tree};

/// Unmounts on drop, so that a failing test leaves no mount.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = unmount(&self.0);
    }
}

#[test]
fn snapshots_stacked_with_overlayfs_match_a_flattened_rootfs() {
    let work = tempfile::tempdir().unwrap();
    let snapshotter = Snapshotter::open(work.path().join("snapshots")).unwrap();
    let layers = [layer1(), layer2(), layer3()];
    let mut chain: Vec<Digest> = Vec::new();
    let flat = work.path().join("flat");
    fs::create_dir(&flat).unwrap();
    for layer in &layers {
        let diff_id = Digest::sha256_of(layer);
        let id = chain_id(chain.last(), &diff_id);
        let opts = UnpackOptions {
            expected_diff_id: Some(diff_id),
            ..options(WhiteoutMode::Overlay)
        };
        let prepared = snapshotter
            .prepare(&id, chain.last(), |dir| {
                apply(Cursor::new(layer), dir, &opts).map(drop)
            })
            .unwrap();
        assert_eq!(prepared, Prepared::Created);
        assert_eq!(
            snapshotter
                .prepare(&id, chain.last(), |_| unreachable!())
                .unwrap(),
            Prepared::Existed
        );
        assert!(snapshotter.usage(&id).unwrap() > 0);
        chain.push(id);
        apply(Cursor::new(layer), &flat, &options(WhiteoutMode::Apply)).unwrap();
    }
    assert_eq!(
        snapshotter.parent(&chain[2]).unwrap().as_ref(),
        Some(&chain[1])
    );
    let lowers = snapshotter.lower_dirs(&chain).unwrap();
    assert_eq!(lowers[0], snapshotter.fs_path(&chain[2]), "topmost first");
    let merged = work.path().join("merged");
    fs::create_dir(&merged).unwrap();
    mount_overlay(&lowers, None, &merged).unwrap();
    let guard = Mounted(merged.clone());
    assert_eq!(tree(&merged), tree(&flat));
    assert!(
        fs::write(merged.join("x"), b"x").is_err(),
        "read-only without an upper dir"
    );
    drop(guard);

    // One layer: a read-only bind mount.
    mount_overlay(&lowers[2..], None, &merged).unwrap();
    let guard = Mounted(merged.clone());
    assert!(merged.join("etc/gone").exists());
    drop(guard);

    // Removal: a parent in use is refused; the top goes, then its parent may.
    assert!(matches!(
        snapshotter.remove(&chain[1]),
        Err(LayerError::SnapshotInUse { .. })
    ));
    snapshotter.remove(&chain[2]).unwrap();
    assert!(!snapshotter.exists(&chain[2]));
    snapshotter.remove(&chain[1]).unwrap();
}

#[test]
fn concurrent_preparers_of_one_snapshot_both_succeed() {
    let work = tempfile::tempdir().unwrap();
    let snapshotter = Snapshotter::open(work.path()).unwrap().with_sync(false);
    let layer = layer1();
    let id = chain_id(None, &Digest::sha256_of(&layer));
    let results: Vec<Prepared> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    snapshotter
                        .prepare(&id, None, |dir| {
                            apply(Cursor::new(&layer), dir, &options(WhiteoutMode::Overlay))
                                .map(drop)
                        })
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(results.contains(&Prepared::Created));
    assert_eq!(
        fs::read(snapshotter.fs_path(&id).join("etc/keep")).unwrap(),
        b"keep"
    );
    assert_eq!(
        fs::read_dir(work.path().join("tmp")).unwrap().count(),
        0,
        "losers cleaned up"
    );
    // A failed prepare leaves nothing visible.
    let bad = Digest::sha256_of(b"bad");
    let failed = snapshotter.prepare(&bad, None, |dir| {
        apply(
            Cursor::new(&layer[..1000]),
            dir,
            &options(WhiteoutMode::Overlay),
        )
        .map(drop)
    });
    assert!(failed.is_err());
    assert!(!snapshotter.exists(&bad));
    assert_eq!(fs::read_dir(work.path().join("tmp")).unwrap().count(), 0);
    // What a crashed preparer left is removed on open; a young directory may be a live
    // preparer's that is not locked yet.
    let (old, young) = (
        work.path().join("tmp/old-1"),
        work.path().join("tmp/young-1"),
    );
    fs::create_dir_all(old.join("fs/x")).unwrap();
    fs::create_dir_all(&young).unwrap();
    let long_ago = filetime::FileTime::from_unix_time(1_000_000_000, 0);
    filetime::set_file_mtime(&old, long_ago).unwrap();
    Snapshotter::open(work.path()).unwrap();
    assert!(!old.exists() && young.exists());
}

#[test]
fn pack_diff_of_an_overlay_upper_reproduces_the_merged_view() {
    let work = tempfile::tempdir().unwrap();
    let lower = work.path().join("lower");
    unpack(Cursor::new(layer1()), &lower, &UnpackOptions::default()).unwrap();
    let (upper, workdir, merged) = (
        work.path().join("upper"),
        work.path().join("work"),
        work.path().join("merged"),
    );
    for d in [&upper, &workdir, &merged] {
        fs::create_dir(d).unwrap();
    }
    mount_overlay(
        std::slice::from_ref(&lower),
        Some((&upper, &workdir)),
        &merged,
    )
    .unwrap();
    let guard = Mounted(merged.clone());
    fs::remove_file(merged.join("etc/gone")).unwrap();
    fs::write(merged.join("etc/keep"), b"changed").unwrap();
    fs::remove_dir_all(merged.join("opq")).unwrap();
    fs::create_dir(merged.join("opq")).unwrap();
    fs::write(merged.join("opq/new"), b"new").unwrap();
    fs::remove_dir_all(merged.join("tree")).unwrap();
    fs::create_dir(merged.join("added")).unwrap();
    let expected = tree(&merged);
    drop(guard);
    assert_eq!(
        xattr::get(upper.join("opq"), "trusted.overlay.opaque")
            .unwrap()
            .as_deref(),
        Some(&b"y"[..])
    );

    let mut diff = Vec::new();
    let result = pack_diff(&upper, &mut diff, &PackOptions::default()).unwrap();
    let names: Vec<String> = tar::Archive::new(Cursor::new(&diff))
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert!(names.contains(&"etc/.wh.gone".to_string()), "{names:?}");
    assert!(names.contains(&"opq/.wh..wh..opq".to_string()), "{names:?}");
    assert!(names.contains(&".wh.tree".to_string()), "{names:?}");
    let applied = apply(Cursor::new(&diff), &lower, &options(WhiteoutMode::Apply)).unwrap();
    assert_eq!(applied.diff_id, result.diff_id);
    assert_eq!(tree(&lower), expected);
}

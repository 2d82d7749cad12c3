//! Layers: whiteouts and opaque directories, applied to a flat rootfs or written as
//! overlayfs whiteouts.
//!
//! These tests run as root (trusted xattrs, whiteout device nodes).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "layers/common.rs"]
mod common;

use std::fs;
use std::io::Cursor;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use berth_image::layer::{apply, unpack, WhiteoutMode};
use common::{file, hardlink_entry, layer1, layer2, options, raw_tar, tree};

#[test]
fn apply_mode_whiteouts_and_opaque_directories() {
    let work = tempfile::tempdir().unwrap();
    let rootfs = work.path().join("rootfs");
    fs::create_dir(&rootfs).unwrap();
    let opts = options(WhiteoutMode::Apply);
    apply(Cursor::new(layer1()), &rootfs, &opts).unwrap();
    apply(Cursor::new(layer2()), &rootfs, &opts).unwrap();
    let names: Vec<_> = tree(&rootfs).into_keys().collect();
    assert_eq!(
        names,
        [
            "etc",
            "etc/keep",
            "etc/new",
            "opq",
            "opq/fresh",
            "opq/sub",
            "opq/sub/mine"
        ],
        "whiteouts removed lower files, the opaque dir kept only this layer's"
    );
    // An opaque marker after this layer's own files, whose directory has no entry.
    let late = raw_tar(&[
        file("opq/sub/deeper/late", b"late"),
        file("opq/.wh..wh..opq", b""),
    ]);
    apply(Cursor::new(late), &rootfs, &opts).unwrap();
    let names: Vec<_> = tree(&rootfs.join("opq")).into_keys().collect();
    assert_eq!(names, ["sub", "sub/deeper", "sub/deeper/late"]);
    // A v7-style directory: a regular entry whose name ends in a slash.
    let v7 = raw_tar(&[file("olddir/", b"")]);
    apply(Cursor::new(v7), &rootfs, &opts).unwrap();
    assert!(rootfs.join("olddir").symlink_metadata().unwrap().is_dir());
    fs::remove_dir(rootfs.join("olddir")).unwrap();
    // A hardlink to a file of a lower layer.
    let link = raw_tar(&[hardlink_entry("etc/keep-link", "etc/keep")]);
    apply(Cursor::new(link), &rootfs, &opts).unwrap();
    let keep = rootfs.join("etc/keep").metadata().unwrap();
    assert_eq!(keep.nlink(), 2);
    assert_eq!(
        keep.ino(),
        rootfs.join("etc/keep-link").metadata().unwrap().ino()
    );
}

#[test]
fn overlay_mode_writes_overlay_whiteouts() {
    let work = tempfile::tempdir().unwrap();
    let target = work.path().join("snap");
    unpack(
        Cursor::new(layer2()),
        &target,
        &options(WhiteoutMode::Overlay),
    )
    .unwrap();
    let gone = target.join("etc/gone").symlink_metadata().unwrap();
    assert!(gone.file_type().is_char_device() && gone.rdev() == 0);
    assert!(target
        .join("tree")
        .symlink_metadata()
        .unwrap()
        .file_type()
        .is_char_device());
    assert_eq!(
        xattr::get(target.join("opq"), "trusted.overlay.opaque")
            .unwrap()
            .unwrap(),
        b"y"
    );
    assert!(!target.join("etc/.wh.gone").exists());
}

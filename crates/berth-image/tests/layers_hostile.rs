//! Layers: hostile tars. Names with `..`, absolute names, symlinks and hardlinks aimed outside
//! the target, escaping whiteouts, device nodes without CAP_MKNOD, and truncated, corrupt or
//! mismatched layers: none may touch anything outside the target or leave output behind.
//!
//! These tests run as root (ownership, device nodes, capabilities).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "layers/common.rs"]
mod common;

use std::fs;
use std::io::Cursor;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use berth_image::digest::Digest;
use berth_image::layer::{apply, unpack, DeviceNodes, LayerError, UnpackOptions, WhiteoutMode};
use common::{
    assert_no_output, dir, file, gzip, hardlink_entry, options, raw_tar, symlink_entry, Raw,
};
use tar::{EntryType, Header};

/// A directory outside every target, whose contents must never change.
struct Victim {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Victim {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("victim");
        fs::create_dir(&path).unwrap();
        fs::write(path.join("secret"), b"do not touch").unwrap();
        Victim { _dir: dir, path }
    }

    fn assert_untouched(&self) {
        let names: Vec<_> = fs::read_dir(&self.path)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from("secret")],
            "victim dir changed"
        );
        let secret = self.path.join("secret");
        assert_eq!(fs::read(&secret).unwrap(), b"do not touch");
        assert_eq!(
            secret.metadata().unwrap().nlink(),
            1,
            "victim file was hardlinked"
        );
        assert_eq!(secret.metadata().unwrap().mode() & 0o7777, 0o644);
    }
}

fn unpack_err(bytes: Vec<u8>, target: &Path) -> LayerError {
    let err = unpack(Cursor::new(bytes), target, &UnpackOptions::default()).unwrap_err();
    assert_no_output(target);
    err
}

#[test]
fn dotdot_names_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let victim = Victim::new();
    let escape = format!("../../../../../../../../{}/evil", victim.path.display());
    let err = unpack_err(raw_tar(&[file(&escape, b"x")]), &work.path().join("t"));
    assert!(
        matches!(&err, LayerError::UnsafeEntry { entry, .. } if *entry == escape),
        "{err}"
    );
    assert!(err.to_string().contains(".."), "{err}");
    let err = unpack_err(
        raw_tar(&[file("a/../../etc/x", b"x")]),
        &work.path().join("t"),
    );
    assert!(err.to_string().contains("a/../../etc/x"), "{err}");
    victim.assert_untouched();
}

#[test]
fn absolute_names_land_inside_the_target() {
    let work = tempfile::tempdir().unwrap();
    let victim = Victim::new();
    let name = format!("{}/secret", victim.path.display());
    let target = work.path().join("t");
    unpack(
        Cursor::new(raw_tar(&[file(&name, b"evil"), file("/etc/passwd", b"p")])),
        &target,
        &UnpackOptions::default(),
    )
    .unwrap();
    assert_eq!(
        fs::read(target.join(name.trim_start_matches('/'))).unwrap(),
        b"evil"
    );
    assert_eq!(fs::read(target.join("etc/passwd")).unwrap(), b"p");
    victim.assert_untouched();
}

#[test]
fn symlinks_are_resolved_inside_the_target() {
    let work = tempfile::tempdir().unwrap();
    let victim = Victim::new();
    let v = victim.path.display().to_string();
    // A symlink to the victim, then a file through it: `a` means the target's own
    // `<victim path>`, which does not exist there: refused.
    let target = work.path().join("t1");
    let err = unpack_err(
        raw_tar(&[symlink_entry("a", &v), file("a/evil", b"x")]),
        &target,
    );
    assert!(err.to_string().contains("a/evil"), "{err}");
    // `../../..` is clamped at the target's root.
    let target = work.path().join("t2");
    unpack(
        Cursor::new(raw_tar(&[
            symlink_entry("a", "../../../../../.."),
            file("a/x", b"x"),
        ])),
        &target,
        &UnpackOptions::default(),
    )
    .unwrap();
    assert_eq!(fs::read(target.join("x")).unwrap(), b"x");
    // A symlink planted by a lower layer, then a file through it and a whiteout through it.
    let rootfs = work.path().join("rootfs");
    fs::create_dir(&rootfs).unwrap();
    let opts = options(WhiteoutMode::Apply);
    apply(
        Cursor::new(raw_tar(&[symlink_entry("lower", &v)])),
        &rootfs,
        &opts,
    )
    .unwrap();
    let err = apply(
        Cursor::new(raw_tar(&[file("lower/evil", b"x")])),
        &rootfs,
        &opts,
    )
    .unwrap_err();
    assert!(err.to_string().contains("lower/evil"), "{err}");
    apply(
        Cursor::new(raw_tar(&[file("lower/.wh.secret", b"")])),
        &rootfs,
        &opts,
    )
    .unwrap();
    // A file over a symlink replaces the symlink; it does not write through it.
    let target = work.path().join("t3");
    let secret = format!("{v}/secret");
    unpack(
        Cursor::new(raw_tar(&[
            symlink_entry("s", &secret),
            file("s", b"overwrite"),
        ])),
        &target,
        &UnpackOptions::default(),
    )
    .unwrap();
    assert_eq!(fs::read(target.join("s")).unwrap(), b"overwrite");
    victim.assert_untouched();
}

#[test]
fn hardlinks_cannot_reach_outside() {
    let work = tempfile::tempdir().unwrap();
    let victim = Victim::new();
    let secret = format!("{}/secret", victim.path.display());
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (raw_tar(&[hardlink_entry("h", "/etc/shadow")]), "h"),
        (raw_tar(&[hardlink_entry("h", &secret)]), "h"),
        (raw_tar(&[hardlink_entry("h", "../outside")]), "h"),
        (
            raw_tar(&[
                symlink_entry("s", &victim.path.display().to_string()),
                hardlink_entry("h", "s/secret"),
            ]),
            "h",
        ),
        (
            raw_tar(&[
                symlink_entry("s", "../../../.."),
                hardlink_entry("h", &format!("s{secret}")),
            ]),
            "h",
        ),
    ];
    for (i, (bytes, entry)) in cases.into_iter().enumerate() {
        let err = unpack_err(bytes, &work.path().join(format!("t{i}")));
        assert!(
            err.to_string().contains(&format!("`{entry}`")),
            "case {i}: {err}"
        );
    }
    // A hardlink to a symlink links the symlink itself.
    let target = work.path().join("ok");
    unpack(
        Cursor::new(raw_tar(&[
            symlink_entry("s", &secret),
            hardlink_entry("h", "s"),
        ])),
        &target,
        &UnpackOptions::default(),
    )
    .unwrap();
    assert_eq!(fs::read_link(target.join("h")).unwrap(), Path::new(&secret));
    victim.assert_untouched();
}

#[test]
fn escaping_whiteouts_are_refused() {
    let work = tempfile::tempdir().unwrap();
    for (i, name) in [".wh...", "a/.wh..", ".wh."].into_iter().enumerate() {
        let err = unpack_err(
            raw_tar(&[dir("a/"), file(name, b"")]),
            &work.path().join(format!("t{i}")),
        );
        assert!(
            matches!(&err, LayerError::UnsafeEntry { entry, .. } if entry == name),
            "{err}"
        );
    }
}

#[test]
fn device_nodes_without_cap_mknod() {
    let work = tempfile::tempdir().unwrap();
    let dev = Raw {
        name: b"dev/null",
        kind: EntryType::Char,
        data: b"",
        link: None,
        mode: 0o666,
    };
    let mut bytes = raw_tar(&[dir("dev/"), dev, file("dev/after", b"a")]);
    // Device number 1:3 in the raw header.
    {
        let mut header = Header::from_byte_slice(&bytes[512..1024]).clone();
        header.set_device_major(1).unwrap();
        header.set_device_minor(3).unwrap();
        header.set_cksum();
        bytes[512..1024].copy_from_slice(header.as_bytes());
    }
    let target = work.path().join("root-ok");
    unpack(Cursor::new(&bytes), &target, &UnpackOptions::default()).unwrap();
    assert_eq!(
        target.join("dev/null").metadata().unwrap().rdev(),
        libc::makedev(1, 3)
    );
    let (create, skip) = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                // Capabilities are per thread: only this thread loses CAP_MKNOD.
                caps::drop(None, caps::CapSet::Effective, caps::Capability::CAP_MKNOD).unwrap();
                let create = unpack(
                    Cursor::new(&bytes),
                    &work.path().join("denied"),
                    &UnpackOptions::default(),
                );
                let opts = UnpackOptions {
                    device_nodes: DeviceNodes::SkipDenied,
                    ..UnpackOptions::default()
                };
                let skip = unpack(Cursor::new(&bytes), &work.path().join("skipped"), &opts);
                (create, skip)
            })
            .join()
            .unwrap()
    });
    let err = create.unwrap_err();
    assert!(
        err.to_string().contains("dev/null") && err.to_string().contains("device node"),
        "{err}"
    );
    assert_no_output(&work.path().join("denied"));
    assert_eq!(skip.unwrap().skipped_devices, 1);
    assert!(!work.path().join("skipped/dev/null").exists());
    assert_eq!(
        fs::read(work.path().join("skipped/dev/after")).unwrap(),
        b"a"
    );
}

#[test]
fn truncated_corrupt_and_mismatched_layers_leave_nothing() {
    let work = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let tar = raw_tar(&[file("a", b"first"), file("big", &big)]);
    let target = work.path().join("t");
    // Cut in the middle of a file's data.
    let err = unpack_err(tar[..tar.len() / 2].to_vec(), &target);
    assert!(err.to_string().contains("`big`"), "{err}");
    // Cut at an entry boundary: no end-of-archive marker.
    let err = unpack_err(tar[..1024].to_vec(), &target);
    assert!(matches!(err, LayerError::Truncated), "{err}");
    // An empty stream.
    assert!(matches!(
        unpack_err(Vec::new(), &target),
        LayerError::Truncated
    ));
    // Truncated gzip.
    let gz = gzip(&tar);
    let err = unpack_err(gz[..gz.len() - 10].to_vec(), &target);
    assert!(
        err.to_string().contains("gzip") || err.to_string().contains("big"),
        "{err}"
    );
    // Corrupt gzip.
    let mut corrupt = gz.clone();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0xff;
    unpack_err(corrupt, &target);
    // Wrong digests.
    let wrong = Digest::sha256_of(b"something else");
    let opts = UnpackOptions {
        expected_diff_id: Some(wrong.clone()),
        ..UnpackOptions::default()
    };
    let err = unpack(Cursor::new(&gz), &target, &opts).unwrap_err();
    assert!(
        matches!(&err, LayerError::DiffIdMismatch { actual, .. } if *actual == Digest::sha256_of(&tar)),
        "{err}"
    );
    assert_no_output(&target);
    let opts = UnpackOptions {
        expected_blob_digest: Some(wrong),
        ..UnpackOptions::default()
    };
    let err = unpack(Cursor::new(&gz), &target, &opts).unwrap_err();
    assert!(
        matches!(&err, LayerError::BlobDigestMismatch { actual, .. } if *actual == Digest::sha256_of(&gz)),
        "{err}"
    );
    assert_no_output(&target);
    // Right digests, both checked in the same pass.
    let opts = UnpackOptions {
        expected_blob_digest: Some(Digest::sha256_of(&gz)),
        expected_diff_id: Some(Digest::sha256_of(&tar)),
        ..UnpackOptions::default()
    };
    unpack(Cursor::new(&gz), &target, &opts).unwrap();
    assert_eq!(fs::read(target.join("big")).unwrap(), big);
    // An existing target is refused.
    assert!(matches!(
        unpack(Cursor::new(&gz), &target, &opts),
        Err(LayerError::TargetExists(_))
    ));
}

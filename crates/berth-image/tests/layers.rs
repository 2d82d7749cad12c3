//! Layers: unpack, pack, whiteouts, hostile tars, snapshots on overlayfs.
//!
//! These tests run as root (ownership, device nodes, trusted xattrs, mounts).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::fs;
use std::io::{Cursor, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

use berth_image::digest::Digest;
use berth_image::layer::{
    apply, chain_id, mount_overlay, pack, pack_diff, unmount, unpack, Compression, DeviceNodes,
    LayerError, PackOptions, Prepared, Snapshotter, UnpackOptions, WhiteoutMode,
};
use tar::{EntryType, Header};

// ---------------------------------------------------------------- helpers

/// One entry of a hand-made tar; names are written raw, so hostile names go in as they are.
struct Raw<'a> {
    name: &'a [u8],
    kind: EntryType,
    data: &'a [u8],
    link: Option<&'a [u8]>,
    mode: u32,
}

fn file<'a>(name: &'a str, data: &'a [u8]) -> Raw<'a> {
    Raw {
        name: name.as_bytes(),
        kind: EntryType::Regular,
        data,
        link: None,
        mode: 0o644,
    }
}
fn dir(name: &str) -> Raw<'_> {
    Raw {
        name: name.as_bytes(),
        kind: EntryType::Directory,
        data: b"",
        link: None,
        mode: 0o755,
    }
}
fn symlink_entry<'a>(name: &'a str, target: &'a str) -> Raw<'a> {
    Raw {
        name: name.as_bytes(),
        kind: EntryType::Symlink,
        data: b"",
        link: Some(target.as_bytes()),
        mode: 0o777,
    }
}
fn hardlink_entry<'a>(name: &'a str, target: &'a str) -> Raw<'a> {
    Raw {
        name: name.as_bytes(),
        kind: EntryType::Link,
        data: b"",
        link: Some(target.as_bytes()),
        mode: 0o644,
    }
}

fn raw_tar(entries: &[Raw<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = Header::new_gnu();
        header.set_entry_type(entry.kind);
        header.set_mode(entry.mode);
        header.set_size(entry.data.len() as u64);
        header.set_mtime(1_600_000_000);
        let old = header.as_old_mut();
        old.name[..entry.name.len()].copy_from_slice(entry.name);
        if let Some(link) = entry.link {
            old.linkname[..link.len()].copy_from_slice(link);
        }
        header.set_cksum();
        builder.append(&header, entry.data).unwrap();
    }
    builder.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn options(whiteouts: WhiteoutMode) -> UnpackOptions {
    UnpackOptions {
        whiteouts,
        ..UnpackOptions::default()
    }
}

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

/// Everything a user can observe of a tree, by path (the root itself excluded).
fn tree(root: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = path.symlink_metadata().unwrap();
        let kind = meta.file_type();
        let what = if kind.is_dir() {
            "dir".to_string()
        } else if kind.is_symlink() {
            format!("symlink->{}", fs::read_link(&path).unwrap().display())
        } else if kind.is_file() {
            format!(
                "file {} {}",
                meta.len(),
                Digest::sha256_of(&fs::read(&path).unwrap())
            )
        } else if kind.is_char_device() {
            format!(
                "char {}:{}",
                libc::major(meta.rdev()),
                libc::minor(meta.rdev())
            )
        } else if kind.is_block_device() {
            format!(
                "block {}:{}",
                libc::major(meta.rdev()),
                libc::minor(meta.rdev())
            )
        } else {
            "fifo".to_string()
        };
        let mut xattrs: Vec<String> = xattr::list(&path)
            .unwrap()
            .filter(|n| {
                let n = n.to_string_lossy();
                n.starts_with("user.") || n == "security.capability"
            })
            .map(|n| {
                format!(
                    "{}={:?}",
                    n.to_string_lossy(),
                    xattr::get(&path, &n).unwrap().unwrap()
                )
            })
            .collect();
        xattrs.sort();
        let mode = if kind.is_symlink() {
            0
        } else {
            meta.mode() & 0o7777
        };
        let mtime = if kind.is_symlink() || kind.is_dir() {
            0
        } else {
            meta.mtime()
        };
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        out.insert(
            rel,
            format!(
                "{what} mode={mode:o} {}:{} mtime={mtime} {xattrs:?}",
                meta.uid(),
                meta.gid()
            ),
        );
        if kind.is_dir() {
            walk(root, &path, out);
        }
    }
}

fn mknod(path: &Path, kind: libc::mode_t, mode: libc::mode_t, major: u32, minor: u32) {
    nix::sys::stat::mknod(
        path,
        nix::sys::stat::SFlag::from_bits_truncate(kind),
        nix::sys::stat::Mode::from_bits_truncate(mode),
        libc::makedev(major, minor),
    )
    .unwrap();
}

/// A tree with every kind of file an image has.
fn make_source(root: &Path) {
    let p = |rel: &str| root.join(rel);
    for d in ["etc", "bin", "usr/lib", "run", "dev", "tmp", "ro"] {
        fs::create_dir_all(p(d)).unwrap();
    }
    fs::write(p("etc/passwd"), b"root:x:0:0:root:/root:/bin/sh\n").unwrap();
    xattr::set(p("etc/passwd"), "user.test", b"hello").unwrap();
    fs::write(p("bin/su"), vec![7u8; 10_000]).unwrap();
    fs::set_permissions(p("bin/su"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::hard_link(p("bin/su"), p("bin/su-link")).unwrap();
    fs::write(p("bin/ping"), b"ping").unwrap();
    // VFS_CAP_REVISION_2 | effective; permitted = CAP_NET_RAW.
    let mut cap = Vec::new();
    for word in [0x0200_0001u32, 1 << 13, 0, 0, 0] {
        cap.extend_from_slice(&word.to_le_bytes());
    }
    xattr::set(p("bin/ping"), "security.capability", &cap).unwrap();
    fs::write(p("usr/lib/libx.so.1"), b"elf").unwrap();
    symlink("libx.so.1", p("usr/lib/libx.so")).unwrap();
    symlink("/etc/passwd", p("abs")).unwrap();
    fs::write(p("empty"), b"").unwrap();
    fs::write(p("owned"), b"mine").unwrap();
    std::os::unix::fs::chown(p("owned"), Some(1234), Some(5678)).unwrap();
    fs::set_permissions(p("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
    fs::write(p("ro/file"), b"read only").unwrap();
    fs::set_permissions(p("ro/file"), fs::Permissions::from_mode(0o444)).unwrap();
    fs::set_permissions(p("ro"), fs::Permissions::from_mode(0o555)).unwrap();
    nix::unistd::mkfifo(
        &p("run/fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    mknod(&p("dev/null2"), libc::S_IFCHR, 0o666, 1, 3);
    mknod(&p("dev/loopx"), libc::S_IFBLK, 0o660, 7, 200);
    let long = format!("deep/{}/{}", "d".repeat(120), "f".repeat(150));
    fs::create_dir_all(p(&long).parent().unwrap()).unwrap();
    fs::write(p(&long), b"long name").unwrap();
    symlink(format!("/{}", "t".repeat(200)), p("longlink")).unwrap();
    filetime::set_file_mtime(
        p("etc/passwd"),
        filetime::FileTime::from_unix_time(1_500_000_000, 7),
    )
    .unwrap();
}

fn packed(dir: &Path, options: &PackOptions) -> (Vec<u8>, berth_image::layer::PackResult) {
    let mut out = Vec::new();
    let result = pack(dir, &mut out, options).unwrap();
    (out, result)
}

/// Nothing named like `target` (the target or its temporary siblings) exists.
fn assert_no_output(target: &Path) {
    let name = target.file_name().unwrap().as_bytes();
    for entry in fs::read_dir(target.parent().unwrap()).unwrap() {
        let entry = entry.unwrap().file_name();
        assert!(
            !entry.as_bytes().starts_with(name),
            "left behind: {entry:?}"
        );
    }
}

// ---------------------------------------------------------------- pack and unpack

#[test]
fn pack_then_unpack_round_trips_every_kind_of_file() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("source");
    fs::create_dir(&source).unwrap();
    make_source(&source);
    for compression in [Compression::None, Compression::Gzip, Compression::Zstd] {
        let options = PackOptions {
            compression,
            ..PackOptions::default()
        };
        let (blob, result) = packed(&source, &options);
        assert_eq!(result.digest, Digest::sha256_of(&blob));
        assert_eq!(result.size, blob.len() as u64);
        let target = work.path().join(format!("out-{}", compression.name()));
        let unpacked = unpack(Cursor::new(&blob), &target, &UnpackOptions::default()).unwrap();
        assert_eq!(unpacked.compression, compression);
        assert_eq!(unpacked.diff_id, result.diff_id);
        assert_eq!(unpacked.blob_digest, result.digest);
        assert_eq!(unpacked.size, result.uncompressed_size);
        assert_eq!(tree(&target), tree(&source), "{}", compression.name());
        let su = target.join("bin/su").metadata().unwrap();
        assert_eq!(su.nlink(), 2, "hardlink kept");
        assert_eq!(
            su.ino(),
            target.join("bin/su-link").metadata().unwrap().ino()
        );
    }
}

#[test]
fn packing_is_deterministic() {
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("source");
    fs::create_dir(&source).unwrap();
    make_source(&source);
    let fixed = PackOptions {
        mtime: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
        compression: Compression::Gzip,
    };
    let (first, first_result) = packed(&source, &fixed);
    let (again, _) = packed(&source, &fixed);
    assert_eq!(first, again);
    // atimes, ctimes and (with a fixed mtime) mtimes do not matter.
    let old = filetime::FileTime::from_unix_time(1_000_000_000, 0);
    filetime::set_file_atime(source.join("etc/passwd"), old).unwrap();
    filetime::set_file_mtime(source.join("bin/ping"), old).unwrap();
    fs::set_permissions(source.join("empty"), fs::Permissions::from_mode(0o644)).unwrap();
    let (touched, touched_result) = packed(&source, &fixed);
    assert_eq!(first, touched);
    assert_eq!(first_result, touched_result);
    // Content does matter.
    fs::write(source.join("empty"), b"x").unwrap();
    let (changed, _) = packed(&source, &fixed);
    assert_ne!(first, changed);
    // No user or group names, ustar headers only where they suffice.
    let (plain, _) = packed(
        &source,
        &PackOptions {
            compression: Compression::None,
            ..fixed
        },
    );
    let mut archive = tar::Archive::new(Cursor::new(plain));
    for entry in archive.entries().unwrap() {
        let entry = entry.unwrap();
        assert_eq!(entry.header().username_bytes().unwrap_or_default(), b"");
        assert_eq!(entry.header().mtime().unwrap(), 1_700_000_000);
    }
}

#[test]
fn gnu_sparse_files_are_unpacked_with_holes() {
    let work = tempfile::tempdir().unwrap();
    let sparse = work.path().join("sparse");
    let f = fs::File::create(&sparse).unwrap();
    f.set_len(64 << 20).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, b"middle", 32 << 20).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&f, b"end", (64 << 20) - 3).unwrap();
    drop(f);
    let mut builder = tar::Builder::new(Vec::new());
    builder.sparse(true);
    builder.append_path_with_name(&sparse, "sparse").unwrap();
    let bytes = builder.into_inner().unwrap();
    assert!(
        bytes.len() < 1 << 20,
        "the tar crate wrote a GNU sparse entry"
    );
    let target = work.path().join("out");
    unpack(Cursor::new(bytes), &target, &UnpackOptions::default()).unwrap();
    let out = target.join("sparse");
    let meta = out.metadata().unwrap();
    assert_eq!(meta.len(), 64 << 20);
    assert!(
        meta.blocks() * 512 < 1 << 20,
        "holes kept: {} blocks",
        meta.blocks()
    );
    let data = fs::read(&out).unwrap();
    assert_eq!(&data[32 << 20..(32 << 20) + 6], b"middle");
    assert_eq!(&data[data.len() - 3..], b"end");
    assert!(data[..32 << 20].iter().all(|&b| b == 0));
}

#[test]
fn long_names_and_pax_xattrs_from_other_writers() {
    // GNU long names (the tar crate's builder) and PAX records, as docker writes them.
    let work = tempfile::tempdir().unwrap();
    let mut builder = tar::Builder::new(Vec::new());
    let long = format!("a/{}/{}", "b".repeat(200), "c".repeat(200));
    let mut header = Header::new_gnu();
    header.set_size(4);
    header.set_mode(0o600);
    builder
        .append_data(&mut header, &long, &b"data"[..])
        .unwrap();
    builder
        .append_pax_extensions([
            ("SCHILY.xattr.user.origin", &b"pax"[..]),
            ("mtime", &b"1234567890.5"[..]),
        ])
        .unwrap();
    let mut header = Header::new_ustar();
    header.set_size(1);
    header.set_mode(0o640);
    builder.append_data(&mut header, "x", &b"1"[..]).unwrap();
    let target = work.path().join("out");
    unpack(
        Cursor::new(builder.into_inner().unwrap()),
        &target,
        &UnpackOptions::default(),
    )
    .unwrap();
    assert_eq!(fs::read(target.join(&long)).unwrap(), b"data");
    assert_eq!(
        xattr::get(target.join("x"), "user.origin")
            .unwrap()
            .unwrap(),
        b"pax"
    );
    let meta = target.join("x").metadata().unwrap();
    assert_eq!(
        (meta.mtime(), meta.mtime_nsec()),
        (1_234_567_890, 500_000_000)
    );
    assert_eq!(meta.mode() & 0o777, 0o640);
}

// ---------------------------------------------------------------- whiteouts

fn layer1() -> Vec<u8> {
    raw_tar(&[
        dir("etc/"),
        file("etc/keep", b"keep"),
        file("etc/gone", b"gone"),
        dir("opq/"),
        file("opq/old", b"old"),
        dir("opq/sub/"),
        file("opq/sub/older", b"older"),
        dir("tree/"),
        dir("tree/inner/"),
        file("tree/inner/f", b"f"),
        symlink_entry("link", "etc/keep"),
    ])
}

fn layer2() -> Vec<u8> {
    raw_tar(&[
        dir("etc/"),
        file("etc/.wh.gone", b""),
        file("etc/new", b"new"),
        dir("opq/"),
        file("opq/.wh..wh..opq", b""),
        dir("opq/sub/"),
        file("opq/sub/mine", b"mine"),
        file("opq/fresh", b"fresh"),
        file(".wh.tree", b""),
        file(".wh.link", b""),
    ])
}

fn layer3() -> Vec<u8> {
    raw_tar(&[
        dir("tree/"),
        file("tree/back", b"back"),
        file("etc/keep", b"changed"),
    ])
}

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

// ---------------------------------------------------------------- hostile layers

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

// ---------------------------------------------------------------- throughput

/// A reader that yields a generated stream in small pieces, as a network would.
struct Trickle<R>(R);

impl<R: Read> Read for Trickle<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let max = buf.len().min(64 * 1024);
        self.0.read(&mut buf[..max])
    }
}

#[test]
fn unpack_throughput_of_a_50_mb_layer() {
    let work = tempfile::tempdir().unwrap();
    let mut builder = tar::Builder::new(Vec::new());
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in 0..400 {
        // Half random (incompressible), half text-like: a mix like real binaries.
        let size = 128 * 1024;
        let mut data = Vec::with_capacity(size);
        while data.len() < size / 2 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            data.extend_from_slice(&state.to_le_bytes());
        }
        data.extend(std::iter::repeat_n(b"lorem ipsum ", size / 24).flatten());
        let mut header = Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(
                &mut header,
                format!("dir{}/file{i}", i % 20),
                data.as_slice(),
            )
            .unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let gz = gzip(&tar);
    let mb = tar.len() as f64 / 1e6;
    for (name, blob) in [("tar", &tar), ("gzip", &gz)] {
        let target = work.path().join(name);
        let start = Instant::now();
        let result = unpack(
            Trickle(Cursor::new(blob)),
            &target,
            &UnpackOptions::default(),
        )
        .unwrap();
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(result.diff_id, Digest::sha256_of(&tar));
        eprintln!(
            "unpack {name}: {mb:.1} MB in {secs:.3} s = {:.0} MB/s (uncompressed)",
            mb / secs
        );
    }
}

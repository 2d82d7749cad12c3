//! Layers: pack and unpack round trips, deterministic packing, tars from other writers
//! (sparse files, long names, PAX records) and unpack throughput.
//!
//! These tests run as root (ownership, device nodes).
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

#[path = "layers/common.rs"]
mod common;

use std::fs;
use std::io::{Cursor, Read};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant, UNIX_EPOCH};

use berth_image::digest::Digest;
use berth_image::layer::{pack, unpack, Compression, PackOptions, UnpackOptions};
use common::{gzip, tree};
use tar::Header;

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

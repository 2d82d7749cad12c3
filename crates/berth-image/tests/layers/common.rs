//! Helpers shared by the layer tests (`layers_*.rs`): hand-made tars, a comparable view of
//! a tree, and the three-layer fixture with whiteouts.
//!
//! Each test binary includes this file and uses only part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use berth_image::digest::Digest;
use berth_image::layer::{UnpackOptions, WhiteoutMode};
use tar::{EntryType, Header};

/// One entry of a hand-made tar; names are written raw, so hostile names go in as they are.
pub struct Raw<'a> {
    pub name: &'a [u8],
    pub kind: EntryType,
    pub data: &'a [u8],
    pub link: Option<&'a [u8]>,
    pub mode: u32,
}

pub fn file<'a>(name: &'a str, data: &'a [u8]) -> Raw<'a> {
    Raw {
        name: name.as_bytes(),
        kind: EntryType::Regular,
        data,
        link: None,
        mode: 0o644,
    }
}
pub fn dir(name: &str) -> Raw<'_> {
    Raw {
        name: name.as_bytes(),
        kind: EntryType::Directory,
        data: b"",
        link: None,
        mode: 0o755,
    }
}
pub fn symlink_entry<'a>(name: &'a str, target: &'a str) -> Raw<'a> {
    Raw {
        name: name.as_bytes(),
        kind: EntryType::Symlink,
        data: b"",
        link: Some(target.as_bytes()),
        mode: 0o777,
    }
}
pub fn hardlink_entry<'a>(name: &'a str, target: &'a str) -> Raw<'a> {
    Raw {
        name: name.as_bytes(),
        kind: EntryType::Link,
        data: b"",
        link: Some(target.as_bytes()),
        mode: 0o644,
    }
}

pub fn raw_tar(entries: &[Raw<'_>]) -> Vec<u8> {
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

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

pub fn options(whiteouts: WhiteoutMode) -> UnpackOptions {
    UnpackOptions {
        whiteouts,
        ..UnpackOptions::default()
    }
}

/// Everything a user can observe of a tree, by path (the root itself excluded).
pub fn tree(root: &Path) -> BTreeMap<String, String> {
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

/// Nothing named like `target` (the target or its temporary siblings) exists.
pub fn assert_no_output(target: &Path) {
    let name = target.file_name().unwrap().as_bytes();
    for entry in fs::read_dir(target.parent().unwrap()).unwrap() {
        let entry = entry.unwrap().file_name();
        assert!(
            !entry.as_bytes().starts_with(name),
            "left behind: {entry:?}"
        );
    }
}

pub fn layer1() -> Vec<u8> {
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

pub fn layer2() -> Vec<u8> {
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

pub fn layer3() -> Vec<u8> {
    raw_tar(&[
        dir("tree/"),
        file("tree/back", b"back"),
        file("etc/keep", b"changed"),
    ])
}

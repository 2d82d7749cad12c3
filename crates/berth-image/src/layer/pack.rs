//! Packing a directory into a deterministic layer tar.
//!
//! Entries are written depth-first with each directory's names in byte order; a header
//! carries only mode, uid, gid, size, mtime (fixed when asked), link target and device
//! numbers: no atime or ctime, no user or group names. PAX records are added only for what
//! ustar cannot hold (long names, big ids or sizes, xattrs). Same tree, same bytes.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{self, File, Metadata};
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use tar::{EntryType, Header};

use super::compression::{Compression, Encoder, HashingWriter};
use super::name::{OPAQUE_MARKER, WHITEOUT_PREFIX};
use super::{LayerError, BUFFER_SIZE};
use crate::digest::{Digest, Hasher};

/// How to pack.
#[derive(Debug, Clone, Default)]
pub struct PackOptions {
    /// One mtime for every entry (`SOURCE_DATE_EPOCH`); the files' own mtimes otherwise.
    pub mtime: Option<SystemTime>,
    /// The blob's compression.
    pub compression: Compression,
}

/// What a pack wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackResult {
    /// The digest of the uncompressed tar.
    pub diff_id: Digest,
    /// The digest of the blob as written (compressed).
    pub digest: Digest,
    /// The size of the blob as written.
    pub size: u64,
    /// The size of the uncompressed tar.
    pub uncompressed_size: u64,
}

/// Packs the tree under `dir` (not `dir` itself) into a layer written to `out`.
pub fn pack(dir: &Path, out: impl Write, options: &PackOptions) -> Result<PackResult, LayerError> {
    pack_tree(dir, out, options, false)
}

/// Packs an overlayfs upper directory into a layer: overlay whiteouts (char devices 0/0)
/// become `.wh.<name>` entries and opaque directories (`trusted.overlay.opaque=y`) get a
/// `.wh..wh..opq` entry. The upper directory must come from a mount without `redirect_dir`
/// or `metacopy` (berth mounts without them), and should not change while it is packed.
pub fn pack_diff(
    upper_dir: &Path,
    out: impl Write,
    options: &PackOptions,
) -> Result<PackResult, LayerError> {
    pack_tree(upper_dir, out, options, true)
}

type Stream<W> = BufWriter<HashingWriter<Encoder<HashingWriter<W>>>>;

struct Packer<W: Write> {
    builder: tar::Builder<Stream<W>>,
    mtime: Option<u64>,
    diff: bool,
    /// First name of each multiply-linked inode, by (device, inode).
    links: HashMap<(u64, u64), Vec<u8>>,
}

fn pack_tree(
    dir: &Path,
    out: impl Write,
    options: &PackOptions,
    diff: bool,
) -> Result<PackResult, LayerError> {
    // An uncompressed blob is the tar itself: one digest for both.
    let plain = options.compression == Compression::None;
    let blob = HashingWriter {
        inner: out,
        hasher: Hasher::new(),
        hashing: !plain,
    };
    let encoder = Encoder::new(options.compression, blob).map_err(LayerError::Write)?;
    let tar_stream = HashingWriter {
        inner: encoder,
        hasher: Hasher::new(),
        hashing: true,
    };
    let mut builder = tar::Builder::new(BufWriter::with_capacity(BUFFER_SIZE, tar_stream));
    builder.mode(tar::HeaderMode::Complete);
    let mtime = options.mtime.map(|time| {
        time.duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    });
    let mut packer = Packer {
        builder,
        mtime,
        diff,
        links: HashMap::new(),
    };
    packer.walk(dir, &mut Vec::new())?;
    let buffered = packer.builder.into_inner().map_err(LayerError::Write)?;
    let tar_stream = buffered
        .into_inner()
        .map_err(|e| LayerError::Write(e.into_error()))?;
    let blob = tar_stream.inner.finish().map_err(LayerError::Write)?;
    let mut blob = blob;
    blob.flush().map_err(LayerError::Write)?;
    let tar_hasher = tar_stream.hasher;
    let uncompressed_size = tar_hasher.len();
    let diff_id = tar_hasher.finish();
    let (size, digest) = if plain {
        (uncompressed_size, diff_id.clone())
    } else {
        (blob.hasher.len(), blob.hasher.finish())
    };
    Ok(PackResult {
        uncompressed_size,
        diff_id,
        size,
        digest,
    })
}

impl<W: Write> Packer<W> {
    /// Writes the entries below `dir`, whose name in the tar is `prefix` (empty or ending
    /// in `/`).
    fn walk(&mut self, dir: &Path, prefix: &mut Vec<u8>) -> Result<(), LayerError> {
        let mut names = Vec::new();
        for entry in fs::read_dir(dir).map_err(LayerError::io("read the directory", dir))? {
            let entry = entry.map_err(LayerError::io("read the directory", dir))?;
            names.push(entry.file_name());
        }
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        for name in names {
            let path = dir.join(&name);
            let meta = path
                .symlink_metadata()
                .map_err(LayerError::io("stat", &path))?;
            let len = prefix.len();
            prefix.extend_from_slice(name.as_bytes());
            self.entry(&path, &name, &meta, prefix)?;
            prefix.truncate(len);
        }
        Ok(())
    }

    fn entry(
        &mut self,
        path: &Path,
        name: &OsStr,
        meta: &Metadata,
        tar_name: &mut Vec<u8>,
    ) -> Result<(), LayerError> {
        let kind = meta.file_type();
        let write_err = |e| LayerError::Io {
            action: "write the tar entry for",
            path: path.to_path_buf(),
            source: e,
        };
        if kind.is_dir() {
            tar_name.push(b'/');
            let header = self.header(meta, EntryType::Directory, 0);
            self.append(path, header, tar_name, None, io::empty())?;
            if self.diff
                && xattr::get(path, "trusted.overlay.opaque")
                    .ok()
                    .flatten()
                    .as_deref()
                    == Some(b"y")
            {
                let mut marker = tar_name.clone();
                marker.extend_from_slice(OPAQUE_MARKER.as_bytes());
                self.marker(meta, &marker).map_err(write_err)?;
            }
            return self.walk(path, tar_name);
        }
        if kind.is_char_device() && self.diff && meta.rdev() == 0 {
            // An overlay whiteout.
            let start = tar_name.len() - name.len();
            let mut marker = tar_name[..start].to_vec();
            marker.extend_from_slice(WHITEOUT_PREFIX.as_bytes());
            marker.extend_from_slice(name.as_bytes());
            return self.marker(meta, &marker).map_err(write_err);
        }
        if kind.is_file() {
            if meta.nlink() > 1 {
                let key = (meta.dev(), meta.ino());
                if let Some(first) = self.links.get(&key) {
                    let first = first.clone();
                    let header = self.header(meta, EntryType::Link, 0);
                    return self.append(path, header, tar_name, Some(&first), io::empty());
                }
                self.links.insert(key, tar_name.clone());
            }
            let file = fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(path)
                .map_err(LayerError::io("open", path))?;
            let size = meta.len();
            let header = self.header(meta, EntryType::Regular, size);
            let data = Exact {
                inner: file,
                left: size,
            };
            return self.append(path, header, tar_name, None, data);
        }
        if kind.is_symlink() {
            let target = fs::read_link(path).map_err(LayerError::io("read the symlink", path))?;
            let header = self.header(meta, EntryType::Symlink, 0);
            return self.append(
                path,
                header,
                tar_name,
                Some(target.as_os_str().as_bytes()),
                io::empty(),
            );
        }
        let entry_type = if kind.is_char_device() {
            EntryType::Char
        } else if kind.is_block_device() {
            EntryType::Block
        } else if kind.is_fifo() {
            EntryType::Fifo
        } else {
            return Ok(()); // sockets are not part of images (docker skips them too)
        };
        let mut header = self.header(meta, entry_type, 0);
        if entry_type != EntryType::Fifo {
            let rdev = meta.rdev();
            let set = header
                .set_device_major(libc::major(rdev))
                .and_then(|()| header.set_device_minor(libc::minor(rdev)));
            set.map_err(write_err)?;
        }
        self.append(path, header, tar_name, None, io::empty())
    }

    fn header(&self, meta: &Metadata, kind: EntryType, size: u64) -> Header {
        let mut header = Header::new_ustar();
        header.set_entry_type(kind);
        header.set_mode(meta.mode() & 0o7777);
        header.set_uid(u64::from(meta.uid()));
        header.set_gid(u64::from(meta.gid()));
        header.set_size(size);
        let mtime = self.mtime.unwrap_or_else(|| meta.mtime().max(0) as u64);
        header.set_mtime(mtime);
        header
    }

    /// An empty whiteout or opaque marker entry.
    fn marker(&mut self, meta: &Metadata, name: &[u8]) -> io::Result<()> {
        let mut header = Header::new_ustar();
        header.set_entry_type(EntryType::Regular);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_size(0);
        header.set_mtime(self.mtime.unwrap_or_else(|| meta.mtime().max(0) as u64));
        let mut pax = Vec::new();
        set_name(&mut header, name, &mut pax)?;
        self.builder
            .append_pax_extensions(pax.iter().map(|(k, v)| (*k, v.as_slice())))?;
        header.set_cksum();
        self.builder.append(&header, io::empty())
    }

    /// Appends an entry, with a PAX header first when ustar cannot hold a field.
    fn append(
        &mut self,
        path: &Path,
        mut header: Header,
        name: &[u8],
        link: Option<&[u8]>,
        data: impl Read,
    ) -> Result<(), LayerError> {
        let write_err = LayerError::io("write the tar entry for", path);
        let mut pax: Vec<(&str, Vec<u8>)> = Vec::new();
        let mut fill = || -> io::Result<()> {
            set_name(&mut header, name, &mut pax)?;
            if let Some(link) = link {
                if header.set_link_name_literal(link).is_err() {
                    pax.push(("linkpath", link.to_vec()));
                    header.set_link_name_literal(&link[..100])?;
                }
            }
            Ok(())
        };
        if let Err(e) = fill() {
            return Err(write_err(e));
        }
        let xattrs = collect_xattrs(path).map_err(LayerError::io("read the xattrs of", path))?;
        let keys: Vec<String> = xattrs
            .iter()
            .map(|(k, _)| format!("SCHILY.xattr.{k}"))
            .collect();
        let mut records: Vec<(&str, &[u8])> = pax.iter().map(|(k, v)| (*k, v.as_slice())).collect();
        records.extend(
            keys.iter()
                .map(String::as_str)
                .zip(xattrs.iter().map(|(_, v)| v.as_slice())),
        );
        let result = self.builder.append_pax_extensions(records).and_then(|()| {
            header.set_cksum();
            self.builder.append(&header, data)
        });
        result.map_err(write_err)
    }
}

/// Sets the header's name, or a truncated one plus a PAX `path` record when ustar cannot
/// hold it.
fn set_name(header: &mut Header, name: &[u8], pax: &mut Vec<(&str, Vec<u8>)>) -> io::Result<()> {
    if header.set_path(OsStr::from_bytes(name)).is_ok() && header.path_bytes().as_ref() == name {
        return Ok(());
    }
    pax.push(("path", name.to_vec()));
    let old = header.as_old_mut();
    let short = &name[..name.len().min(old.name.len())];
    old.name = [0; 100];
    old.name[..short.len()].copy_from_slice(short);
    Ok(())
}

/// The xattrs an image keeps, sorted: not overlayfs's own, not SELinux labels of this host.
fn collect_xattrs(path: &Path) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut xattrs = Vec::new();
    let names = match xattr::list(path) {
        Ok(names) => names,
        Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => return Ok(xattrs),
        Err(e) => return Err(e),
    };
    for name in names {
        let Some(name) = name.to_str() else { continue };
        let skip = name.starts_with("trusted.overlay.")
            || name.starts_with("user.overlay.")
            || name == "security.selinux";
        if skip {
            continue;
        }
        if let Some(value) = xattr::get(path, name)? {
            xattrs.push((name.to_string(), value));
        }
    }
    xattrs.sort();
    Ok(xattrs)
}

/// Reads exactly `left` bytes; a file that shrank while packed is an error, not a corrupt
/// tar.
struct Exact {
    inner: File,
    left: u64,
}

impl Read for Exact {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let max = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..max])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while it was packed",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

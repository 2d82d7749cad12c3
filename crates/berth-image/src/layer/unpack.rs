//! Unpacking a layer blob in one streaming pass.

use std::fs;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use super::compression::{Compression, Decoder, HashingReader};
use super::confined::Root;
use super::extract::Extractor;
use super::pipeline::{self, ChunkReader};
use super::{LayerError, BUFFER_SIZE};
use crate::digest::Digest;

/// What whiteouts do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhiteoutMode {
    /// Whiteouts delete from the target (applying a layer onto a flattened rootfs).
    #[default]
    Apply,
    /// Whiteouts become overlayfs whiteouts (the target will be an overlay lower dir).
    Overlay,
}

/// Whether the owners in the tar are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// Files get the tar's uid and gid (needs root).
    Preserve,
    /// Files belong to the unpacking user.
    Ignore,
}

/// What to do when a device node cannot be created (no `CAP_MKNOD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceNodes {
    /// Fail with an error naming the entry.
    #[default]
    Create,
    /// Skip it and count it in [`UnpackResult::skipped_devices`] (rootless unpacking).
    SkipDenied,
}

/// How to unpack.
#[derive(Debug, Clone)]
pub struct UnpackOptions {
    /// What whiteouts do.
    pub whiteouts: WhiteoutMode,
    /// Owners: by default preserved when running as root, ignored otherwise.
    pub ownership: Ownership,
    /// Device nodes that cannot be created.
    pub device_nodes: DeviceNodes,
    /// The diffID the uncompressed tar must hash to.
    pub expected_diff_id: Option<Digest>,
    /// The digest the blob (as read, maybe compressed) must hash to.
    pub expected_blob_digest: Option<Digest>,
}

impl Default for UnpackOptions {
    fn default() -> Self {
        UnpackOptions {
            whiteouts: WhiteoutMode::Apply,
            ownership: if nix::unistd::geteuid().is_root() {
                Ownership::Preserve
            } else {
                Ownership::Ignore
            },
            device_nodes: DeviceNodes::Create,
            expected_diff_id: None,
            expected_blob_digest: None,
        }
    }
}

/// What an unpack found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnpackResult {
    /// The digest of the uncompressed tar.
    pub diff_id: Digest,
    /// The size of the uncompressed tar.
    pub size: u64,
    /// The digest of the blob as read.
    pub blob_digest: Digest,
    /// The size of the blob as read.
    pub blob_size: u64,
    /// The compression found.
    pub compression: Compression,
    /// Device nodes skipped under [`DeviceNodes::SkipDenied`].
    pub skipped_devices: u64,
}

/// Unpacks a layer into a new directory `target`, which must not exist.
///
/// The layer is extracted into a sibling `<target>.tmp-<random>` that is renamed to
/// `target` only when the whole stream was read and every digest matched; on any error the
/// temporary directory is removed, so `target` never holds a partial layer. Nothing is
/// fsynced: after a crash, a directory that was renamed into place may have lost data that
/// was still in the page cache, and a `*.tmp-*` directory is garbage; callers that need
/// durability (the [`Snapshotter`](super::Snapshotter)) sync the filesystem before the
/// rename or treat snapshots as re-creatable.
pub fn unpack(
    reader: impl Read + Send,
    target: &Path,
    options: &UnpackOptions,
) -> Result<UnpackResult, LayerError> {
    if target.symlink_metadata().is_ok() {
        return Err(LayerError::TargetExists(target.to_path_buf()));
    }
    let temporary = temporary_sibling(target);
    fs::create_dir(&temporary).map_err(LayerError::io("create", &temporary))?;
    let result = apply(reader, &temporary, options).and_then(|result| {
        fs::rename(&temporary, target).map_err(LayerError::io("rename into place", target))?;
        Ok(result)
    });
    if result.is_err() {
        let _ = fs::remove_dir_all(&temporary);
    }
    result
}

/// `<target>.tmp-<random>`.
pub(crate) fn temporary_sibling(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_os_string();
    name.push(format!(".tmp-{:016x}", rand::random::<u64>()));
    PathBuf::from(name)
}

/// Unpacks a layer onto an existing directory, in place (flattening layers onto a rootfs,
/// or filling a directory the caller made).
///
/// On error the directory holds whatever was extracted before it (and on a digest mismatch,
/// the whole layer): the caller must discard it. [`unpack`] does that itself.
pub fn apply(
    reader: impl Read + Send,
    dir: &Path,
    options: &UnpackOptions,
) -> Result<UnpackResult, LayerError> {
    let root = Root::open(dir).map_err(LayerError::io("open the unpack target", dir))?;
    let buffered = BufReader::with_capacity(BUFFER_SIZE, HashingReader::new(reader));
    let (compression, decoder) = Decoder::detect(buffered).map_err(|source| LayerError::Read {
        compression: "blob",
        source,
    })?;
    let read_error = |source| LayerError::Read {
        compression: compression.name(),
        source,
    };
    let mut extractor = Extractor::new(root, options);
    // A plain tar is its own blob: one hash serves as both digests.
    let hash_decoded = compression != Compression::None;
    let (extracted, produced) = std::thread::scope(|scope| {
        let (stream, producer) = pipeline::start(scope, decoder, hash_decoded, |decoder| {
            // The rest after the compressed data (if any) belongs to the blob digest.
            let mut compressed = decoder.into_inner();
            io::copy(&mut compressed, &mut io::sink())?;
            Ok(compressed.into_inner().into_parts().1)
        });
        let extracted = extract_all(stream, &mut extractor, compression);
        (extracted, producer.join())
    });
    // An extraction error names the entry: it comes first, even if the stream broke too.
    extracted?;
    let (tar_hasher, blob_hasher) = match produced {
        Ok(Ok(hashers)) => hashers,
        Ok(Err(source)) => return Err(read_error(source)),
        Err(_) => return Err(read_error(io::Error::other("the decoding thread panicked"))),
    };
    let skipped_devices = extractor.finish()?;

    let (blob_size, blob_digest) = (blob_hasher.len(), blob_hasher.finish());
    let (size, diff_id) = match tar_hasher {
        Some(hasher) => (hasher.len(), hasher.finish()),
        None => (blob_size, blob_digest.clone()),
    };
    if let Some(expected) = &options.expected_blob_digest {
        if *expected != blob_digest {
            return Err(LayerError::BlobDigestMismatch {
                expected: expected.clone(),
                actual: blob_digest,
            });
        }
    }
    if let Some(expected) = &options.expected_diff_id {
        if *expected != diff_id {
            return Err(LayerError::DiffIdMismatch {
                expected: expected.clone(),
                actual: diff_id,
            });
        }
    }
    Ok(UnpackResult {
        diff_id,
        size,
        blob_digest,
        blob_size,
        compression,
        skipped_devices,
    })
}

/// Extracts every entry, checks the end-of-archive marker and drains the stream (so that
/// the digests cover all of it).
fn extract_all(
    stream: ChunkReader,
    extractor: &mut Extractor<'_>,
    compression: Compression,
) -> Result<(), LayerError> {
    let read_error = |source| LayerError::Read {
        compression: compression.name(),
        source,
    };
    let mut archive = tar::Archive::new(stream);
    for entry in archive.entries().map_err(read_error)? {
        let mut entry = entry.map_err(read_error)?;
        extractor.entry(&mut entry)?;
    }
    let mut stream = archive.into_inner();
    // The tar crate stops at the first zero block; reading EOF before it means the stream
    // was cut at an entry boundary.
    if stream.saw_eof() {
        return Err(LayerError::Truncated);
    }
    stream.drain().map_err(read_error)
}

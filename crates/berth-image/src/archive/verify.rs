//! Checking layers against their config: every layer present, and uncompressing to the
//! diff id the config lists for it.

use std::io::{self, Read};

use oci_spec::image::Descriptor;

use super::{io_err, ArchiveError};
use crate::content::ContentStore;
use crate::digest::{Digest, Hasher};
use crate::manifest::{self, Compression};

/// Checks that the layers are present and uncompress to the config's diff ids.
pub(super) fn verify_layers(
    content: &ContentStore,
    layers: &[Descriptor],
    config: &oci_spec::image::ImageConfiguration,
) -> Result<(), ArchiveError> {
    let diff_ids = manifest::diff_ids(config).map_err(|source| ArchiveError::Config {
        member: "config".into(),
        source,
    })?;
    if diff_ids.len() != layers.len() {
        return Err(ArchiveError::Invalid {
            member: "config".into(),
            problem: format!(
                "{} layers but {} diff ids in rootfs.diff_ids",
                layers.len(),
                diff_ids.len()
            ),
        });
    }
    for (layer, expected) in layers.iter().zip(diff_ids) {
        let digest =
            manifest::descriptor_digest(layer).map_err(|source| ArchiveError::Manifest {
                member: "layers".into(),
                source,
            })?;
        if !content.contains(&digest) {
            return Err(ArchiveError::Missing(super::blob_path(&digest)));
        }
        let compression = manifest::layer_compression(layer.media_type().as_ref())
            .map_or_else(|| sniff(content, &digest), Ok)?;
        let actual = diff_id(content, &digest, compression)?;
        if actual != expected {
            return Err(ArchiveError::DiffIdMismatch {
                layer: digest,
                expected,
                actual,
            });
        }
    }
    Ok(())
}

/// The compression of a stored blob, from its magic bytes.
pub(super) fn sniff(content: &ContentStore, digest: &Digest) -> Result<Compression, ArchiveError> {
    let mut head = [0u8; 4];
    let mut file = content.open_blob(digest)?;
    let mut filled = 0;
    while filled < head.len() {
        let n = file
            .read(&mut head[filled..])
            .map_err(io_err(format!("read blob `{digest}`")))?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(match head {
        [0x1f, 0x8b, _, _] => Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd] => Compression::Zstd,
        _ => Compression::None,
    })
}

/// The digest of a layer's uncompressed tar.
pub(super) fn diff_id(
    content: &ContentStore,
    digest: &Digest,
    compression: Compression,
) -> Result<Digest, ArchiveError> {
    if compression == Compression::None {
        return Ok(digest.clone());
    }
    let file = io::BufReader::new(content.open_blob(digest)?);
    let mut reader: Box<dyn Read> = match compression {
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(file)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(file)
                .map_err(io_err(format!("decompress layer `{digest}`")))?,
        ),
        Compression::None => Box::new(file),
    };
    let mut hasher = HashWriter(Hasher::new());
    io::copy(&mut reader, &mut hasher).map_err(io_err(format!("decompress layer `{digest}`")))?;
    Ok(hasher.0.finish())
}

/// An `io::Write` that only hashes.
pub(super) struct HashWriter(pub Hasher);

impl io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

//! The view of manifests that pull and push need, on top of [`crate::manifest`].
//!
//! [`crate::manifest::parse`] validates the document (schema 2, media types, every
//! descriptor); this turns it into plain descriptors with berth digests, which is all the
//! transfer code looks at.

use oci_spec::image::ImageIndex;

use super::error::{DistributionError, Result};
use crate::digest::Digest;
use crate::manifest::{self, Manifest};

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// The media type.
    pub media_type: String,
    /// The digest.
    pub digest: Digest,
    /// The size in bytes.
    pub size: u64,
}

/// A parsed manifest or index.
#[derive(Debug, Clone)]
pub enum Document {
    /// An image manifest.
    Manifest {
        /// The media type.
        media_type: String,
        /// The config blob.
        config: Descriptor,
        /// The layers, base first.
        layers: Vec<Descriptor>,
    },
    /// An index or manifest list.
    Index {
        /// The media type.
        media_type: String,
        /// The entries.
        manifests: Vec<Descriptor>,
        /// The index itself, for platform selection.
        index: Box<ImageIndex>,
    },
}

impl Document {
    /// Parses `bytes`; `header_type` is the `Content-Type` the registry sent (or "").
    pub fn parse(reference: &str, bytes: &[u8], header_type: &str) -> Result<Self> {
        let bad = |reason: String| DistributionError::BadManifest {
            reference: reference.to_string(),
            reason,
        };
        let content_type = Some(header_type).filter(|t| !t.is_empty());
        let parsed = manifest::parse(bytes, content_type).map_err(|e| bad(error_chain(&e)))?;
        let media_type = parsed.media_type();
        let convert = |d: &oci_spec::image::Descriptor| -> Result<Descriptor> {
            Ok(Descriptor {
                media_type: d.media_type().to_string(),
                digest: manifest::descriptor_digest(d).map_err(|e| bad(error_chain(&e)))?,
                size: d.size(),
            })
        };
        match parsed {
            Manifest::Image(m) => Ok(Document::Manifest {
                media_type,
                config: convert(m.config())?,
                layers: m.layers().iter().map(convert).collect::<Result<_>>()?,
            }),
            Manifest::Index(index) => Ok(Document::Index {
                media_type,
                manifests: index
                    .manifests()
                    .iter()
                    .map(convert)
                    .collect::<Result<_>>()?,
                index: Box::new(index),
            }),
        }
    }
}

/// The `rootfs.diff_ids` of an image config.
pub fn diff_ids(reference: &str, config: &[u8]) -> Result<Vec<Digest>> {
    let bad = |e: &dyn std::error::Error| DistributionError::BadManifest {
        reference: reference.to_string(),
        reason: error_chain(e),
    };
    let config = manifest::parse_config(config).map_err(|e| bad(&e))?;
    manifest::diff_ids(&config).map_err(|e| bad(&e))
}

/// `error: cause: cause`.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_garbage_and_schema1_with_reasons() {
        let err = Document::parse("r", b"{not json", "").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("invalid manifest for `r`: malformed manifest: "),
            "{err}"
        );
        assert!(Document::parse("r", br#"{"schemaVersion":1}"#, "").is_err());
        let err = Document::parse("r", br#"{"schemaVersion":2,"layers":[]}"#, "").unwrap_err();
        assert!(err.to_string().contains("config"), "{err}");
    }
}

//! The few fields of manifests and indexes that pull and push need.
//!
//! Deliberately small: [`crate::manifest`] is the full model; this only reads what the
//! transfer needs (descriptors, platforms, diffIDs) and refuses what it cannot handle.

use serde::Deserialize;

use super::error::{DistributionError, Result};
use super::media_types;
use crate::digest::Digest;

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The media type.
    #[serde(default)]
    pub media_type: String,
    /// The digest.
    pub digest: Digest,
    /// The size in bytes.
    pub size: u64,
    /// The platform (index entries).
    #[serde(default)]
    pub platform: Option<PlatformSpec>,
    /// Alternative URLs (foreign layers).
    #[serde(default)]
    pub urls: Option<Vec<String>>,
}

/// A platform as written in an index.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PlatformSpec {
    /// `linux`.
    pub os: String,
    /// `amd64`.
    pub architecture: String,
    /// `v8`.
    #[serde(default)]
    pub variant: Option<String>,
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
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    schema_version: Option<u32>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
}

impl Document {
    /// Parses `bytes`; `header_type` is the `Content-Type` the registry sent, if any.
    pub fn parse(reference: &str, bytes: &[u8], header_type: &str) -> Result<Self> {
        let bad = |reason: String| DistributionError::BadManifest {
            reference: reference.to_string(),
            reason,
        };
        let raw: Raw = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        match raw.schema_version {
            Some(2) => {}
            Some(1) => return Err(bad("schema 1 manifests are not supported".into())),
            other => return Err(bad(format!("unsupported schemaVersion {other:?}"))),
        }
        let media_type = raw
            .media_type
            .clone()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| header_type.to_string());
        if let (Some(inner), false) = (&raw.media_type, header_type.is_empty()) {
            if inner != header_type && header_type != "application/octet-stream" {
                return Err(bad(format!(
                    "mediaType `{inner}` does not match Content-Type `{header_type}`"
                )));
            }
        }
        let is_index = media_types::is_index(&media_type)
            || (media_type.is_empty() && raw.manifests.is_some() && raw.config.is_none());
        if is_index {
            let manifests = raw
                .manifests
                .ok_or_else(|| bad("an index without `manifests`".into()))?;
            let media_type = if media_type.is_empty() {
                media_types::OCI_INDEX.to_string()
            } else {
                media_type
            };
            return Ok(Document::Index {
                media_type,
                manifests,
            });
        }
        let config = raw
            .config
            .ok_or_else(|| bad("a manifest without `config`".into()))?;
        let layers = raw
            .layers
            .ok_or_else(|| bad("a manifest without `layers`".into()))?;
        let media_type = if media_type.is_empty() {
            media_types::OCI_MANIFEST.to_string()
        } else {
            media_type
        };
        Ok(Document::Manifest {
            media_type,
            config,
            layers,
        })
    }
}

/// The `rootfs.diff_ids` of an image config.
pub fn diff_ids(reference: &str, config: &[u8]) -> Result<Vec<Digest>> {
    #[derive(Deserialize)]
    struct RootFs {
        #[serde(default)]
        diff_ids: Vec<Digest>,
    }
    #[derive(Deserialize)]
    struct Config {
        rootfs: Option<RootFs>,
    }
    let config: Config =
        serde_json::from_slice(config).map_err(|e| DistributionError::BadManifest {
            reference: reference.to_string(),
            reason: format!("bad image config: {e}"),
        })?;
    Ok(config.rootfs.map(|r| r.diff_ids).unwrap_or_default())
}

/// Chain ids of a layer stack: `chain[0] = diff[0]`, `chain[n] = sha256(chain[n-1] + " " + diff[n])`.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut chain: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for diff in diff_ids {
        let next = match chain.last() {
            None => diff.clone(),
            Some(parent) => Digest::sha256_of(format!("{parent} {diff}").as_bytes()),
        };
        chain.push(next);
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_garbage_and_schema1() {
        assert!(Document::parse("r", b"{not json", "").is_err());
        let err = Document::parse("r", br#"{"schemaVersion":1}"#, "").unwrap_err();
        assert!(err.to_string().contains("schema 1"), "{err}");
        let err = Document::parse("r", br#"{"schemaVersion":2,"layers":[]}"#, "").unwrap_err();
        assert!(err.to_string().contains("without `config`"), "{err}");
    }

    #[test]
    fn chain_ids_follow_the_spec() {
        let a = Digest::sha256_of(b"a");
        let b = Digest::sha256_of(b"b");
        let chain = chain_ids(&[a.clone(), b.clone()]);
        assert_eq!(chain[0], a);
        assert_eq!(chain[1], Digest::sha256_of(format!("{a} {b}").as_bytes()));
    }
}

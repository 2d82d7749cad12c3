//! What the registry needs to know of a manifest: its kind, the blobs and child manifests
//! it references (checked on PUT, marked by gc), its `subject` and `artifactType`
//! (for the referrers API).
//!
//! Accepted media types: OCI image manifest and index (1.1, including artifacts), Docker
//! v2 schema 2 manifest and manifest list.

use berth_image::digest::Digest;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorCode};

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker v2 schema 2 manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker v2 schema 2 manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// The largest manifest accepted (distribution's limit).
pub const MAX_MANIFEST_SIZE: usize = 4 << 20;

/// A content descriptor, as it appears in manifests.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The media type of the referenced content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: i64,
    /// The artifact type (referrers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<serde_json::Map<String, serde_json::Value>>,
    /// URLs of a foreign (non-distributable) layer, which the registry need not hold.
    #[serde(default, skip_serializing)]
    pub urls: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    schema_version: Option<u32>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
    subject: Option<Descriptor>,
    annotations: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A parsed manifest's registry-relevant facts.
#[derive(Debug, Clone)]
pub struct ManifestInfo {
    /// The media type it is stored and served with.
    pub media_type: String,
    /// Blobs it references (config and layers; none for an index).
    pub blobs: Vec<Digest>,
    /// Child manifests (an index's entries).
    pub children: Vec<Digest>,
    /// The manifest it refers to (OCI 1.1 `subject`).
    pub subject: Option<Digest>,
    /// The artifact type shown in the referrers API.
    pub artifact_type: Option<String>,
    /// Its annotations (shown in the referrers API).
    pub annotations: Option<serde_json::Map<String, serde_json::Value>>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::ManifestInvalid, message)
}

/// Parses `bytes` sent with `content_type` (the PUT's `Content-Type`, if any).
pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<ManifestInfo, ApiError> {
    let raw: Raw = serde_json::from_slice(bytes)
        .map_err(|e| invalid(format!("manifest is not valid JSON: {e}")))?;
    if raw.schema_version != Some(2) {
        return Err(invalid("manifest schemaVersion must be 2"));
    }
    let header = content_type
        .map(|c| c.split(';').next().unwrap_or(c).trim())
        .filter(|c| !c.is_empty() && *c != "application/json" && *c != "application/octet-stream");
    let media_type = match (header, raw.media_type.as_deref()) {
        (Some(h), Some(b)) if h != b => {
            return Err(invalid(format!(
                "Content-Type `{h}` does not match the manifest's mediaType `{b}`"
            )))
        }
        (Some(h), _) => h.to_string(),
        (None, Some(b)) => b.to_string(),
        // OCI allows omitting mediaType; the shape tells which it is.
        (None, None) if raw.manifests.is_some() => OCI_INDEX.to_string(),
        (None, None) => OCI_MANIFEST.to_string(),
    };
    let is_index = match media_type.as_str() {
        OCI_MANIFEST | DOCKER_MANIFEST => false,
        OCI_INDEX | DOCKER_LIST => true,
        other => {
            return Err(invalid(format!(
                "unsupported manifest media type `{other}`"
            )))
        }
    };
    let mut info = ManifestInfo {
        media_type,
        blobs: Vec::new(),
        children: Vec::new(),
        subject: raw.subject.map(|s| s.digest),
        artifact_type: raw.artifact_type,
        annotations: raw.annotations,
    };
    if is_index {
        let manifests = raw
            .manifests
            .ok_or_else(|| invalid("index has no `manifests`"))?;
        info.children = manifests.into_iter().map(|d| d.digest).collect();
    } else {
        let config = raw
            .config
            .ok_or_else(|| invalid("manifest has no `config`"))?;
        let layers = raw
            .layers
            .ok_or_else(|| invalid("manifest has no `layers`"))?;
        if info.artifact_type.is_none() {
            info.artifact_type = config.media_type.clone();
        }
        info.blobs.push(config.digest);
        let hosted = layers
            .into_iter()
            .filter(|l| l.urls.as_ref().is_none_or(|u| u.is_empty()));
        info.blobs.extend(hosted.map(|l| l.digest));
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn image_manifest_references_config_and_layers() {
        let m = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/x","digest":"{D}","size":0}},"layers":[{{"digest":"{D}","size":0}}]}}"#
        );
        let info = parse(m.as_bytes(), Some(OCI_MANIFEST)).unwrap();
        assert_eq!(info.blobs.len(), 2);
        assert_eq!(info.artifact_type.as_deref(), Some("application/x"));
        assert!(parse(m.as_bytes(), Some(OCI_INDEX)).is_err());
    }

    #[test]
    fn malformed_is_invalid() {
        for bad in [
            "not json",
            r#"{"schemaVersion":1}"#,
            r#"{"schemaVersion":2,"layers":[]}"#,
            r#"{"schemaVersion":2,"config":{"digest":"sha256:zz","size":1},"layers":[]}"#,
        ] {
            let err = parse(bad.as_bytes(), None).unwrap_err();
            assert_eq!(err.code, ErrorCode::ManifestInvalid, "{bad}");
        }
    }
}

//! Manifests: OCI 1.1 image manifests and indexes, Docker v2 schema 2 manifests and
//! manifest lists.
//!
//! The two families share one shape (a Docker schema 2 manifest is an OCI manifest with
//! other media types), so both deserialize into `oci_spec::image` types; the `mediaType`
//! (of the document, or the `Content-Type` it came with) tells which. Docker's schema 1
//! (signed JSON with `fsLayers`) is refused: registries have not served it by default
//! since 2019.

mod config;
mod platform;

pub use config::{chain_ids, diff_ids, parse_config, ConfigError};
pub use platform::{select, Platform, PlatformError};

use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};
use serde::Deserialize;

use crate::digest::Digest;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// OCI uncompressed layer.
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// OCI gzip layer.
pub const OCI_LAYER_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// OCI zstd layer.
pub const OCI_LAYER_TAR_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// OCI non-distributable uncompressed layer (deprecated in OCI 1.1, still found).
pub const OCI_LAYER_NONDIST_TAR: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar";
/// OCI non-distributable gzip layer.
pub const OCI_LAYER_NONDIST_TAR_GZIP: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
/// OCI non-distributable zstd layer.
pub const OCI_LAYER_NONDIST_TAR_ZSTD: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
/// OCI empty descriptor (`{}`), used by artifacts.
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// Docker v2 schema 2 manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image config.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Docker gzip layer.
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Docker uncompressed layer (rare, but some tools write it).
pub const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";
/// Docker foreign (non-distributable, e.g. Windows base) gzip layer.
pub const DOCKER_LAYER_FOREIGN_GZIP: &str =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/// Docker schema 1 manifest (refused).
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
/// Docker signed schema 1 manifest (refused).
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
/// The annotation BuildKit puts on attestation manifests in an index.
pub const DOCKER_REFERENCE_TYPE: &str = "vnd.docker.reference.type";

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip.
    Gzip,
    /// zstd.
    Zstd,
}

/// The compression of a layer media type, or `None` if it is not a layer type berth knows.
pub fn layer_compression(media_type: &str) -> Option<Compression> {
    match media_type {
        OCI_LAYER_TAR | OCI_LAYER_NONDIST_TAR | DOCKER_LAYER_TAR => Some(Compression::None),
        OCI_LAYER_TAR_GZIP
        | OCI_LAYER_NONDIST_TAR_GZIP
        | DOCKER_LAYER_GZIP
        | DOCKER_LAYER_FOREIGN_GZIP => Some(Compression::Gzip),
        OCI_LAYER_TAR_ZSTD | OCI_LAYER_NONDIST_TAR_ZSTD => Some(Compression::Zstd),
        _ => None,
    }
}

/// Whether a layer must not be pushed to other registries (fetched from its `urls`).
pub fn is_non_distributable(media_type: &str) -> bool {
    matches!(
        media_type,
        OCI_LAYER_NONDIST_TAR
            | OCI_LAYER_NONDIST_TAR_GZIP
            | OCI_LAYER_NONDIST_TAR_ZSTD
            | DOCKER_LAYER_FOREIGN_GZIP
    )
}

/// A parsed manifest.
// Few are alive at a time (one per image being read), so the size difference between the
// variants costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Manifest {
    /// A single-platform image manifest (OCI or Docker schema 2).
    Image(ImageManifest),
    /// An index or manifest list.
    Index(ImageIndex),
}

impl Manifest {
    /// The document's media type (its own field, or the type it was parsed as).
    pub fn media_type(&self) -> String {
        match self {
            Manifest::Image(m) => m
                .media_type()
                .as_ref()
                .map_or(OCI_MANIFEST.to_string(), |t| t.to_string()),
            Manifest::Index(i) => i
                .media_type()
                .as_ref()
                .map_or(OCI_INDEX.to_string(), |t| t.to_string()),
        }
    }
}

/// A manifest that could not be parsed or is not valid.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Not JSON of the expected shape.
    #[error("malformed {kind}")]
    Json {
        /// What was being parsed.
        kind: &'static str,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// Docker schema 1.
    #[error("Docker image manifest schema 1 is not supported (deprecated since 2017): push the image again with a current client to convert it to schema 2")]
    Schema1,
    /// An unknown media type.
    #[error("unsupported manifest media type `{0}`")]
    UnsupportedMediaType(String),
    /// A field has a wrong value.
    #[error("invalid manifest: `{field}`: {problem}")]
    Invalid {
        /// The JSON path of the field, e.g. `layers[2].digest`.
        field: String,
        /// What is wrong.
        problem: String,
    },
}

/// Just enough of any manifest to tell which kind it is.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    schema_version: Option<i64>,
    media_type: Option<String>,
    manifests: Option<serde_json::Value>,
    config: Option<serde_json::Value>,
    fs_layers: Option<serde_json::Value>,
}

/// Parses a manifest or index. `content_type` is the `Content-Type` it was served with
/// (ignoring parameters), if any; the document's own `mediaType` wins when both are set.
pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<Manifest, ManifestError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|source| ManifestError::Json {
            kind: "manifest",
            source,
        })?;
    let probe: Probe =
        serde_json::from_value(value.clone()).map_err(|source| ManifestError::Json {
            kind: "manifest",
            source,
        })?;
    let content_type = content_type
        .map(|t| t.split(';').next().unwrap_or(t).trim())
        .filter(|t| !t.is_empty() && *t != "application/json");
    let media_type = probe.media_type.as_deref().or(content_type);
    if matches!(media_type, Some(DOCKER_SCHEMA1 | DOCKER_SCHEMA1_SIGNED))
        || probe.schema_version == Some(1)
        || probe.fs_layers.is_some()
    {
        return Err(ManifestError::Schema1);
    }
    if probe.schema_version != Some(2) {
        return Err(invalid(
            "schemaVersion",
            format!("must be 2, found {:?}", probe.schema_version),
        ));
    }
    let is_index = match media_type {
        Some(OCI_INDEX | DOCKER_MANIFEST_LIST) => true,
        Some(OCI_MANIFEST | DOCKER_MANIFEST) => false,
        Some(other) => return Err(ManifestError::UnsupportedMediaType(other.to_string())),
        // OCI allows the media type to be absent: the shape decides.
        None => probe.manifests.is_some() && probe.config.is_none(),
    };
    // Descriptors are checked on the raw JSON first, so that an error names the field.
    if is_index {
        validate_list(&value, "manifests")?;
        let index: ImageIndex =
            serde_json::from_value(value).map_err(|source| ManifestError::Json {
                kind: "image index",
                source,
            })?;
        Ok(Manifest::Index(index))
    } else {
        validate_descriptor(value.get("config"), "config")?;
        validate_list(&value, "layers")?;
        if let Some(subject) = value.get("subject") {
            validate_descriptor(Some(subject), "subject")?;
        }
        let manifest: ImageManifest =
            serde_json::from_value(value).map_err(|source| ManifestError::Json {
                kind: "image manifest",
                source,
            })?;
        Ok(Manifest::Image(manifest))
    }
}

fn validate_list(value: &serde_json::Value, field: &str) -> Result<(), ManifestError> {
    let list = value
        .get(field)
        .and_then(|l| l.as_array())
        .ok_or_else(|| invalid(field, "missing, or not an array"))?;
    for (i, d) in list.iter().enumerate() {
        validate_descriptor(Some(d), &format!("{field}[{i}]"))?;
    }
    Ok(())
}

fn validate_descriptor(d: Option<&serde_json::Value>, field: &str) -> Result<(), ManifestError> {
    let d = d
        .filter(|d| d.is_object())
        .ok_or_else(|| invalid(field, "missing, or not a descriptor object"))?;
    let digest = d.get("digest").and_then(|v| v.as_str()).unwrap_or_default();
    if digest.parse::<Digest>().is_err() {
        return Err(invalid(
            &format!("{field}.digest"),
            format!("`{digest}` is not a sha256 or sha512 digest in canonical form"),
        ));
    }
    if d.get("size").and_then(|v| v.as_u64()).is_none() {
        return Err(invalid(
            &format!("{field}.size"),
            "must be a non-negative integer",
        ));
    }
    let media_type = d.get("mediaType").and_then(|v| v.as_str());
    if media_type.is_none_or(str::is_empty) {
        return Err(invalid(&format!("{field}.mediaType"), "must be set"));
    }
    Ok(())
}

/// Parses an image manifest, refusing indexes.
pub fn parse_image_manifest(bytes: &[u8]) -> Result<ImageManifest, ManifestError> {
    match parse(bytes, None)? {
        Manifest::Image(m) => Ok(m),
        Manifest::Index(_) => Err(invalid("mediaType", "an index, not an image manifest")),
    }
}

/// The berth digest of a descriptor (sizes are unsigned in the type, so negative sizes
/// were already refused by the parser).
pub fn descriptor_digest(descriptor: &Descriptor) -> Result<Digest, ManifestError> {
    descriptor
        .digest()
        .to_string()
        .parse()
        .map_err(|e: crate::digest::InvalidDigest| invalid("digest", e.to_string()))
}

fn invalid(field: &str, problem: impl Into<String>) -> ManifestError {
    ManifestError::Invalid {
        field: field.to_string(),
        problem: problem.into(),
    }
}

/// A berth digest as an `oci_spec` digest (for building descriptors).
pub fn oci_digest(digest: &Digest) -> Result<oci_spec::image::Digest, ManifestError> {
    digest
        .to_string()
        .parse()
        .map_err(|e: oci_spec::OciSpecError| invalid("digest", e.to_string()))
}

/// JSON with object keys sorted at every level, so the same value always gives the same
/// bytes (and digest), whatever order hash maps iterate in.
pub fn canonical_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut value = serde_json::to_value(value)?;
    value.sort_all_objects();
    serde_json::to_vec(&value)
}

#[cfg(test)]
mod tests;

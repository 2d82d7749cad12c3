//! Image configs: parsing, diff ids and chain ids.

use oci_spec::image::ImageConfiguration;

use crate::digest::{Digest, Hasher};

/// An image config that could not be parsed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not JSON of the expected shape.
    #[error("malformed image config")]
    Json(#[source] serde_json::Error),
    /// A diff id is not a digest.
    #[error("invalid image config: `rootfs.diff_ids[{index}]`: `{value}` is not a digest")]
    DiffId {
        /// Its position.
        index: usize,
        /// The value.
        value: String,
    },
}

/// Parses an image config (OCI's, which Docker's is a superset of; Docker-only fields are
/// dropped, so keep the original bytes when the config must be stored or served).
pub fn parse_config(bytes: &[u8]) -> Result<ImageConfiguration, ConfigError> {
    serde_json::from_slice(bytes).map_err(ConfigError::Json)
}

/// The config's `rootfs.diff_ids`, validated.
pub fn diff_ids(config: &ImageConfiguration) -> Result<Vec<Digest>, ConfigError> {
    config
        .rootfs()
        .diff_ids()
        .iter()
        .enumerate()
        .map(|(index, value)| {
            value.parse().map_err(|_| ConfigError::DiffId {
                index,
                value: value.clone(),
            })
        })
        .collect()
}

/// OCI chain ids: `ChainID(L0) = DiffID(L0)`,
/// `ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))`. They name the snapshot of a
/// layer stack: the same layers in the same order give the same chain id.
pub fn chain_ids(diff_ids: &[Digest]) -> Vec<Digest> {
    let mut chain: Vec<Digest> = Vec::with_capacity(diff_ids.len());
    for diff_id in diff_ids {
        let next = match chain.last() {
            None => diff_id.clone(),
            Some(parent) => {
                let mut hasher = Hasher::new();
                hasher.update(format!("{parent} {diff_id}").as_bytes());
                hasher.finish()
            }
        };
        chain.push(next);
    }
    chain
}

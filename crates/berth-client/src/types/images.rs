//! Images: list (`ImageSummary`), inspect (`ImageInspect`), remove.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::containers::ContainerConfig;

/// `GET /images/json` items (`ImageSummary`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageSummary {
    /// Image ID (`sha256:...`).
    pub id: String,
    /// Parent image ID (local builds only).
    #[serde(default, deserialize_with = "super::nullable")]
    pub parent_id: String,
    /// `name:tag` references.
    #[serde(default, deserialize_with = "super::nullable")]
    pub repo_tags: Vec<String>,
    /// `name@sha256:...` references.
    #[serde(default, deserialize_with = "super::nullable")]
    pub repo_digests: Vec<String>,
    /// Unix creation time.
    #[serde(default, deserialize_with = "super::nullable")]
    pub created: i64,
    /// Bytes on disk.
    #[serde(default, deserialize_with = "super::nullable")]
    pub size: i64,
    /// Bytes shared with other images (-1: not computed).
    #[serde(default, deserialize_with = "super::nullable")]
    pub shared_size: i64,
    /// Labels.
    #[serde(default, deserialize_with = "super::nullable")]
    pub labels: BTreeMap<String, String>,
    /// Containers using it (-1: not computed).
    #[serde(default, deserialize_with = "super::nullable")]
    pub containers: i64,
}

/// `RootFS` of an image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootFs {
    /// `layers`.
    #[serde(default, deserialize_with = "super::nullable")]
    pub r#type: String,
    /// Layer diff IDs, bottom first.
    #[serde(default, deserialize_with = "super::nullable")]
    pub layers: Vec<String>,
}

/// `GET /images/{name}/json` (`ImageInspect`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    /// Image ID (`sha256:...`).
    pub id: String,
    /// `name:tag` references.
    #[serde(default, deserialize_with = "super::nullable")]
    pub repo_tags: Vec<String>,
    /// `name@sha256:...` references.
    #[serde(default, deserialize_with = "super::nullable")]
    pub repo_digests: Vec<String>,
    /// Parent image ID.
    #[serde(default, deserialize_with = "super::nullable")]
    pub parent: String,
    /// Commit message.
    #[serde(default, deserialize_with = "super::nullable")]
    pub comment: String,
    /// RFC 3339 creation time (absent for some imported images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Docker version that built it.
    #[serde(default, deserialize_with = "super::nullable")]
    pub docker_version: String,
    /// Author.
    #[serde(default, deserialize_with = "super::nullable")]
    pub author: String,
    /// Runtime configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ContainerConfig>,
    /// CPU architecture.
    #[serde(default, deserialize_with = "super::nullable")]
    pub architecture: String,
    /// CPU variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Operating system.
    #[serde(default, deserialize_with = "super::nullable")]
    pub os: String,
    /// Bytes on disk.
    #[serde(default, deserialize_with = "super::nullable")]
    pub size: i64,
    /// Layers.
    #[serde(default, rename = "RootFS", deserialize_with = "super::nullable")]
    pub root_fs: RootFs,
}

/// One item of `DELETE /images/{name}` (`ImageDeleteResponseItem`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageDeleteResponseItem {
    /// A reference that was removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untagged: Option<String>,
    /// An image ID that was deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<String>,
}

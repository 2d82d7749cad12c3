//! Volumes: list, inspect, create.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `GET /volumes/{name}` and list items (`Volume`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Volume {
    /// Name.
    pub name: String,
    /// Driver (`local`).
    #[serde(default, deserialize_with = "super::nullable")]
    pub driver: String,
    /// Host path of the volume's data.
    #[serde(default, deserialize_with = "super::nullable")]
    pub mountpoint: String,
    /// RFC 3339 creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// Driver-specific status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<BTreeMap<String, serde_json::Value>>,
    /// Labels.
    #[serde(default, deserialize_with = "super::nullable")]
    pub labels: BTreeMap<String, String>,
    /// `local` or `global`.
    #[serde(default, deserialize_with = "super::nullable")]
    pub scope: String,
    /// Driver options.
    #[serde(default, deserialize_with = "super::nullable")]
    pub options: BTreeMap<String, String>,
    /// Disk usage (in `system df` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_data: Option<VolumeUsage>,
}

/// `UsageData` of a volume.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeUsage {
    /// Bytes used (-1: not computed).
    pub size: i64,
    /// Containers using it (-1: not computed).
    pub ref_count: i64,
}

/// `POST /volumes/create`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeCreateRequest {
    /// Name; the daemon generates one if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Driver (`local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Driver options (`type`, `device`, `o` for the local driver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_opts: Option<BTreeMap<String, String>>,
    /// Labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// `GET /volumes`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeListResponse {
    /// The volumes.
    #[serde(default, deserialize_with = "super::nullable")]
    pub volumes: Vec<Volume>,
    /// Warnings (e.g. a driver that did not answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
}

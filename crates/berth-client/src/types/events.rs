//! `GET /events` (`EventMessage`): one JSON object per event, streamed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The object an event is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventActor {
    /// Its ID (container ID, image ID, network ID, volume name).
    #[serde(default, rename = "ID", deserialize_with = "super::nullable")]
    pub id: String,
    /// Its attributes (`name`, `image`, labels, `exitCode`, ...).
    #[serde(default, deserialize_with = "super::nullable")]
    pub attributes: BTreeMap<String, String>,
}

/// One event. Docker mixes cases here: `Type`, `Action`, `Actor` but `scope`, `time`,
/// `timeNano`, and the pre-1.22 `status`, `id`, `from` that the CLI still reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMessage {
    /// `container`, `image`, `network`, `volume`, `daemon`, ...
    #[serde(rename = "Type")]
    pub r#type: String,
    /// `create`, `start`, `die`, `destroy`, `pull`, `exec_start: sh`, ...
    #[serde(rename = "Action")]
    pub action: String,
    /// The object.
    #[serde(default, rename = "Actor")]
    pub actor: EventActor,
    /// `local` or `swarm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Unix time, seconds.
    #[serde(default, deserialize_with = "super::nullable")]
    pub time: i64,
    /// Unix time, nanoseconds.
    #[serde(default, rename = "timeNano")]
    pub time_nano: i64,
    /// Legacy: the action (containers and images only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Legacy: the actor's ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Legacy: the container's image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

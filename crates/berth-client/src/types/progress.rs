//! The JSON progress stream of pull, push, import, load and the legacy build
//! (`JSONMessage`, `BuildInfo`): one JSON object per line.
//!
//! An error ends the stream *inside* a 200 answer (`errorDetail` + `error`): the HTTP
//! status was sent before the failure happened.

use serde::{Deserialize, Serialize};

/// `progressDetail`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressDetail {
    /// Bytes done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<i64>,
    /// Bytes in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

/// `errorDetail`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// An HTTP-like code, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// What went wrong.
    #[serde(default, deserialize_with = "super::nullable")]
    pub message: String,
}

/// One message of a progress stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonMessage {
    /// Build output text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// Status line (`Pulling fs layer`, `Download complete`, `Digest: sha256:...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Byte progress of `status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_detail: Option<ProgressDetail>,
    /// Pre-rendered progress bar (deprecated, still sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    /// Layer or image the line is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Source (legacy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Unix time (legacy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<i64>,
    /// Unix time in nanoseconds (legacy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_nano: Option<i64>,
    /// The failure that ended the stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_detail: Option<ErrorDetail>,
    /// The failure's message (deprecated twin of `errorDetail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Side data: `{"ID": "sha256:..."}` after a build, push digests, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aux: Option<serde_json::Value>,
}

/// The legacy builder's messages are JSON messages.
pub type BuildInfo = JsonMessage;

impl JsonMessage {
    /// A status line.
    pub fn status(status: impl Into<String>) -> JsonMessage {
        JsonMessage {
            status: Some(status.into()),
            ..JsonMessage::default()
        }
    }

    /// The failure that ends a stream; both fields are set since clients read either.
    pub fn error(message: impl Into<String>) -> JsonMessage {
        let message = message.into();
        JsonMessage {
            error_detail: Some(ErrorDetail {
                code: None,
                message: message.clone(),
            }),
            error: Some(message),
            ..JsonMessage::default()
        }
    }

    /// The failure this message reports, if it reports one.
    pub fn error_message(&self) -> Option<&str> {
        self.error_detail
            .as_ref()
            .map(|d| d.message.as_str())
            .or(self.error.as_deref())
    }
}

//! Inspect answers as the daemon sent them, every field kept: `docker inspect` prints
//! them whole and `--format` templates may name any field, including ones the typed
//! structs do not carry.

use hyper::{Method, StatusCode};

use super::query::segment;
use super::{DockerClient, Error};

/// The kinds of objects `inspect` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    /// A container.
    Container,
    /// An image.
    Image,
    /// A network.
    Network,
    /// A volume.
    Volume,
}

impl ObjectKind {
    /// The name `--type` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Container => "container",
            ObjectKind::Image => "image",
            ObjectKind::Network => "network",
            ObjectKind::Volume => "volume",
        }
    }
}

impl DockerClient {
    /// The inspect answer of `id` as JSON, every field kept.
    pub async fn inspect_raw(
        &self,
        kind: ObjectKind,
        id: &str,
    ) -> Result<serde_json::Value, Error> {
        let id = segment(id);
        let target = match kind {
            ObjectKind::Container => format!("/containers/{id}/json"),
            ObjectKind::Image => format!("/images/{id}/json"),
            ObjectKind::Network => format!("/networks/{id}"),
            ObjectKind::Volume => format!("/volumes/{id}"),
        };
        self.json(Method::GET, &target, None, &[StatusCode::OK])
            .await
    }
}

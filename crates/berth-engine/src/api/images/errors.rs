//! How image-store, archive and registry errors read in Docker's words, with Docker's
//! status codes.

use berth_image::archive::ArchiveError;
use berth_image::distribution::DistributionError;
use berth_image::reference::Reference;
use berth_image::store::StoreError;
use hyper::StatusCode;

use super::{familiar_name, familiar_or_given, short_id};
use crate::error::EngineError;

/// An error and its causes on one line (`what: why: why`), without repeats.
pub(crate) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if parts.last().is_none_or(|last| !last.ends_with(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// A store error about image `name`: "No such image: x" for a missing one, Docker's
/// conflict wording, the store's own error otherwise.
pub(crate) fn store(name: &str, err: StoreError) -> EngineError {
    match err {
        StoreError::NotFound(_) => {
            EngineError::NotFound(format!("No such image: {}", familiar_or_given(name)))
        }
        StoreError::Conflict { id, reason } => EngineError::Conflict(format!(
            "conflict: unable to delete {} (must be forced) - {reason}",
            short_id(&id.to_string())
        )),
        other => EngineError::Image(other),
    }
}

/// An archive error: the client's archive is bad (400) or the daemon failed (500).
pub(crate) fn archive(err: ArchiveError) -> EngineError {
    match err {
        ArchiveError::Store(e) => EngineError::Image(e),
        ArchiveError::Io { .. } | ArchiveError::Content(_) => EngineError::Internal(chain(&err)),
        _ => EngineError::Invalid(chain(&err)),
    }
}

/// A registry error of a pull of `reference`, before any output was sent: the status
/// and message dockerd answers with.
pub(crate) fn pull(reference: &Reference, err: &DistributionError) -> (StatusCode, String) {
    let familiar = reference.familiar();
    match err {
        DistributionError::ManifestUnknown { .. } => (
            StatusCode::NOT_FOUND,
            format!("manifest for {familiar} not found: manifest unknown: manifest unknown"),
        ),
        DistributionError::Registry { status: 404, .. } => (
            StatusCode::NOT_FOUND,
            format!(
                "manifest for {familiar} not found: manifest unknown: {}",
                chain(err)
            ),
        ),
        DistributionError::Unauthorized { .. } | DistributionError::Denied { .. } => {
            let name = familiar_name(reference);
            (
                StatusCode::NOT_FOUND,
                format!(
                    "pull access denied for {name}, repository does not exist or may require 'docker login': {}",
                    chain(err)
                ),
            )
        }
        DistributionError::NoMatchingPlatform { .. } => (StatusCode::NOT_FOUND, chain(err)),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, chain(err)),
    }
}

//! `HEAD`, `GET` and `PUT /containers/{id}/archive?path=...` (`docker cp`).
//!
//! The stat of the path travels base64-encoded in `X-Docker-Container-Path-Stat`; GET
//! streams the tar as it is written, PUT extracts the body as it arrives. Events as
//! dockerd: `archive-path` after GET, `extract-to-dir` after PUT.

use std::collections::HashMap;
use std::path::Path as FsPath;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use super::fsview::{self, Mounts};
use super::{blocking_body, lookup, BodyReader};
use crate::api::query::flag;
use crate::api::{ApiResult, AppState};
use crate::archive::{self, ArchiveError, PathStat};
use crate::container::view::event_attributes;
use crate::container::Container;
use crate::error::EngineError;

/// The header carrying the stat.
const STAT_HEADER: &str = "X-Docker-Container-Path-Stat";

/// The `path` query value (required).
fn path_of(query: &HashMap<String, String>) -> Result<String, EngineError> {
    query
        .get("path")
        .filter(|p| !p.is_empty())
        .cloned()
        .ok_or_else(|| EngineError::Invalid("Path cannot be empty".into()))
}

/// Docker's message for a missing path names the container as the client did.
fn not_found_in(name: &str) -> impl Fn(EngineError) -> EngineError + '_ {
    move |e| match e {
        EngineError::Archive(ArchiveError::NotFound(path)) => EngineError::NotFound(format!(
            "Could not find the file {path} in container {name}"
        )),
        other => other,
    }
}

/// The header value: base64 of the stat's JSON.
pub fn stat_header(stat: &PathStat) -> Result<HeaderValue, EngineError> {
    let json = serde_json::to_vec(stat)
        .map_err(|e| EngineError::Internal(format!("encode the path stat: {e}")))?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(json);
    HeaderValue::from_str(&encoded)
        .map_err(|e| EngineError::Internal(format!("the path stat header: {e}")))
}

async fn stat_of(
    engine: &AppState,
    container: &std::sync::Arc<Container>,
    path: &str,
) -> Result<PathStat, EngineError> {
    let path = path.to_string();
    fsview::run(engine, container, Mounts::Included, move |root| {
        Ok(archive::stat(root, &path)?)
    })
    .await
}

/// HEAD: the stat alone.
pub async fn head_archive(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let path = path_of(&query)?;
    let container = lookup(&engine, &id)?;
    let stat = stat_of(&engine, &container, &path)
        .await
        .map_err(not_found_in(&id))?;
    let mut response = StatusCode::OK.into_response();
    response
        .headers_mut()
        .insert(STAT_HEADER, stat_header(&stat)?);
    Ok(response)
}

/// GET: the stat, and a tar of the path.
pub async fn get_archive(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let path = path_of(&query)?;
    let container = lookup(&engine, &id)?;
    // Stat first, so that a missing path is a 404 rather than a broken stream.
    let stat = stat_of(&engine, &container, &path)
        .await
        .map_err(not_found_in(&id))?;
    let (body, mut writer) = blocking_body();
    let events = engine.clone();
    let done = fsview::run(
        &engine,
        &container,
        Mounts::Included,
        move |root| match archive::get(root, &path, &mut writer) {
            Ok(_) => Ok(()),
            Err(e) => {
                writer.fail(std::io::Error::other(e.to_string()));
                Err(e.into())
            }
        },
    );
    let for_event = container.clone();
    tokio::spawn(async move {
        match done.await {
            Ok(()) => events.events().publish(
                "container",
                "archive-path",
                &for_event.id,
                event_attributes(&for_event),
            ),
            Err(e) => tracing::debug!(id = %for_event.id, error = %e, "archive stream ended early"),
        }
    });
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(STAT_HEADER, stat_header(&stat)?);
    headers.insert(
        "Content-Type",
        HeaderValue::from_static("application/x-tar"),
    );
    Ok(response)
}

/// Whether container path `path` lies in a writable volume or bind (which a read-only
/// rootfs does not make read-only).
fn in_writable_mount(container: &Container, path: &str) -> bool {
    let path = FsPath::new(path);
    container.with(|r| {
        r.mounts
            .iter()
            .any(|m| m.rw && path.starts_with(FsPath::new(&m.destination)))
    })
}

/// PUT: extracts the tar body into the directory `path`.
pub async fn put_archive(
    State(engine): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    body: Body,
) -> ApiResult<Response> {
    let path = path_of(&query)?;
    let no_overwrite = flag(query.get("noOverwriteDirNonDir"));
    let container = lookup(&engine, &id)?;
    let read_only = container.with(|r| r.host_config.readonly_rootfs.unwrap_or(false));
    if read_only && !in_writable_mount(&container, &path) {
        return Err(EngineError::Invalid("container rootfs is marked read-only".into()).into());
    }
    let reader = BodyReader::new(body);
    fsview::run(&engine, &container, Mounts::Included, move |root| {
        Ok(archive::put(root, &path, reader, no_overwrite)?)
    })
    .await
    .map_err(not_found_in(&id))?;
    engine.events().publish(
        "container",
        "extract-to-dir",
        &container.id,
        event_attributes(&container),
    );
    Ok(StatusCode::OK.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stat_header_is_base64_json() {
        let stat = PathStat {
            name: "etc".into(),
            size: 4096,
            mode: 2147484141,
            mtime: "2024-01-01T00:00:00Z".into(),
            link_target: String::new(),
        };
        let header = stat_header(&stat).unwrap();
        let json = base64::engine::general_purpose::STANDARD
            .decode(header.as_bytes())
            .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(value["name"], "etc");
        assert_eq!(value["mode"], 2147484141u32);
        assert_eq!(value["linkTarget"], "");
    }

    #[test]
    fn a_missing_path_names_the_container() {
        let e = not_found_in("web")(EngineError::Archive(ArchiveError::NotFound("/nope".into())));
        assert_eq!(
            e.to_string(),
            "Could not find the file /nope in container web"
        );
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
        assert!(path_of(&HashMap::new()).is_err());
    }
}

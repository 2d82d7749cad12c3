//! `POST /images/create?fromSrc=-`: an image from the root filesystem tar in the body
//! (`docker import`), with `repo`, `tag`, `changes` and `message`.

use std::io::BufReader;

use axum::body::Body;
use axum::response::Response;
use berth_client::types::progress::JsonMessage;
use berth_image::archive::{self, ConfigChanges};
use berth_image::reference::Reference;
use futures_util::TryStreamExt;
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::stream::json_line;
use super::{errors, param, params_all, publish, Params};
use crate::api::{ApiResult, AppState};
use crate::error::EngineError;

/// The reference `repo` and `tag` name, if any.
fn target(params: &Params) -> Result<Option<Reference>, EngineError> {
    let repo = param(params, "repo").map(String::as_str).unwrap_or("");
    if repo.is_empty() {
        return Ok(None);
    }
    let text = match param(params, "tag")
        .map(String::as_str)
        .filter(|t| !t.is_empty())
    {
        Some(tag) => format!("{repo}:{tag}"),
        None => repo.to_string(),
    };
    Reference::parse(&text)
        .map(Some)
        .map_err(|e| EngineError::Invalid(e.to_string()))
}

/// Imports the body; answers `{"status":"sha256:..."}` as dockerd does.
pub(crate) async fn import(engine: AppState, params: Params, body: Body) -> ApiResult<Response> {
    let source = param(&params, "fromSrc").map(String::as_str).unwrap_or("");
    if source != "-" {
        return Err(EngineError::NotImplemented(format!(
            "berth: import from a URL (`{source}`) is not supported: download it and import it from a file"
        ))
        .into());
    }
    let reference = target(&params)?;
    let mut changes =
        ConfigChanges::parse(&params_all(&params, "changes")).map_err(errors::archive)?;
    if let Some(message) = param(&params, "message").filter(|m| !m.is_empty()) {
        changes.message = Some(message.clone());
    }
    let reader = StreamReader::new(body.into_data_stream().map_err(std::io::Error::other));
    let bridge = SyncIoBridge::new(reader);
    let store = engine.images().clone();
    let named = reference.clone();
    let image = tokio::task::spawn_blocking(move || {
        archive::import(&store, BufReader::new(bridge), named.as_ref(), &changes)
    })
    .await
    .map_err(|e| EngineError::Internal(format!("import: {e}")))?
    .map_err(errors::archive)?;
    let id = image.config_digest.to_string();
    publish(&engine, "import", &id, &id);
    if let Some(reference) = &reference {
        publish(&engine, "tag", &id, &reference.familiar());
    }
    let line = json_line(&JsonMessage::status(id));
    Ok(Response::builder()
        .header("Content-Type", "application/json")
        .body(Body::from(line))
        .map_err(|e| EngineError::Internal(e.to_string()))?)
}

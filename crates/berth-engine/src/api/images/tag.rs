//! `POST /images/{name}/tag?repo=&tag=`.

use axum::response::{IntoResponse, Response};
use berth_image::reference::Reference;
use hyper::StatusCode;

use super::{errors, param, publish, Params};
use crate::api::ApiResult;
use crate::engine::Engine;
use crate::error::EngineError;

/// Gives the image `name` the reference `repo:tag` (`tag` defaults to `latest`); 201.
pub(crate) fn tag(engine: &Engine, name: &str, params: &Params) -> ApiResult<Response> {
    let repo = param(params, "repo").map(String::as_str).unwrap_or("");
    if repo.is_empty() {
        return Err(EngineError::Invalid(
            "repository name must have at least one component".into(),
        )
        .into());
    }
    let text = match param(params, "tag")
        .map(String::as_str)
        .filter(|t| !t.is_empty())
    {
        Some(tag) => format!("{repo}:{tag}"),
        None => repo.to_string(),
    };
    let target = Reference::parse(&text).map_err(|e| EngineError::Invalid(e.to_string()))?;
    if target.digest().is_some() {
        return Err(EngineError::Invalid(format!(
            "refusing to create a tag with a digest reference: `{text}`"
        ))
        .into());
    }
    let store = engine.images();
    let digest = store.resolve(name).map_err(|e| errors::store(name, e))?;
    let image = store.image(&digest).map_err(|e| errors::store(name, e))?;
    store
        .tag(&target, &digest)
        .map_err(|e| errors::store(name, e))?;
    publish(
        engine,
        "tag",
        &image.config_digest.to_string(),
        &target.familiar(),
    );
    Ok(StatusCode::CREATED.into_response())
}

//! Routes: images (`/images/...`) and registry login (`/auth`).
//!
//! Image names in paths carry slashes and colons (`localhost:5000/team/app:1.0`), which a
//! `{name}` segment cannot hold: the fixed paths (`/images/json`, `/images/create`, ...)
//! are routed first, everything else under `/images/{*rest}`, where [`split_name`] takes
//! the known suffix (`json`, `history`, `get`, `push`, `tag`) off the end.
//!
//! Long operations (pull, push, save, load, import) run on their own tasks and stream
//! their output through a channel into the response body ([`stream`]).

mod archive;
mod auth;
mod errors;
mod import;
mod inspect;
mod list;
mod pull;
mod push;
mod remove;
pub(crate) mod stream;
mod tag;

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use berth_image::reference::Reference;

use super::{error_response, ApiResult, AppState};
use crate::engine::Engine;

/// Query parameters in order, repeated keys kept (`names=a&names=b`, `changes=...`).
pub(crate) type Params = Vec<(String, String)>;

/// The first value of `key`.
pub(crate) fn param<'a>(params: &'a Params, key: &str) -> Option<&'a String> {
    params.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Every value of `key`.
pub(crate) fn params_all<'a>(params: &'a Params, key: &str) -> Vec<&'a str> {
    params
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The images routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/images/json", get(list::list))
        .route("/images/create", post(create))
        .route("/images/load", post(archive::load))
        .route("/images/prune", post(remove::prune))
        .route("/images/get", get(archive::save_many))
        .route("/images/search", get(auth::search))
        .route(
            "/images/{*rest}",
            get(by_name).post(by_name).delete(by_name),
        )
        .route("/auth", post(auth::login))
}

/// `POST /images/create`: a pull (`fromImage`) or an import (`fromSrc`).
async fn create(
    State(engine): State<AppState>,
    Query(params): Query<Params>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    if param(&params, "fromSrc").is_some() {
        return import::import(engine, params, body).await;
    }
    pull::pull(engine, params, headers).await
}

/// What a path under `/images/` asks for.
#[derive(Debug, PartialEq, Eq)]
enum Action<'a> {
    Inspect(&'a str),
    History(&'a str),
    Save(&'a str),
    Push(&'a str),
    Tag(&'a str),
    Remove(&'a str),
}

/// Splits `name/suffix` for `method`; `None` when nothing matches (404).
fn split_name<'a>(method: &Method, rest: &'a str) -> Option<Action<'a>> {
    let rest = rest.trim_start_matches('/');
    if *method == Method::DELETE {
        return (!rest.is_empty()).then_some(Action::Remove(rest));
    }
    let (name, suffix) = rest.rsplit_once('/')?;
    if name.is_empty() {
        return None;
    }
    match (method.as_str(), suffix) {
        ("GET", "json") => Some(Action::Inspect(name)),
        ("GET", "history") => Some(Action::History(name)),
        ("GET", "get") => Some(Action::Save(name)),
        ("POST", "push") => Some(Action::Push(name)),
        ("POST", "tag") => Some(Action::Tag(name)),
        _ => None,
    }
}

async fn by_name(
    State(engine): State<AppState>,
    method: Method,
    Path(rest): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let Some(action) = split_name(&method, &rest) else {
        return Ok(error_response(
            hyper::StatusCode::NOT_FOUND,
            &format!("page not found: {method} /images/{rest}"),
        ));
    };
    match action {
        Action::Inspect(name) => inspect::inspect(&engine, name),
        Action::History(name) => inspect::history(&engine, name),
        Action::Save(name) => archive::save(engine, vec![name.to_string()]).await,
        Action::Push(name) => push::push(engine, name, &params, &headers).await,
        Action::Tag(name) => tag::tag(&engine, name, &params),
        Action::Remove(name) => remove::remove(&engine, name, &params),
    }
}

/// Publishes an image event as dockerd does: the actor is `id`, attribute `name`.
pub(crate) fn publish(engine: &Engine, action: &str, id: &str, name: &str) {
    let attributes = BTreeMap::from([("name".to_string(), name.to_string())]);
    engine.events().publish("image", action, id, attributes);
}

/// The short form docker prints of `name` in messages: `busybox` is `busybox:latest`;
/// ids and anything unparsable stay as given.
pub(crate) fn familiar_or_given(name: &str) -> String {
    let hex = name.strip_prefix("sha256:").unwrap_or(name);
    if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return name.to_string();
    }
    Reference::parse(name).map_or_else(|_| name.to_string(), |r| r.familiar())
}

/// The repository part of a reference as docker prints it (`busybox`,
/// `localhost:5000/team/app`): no tag, no digest.
pub(crate) fn familiar_name(reference: &Reference) -> String {
    let familiar = reference.familiar();
    let without_digest = familiar.split('@').next().unwrap_or(&familiar);
    let last = without_digest.rfind('/').map_or(0, |i| i + 1);
    match without_digest[last..].rfind(':') {
        Some(i) => without_digest[..last + i].to_string(),
        None => without_digest.to_string(),
    }
}

/// The first 12 hex digits of an id (`sha256:` dropped), as docker shortens them.
pub(crate) fn short_id(id: &str) -> String {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    hex.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_slashes_and_colons_split_from_their_suffix() {
        let get = Method::GET;
        assert_eq!(
            split_name(&get, "localhost:5000/team/app:1.0/json"),
            Some(Action::Inspect("localhost:5000/team/app:1.0"))
        );
        assert_eq!(
            split_name(&get, "busybox/history"),
            Some(Action::History("busybox"))
        );
        assert_eq!(split_name(&get, "busybox"), None);
        assert_eq!(split_name(&get, "/json"), None);
        assert_eq!(
            split_name(&Method::POST, "a/b:c/tag"),
            Some(Action::Tag("a/b:c"))
        );
        assert_eq!(split_name(&Method::POST, "a/json"), None);
        assert_eq!(
            split_name(&Method::DELETE, "localhost:5000/x/json"),
            Some(Action::Remove("localhost:5000/x/json"))
        );
    }

    #[test]
    fn messages_name_images_as_docker_does() {
        assert_eq!(familiar_or_given("busybox"), "busybox:latest");
        assert_eq!(familiar_or_given("3f57d9401f8d"), "3f57d9401f8d");
        assert_eq!(
            familiar_or_given("docker.io/library/busybox:1"),
            "busybox:1"
        );
        let r = Reference::parse("localhost:5000/team/app:1.0").unwrap();
        assert_eq!(familiar_name(&r), "localhost:5000/team/app");
    }
}

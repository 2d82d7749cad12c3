//! The HTTP API: one router, one dispatcher that splits `/v2/<name>/<resource>` (names
//! contain slashes, so the resource is found from the end of the path), and a handler
//! module per resource.

mod blobs;
mod listing;
mod manifests;
mod uploads;

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;

use crate::auth::{Action, Authorizer};
use crate::error::{ApiError, ErrorCode};
use crate::names::check_name;
use crate::storage::Storage;
use crate::uploads::Uploads;

/// The server's shared state.
#[derive(Debug)]
pub(crate) struct AppState {
    pub storage: Storage,
    pub auth: Authorizer,
    pub uploads: Uploads,
    /// Whether clients reach us over TLS (for the token realm derived from `Host`).
    pub tls: bool,
}

pub(crate) type App = Arc<AppState>;

pub(crate) fn router(app: App) -> Router {
    Router::new()
        .route("/v2", any(base))
        .route("/v2/", any(base))
        .route("/v2/{*rest}", any(dispatch))
        .route("/token", get(crate::token::token_endpoint))
        .with_state(app)
}

/// A request as the handlers see it.
pub(crate) struct Ctx {
    pub app: App,
    pub method: Method,
    pub headers: HeaderMap,
    pub query: HashMap<String, String>,
    pub name: String,
}

impl Ctx {
    fn realm_base(&self) -> String {
        realm_base(&self.app, &self.headers)
    }

    /// Authorises `action` on this request's repository.
    pub fn authorize(&self, action: Action) -> Result<(), ApiError> {
        self.authorize_on(&self.name, action)
    }

    /// Authorises `action` on another repository (the source of a mount).
    pub fn authorize_on(&self, name: &str, action: Action) -> Result<(), ApiError> {
        self.app
            .auth
            .check(&self.headers, &self.realm_base(), name, action)
    }
}

fn realm_base(app: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if app.tls { "https" } else { "http" };
    format!("{scheme}://{host}")
}

fn api_version(mut response: Response) -> Response {
    response.headers_mut().insert(
        "Docker-Distribution-API-Version",
        HeaderValue::from_static("registry/2.0"),
    );
    response
}

async fn base(State(app): State<App>, headers: HeaderMap) -> Response {
    let result = app
        .auth
        .check_base(&headers, &realm_base(&app, &headers), false);
    match result {
        Ok(_) => api_version(
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/json")],
                "{}",
            )
                .into_response(),
        ),
        Err(e) => e.into_response(),
    }
}

/// The resource a `/v2/<name>/...` path names.
enum Resource {
    Tags,
    Manifest(String),
    Blob(String),
    Upload(String),
    Referrers(String),
}

fn split_path(rest: &str) -> Option<(String, Resource)> {
    let (head, last) = rest.rsplit_once('/')?;
    let strip = |suffix: &str| head.strip_suffix(suffix);
    let (name, resource) = if last == "list" && head.ends_with("/tags") {
        (strip("/tags")?, Resource::Tags)
    } else if let Some(name) = strip("/manifests") {
        (name, Resource::Manifest(last.to_string()))
    } else if let Some(name) = strip("/blobs/uploads") {
        (name, Resource::Upload(last.to_string()))
    } else if let Some(name) = strip("/blobs") {
        if last == "uploads" {
            (name, Resource::Upload(String::new()))
        } else {
            (name, Resource::Blob(last.to_string()))
        }
    } else if let Some(name) = strip("/referrers") {
        (name, Resource::Referrers(last.to_string()))
    } else {
        return None;
    };
    Some((name.to_string(), resource))
}

async fn dispatch(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    app.storage.refresh_if_gc_ran();
    let query = Query::<HashMap<String, String>>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let rest = uri.path().strip_prefix("/v2/").unwrap_or_default();
    if rest == "_catalog" {
        let ctx = Ctx {
            app,
            method,
            headers,
            query,
            name: String::new(),
        };
        return finish(listing::catalog(&ctx));
    }
    let Some((name, resource)) = split_path(rest) else {
        return ApiError::new(
            ErrorCode::NameUnknown,
            format!("no route for `{}`", uri.path()),
        )
        .into_response();
    };
    if let Err(e) = check_name(&name) {
        return e.into_response();
    }
    let ctx = Ctx {
        app,
        method: method.clone(),
        headers,
        query,
        name,
    };
    let unsupported = || {
        Err(ApiError::new(
            ErrorCode::Unsupported,
            format!("method {method} is not supported here"),
        ))
    };
    let result = match (resource, &method) {
        (Resource::Tags, &Method::GET) => listing::tags(&ctx),
        (Resource::Referrers(d), &Method::GET) => manifests::referrers(&ctx, &d),
        (Resource::Manifest(r), &Method::GET | &Method::HEAD) => manifests::get(&ctx, &r),
        (Resource::Manifest(r), &Method::PUT) => manifests::put(&ctx, &r, body).await,
        (Resource::Manifest(r), &Method::DELETE) => manifests::delete(&ctx, &r).await,
        (Resource::Blob(d), &Method::GET | &Method::HEAD) => blobs::get(&ctx, &d).await,
        (Resource::Blob(d), &Method::DELETE) => blobs::delete(&ctx, &d),
        (Resource::Upload(id), _) => uploads::handle(&ctx, &id, body).await,
        _ => unsupported(),
    };
    finish(result)
}

fn finish(result: Result<Response, ApiError>) -> Response {
    match result {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// Parses a digest from a path or query, as DIGEST_INVALID when malformed.
pub(crate) fn parse_digest(text: &str) -> Result<berth_image::digest::Digest, ApiError> {
    text.parse()
        .map_err(|e: berth_image::digest::InvalidDigest| {
            ApiError::new(ErrorCode::DigestInvalid, e.to_string())
                .detail(serde_json::json!({ "digest": text }))
        })
}

/// Runs blocking disk work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(ApiError::internal)?
}

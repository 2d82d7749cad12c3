//! The Docker Engine API over HTTP/1.1: routing, version prefixes, the error boundary.
//!
//! Every path may carry a `/v1.NN` prefix (clients negotiate the version through
//! `/_ping`); it is checked and stripped before routing, so handlers see unversioned paths.
//! Errors leave handlers as [`ApiError`], which answers Docker's `{"message": "..."}` with
//! the status each engine error maps to: the one place where errors become HTTP.

pub mod build;
pub mod container_data;
pub mod containers;
pub mod exec;
pub mod hijack;
pub mod images;
pub mod networks;
pub mod query;
pub mod system;
pub mod volumes;

use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::Router;
use berth_client::types::version::{ApiVersion, MAX_API_VERSION};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, UnixListener};
use tower::ServiceExt;

use crate::engine::Engine;
use crate::error::EngineError;

/// The oldest API version accepted on versioned paths (Docker's own minimum).
pub const MIN_ACCEPTED_VERSION: ApiVersion = ApiVersion::new(1, 24);

/// The router state.
pub type AppState = Arc<Engine>;

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub EngineError);

impl<E: Into<EngineError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        if status == StatusCode::NOT_MODIFIED {
            return status.into_response();
        }
        if status.is_server_error() {
            tracing::warn!(error = %self.0, "request failed");
        }
        error_response(status, &self.0.to_string())
    }
}

/// Docker's error body.
pub fn error_response(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "message": message }).to_string();
    Response::builder()
        .status(status)
        .header("Content-Type", "application/json")
        .body(Body::from(body))
        .unwrap_or_else(|_| status.into_response())
}

/// A handler's result.
pub type ApiResult<T> = Result<T, ApiError>;

/// Every route.
pub fn router(engine: Arc<Engine>) -> Router {
    Router::new()
        .merge(system::routes())
        .merge(containers::routes())
        .merge(container_data::routes())
        .merge(exec::routes())
        .merge(images::routes())
        .merge(build::routes())
        .merge(networks::routes())
        .merge(volumes::routes())
        .fallback(|req: Request<Body>| async move {
            error_response(
                StatusCode::NOT_FOUND,
                &format!("page not found: {} {}", req.method(), req.uri().path()),
            )
        })
        .with_state(engine)
}

/// Strips a `/v1.NN` prefix; refuses versions berth does not speak.
fn strip_version(req: &mut Request<Body>) -> Result<(), Box<Response>> {
    let path = req.uri().path();
    let Some(rest) = path.strip_prefix("/v") else {
        return Ok(());
    };
    let (version, tail) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let Ok(parsed) = version.parse::<ApiVersion>() else {
        return Ok(()); // not a version prefix: let routing answer
    };
    if parsed > MAX_API_VERSION {
        return Err(Box::new(error_response(
            StatusCode::BAD_REQUEST,
            &format!(
                "client version {parsed} is too new. Maximum supported API version is {MAX_API_VERSION}"
            ),
        )));
    }
    if parsed < MIN_ACCEPTED_VERSION {
        return Err(Box::new(error_response(
            StatusCode::BAD_REQUEST,
            &format!(
                "client version {parsed} is too old. Minimum supported API version is {MIN_ACCEPTED_VERSION}, please upgrade your client to a newer version"
            ),
        )));
    }
    let mut target = tail.to_string();
    if let Some(query) = req.uri().query() {
        target.push('?');
        target.push_str(query);
    }
    match target.parse() {
        Ok(uri) => {
            *req.uri_mut() = uri;
            Ok(())
        }
        Err(_) => Err(Box::new(error_response(
            StatusCode::BAD_REQUEST,
            "invalid request URI",
        ))),
    }
}

/// Answers one request: version prefix, then the router.
async fn handle(
    router: Router,
    req: Request<hyper::body::Incoming>,
) -> Result<Response, Infallible> {
    let mut req = req.map(Body::new);
    if let Err(response) = strip_version(&mut req) {
        return Ok(*response);
    }
    let mut response = router.oneshot(req).await?;
    let headers = response.headers_mut();
    headers.insert(
        "Api-Version",
        hyper::header::HeaderValue::from_static(API_VERSION),
    );
    headers.insert("Server", hyper::header::HeaderValue::from_static(SERVER));
    headers.insert("Ostype", hyper::header::HeaderValue::from_static("linux"));
    headers.insert(
        "Docker-Experimental",
        hyper::header::HeaderValue::from_static("false"),
    );
    Ok(response)
}

/// `MAX_API_VERSION` as a header value.
pub const API_VERSION: &str = "1.47";
/// The `Server` header.
pub const SERVER: &str = concat!("berth/", env!("CARGO_PKG_VERSION"), " (linux)");

/// Serves one connection (HTTP/1.1 with upgrades, for attach and exec).
fn serve_connection<S>(router: Router, stream: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let service = hyper::service::service_fn(move |req| handle(router.clone(), req));
        let connection = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "connection ended with an error");
        }
    });
}

/// A listening address.
#[derive(Debug)]
pub enum Listener {
    /// A unix socket.
    Unix(UnixListener),
    /// TCP.
    Tcp(TcpListener),
}

/// Binds `host` (`unix:///path`, `tcp://addr:port`, or `fd://` is not supported).
pub async fn bind(host: &str) -> Result<Listener, EngineError> {
    if let Some(path) = host.strip_prefix("unix://") {
        let path = Path::new(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| EngineError::io("create", parent, e))?;
        }
        // A socket left by a daemon that died; a live one would have answered the CLI.
        let _ = std::fs::remove_file(path);
        let listener =
            UnixListener::bind(path).map_err(|e| EngineError::io("listen on", path, e))?;
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660));
        return Ok(Listener::Unix(listener));
    }
    if let Some(addr) = host.strip_prefix("tcp://") {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| EngineError::io("listen on", addr, e))?;
        return Ok(Listener::Tcp(listener));
    }
    Err(EngineError::Invalid(format!(
        "invalid -H `{host}`: expected unix:///path or tcp://host:port"
    )))
}

/// Accepts connections on `listener` forever.
pub async fn serve(listener: Listener, router: Router) {
    loop {
        match &listener {
            Listener::Unix(l) => match l.accept().await {
                Ok((stream, _)) => serve_connection(router.clone(), stream),
                Err(e) => accept_failed(e).await,
            },
            Listener::Tcp(l) => match l.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    serve_connection(router.clone(), stream)
                }
                Err(e) => accept_failed(e).await,
            },
        }
    }
}

async fn accept_failed(e: std::io::Error) {
    tracing::warn!(error = %e, "accept failed");
    // Out of descriptors, most likely: give the others time to close.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
}

/// JSON with status 200.
pub fn json<T: serde::Serialize>(value: &T) -> Response {
    json_status(StatusCode::OK, value)
}

/// JSON with a status.
pub fn json_status<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => Response::builder()
            .status(status)
            .header("Content-Type", "application/json")
            .body(Body::from(body))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()),
        Err(e) => error_response(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// Parses a JSON request body into `T`, answering Docker's 400 on bad input.
pub fn parse_body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return serde_json::from_slice(b"{}")
            .map_err(|_| ApiError(EngineError::Invalid("a request body is required".into())));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError(EngineError::Invalid(format!(
            "invalid JSON in the request body: {e}"
        )))
    })
}

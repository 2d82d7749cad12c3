//! Routes: system — `/_ping`, `/version`, `/info`, `/system/df`, `/events`.
//!
//! One file per route group: [`info`] gathers what the host and the daemon are,
//! [`df`] disk usage, [`events`] the event stream and its filters.

pub mod df;
pub mod events;
pub mod host;
pub mod info;

use axum::body::Body;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use berth_client::types::system::{ComponentVersion, Platform, SystemVersion};
use hyper::StatusCode;

use super::{json, AppState, API_VERSION, MIN_ACCEPTED_VERSION};

/// The system routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        // axum answers HEAD on GET routes, without the body.
        .route("/_ping", get(ping))
        .route("/version", get(version))
        .route("/info", get(info::info))
        .route("/system/df", get(df::disk_usage))
        .route("/events", get(events::events))
}

/// `GET|HEAD /_ping`: clients read the headers to negotiate the API version.
async fn ping() -> Response {
    Response::builder()
        .status(StatusCode::OK)
        .header("Content-Type", "text/plain; charset=utf-8")
        .header("Builder-Version", "1")
        .header("Cache-Control", "no-cache, no-store, must-revalidate")
        .header("Pragma", "no-cache")
        .body(Body::from("OK"))
        .unwrap_or_else(|_| Response::new(Body::from("OK")))
}

/// berth's version (the workspace's).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The commit berth was built from, when the build passed it (`BERTH_GIT_COMMIT`).
pub fn git_commit() -> &'static str {
    option_env!("BERTH_GIT_COMMIT").unwrap_or("")
}

/// `GET /version`.
async fn version() -> Response {
    json(&system_version())
}

/// What `/version` answers.
pub fn system_version() -> SystemVersion {
    let kernel = host::kernel_version();
    let arch = host::go_arch();
    let details = serde_json::json!({
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_ACCEPTED_VERSION.to_string(),
        "GitCommit": git_commit(),
        "GoVersion": "rust",
        "Os": std::env::consts::OS,
        "Arch": arch,
        "KernelVersion": kernel,
        "Experimental": "false",
        "BuildTime": option_env!("BERTH_BUILD_TIME").unwrap_or(""),
    });
    let details = match details {
        serde_json::Value::Object(map) => map.into_iter().collect(),
        _ => Default::default(),
    };
    SystemVersion {
        platform: Some(Platform {
            name: "berth".to_string(),
        }),
        components: Some(vec![ComponentVersion {
            name: "Engine".to_string(),
            version: VERSION.to_string(),
            details: Some(details),
        }]),
        version: VERSION.to_string(),
        api_version: API_VERSION.to_string(),
        min_api_version: MIN_ACCEPTED_VERSION.to_string(),
        git_commit: git_commit().to_string(),
        go_version: "rust".to_string(),
        os: std::env::consts::OS.to_string(),
        arch: arch.to_string(),
        kernel_version: kernel,
        experimental: Some(false),
        build_time: option_env!("BERTH_BUILD_TIME").map(str::to_string),
    }
}

//! Routes: exec.

use axum::Router;

use super::AppState;

/// The exec routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}

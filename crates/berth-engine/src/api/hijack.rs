//! Routes: hijack.

use axum::Router;

use super::AppState;

/// The hijack routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}

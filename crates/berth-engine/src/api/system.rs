//! Routes: system.

use axum::Router;

use super::AppState;

/// The system routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}

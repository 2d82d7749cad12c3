//! Routes: containers.

use axum::Router;

use super::AppState;

/// The containers routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}

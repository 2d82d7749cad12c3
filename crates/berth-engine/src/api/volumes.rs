//! Routes: volumes.

use axum::Router;

use super::AppState;

/// The volumes routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}

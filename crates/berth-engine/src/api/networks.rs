//! Routes: networks.

use axum::Router;

use super::AppState;

/// The networks routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}

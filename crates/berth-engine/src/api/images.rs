//! Routes: images.

use axum::Router;

use super::AppState;

/// The images routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}

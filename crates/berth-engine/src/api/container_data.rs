//! Routes: what can be read from or written into a container: logs, stats, top,
//! archive (`docker cp`), export, update, changes.

use axum::Router;

use super::AppState;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
}

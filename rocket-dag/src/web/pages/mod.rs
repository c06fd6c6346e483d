//! The HTML pages.

use axum::Router;

use super::AppState;

/// The pages' routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
}

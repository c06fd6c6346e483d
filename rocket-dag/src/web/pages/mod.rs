//! The HTML pages: server-rendered with askama (templates under `templates/web/`), usable
//! without JavaScript; one small static script (`/static/live.js`) swaps in fresh fragments
//! while runs progress and tails logs over server-sent events.
//!
//! | module | pages |
//! |---|---|
//! | `assets` | `/static/style.css`, `/static/live.js` (embedded in the binary) |
//! | `login` | `/login`, `/logout` |
//! | `dags` | `/`: every DAG, pause and trigger forms |
//! | `grid` | a DAG's Grid tab (runs × tasks) and its live fragment |
//! | `tabs` | a DAG's Graph, Gantt, Code and Details tabs |
//! | `run` | a run: its tasks, mark success/failed, clear failed tasks |
//! | `instance` | a task instance: tries, output, logs, clear and mark |
//! | `logs` | an attempt's log: download and live tail (SSE) |
//! | `downloads` | the course deliverables: draw.io, Gantt, report, PDF, export archive |
//!
//! Every id from a path is checked with [`crate::ids`] before it is used, every POST carries
//! the caller's CSRF token, and every value is HTML-escaped by askama (the SVGs come escaped
//! from [`crate::viz`]).

mod assets;
mod chrome;
mod dags;
mod downloads;
mod grid;
mod instance;
mod login;
mod logs;
mod run;
mod tabs;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::AppState;
use super::auth::Caller;
use crate::control::ControlError;
use crate::dag::Dag;
use crate::ids::InvalidId;
use crate::store::StoreError;
use crate::viz::VizError;

pub(crate) use chrome::Chrome;

/// The pages' routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .merge(assets::routes())
        .merge(login::routes())
        .merge(dags::routes())
        .merge(grid::routes())
        .merge(tabs::routes())
        .merge(run::routes())
        .merge(instance::routes())
        .merge(logs::routes())
        .merge(downloads::routes())
}

/// Why a page cannot be shown or an action was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PageError {
    /// An id in the path or form that may not be used.
    #[error(transparent)]
    BadId(#[from] InvalidId),
    /// No such DAG in this binary.
    #[error("no DAG `{0}` in this binary")]
    NoDag(String),
    /// Something named that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A form without the caller's CSRF token.
    #[error("the form's CSRF token is missing or wrong: reload the page and try again")]
    Csrf,
    /// A form value that cannot be used.
    #[error("{0}")]
    BadRequest(String),
    /// An action refused or failed.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// The run history failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A picture could not be made.
    #[error(transparent)]
    Viz(#[from] VizError),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(String),
}

impl PageError {
    fn status(&self) -> StatusCode {
        match self {
            PageError::BadId(_) | PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::NoDag(_) | PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::Csrf => StatusCode::FORBIDDEN,
            PageError::Control(e) => match e {
                ControlError::NoRun { .. } => StatusCode::NOT_FOUND,
                ControlError::RunExists { .. }
                | ControlError::LogicalDateTaken { .. }
                | ControlError::External { .. } => StatusCode::CONFLICT,
                ControlError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            },
            PageError::Viz(VizError::NoRun { .. }) => StatusCode::NOT_FOUND,
            PageError::Store(_) | PageError::Viz(_) | PageError::Io(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "web page failed");
        }
        let page = chrome::ErrorPage {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("Error"),
            message: self.to_string(),
        };
        (status, render(&page)).into_response()
    }
}

/// A template rendered to an HTML response (a template that cannot render is a bug: 500).
pub(crate) fn render<T: askama::Template>(page: &T) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page template failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

/// The DAG `id` of this binary, its id checked first.
pub(crate) fn find_dag<'a>(state: &'a AppState, id: &str) -> Result<&'a Dag, PageError> {
    crate::ids::dag(id)?;
    state.dag(id).ok_or_else(|| PageError::NoDag(id.to_owned()))
}

/// Refuses a form whose CSRF token is not the caller's.
pub(crate) fn csrf(caller: &Caller, token: &str) -> Result<(), PageError> {
    if super::security::check_csrf(caller, token) {
        Ok(())
    } else {
        Err(PageError::Csrf)
    }
}

/// `s` as one path segment or query value: everything but unreserved characters
/// percent-encoded (run ids carry `:` and `+`).
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Links between pages, built in one place.
pub(crate) mod url {
    use super::enc;

    /// A DAG's tab (`grid`, `graph`, `gantt`, `code`, `details`), optionally for one run.
    pub(crate) fn tab(dag: &str, tab: &str, run: Option<&str>) -> String {
        match run {
            Some(r) => format!("/dags/{}/{tab}?run_id={}", enc(dag), enc(r)),
            None => format!("/dags/{}/{tab}", enc(dag)),
        }
    }

    /// A run's page.
    pub(crate) fn run(dag: &str, run: &str) -> String {
        format!("/dags/{}/runs/{}", enc(dag), enc(run))
    }

    /// A task instance's page (`map_index` for an element of a mapped task).
    pub(crate) fn instance(dag: &str, run: &str, task: &str, map_index: i32) -> String {
        let base = format!("{}/tasks/{}", self::run(dag, run), enc(task));
        if map_index >= 0 {
            format!("{base}?map_index={map_index}")
        } else {
            base
        }
    }

    /// An attempt's log (`suffix`: `""` to download, `"/tail"` for the live tail).
    pub(crate) fn log(
        dag: &str,
        run: &str,
        task: &str,
        map_index: i32,
        try_number: u32,
        suffix: &str,
    ) -> String {
        let base = format!(
            "{}/tasks/{}/logs/{try_number}{suffix}",
            self::run(dag, run),
            enc(task)
        );
        if map_index >= 0 {
            format!("{base}?map_index={map_index}")
        } else {
            base
        }
    }
}

/// An instant for people: `2026-12-04 06:32:16 UTC`.
pub(crate) fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A duration for people: `9 ms`, `1.2 s`, `3 min 4 s`.
pub(crate) fn took(d: std::time::Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{} ms", d.as_millis())
    } else if s < 60.0 {
        format!("{s:.1} s")
    } else {
        format!("{} min {} s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

#[cfg(test)]
mod tests;

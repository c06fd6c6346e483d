//! Airflow's stable REST API v1, for what exists here: same paths, JSON field names, states,
//! pagination and problem JSON, so that scripts and Airflow's own API clients work unchanged.
//!
//! | module | resource |
//! |---|---|
//! | `dags` | `/dags`, `/dags/{dag_id}`, its tasks |
//! | `dag_runs` | `/dags/{dag_id}/dagRuns…` |
//! | `task_instances` | `…/taskInstances…`, `/dags/{dag_id}/clearTaskInstances` |
//! | `logs` | `…/taskInstances/{task_id}/logs/{task_try_number}` |
//! | `health` | `/health`, `/version` |
//! | `openapi` | the OpenAPI document of exactly these paths |
//! | `params` | query parameters, pagination, ordering, JSON bodies |
//!
//! Every path parameter is checked by [`crate::ids`] before it reaches the store or a path.

mod clear;
mod dag_runs;
mod dags;
mod health;
mod logs;
mod openapi;
mod params;
mod task_instances;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, patch, post};
use chrono::{DateTime, Utc};

use super::AppState;
use crate::control::ControlError;
use crate::ids::InvalidId;
use crate::store::StoreError;

/// Where Airflow's problem types point (its documentation of 2.8.1).
const DOCS: &str = "https://airflow.apache.org/docs/apache-airflow/2.8.1/stable-rest-api-ref.html";

/// The routes under `/api/v1`: one per operation of the OpenAPI document, so the document
/// lists exactly what is served.
pub(super) fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for op in openapi::operations() {
        router = router.route(op.path, handler(op.id));
    }
    router.fallback(not_found)
}

/// The handler of an operation, by its Airflow operation id.
fn handler(operation_id: &str) -> MethodRouter<AppState> {
    use dag_runs as r;
    use task_instances as ti;
    match operation_id {
        "get_dags" => get(dags::list),
        "get_dag" => get(dags::get_one),
        "patch_dag" => patch(dags::patch),
        "get_tasks" => get(dags::tasks),
        "get_task" => get(dags::task),
        "get_dag_runs" => get(r::list),
        "post_dag_run" => post(r::trigger),
        "get_dag_run" => get(r::get_one),
        "update_dag_run_state" => patch(r::patch),
        "get_task_instances" => get(ti::list),
        "get_task_instance" => get(ti::get_one),
        "patch_task_instance" => patch(ti::patch),
        "get_mapped_task_instances" => get(ti::list_mapped),
        "get_mapped_task_instance" => get(ti::get_mapped),
        "patch_mapped_task_instance" => patch(ti::patch_mapped),
        "get_log" => get(logs::get_log),
        "post_clear_task_instances" => post(clear::clear),
        "get_health" => get(health::health),
        "get_version" => get(health::version),
        "get_openapi_json" => get(openapi::json),
        "get_openapi_yaml" => get(openapi::yaml),
        other => unreachable!("operation `{other}` of the OpenAPI document has no handler"),
    }
}

async fn not_found() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "Not Found",
        "The requested URL was not found on the server. If you entered the URL manually please \
         check your spelling and try again.",
    )
}

/// The problem type Airflow gives a status.
fn problem_type(status: StatusCode) -> String {
    let section = match status.as_u16() {
        400 => "BadRequest",
        401 => "Unauthenticated",
        403 => "PermissionDenied",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "AlreadyExists",
        _ => "Unknown",
    };
    format!("{DOCS}#section/Errors/{section}")
}

/// An error as Airflow's API answers it: `application/problem+json` with `type`, `title`,
/// `status` and `detail`.
pub(crate) fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    problem_with(status, title, Some(detail))
}

/// [`problem`], with `"detail": null` when there is none (as Airflow's `NotFound(title)`).
fn problem_with(status: StatusCode, title: &str, detail: Option<&str>) -> Response {
    let body = serde_json::json!({
        "detail": detail,
        "status": status.as_u16(),
        "title": title,
        "type": problem_type(status),
    });
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// Why a request failed, as the problem JSON it becomes.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// 404, with Airflow's title for what is missing.
    #[error("{title}")]
    NotFound {
        /// "DAG not found", "DAGRun not found", …
        title: &'static str,
        /// What exactly.
        detail: Option<String>,
    },
    /// 400.
    #[error("{0}")]
    BadRequest(String),
    /// 409.
    #[error("{0}")]
    Conflict(String),
    /// 415: a body that is not JSON.
    #[error("unsupported media type")]
    MediaType,
    /// A path parameter that is no id (400).
    #[error(transparent)]
    InvalidId(#[from] InvalidId),
    /// The run history failed (500).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApiError {
    /// 404 with `title` and `detail`.
    pub(crate) fn not_found(title: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError::NotFound {
            title,
            detail: Some(detail.into()),
        }
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> ApiError {
        match e {
            ControlError::NoRun { dag, run } => ApiError::not_found(
                "DAGRun not found",
                format!("DAGRun with DAG ID: '{dag}' and DagRun ID: '{run}' not found"),
            ),
            ControlError::RunExists { dag, run } => ApiError::Conflict(format!(
                "DAGRun with DAG ID: '{dag}' and DAGRun ID: '{run}' already exists"
            )),
            ControlError::LogicalDateTaken {
                dag, logical_date, ..
            } => ApiError::Conflict(format!(
                "DAGRun with DAG ID: '{dag}' and DAGRun logical date: '{}' already exists",
                logical_date.format("%Y-%m-%d %H:%M:%S%:z")
            )),
            e @ ControlError::External { .. } => ApiError::Conflict(e.to_string()),
            ControlError::InvalidId(e) => ApiError::InvalidId(e),
            ControlError::Store(e) => ApiError::Store(e),
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::NotFound { title, detail } => {
                problem_with(StatusCode::NOT_FOUND, title, detail.as_deref())
            }
            ApiError::BadRequest(d) => problem(StatusCode::BAD_REQUEST, "Bad Request", &d),
            ApiError::InvalidId(e) => {
                problem(StatusCode::BAD_REQUEST, "Bad Request", &e.to_string())
            }
            ApiError::Conflict(d) => problem(StatusCode::CONFLICT, "Conflict", &d),
            ApiError::MediaType => problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type",
                "Invalid Content-type (), expected JSON data",
            ),
            ApiError::Store(e) => {
                // The cause goes to the server's log, not to the caller.
                tracing::error!("REST API: {e}");
                problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Server Error",
                    "The run history could not be read or written; see the server's log.",
                )
            }
        }
    }
}

/// What handlers return.
pub(crate) type ApiResult<T = Response> = Result<T, ApiError>;

/// An instant as Airflow writes it: Python's `isoformat()` in UTC (`2024-01-01T00:00:00+00:00`,
/// microseconds only when there are some).
pub(crate) fn iso(t: DateTime<Utc>) -> String {
    if t.timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
    }
}

/// [`iso`], or `null`.
pub(crate) fn iso_opt(t: Option<DateTime<Utc>>) -> serde_json::Value {
    t.map_or(serde_json::Value::Null, |t| iso(t).into())
}

/// A JSON response (`application/json`).
pub(crate) fn json(value: serde_json::Value) -> Response {
    axum::Json(value).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_problem_types_are_airflows() {
        let t = DateTime::parse_from_rfc3339("2024-01-02T03:04:05Z")
            .unwrap()
            .to_utc();
        assert_eq!(iso(t), "2024-01-02T03:04:05+00:00");
        let t = t + chrono::Duration::microseconds(1234);
        assert_eq!(iso(t), "2024-01-02T03:04:05.001234+00:00");
        assert!(problem_type(StatusCode::NOT_FOUND).ends_with("#section/Errors/NotFound"));
        assert!(problem_type(StatusCode::CONFLICT).ends_with("#section/Errors/AlreadyExists"));
    }
}

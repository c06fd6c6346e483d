//! Airflow's stable REST API v1, for what exists here: same paths, JSON field names, states,
//! pagination and problem JSON, so that scripts and Airflow's own API clients work unchanged.

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;

/// The routes under `/api/v1`.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
}

/// An error as Airflow's API answers it: `application/problem+json` with `type`, `title`,
/// `status` and `detail`.
pub(crate) fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": format!(
            "https://airflow.apache.org/docs/apache-airflow/2.8.1/stable-rest-api-ref.html#section/Errors/{}",
            title.replace(' ', "")
        ),
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

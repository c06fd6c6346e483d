//! Unit tests of what the pages share: links, escaping of path segments, the error statuses.

use super::*;

#[test]
fn links_encode_run_ids() {
    let run = "manual__2026-12-04T06:00:00.123+00:00";
    assert_eq!(
        url::run("d", run),
        "/dags/d/runs/manual__2026-12-04T06%3A00%3A00.123%2B00%3A00"
    );
    assert_eq!(
        url::instance("d", "r", "t", 3),
        "/dags/d/runs/r/tasks/t?map_index=3"
    );
    assert_eq!(url::instance("d", "r", "t", -1), "/dags/d/runs/r/tasks/t");
    assert_eq!(
        url::log("d", "r", "t", -1, 2, "/tail"),
        "/dags/d/runs/r/tasks/t/logs/2/tail"
    );
    assert_eq!(
        url::tab("d", "grid", Some("a b")),
        "/dags/d/grid?run_id=a%20b"
    );
    assert_eq!(enc("../x"), "..%2Fx");
}

#[test]
fn errors_answer_with_their_status_and_escape_their_message() {
    let bad = crate::ids::dag("..").unwrap_err();
    assert_eq!(PageError::BadId(bad).status(), StatusCode::BAD_REQUEST);
    assert_eq!(PageError::NoDag("x".into()).status(), StatusCode::NOT_FOUND);
    assert_eq!(PageError::Csrf.status(), StatusCode::FORBIDDEN);
    let page = chrome::ErrorPage {
        status: 404,
        reason: "Not Found",
        message: "no DAG `<script>`".into(),
    };
    let html = askama::Template::render(&page).unwrap();
    assert!(!html.contains("<script>") && html.contains("&#60;script&#62;"));
}

#[test]
fn durations_read_for_people() {
    use std::time::Duration;
    assert_eq!(took(Duration::from_micros(9_400)), "9 ms");
    assert_eq!(took(Duration::from_millis(1234)), "1.2 s");
    assert_eq!(took(Duration::from_secs(184)), "3 min 4 s");
}

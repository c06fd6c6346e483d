//! Airflow's REST API v1 over real HTTP: every endpoint, a run triggered and followed to
//! success by the in-process scheduler, pagination and ordering, problem JSON, auth,
//! cross-origin refusal and path traversal.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use reqwest::{Method, StatusCode};
use rocket_dag::store::{
    DagRunRecord, NOT_MAPPED, RunStateRecord, RunType, TaskInstanceRecord, TaskStateRecord,
};
use serde_json::{Value, json};

use crate::{Options, Web, client};

/// A response: status, headers and the body as JSON (`Null` when it is not JSON).
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
    text: String,
}

async fn call(web: &Web, method: Method, path: &str, body: Option<Value>) -> Answer {
    let mut req = client().request(method, web.url(path));
    if let Some(b) = body {
        req = req.json(&b);
    }
    answer(req).await
}

async fn answer(req: reqwest::RequestBuilder) -> Answer {
    let r = req.send().await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        text,
    }
}

async fn get(web: &Web, path: &str) -> Answer {
    call(web, Method::GET, path, None).await
}

/// GET as Airflow's API client does it: `Accept: application/json`.
async fn get_json(web: &Web, path: &str) -> Answer {
    answer(
        client()
            .get(web.url(path))
            .header("accept", "application/json"),
    )
    .await
}

/// Asserts `a` is Airflow's problem JSON with `status` and `title`.
fn assert_problem(a: &Answer, status: u16, title: &str) {
    assert_eq!(a.status.as_u16(), status, "{}", a.text);
    assert_eq!(
        a.headers["content-type"], "application/problem+json",
        "{}",
        a.text
    );
    assert_eq!(a.body["status"], status, "{}", a.text);
    assert_eq!(a.body["title"], title, "{}", a.text);
    let t = a.body["type"].as_str().unwrap();
    assert!(
        t.starts_with(
            "https://airflow.apache.org/docs/apache-airflow/2.8.1/stable-rest-api-ref.html#section/Errors/"
        ),
        "{t}"
    );
    assert!(a.body.as_object().unwrap().contains_key("detail"));
}

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, day, 0, 0, 0).unwrap()
}

fn run_record(dag: &str, run: &str, logical: DateTime<Utc>, state: RunStateRecord) -> DagRunRecord {
    DagRunRecord {
        dag_id: dag.into(),
        run_id: run.into(),
        run_type: RunType::Scheduled,
        logical_date: logical,
        data_interval_start: logical,
        data_interval_end: logical + chrono::Duration::days(1),
        state,
        start: logical + chrono::Duration::hours(1),
        end: (state != RunStateRecord::Running).then(|| logical + chrono::Duration::hours(2)),
        conf: json!({}),
    }
}

fn try_record(
    run: &DagRunRecord,
    task: &str,
    map_index: i32,
    try_number: u32,
    state: TaskStateRecord,
) -> TaskInstanceRecord {
    TaskInstanceRecord {
        dag_id: run.dag_id.clone(),
        run_id: run.run_id.clone(),
        task_id: task.into(),
        map_index,
        try_number,
        state,
        start: run.start,
        end: Some(run.start + chrono::Duration::seconds(3)),
        duration: Some(Duration::from_secs(3)),
        hostname: "worker".into(),
        pid: Some(7),
        log_path: None,
        error: None,
    }
}

/// A server without a scheduler, with `runs` runs of listing_2_10 (run_00 …, logical dates
/// March 1 …; every third failed) whose three tasks are recorded.
async fn seeded(runs: u32) -> Web {
    let web = Web::start(Options {
        scheduler: false,
        ..Options::default()
    })
    .await;
    for n in 0..runs {
        let state = if n % 3 == 2 {
            RunStateRecord::Failed
        } else {
            RunStateRecord::Success
        };
        let run = run_record("listing_2_10", &format!("run_{n:02}"), at(1 + n), state);
        web.store.upsert_run(&run).await.unwrap();
        for task in ["download_launches", "get_pictures", "notify"] {
            let s = if state == RunStateRecord::Failed && task == "notify" {
                TaskStateRecord::Failed
            } else {
                TaskStateRecord::Success
            };
            let t = try_record(&run, task, NOT_MAPPED, 1, s);
            web.store.upsert_task_instance(&t).await.unwrap();
        }
    }
    web
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_triggered_through_the_api_runs_to_success() {
    let web = Web::start(Options::default()).await;
    let body = json!({ "dag_run_id": "api_run_1", "conf": { "k": 1 }, "note": "from a test" });
    let r = call(
        &web,
        Method::POST,
        "/api/v1/dags/listing_2_10/dagRuns",
        Some(body.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["dag_run_id"], "api_run_1");
    assert_eq!(r.body["state"], "queued");
    assert_eq!(r.body["run_type"], "manual");
    assert_eq!(r.body["external_trigger"], true);
    assert_eq!(r.body["conf"], json!({ "k": 1 }));
    assert!(r.body["logical_date"].as_str().unwrap().ends_with("+00:00"));
    // The same id again: Airflow's 409.
    let again = call(
        &web,
        Method::POST,
        "/api/v1/dags/listing_2_10/dagRuns",
        Some(body),
    )
    .await;
    assert_problem(&again, 409, "Conflict");
    assert_eq!(
        again.body["detail"],
        "DAGRun with DAG ID: 'listing_2_10' and DAGRun ID: 'api_run_1' already exists"
    );
    // Another id at the same logical date: Airflow's 409 too (one run per date).
    let same_date = call(
        &web,
        Method::POST,
        "/api/v1/dags/listing_2_10/dagRuns",
        Some(json!({
            "dag_run_id": "api_run_2",
            "logical_date": r.body["logical_date"].clone(),
        })),
    )
    .await;
    assert_problem(&same_date, 409, "Conflict");
    assert!(
        same_date.body["detail"]
            .as_str()
            .unwrap()
            .contains("DAGRun logical date"),
        "{}",
        same_date.text
    );
    let path = "/api/v1/dags/listing_2_10/dagRuns/api_run_1";
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    let run = loop {
        let r = get(&web, path).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        match r.body["state"].as_str().unwrap() {
            "success" => break r.body,
            "failed" => panic!("the run failed: {}", r.text),
            _ => {}
        }
        assert!(std::time::Instant::now() < deadline, "still {}", r.text);
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(run["start_date"].is_string() && run["end_date"].is_string());
    let tis = get(&web, &format!("{path}/taskInstances")).await;
    assert_eq!(tis.body["total_entries"], 3, "{}", tis.text);
    for ti in tis.body["task_instances"].as_array().unwrap() {
        assert_eq!(ti["state"], "success", "{ti}");
        assert_eq!(ti["try_number"], 1);
        assert_eq!(ti["map_index"], -1);
        assert_eq!(ti["dag_run_id"], "api_run_1");
        assert_eq!(ti["execution_date"], run["logical_date"]);
        assert!(ti["duration"].is_number());
    }
    let one = get(&web, &format!("{path}/taskInstances/notify")).await;
    assert_eq!(one.body["task_id"], "notify", "{}", one.text);
    check_log_and_health(&web, path).await;
    web.stop().await;
}

/// The log of a finished try (JSON and text) and the health of a home with a scheduler.
async fn check_log_and_health(web: &Web, path: &str) {
    // Its log, as JSON (Airflow 2.8's repr of [(host, text)]) and as text.
    let log = get_json(web, &format!("{path}/taskInstances/notify/logs/1")).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text);
    let content = log.body["content"].as_str().unwrap();
    assert!(content.starts_with("[('"), "{content}");
    assert!(log.body["continuation_token"].is_string());
    let plain = answer(
        client()
            .get(web.url(&format!("{path}/taskInstances/notify/logs/1")))
            .header("accept", "text/plain"),
    )
    .await;
    assert!(
        plain.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(!plain.text.is_empty());
    // The scheduler holds the home's lock in this process: healthy.
    let health = get(web, "/api/v1/health").await;
    assert_eq!(health.body["metadatabase"]["status"], "healthy");
    assert_eq!(
        health.body["scheduler"]["status"], "healthy",
        "{}",
        health.text
    );
    assert!(health.body["scheduler"]["latest_scheduler_heartbeat"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dags_tasks_version_and_health_have_airflows_fields() {
    let web = Web::start(Options {
        scheduler: false,
        ..Options::default()
    })
    .await;
    let dags = get(&web, "/api/v1/dags").await;
    assert_eq!(dags.body["total_entries"], 9, "{}", dags.text);
    let ids: Vec<&str> = dags.body["dags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["dag_id"].as_str().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    let dag = get(&web, "/api/v1/dags/listing_2_10").await.body;
    for field in [
        "dag_id",
        "root_dag_id",
        "is_paused",
        "is_active",
        "is_subdag",
        "last_parsed_time",
        "last_pickled",
        "last_expired",
        "scheduler_lock",
        "pickle_id",
        "default_view",
        "fileloc",
        "file_token",
        "owners",
        "description",
        "schedule_interval",
        "timetable_description",
        "tags",
        "max_active_tasks",
        "max_active_runs",
        "has_task_concurrency_limits",
        "has_import_errors",
        "next_dagrun",
        "next_dagrun_data_interval_start",
        "next_dagrun_data_interval_end",
        "next_dagrun_create_after",
    ] {
        assert!(dag.get(field).is_some(), "{field} missing from {dag}");
    }
    assert_eq!(dag.as_object().unwrap().len(), 26, "{dag}");
    assert_eq!(
        dag["schedule_interval"],
        json!({ "__type": "CronExpression", "value": "@daily" })
    );
    assert_eq!(
        dag["tags"],
        json!([{ "name": "rocket" }, { "name": "book" }])
    );
    assert_eq!(dag["timetable_description"], "At 00:00");
    assert!(dag["next_dagrun"].as_str().unwrap().ends_with("+00:00"));
    let tagged = get(&web, "/api/v1/dags?tags=mapped").await;
    assert_eq!(tagged.body["total_entries"], 1);
    check_pause(&web).await;
    check_tasks_version_and_health(&web).await;
    web.stop().await;
}

/// PATCH of a DAG's `is_paused`, with Airflow's `update_mask`.
async fn check_pause(web: &Web) {
    // Pause with update_mask, as Airflow's client sends it.
    let paused = call(
        web,
        Method::PATCH,
        "/api/v1/dags/listing_2_10?update_mask=is_paused",
        Some(json!({ "is_paused": true })),
    )
    .await;
    assert_eq!(paused.body["is_paused"], true, "{}", paused.text);
    assert!(web.store.is_paused("listing_2_10").await.unwrap());
    let only_paused = get(web, "/api/v1/dags?paused=true").await;
    assert_eq!(only_paused.body["total_entries"], 1);
    let bad_mask = call(
        web,
        Method::PATCH,
        "/api/v1/dags/listing_2_10?update_mask=description",
        Some(json!({ "is_paused": false })),
    )
    .await;
    assert_problem(&bad_mask, 400, "Bad Request");
}

/// A DAG's tasks in Airflow's `Task` schema, the version, and health without a scheduler.
async fn check_tasks_version_and_health(web: &Web) {
    let tasks = get(web, "/api/v1/dags/listing_2_10_mapped/tasks")
        .await
        .body;
    assert_eq!(tasks["total_entries"], 4);
    let picture = tasks["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task_id"] == "get_picture")
        .unwrap();
    assert_eq!(picture["is_mapped"], true);
    assert_eq!(picture["retry_delay"]["__type"], "TimeDelta");
    assert_eq!(picture["downstream_task_ids"], json!(["notify_mapped"]));
    let task = get(web, "/api/v1/dags/listing_2_10/tasks/notify").await;
    assert_eq!(task.body["trigger_rule"], "all_success", "{}", task.text);
    let version = get(web, "/api/v1/version").await.body;
    assert!(version["version"].is_string());
    assert!(version.as_object().unwrap().contains_key("git_version"));
    // No scheduler on this home.
    let health = get(web, "/api/v1/health").await.body;
    assert_eq!(health["scheduler"]["status"], "unhealthy");
    assert_eq!(
        health["scheduler"]["latest_scheduler_heartbeat"],
        Value::Null
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_and_task_instances_page_filter_and_order() {
    let web = seeded(25).await;
    let base = "/api/v1/dags/listing_2_10/dagRuns";
    let page = get(&web, &format!("{base}?limit=10&offset=20")).await.body;
    assert_eq!(page["total_entries"], 25);
    let ids: Vec<&str> = page["dag_runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["dag_run_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["run_20", "run_21", "run_22", "run_23", "run_24"]);
    let desc = get(&web, &format!("{base}?order_by=-execution_date&limit=2"))
        .await
        .body;
    assert_eq!(desc["dag_runs"][0]["dag_run_id"], "run_24");
    assert_eq!(desc["dag_runs"][1]["dag_run_id"], "run_23");
    let failed = get(&web, &format!("{base}?state=failed")).await.body;
    assert_eq!(failed["total_entries"], 8);
    let since = get(
        &web,
        &format!("{base}?execution_date_gte=2024-03-20T00:00:00%2B00:00&execution_date_lte=2024-03-21T00:00:00Z"),
    )
    .await;
    assert_eq!(since.body["total_entries"], 2, "{}", since.text);
    let capped = get(&web, &format!("{base}?limit=1000")).await.body;
    assert_eq!(capped["dag_runs"].as_array().unwrap().len(), 25);
    let bad = get(&web, &format!("{base}?order_by=nope")).await;
    assert_problem(&bad, 400, "Bad Request");
    assert_eq!(
        bad.body["detail"],
        "Ordering with 'nope' is disallowed or the attribute does not exist on the model"
    );
    assert_problem(
        &get(&web, &format!("{base}?limit=-1")).await,
        400,
        "Bad Request",
    );
    assert_problem(
        &get(&web, &format!("{base}?limit=ten")).await,
        400,
        "Bad Request",
    );
    // Across every DAG and run.
    let all = get(
        &web,
        "/api/v1/dags/~/dagRuns/~/taskInstances?limit=7&offset=70",
    )
    .await
    .body;
    assert_eq!(all["total_entries"], 75);
    assert_eq!(all["task_instances"].as_array().unwrap().len(), 5);
    // Unfiltered pages are counted in SQL; a filter that keeps everything reads every try:
    // both give the same page.
    let slow = get(
        &web,
        "/api/v1/dags/~/dagRuns/~/taskInstances?limit=7&offset=70&execution_date_gte=2000-01-01T00:00:00Z",
    )
    .await
    .body;
    assert_eq!(slow, all);
    let failed_tis = get(&web, "/api/v1/dags/~/dagRuns/~/taskInstances?state=failed")
        .await
        .body;
    assert_eq!(failed_tis["total_entries"], 8);
    let runs_everywhere = get(&web, "/api/v1/dags/~/dagRuns?limit=1").await.body;
    assert_eq!(runs_everywhere["total_entries"], 25);
    web.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_are_set_and_instances_cleared_as_airflow_does() {
    let web = seeded(3).await;
    let run = "/api/v1/dags/listing_2_10/dagRuns/run_02";
    // A task of the DAG with no try yet is listed with state null, try 0.
    let mapped = run_record("listing_2_10_mapped", "m1", at(1), RunStateRecord::Running);
    web.store.upsert_run(&mapped).await.unwrap();
    for i in 0..3 {
        let s = if i == 1 {
            TaskStateRecord::Failed
        } else {
            TaskStateRecord::Success
        };
        let t = try_record(&mapped, "get_picture", i, 1, s);
        web.store.upsert_task_instance(&t).await.unwrap();
    }
    let m = "/api/v1/dags/listing_2_10_mapped/dagRuns/m1/taskInstances";
    let listed = get(&web, m).await.body;
    let notify = listed["task_instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task_id"] == "notify_mapped")
        .unwrap();
    assert_eq!(notify["state"], Value::Null);
    assert_eq!(notify["try_number"], 0);
    let elements = get(
        &web,
        &format!("{m}/get_picture/listMapped?order_by=-map_index"),
    )
    .await
    .body;
    assert_eq!(elements["total_entries"], 3);
    assert_eq!(elements["task_instances"][0]["map_index"], 2);
    let whole = get(&web, &format!("{m}/get_picture")).await;
    assert_problem(&whole, 404, "Task instance not found");
    let one = get(&web, &format!("{m}/get_picture/1")).await.body;
    assert_eq!(one["state"], "failed");
    let patched = call(
        &web,
        Method::PATCH,
        &format!("{m}/get_picture/1"),
        Some(json!({ "dry_run": false, "new_state": "success" })),
    )
    .await;
    assert_eq!(patched.body["task_id"], "get_picture", "{}", patched.text);
    assert_eq!(
        get(&web, &format!("{m}/get_picture/1")).await.body["state"],
        "success"
    );
    check_state_changes_and_clear(&web, run).await;
    web.stop().await;
}

/// PATCH of a task instance (dry and not), clearTaskInstances, PATCH of a run.
async fn check_state_changes_and_clear(web: &Web, run: &str) {
    // Dry run (Airflow's default) changes nothing.
    let dry = call(
        web,
        Method::PATCH,
        &format!("{run}/taskInstances/notify"),
        Some(json!({ "new_state": "success" })),
    )
    .await;
    assert_eq!(
        dry.body,
        json!({ "task_id": "notify", "dag_id": "listing_2_10",
                "execution_date": "2024-03-03T00:00:00+00:00", "dag_run_id": "run_02" })
    );
    assert_eq!(
        get(web, &format!("{run}/taskInstances/notify")).await.body["state"],
        "failed"
    );
    // Clear the failed instances of one run (dry, then for real, resetting the run).
    let clear = "/api/v1/dags/listing_2_10/clearTaskInstances";
    let body = json!({ "dry_run": true, "dag_run_id": "run_02", "only_failed": true });
    let refs = call(web, Method::POST, clear, Some(body)).await.body;
    assert_eq!(
        refs["task_instances"].as_array().unwrap().len(),
        1,
        "{refs}"
    );
    assert_eq!(refs["task_instances"][0]["task_id"], "notify");
    let body = json!({ "dry_run": false, "dag_run_id": "run_02", "reset_dag_runs": true,
                       "task_ids": ["get_pictures"], "include_downstream": true, "only_failed": false });
    let cleared = call(web, Method::POST, clear, Some(body)).await;
    assert_eq!(
        cleared.body["task_instances"].as_array().unwrap().len(),
        2,
        "{}",
        cleared.text
    );
    assert_eq!(get(web, run).await.body["state"], "queued");
    let ti = get(web, &format!("{run}/taskInstances/notify")).await.body;
    assert_eq!(ti["state"], Value::Null);
    assert_eq!(ti["try_number"], 1);
    // Mark the run.
    let marked = call(web, Method::PATCH, run, Some(json!({ "state": "success" }))).await;
    assert_eq!(marked.body["state"], "success", "{}", marked.text);
    let tis = get(web, &format!("{run}/taskInstances?state=success"))
        .await
        .body;
    assert_eq!(tis["total_entries"], 3, "{tis}");
    let bad = call(web, Method::PATCH, run, Some(json!({ "state": "running" }))).await;
    assert_problem(&bad, 400, "Bad Request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_airflows_problem_json_and_ids_cannot_escape_the_home() {
    let web = seeded(1).await;
    let r = get(&web, "/api/v1/dags/nope").await;
    assert_problem(&r, 404, "DAG not found");
    assert_eq!(r.body["detail"], "The DAG with dag_id: nope was not found");
    assert!(
        r.body["type"]
            .as_str()
            .unwrap()
            .ends_with("#section/Errors/NotFound")
    );
    let r = get(&web, "/api/v1/dags/listing_2_10/dagRuns/nope").await;
    assert_problem(&r, 404, "DAGRun not found");
    assert_eq!(
        r.body["detail"],
        "DAGRun with DAG ID: 'listing_2_10' and DagRun ID: 'nope' not found"
    );
    let r = get(
        &web,
        "/api/v1/dags/listing_2_10/dagRuns/run_00/taskInstances/nope",
    )
    .await;
    assert_problem(&r, 404, "Task instance not found");
    let r = get(&web, "/api/v1/dags/listing_2_10/tasks/nope").await;
    assert_problem(&r, 404, "Task not found");
    let r = call(
        &web,
        Method::POST,
        "/api/v1/dags/nope/dagRuns",
        Some(json!({})),
    )
    .await;
    assert_problem(&r, 404, "DAG not found");
    let r = get(&web, "/api/v1/nowhere").await;
    assert_problem(&r, 404, "Not Found");
    let r = answer(
        client()
            .post(web.url("/api/v1/dags/listing_2_10/dagRuns"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("dag_run_id=x"),
    )
    .await;
    assert_problem(&r, 415, "Unsupported Media Type");
    let r = call(
        &web,
        Method::POST,
        "/api/v1/dags/listing_2_10/dagRuns",
        Some(json!({ "dag_run_id": "a/b" })),
    )
    .await;
    assert_problem(&r, 400, "Bad Request");
    let r = call(
        &web,
        Method::POST,
        "/api/v1/dags/listing_2_10/dagRuns",
        Some(json!({ "unknown": 1 })),
    )
    .await;
    assert_problem(&r, 400, "Bad Request");
    check_traversal(&web).await;
    web.stop().await;
}

/// Logs are read from checked ids only: no id reaches a file outside the run's logs.
async fn check_traversal(web: &Web) {
    // A file beside the home that a traversal would reach.
    let secret = web.home().join("logs/secret.log");
    std::fs::create_dir_all(secret.parent().unwrap()).unwrap();
    std::fs::write(&secret, "SECRET").unwrap();
    let log = "/api/v1/dags/listing_2_10/dagRuns/run_00/taskInstances/notify/logs/1";
    let write = |p: &str, text: &str| {
        std::fs::create_dir_all(std::path::Path::new(p).parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    let real =
        rocket_dag::home::attempt_log(web.home(), "listing_2_10", "run_00", "notify", None, 1)
            .unwrap();
    write(real.to_str().unwrap(), "line one\nit's line two\n");
    let ok = get_json(web, log).await;
    // Without an Accept header preferring JSON (`*/*`), text, as werkzeug's best_match picks.
    let plain = get(web, log).await;
    assert_eq!(plain.text, "line one\nit's line two\n");
    let content = ok.body["content"].as_str().unwrap();
    assert!(content.starts_with("[('"), "{content}");
    assert!(
        content.ends_with("', \"line one\\nit's line two\\n\")]"),
        "{content}"
    );
    for bad in [
        "/api/v1/dags/listing_2_10/dagRuns/..%2F..%2Fsecret/taskInstances/notify/logs/1",
        "/api/v1/dags/listing_2_10/dagRuns/run_00%2F..%2F..%2F/taskInstances/notify/logs/1",
        "/api/v1/dags/listing_2_10/dagRuns/%2E%2E/taskInstances/notify/logs/1",
        "/api/v1/dags/..%2Flogs/dagRuns/run_00/taskInstances/notify/logs/1",
        "/api/v1/dags/listing_2_10/dagRuns/run_00/taskInstances/..%2F..%2Fsecret/logs/1",
        "/api/v1/dags/listing_2_10/dagRuns/a%2Fb",
    ] {
        let r = get(web, bad).await;
        assert!(
            r.status == StatusCode::BAD_REQUEST || r.status == StatusCode::NOT_FOUND,
            "{bad}: {} {}",
            r.status,
            r.text
        );
        assert!(!r.text.contains("SECRET"), "{bad}");
    }
    let r = get_json(web, &format!("{log}?token=garbage")).await;
    assert_problem(&r, 400, "Bad Request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_basic_bearer_and_cross_origin() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users");
    rocket_dag::web::auth::add_user(&file, "ada", "pw").unwrap();
    let users = rocket_dag::web::auth::Users::load(&file).unwrap();
    let auth = rocket_dag::web::Auth::new(Some(users), Some("tok".into())).unwrap();
    let web = Web::start(Options {
        auth,
        scheduler: false,
        ..Options::default()
    })
    .await;
    let url = web.url("/api/v1/dags");
    let none = answer(client().get(&url)).await;
    assert_problem(&none, 401, "Unauthorized");
    assert!(none.headers.contains_key("www-authenticate"));
    let basic = answer(client().get(&url).basic_auth("ada", Some("pw"))).await;
    assert_eq!(basic.status, StatusCode::OK);
    let wrong = answer(client().get(&url).basic_auth("ada", Some("px"))).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let bearer = answer(client().get(&url).bearer_auth("tok")).await;
    assert_eq!(bearer.status, StatusCode::OK);
    let bad_token = answer(client().get(&url).bearer_auth("nope")).await;
    assert_eq!(bad_token.status, StatusCode::UNAUTHORIZED);
    // Health answers everyone, as Airflow's does.
    let health = answer(client().get(web.url("/api/v1/health"))).await;
    assert_eq!(health.status, StatusCode::OK);
    // A cross-origin POST is refused before any handler, credentials or not.
    let evil = answer(
        client()
            .post(web.url("/api/v1/dags/listing_2_10/dagRuns"))
            .bearer_auth("tok")
            .header("origin", "http://evil.example")
            .json(&json!({})),
    )
    .await;
    assert_eq!(evil.status, StatusCode::FORBIDDEN);
    assert!(web.store.all_runs(None).await.unwrap().is_empty());
    // Another site's page may not embed what is served (an <img> of a download).
    let embedded = answer(
        client()
            .get(web.url("/"))
            .header("sec-fetch-site", "cross-site")
            .header("sec-fetch-dest", "image"),
    )
    .await;
    assert_eq!(embedded.status, StatusCode::FORBIDDEN);
    web.stop().await;
}

/// Without a login, only loopback names are answered: a site whose name is re-pointed at
/// 127.0.0.1 (DNS rebinding) is "same origin" to itself, and must get nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_login_only_loopback_host_names_are_answered() {
    let web = Web::start(Options {
        scheduler: false,
        ..Options::default()
    })
    .await;
    for host in [
        "evil.example:8080",
        "evil.example",
        "localhost.evil.example",
    ] {
        let r = answer(client().get(web.url("/api/v1/dags")).header("host", host)).await;
        assert_eq!(r.status, StatusCode::MISDIRECTED_REQUEST, "{host}");
        let post = answer(
            client()
                .post(web.url("/api/v1/dags/listing_2_10/dagRuns"))
                .header("host", host)
                .header("origin", format!("http://{host}"))
                .json(&json!({})),
        )
        .await;
        assert_eq!(post.status, StatusCode::MISDIRECTED_REQUEST, "{host}");
    }
    assert!(web.store.all_runs(None).await.unwrap().is_empty());
    for host in ["localhost:8080", "127.0.0.1", "[::1]:9"] {
        let r = answer(client().get(web.url("/api/v1/dags")).header("host", host)).await;
        assert_eq!(r.status, StatusCode::OK, "{host}");
    }
    web.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_exactly_what_is_served() {
    let web = seeded(1).await;
    let doc = get(&web, "/api/v1/openapi.json").await.body;
    let yaml = get(&web, "/api/v1/openapi.yaml").await;
    assert_eq!(serde_json::from_str::<Value>(&yaml.text).unwrap(), doc);
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 16);
    for (path, ops) in paths {
        let concrete = path
            .replace("{dag_id}", "listing_2_10")
            .replace("{dag_run_id}", "run_00")
            .replace("{task_id}", "notify")
            .replace("{map_index}", "0")
            .replace("{task_try_number}", "1");
        for method in ops.as_object().unwrap().keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = (m != Method::GET).then(|| json!({}));
            let r = call(&web, m, &format!("/api/v1{concrete}"), body).await;
            // Served: neither the fallback's 404 nor 405.
            assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_ne!(r.body["title"], "Not Found", "{method} {path}: {}", r.text);
        }
    }
    // And the unserved neighbour of a served path is not.
    let r = call(&web, Method::DELETE, "/api/v1/dags/listing_2_10", None).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    web.stop().await;
}

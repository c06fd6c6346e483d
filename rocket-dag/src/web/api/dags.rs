//! `/dags`, `/dags/{dag_id}` and a DAG's tasks, in Airflow's `DAG` and `Task` schemas.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::params::{self, Params};
use super::{ApiError, ApiResult, iso, iso_opt};
use crate::dag::{Dag, TaskNode};
use crate::schedule::Schedule;
use crate::store::RunType;
use crate::task::TaskKind;
use crate::timetable::{DataInterval, next_interval, resolve_local};
use crate::web::{AppState, Shared};

/// `GET /dags`: `limit`, `offset`, `order_by` (`dag_id`), `tags`, `paused`, `only_active`,
/// `dag_id_pattern`.
pub(super) async fn list(
    State(state): State<AppState>,
    Query(q): Query<Vec<(String, String)>>,
) -> ApiResult {
    let q = Params(q);
    let page = q.page()?;
    let (_, desc) = q.order_by("dag_id", &["dag_id"])?;
    let tags = q.all("tags");
    let pattern = q.one("dag_id_pattern").map(str::to_lowercase);
    let paused_filter = q.bool("paused")?;
    let mut rows = Vec::new();
    for dag in &state.dags {
        let paused = state.store.is_paused(dag.id()).await?;
        let tagged = tags.is_empty() || dag.options().tags.iter().any(|t| tags.contains(&&**t));
        let named = pattern
            .as_deref()
            .is_none_or(|p| dag.id().to_lowercase().contains(p));
        if tagged && named && paused_filter.is_none_or(|p| p == paused) {
            rows.push((dag, paused));
        }
    }
    rows.sort_by(|a, b| a.0.id().cmp(b.0.id()));
    if desc {
        rows.reverse();
    }
    let total = rows.len();
    let mut dags = Vec::new();
    for (dag, paused) in page.of(rows) {
        dags.push(dag_json(&state, dag, paused).await?);
    }
    Ok(super::json(json!({ "dags": dags, "total_entries": total })))
}

/// `GET /dags/{dag_id}`.
pub(super) async fn get_one(
    State(state): State<AppState>,
    Path(dag_id): Path<String>,
) -> ApiResult {
    let dag = params::dag(&state, &dag_id)?;
    let paused = state.store.is_paused(dag.id()).await?;
    Ok(super::json(dag_json(&state, dag, paused).await?))
}

/// The body of `PATCH /dags/{dag_id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DagPatch {
    is_paused: Option<bool>,
}

/// `PATCH /dags/{dag_id}`: `{"is_paused": bool}`, optionally with `update_mask=is_paused`.
pub(super) async fn patch(
    State(state): State<AppState>,
    Path(dag_id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult {
    let q = Params(q);
    let mask = q.all("update_mask");
    if !mask.is_empty() && mask != ["is_paused"] {
        return Err(ApiError::BadRequest(
            "Only `is_paused` field can be updated through the REST API".into(),
        ));
    }
    let body: DagPatch = params::body(&headers, &bytes)?;
    let dag = params::dag(&state, &dag_id)?;
    let paused = body.is_paused.ok_or_else(|| {
        ApiError::BadRequest("{'is_paused': ['Missing data for required field.']}".into())
    })?;
    crate::control::set_paused(&state.store, &state.home, dag.id(), paused)
        .await
        .map_err(ApiError::from)?;
    Ok(super::json(dag_json(&state, dag, paused).await?))
}

/// `GET /dags/{dag_id}/tasks`: `order_by` (`task_id`, the default).
pub(super) async fn tasks(
    State(state): State<AppState>,
    Path(dag_id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> ApiResult {
    let dag = params::dag(&state, &dag_id)?;
    let (_, desc) = Params(q).order_by("task_id", &["task_id"])?;
    let mut tasks: Vec<&TaskNode> = dag.tasks().iter().collect();
    tasks.sort_by(|a, b| a.id().cmp(b.id()));
    if desc {
        tasks.reverse();
    }
    let tasks: Vec<Value> = tasks.iter().map(|t| task_json(dag, t)).collect();
    let total = tasks.len();
    Ok(super::json(
        json!({ "tasks": tasks, "total_entries": total }),
    ))
}

/// `GET /dags/{dag_id}/tasks/{task_id}`.
pub(super) async fn task(
    State(state): State<AppState>,
    Path((dag_id, task_id)): Path<(String, String)>,
) -> ApiResult {
    let dag = params::dag(&state, &dag_id)?;
    crate::ids::task(&task_id)?;
    let task = dag.task(&task_id).ok_or_else(|| {
        ApiError::not_found(
            "Task not found",
            format!("Task with id {task_id} not found"),
        )
    })?;
    Ok(super::json(task_json(dag, task)))
}

/// Airflow's `ScheduleInterval`: a cron expression (presets included), or `null`.
fn schedule_json(s: &Schedule) -> Value {
    match s {
        Schedule::None => Value::Null,
        other => json!({ "__type": "CronExpression", "value": other.as_str() }),
    }
}

/// What Airflow's timetables say of a schedule (cron_descriptor's words for the presets).
fn timetable_description(s: &Schedule) -> String {
    let preset = match s.as_str() {
        "None" => "Never, external triggers only",
        "@once" => "Once, as soon as possible",
        "@hourly" => "At 0 minutes past the hour",
        "@daily" | "@midnight" => "At 00:00",
        "@weekly" => "At 00:00, only on Sunday",
        "@monthly" => "At 00:00, on day 1 of the month",
        "@quarterly" => {
            "At 00:00, on day 1 of the month, only in January, April, July, and October"
        }
        "@yearly" | "@annually" => "At 00:00, on day 1 of the month, only in January",
        other => other,
    };
    preset.to_owned()
}

/// The next interval the scheduler will create a run for.
async fn next_run(state: &Shared, dag: &Dag) -> ApiResult<Option<DataInterval>> {
    let last = state
        .store
        .last_run(dag.id(), Some(RunType::Scheduled))
        .await?;
    let last = last.map(|r| DataInterval {
        start: r.data_interval_start,
        end: r.data_interval_end,
    });
    Ok(next_interval(dag.options(), last.as_ref(), Utc::now()))
}

/// When this server loaded its DAGs (Airflow's `last_parsed_time`).
fn loaded_at(state: &Shared) -> DateTime<Utc> {
    Utc::now() - chrono::Duration::from_std(state.started.elapsed()).unwrap_or_default()
}

/// Airflow's `DAG` schema (the DagModel of 2.8.1).
async fn dag_json(state: &Shared, dag: &Dag, paused: bool) -> ApiResult<Value> {
    let o = dag.options();
    let next = next_run(state, dag).await?;
    let fileloc = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let description = (!o.description.is_empty()).then(|| o.description.clone());
    let tags: Vec<Value> = o.tags.iter().map(|t| json!({ "name": t })).collect();
    Ok(json!({
        "dag_id": dag.id(),
        "root_dag_id": null,
        "is_paused": paused,
        "is_active": true,
        "is_subdag": false,
        "last_parsed_time": iso(loaded_at(state)),
        "last_pickled": null,
        "last_expired": null,
        "scheduler_lock": null,
        "pickle_id": null,
        "default_view": "grid",
        "fileloc": fileloc,
        "file_token": file_token(dag.id()),
        "owners": ["airflow"],
        "description": description,
        "schedule_interval": schedule_json(&o.schedule),
        "timetable_description": timetable_description(&o.schedule),
        "tags": tags,
        "max_active_tasks": o.max_active_tasks,
        "max_active_runs": o.max_active_runs,
        "has_task_concurrency_limits": false,
        "has_import_errors": false,
        "next_dagrun": iso_opt(next.map(|i| i.start)),
        "next_dagrun_data_interval_start": iso_opt(next.map(|i| i.start)),
        "next_dagrun_data_interval_end": iso_opt(next.map(|i| i.end)),
        "next_dagrun_create_after": iso_opt(next.map(|i| i.end)),
    }))
}

/// An opaque token for the DAG's source (Airflow signs the file's path; the DAGs here are
/// compiled in, so the token names the DAG).
fn file_token(dag: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(dag)
}

/// Airflow's `TimeDelta`.
pub(crate) fn time_delta(d: Duration) -> Value {
    let secs = d.as_secs();
    json!({
        "__type": "TimeDelta",
        "days": secs / 86_400,
        "seconds": secs % 86_400,
        "microseconds": d.subsec_micros(),
    })
}

/// Airflow's `Task` schema. `sub_dag` is left out, as Airflow leaves it out of a task that
/// has none (its client refuses `null` there).
fn task_json(dag: &Dag, task: &TaskNode) -> Value {
    let o = task.options();
    let tz = dag.options().timezone;
    let (class, operator) = match task.spec().kind {
        TaskKind::Shell => ("ShellTask", "@task.bash"),
        _ => ("RustTask", "@task"),
    };
    let downstream: Vec<&str> = task
        .downstream()
        .iter()
        .map(|&i| dag.tasks()[i].id())
        .collect();
    json!({
        "class_ref": { "module_path": "rocket_dag::task", "class_name": class },
        "operator_name": operator,
        "task_id": task.id(),
        "owner": "airflow",
        "start_date": iso_opt(dag.options().start_date.map(|d| resolve_local(d, tz))),
        "end_date": iso_opt(dag.options().end_date.map(|d| resolve_local(d, tz))),
        "trigger_rule": o.trigger_rule.as_str(),
        "extra_links": [],
        "depends_on_past": false,
        "wait_for_downstream": false,
        "retries": o.retries,
        "queue": "default",
        "pool": "default_pool",
        "pool_slots": 1,
        "execution_timeout": o.execution_timeout.map(time_delta),
        "retry_delay": time_delta(o.retry_delay),
        "retry_exponential_backoff": o.retry_exponential_backoff,
        "priority_weight": 1,
        "weight_rule": "downstream",
        "ui_color": "#ffefeb",
        "ui_fgcolor": "#000",
        "template_fields": [],
        "downstream_task_ids": downstream,
        "params": {},
        "is_mapped": task.is_mapped(),
    })
}

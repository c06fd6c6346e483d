//! `/dags/{dag_id}/dagRuns…`: list (`~` for every DAG), trigger, read, set the state, in
//! Airflow's `DAGRun` schema.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::params::{self, Params, parse_date, within};
use super::{ApiError, ApiResult, iso, iso_opt};
use crate::control::{self, Trigger};
use crate::store::{DagRunRecord, RunStateRecord, RunType, TaskStateRecord, latest_tries};
use crate::web::AppState;
use crate::web::auth::Caller;

/// The `order_by` fields Airflow accepts for runs.
const ORDER_BY: &[&str] = &[
    "id",
    "state",
    "dag_id",
    "execution_date",
    "dag_run_id",
    "start_date",
    "end_date",
    "updated_at",
    "external_trigger",
    "conf",
];

/// Airflow's `DAGRun` schema.
pub(crate) fn run_json(r: &DagRunRecord) -> Value {
    // Airflow sets a run's start date when it starts running, not when it is queued.
    let start = (r.state != RunStateRecord::Queued).then_some(r.start);
    json!({
        "dag_run_id": r.run_id,
        "dag_id": r.dag_id,
        "logical_date": iso(r.logical_date),
        "execution_date": iso(r.logical_date),
        "start_date": iso_opt(start),
        "end_date": iso_opt(r.end),
        "data_interval_start": iso(r.data_interval_start),
        "data_interval_end": iso(r.data_interval_end),
        "last_scheduling_decision": null,
        "run_type": r.run_type.as_str(),
        "state": r.state.as_str(),
        "external_trigger": r.run_type == RunType::Manual,
        "conf": r.conf,
        "note": null,
    })
}

/// The DAG of a listing: one checked id, or `~` for all.
fn dag_filter<'a>(state: &AppState, dag_id: &'a str) -> ApiResult<Option<&'a str>> {
    if dag_id == "~" {
        return Ok(None);
    }
    params::dag(state, dag_id)?;
    Ok(Some(dag_id))
}

/// `GET /dags/{dag_id}/dagRuns`: `state`, `execution_date_gte/lte`, `start_date_gte/lte`,
/// `end_date_gte/lte`, `limit`, `offset`, `order_by`.
pub(super) async fn list(
    State(state): State<AppState>,
    Path(dag_id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> ApiResult {
    let q = Params(q);
    let dag = dag_filter(&state, &dag_id)?;
    let page = q.page()?;
    let (field, desc) = q.order_by("id", ORDER_BY)?;
    let states = q.all("state");
    let (eg, el) = (q.date("execution_date_gte")?, q.date("execution_date_lte")?);
    let (sg, sl) = (q.date("start_date_gte")?, q.date("start_date_lte")?);
    let (ng, nl) = (q.date("end_date_gte")?, q.date("end_date_lte")?);
    let mut runs: Vec<DagRunRecord> = state
        .store
        .all_runs(dag)
        .await?
        .into_iter()
        .filter(|r| {
            let start = (r.state != RunStateRecord::Queued).then_some(r.start);
            (states.is_empty() || states.contains(&r.state.as_str()))
                && within(Some(r.logical_date), eg, el)
                && within(start, sg, sl)
                && within(r.end, ng, nl)
        })
        .collect();
    sort_runs(&mut runs, field, desc);
    let total = runs.len();
    let runs: Vec<Value> = page.of(runs).iter().map(run_json).collect();
    Ok(super::json(
        json!({ "dag_runs": runs, "total_entries": total }),
    ))
}

/// Orders runs by an `order_by` field (`id`: creation order, which is logical date order
/// here).
fn sort_runs(runs: &mut [DagRunRecord], field: &str, desc: bool) {
    type Key = (String, Option<DateTime<Utc>>);
    let key = |r: &DagRunRecord| -> Key {
        match field {
            "state" => (r.state.as_str().to_owned(), None),
            "dag_id" => (r.dag_id.clone(), None),
            "dag_run_id" => (r.run_id.clone(), None),
            "start_date" => (String::new(), Some(r.start)),
            "end_date" => (String::new(), r.end),
            "updated_at" => (String::new(), Some(r.end.unwrap_or(r.start))),
            "external_trigger" => ((r.run_type == RunType::Manual).to_string(), None),
            "conf" => (r.conf.to_string(), None),
            _ => (String::new(), Some(r.logical_date)),
        }
    };
    // Stable: ties keep the store's order (logical date, DAG, run).
    runs.sort_by_key(key);
    if desc {
        runs.reverse();
    }
}

/// `GET /dags/{dag_id}/dagRuns/{dag_run_id}`.
pub(super) async fn get_one(
    State(state): State<AppState>,
    Path((dag_id, run_id)): Path<(String, String)>,
) -> ApiResult {
    params::dag(&state, &dag_id)?;
    let run = params::run(&state, &dag_id, &run_id).await?;
    Ok(super::json(run_json(&run)))
}

/// The body of `POST /dags/{dag_id}/dagRuns`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggerBody {
    dag_run_id: Option<String>,
    logical_date: Option<String>,
    execution_date: Option<String>,
    conf: Option<Map<String, Value>>,
    note: Option<String>,
    data_interval_start: Option<String>,
    data_interval_end: Option<String>,
}

/// `POST /dags/{dag_id}/dagRuns`: queues a run (`dag_run_id`, `logical_date`, `conf`).
pub(super) async fn trigger(
    State(state): State<AppState>,
    Path(dag_id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult {
    crate::ids::dag(&dag_id)?;
    let dag = state.dag(&dag_id).ok_or_else(|| {
        ApiError::not_found(
            "DAG not found",
            format!("DAG with dag_id: '{dag_id}' not found"),
        )
    })?;
    let body: TriggerBody = params::body(&headers, &bytes)?;
    if body.note.as_ref().is_some_and(|n| n.len() > 1000) {
        return Err(ApiError::BadRequest(
            "{'note': ['Longer than maximum length 1000.']}".into(),
        ));
    }
    if body.data_interval_start.is_some() != body.data_interval_end.is_some() {
        return Err(ApiError::BadRequest(
            "{'_schema': ['Both \"data_interval_start\" and \"data_interval_end\" must be given']}"
                .into(),
        ));
    }
    let date = body.logical_date.or(body.execution_date);
    let logical_date = date.map(|d| parse_date("logical_date", &d)).transpose()?;
    if let Some(id) = &body.dag_run_id {
        crate::ids::run(id).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    }
    let trigger = Trigger {
        logical_date,
        run_id: body.dag_run_id,
        conf: body.conf.unwrap_or_default(),
    };
    let run = control::trigger(&state.store, &state.home, dag, trigger).await?;
    Ok(super::json(run_json(&run)))
}

/// The body of `PATCH /dags/{dag_id}/dagRuns/{dag_run_id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateBody {
    state: String,
}

/// `PATCH /dags/{dag_id}/dagRuns/{dag_run_id}`: `{"state": "success" | "failed" | "queued"}`,
/// as Airflow's: success marks every unfinished task success; failed fails the running
/// tasks and skips those not started; queued puts the run back for the scheduler.
pub(super) async fn patch(
    State(state): State<AppState>,
    Path((dag_id, run_id)): Path<(String, String)>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult {
    let dag = params::dag(&state, &dag_id)?;
    let run = params::run(&state, &dag_id, &run_id).await?;
    let body: StateBody = params::body(&headers, &bytes)?;
    let by = params::by(caller.as_deref());
    let target: RunStateRecord = match body.state.as_str() {
        "success" => RunStateRecord::Success,
        "failed" => RunStateRecord::Failed,
        "queued" => RunStateRecord::Queued,
        other => {
            return Err(ApiError::BadRequest(format!(
                "{{'state': ['Must be one of: success, failed, queued.']}} (got '{other}')"
            )));
        }
    };
    let (store, home) = (&state.store, &state.home);
    if target == RunStateRecord::Queued {
        store
            .set_run_state(dag.id(), &run.run_id, RunStateRecord::Queued, None)
            .await?;
        control::wake(home);
    } else {
        let tis = store.task_instances(dag.id(), &run.run_id).await?;
        let mut to_success = Vec::new();
        let (mut to_failed, mut to_skipped) = (Vec::new(), Vec::new());
        for task in dag.topological_ids() {
            let latest = latest_tries(&tis, task);
            let done = |s: TaskStateRecord| {
                use TaskStateRecord as S;
                matches!(s, S::Success | S::Failed | S::Skipped | S::UpstreamFailed)
            };
            let running = latest.iter().any(|t| t.state == TaskStateRecord::Running);
            if latest.is_empty() || latest.iter().any(|t| !done(t.state)) {
                match target {
                    RunStateRecord::Success => to_success.push(task),
                    _ if running => to_failed.push(task),
                    _ => to_skipped.push(task),
                }
            }
        }
        for (tasks, s) in [
            (to_success, TaskStateRecord::Success),
            (to_failed, TaskStateRecord::Failed),
            (to_skipped, TaskStateRecord::Skipped),
        ] {
            if !tasks.is_empty() {
                control::mark_tasks(store, dag.id(), &run.run_id, &tasks, None, s, &by).await?;
            }
        }
        control::mark_run(store, dag.id(), &run.run_id, target).await?;
    }
    let run = params::run(&state, &dag_id, &run_id).await?;
    Ok(super::json(run_json(&run)))
}

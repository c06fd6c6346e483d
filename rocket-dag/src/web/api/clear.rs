//! `POST /dags/{dag_id}/clearTaskInstances`: Airflow's clear, through [`crate::control`].

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::params::{self, DateRange, parse_date, within};
use super::task_instances::{Instance, instances};
use super::{ApiError, ApiResult, iso};
use crate::control;
use crate::dag::Dag;
use crate::store::DagRunRecord;
use crate::store::TaskStateRecord;
use crate::web::auth::Caller;
use crate::web::{AppState, Shared};

/// The body of `clearTaskInstances`, with Airflow's defaults (a dry run of the failed ones).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClearBody {
    #[serde(default = "yes")]
    dry_run: bool,
    #[serde(default = "yes")]
    only_failed: bool,
    #[serde(default)]
    only_running: bool,
    #[serde(default)]
    reset_dag_runs: bool,
    task_ids: Option<Vec<String>>,
    dag_run_id: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    #[serde(default)]
    include_upstream: bool,
    #[serde(default)]
    include_downstream: bool,
    #[serde(default)]
    include_future: bool,
    #[serde(default)]
    include_past: bool,
    #[serde(default)]
    include_subdags: bool,
    #[serde(default)]
    include_parentdag: bool,
}

fn yes() -> bool {
    true
}

/// The tasks to clear: those named (all when none), with their upstream or downstream tasks
/// when asked.
fn selected_tasks(dag: &Dag, body: &ClearBody) -> ApiResult<Vec<String>> {
    let Some(names) = &body.task_ids else {
        return Ok(dag
            .topological_ids()
            .into_iter()
            .map(str::to_owned)
            .collect());
    };
    if names.is_empty() {
        return Err(ApiError::BadRequest(
            "{'task_ids': ['Shorter than minimum length 1.']}".into(),
        ));
    }
    let mut picked = vec![false; dag.tasks().len()];
    for name in names {
        crate::ids::task(name).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let Some(start) = dag.task_index(name) else {
            continue; // Airflow's partial_subset ignores ids it does not have.
        };
        for i in control::with_downstream(dag, start, body.include_downstream) {
            picked[i] = true;
        }
        if body.include_upstream {
            let mut stack = vec![start];
            while let Some(i) = stack.pop() {
                picked[i] = true;
                stack.extend(dag.tasks()[i].upstream().iter().filter(|&&u| !picked[u]));
            }
        }
    }
    Ok(dag
        .topological_order()
        .iter()
        .filter(|&&i| picked[i])
        .map(|&i| dag.tasks()[i].id().to_owned())
        .collect())
}

/// The logical date range of the runs to clear.
fn date_range(body: &ClearBody, run: Option<DateTime<Utc>>) -> ApiResult<DateRange> {
    let date = |v: &Option<String>, name| v.as_deref().map(|d| parse_date(name, d)).transpose();
    let (mut start, mut end) = (
        date(&body.start_date, "start_date")?,
        date(&body.end_date, "end_date")?,
    );
    if let Some(at) = run {
        (start, end) = (Some(at), Some(at));
    }
    if body.include_past {
        start = None;
    }
    if body.include_future {
        end = None;
    }
    Ok((start, end))
}

/// Whether Airflow's clear takes an instance in this state.
fn wanted(i: &Instance, body: &ClearBody) -> bool {
    use TaskStateRecord as S;
    let Some(t) = &i.latest else {
        return false; // nothing to clear yet
    };
    if body.only_failed && !matches!(t.state, S::Failed | S::UpstreamFailed) {
        return false;
    }
    !(body.only_running && t.state != S::Running)
}

/// `POST /dags/{dag_id}/clearTaskInstances`: the references of the instances cleared (or that
/// a dry run would clear); `reset_dag_runs` puts their runs back to `queued` for the scheduler.
pub(super) async fn clear(
    State(state): State<AppState>,
    Path(dag_id): Path<String>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult {
    let body: ClearBody = params::body(&headers, &bytes)?;
    crate::ids::dag(&dag_id)?;
    let dag = state.dag(&dag_id).ok_or_else(|| ApiError::NotFound {
        title: "Dag id not found",
        detail: Some(format!("Dag id {dag_id} not found")),
    })?;
    let _ = (body.include_subdags, body.include_parentdag); // no sub-DAGs here
    let runs = match &body.dag_run_id {
        Some(run_id) => {
            crate::ids::run(run_id)?;
            let run = state
                .store
                .get_run(dag.id(), run_id)
                .await?
                .ok_or_else(|| {
                    ApiError::not_found(
                        "Dag Run not found",
                        format!("Dag Run id {run_id} not found in dag {dag_id}"),
                    )
                })?;
            vec![run]
        }
        None => state.store.all_runs(Some(dag.id())).await?,
    };
    let (start, end) = date_range(
        &body,
        body.dag_run_id.as_ref().map(|_| runs[0].logical_date),
    )?;
    let runs: Vec<_> = runs
        .into_iter()
        .filter(|r| within(Some(r.logical_date), start, end))
        .collect();
    let tasks = selected_tasks(dag, &body)?;
    let chosen: Vec<Instance> =
        instances(&state, Some(dag.id()), &runs, body.dag_run_id.as_deref())
            .await?
            .into_iter()
            .filter(|i| tasks.contains(&i.task_id) && wanted(i, &body))
            .collect();
    if !body.dry_run {
        let by = params::by(caller.as_deref());
        apply(&state, dag, &runs, &chosen, body.reset_dag_runs, &by).await?;
    }
    let refs: Vec<Value> = chosen
        .iter()
        .map(|i| {
            json!({
                "task_id": i.task_id,
                "dag_id": i.dag_id,
                "execution_date": iso(i.logical_date),
                "dag_run_id": i.run_id,
            })
        })
        .collect();
    Ok(super::json(json!({ "task_instances": refs })))
}

/// Clears `chosen` run by run: with `reset`, the run goes back to `queued` (Airflow's
/// `reset_dag_runs`); without, only the instances lose their outcome.
async fn apply(
    state: &Shared,
    dag: &Dag,
    runs: &[DagRunRecord],
    chosen: &[Instance],
    reset: bool,
    by: &str,
) -> ApiResult<()> {
    for run in runs {
        let mut names: Vec<&str> = chosen
            .iter()
            .filter(|i| i.run_id == run.run_id)
            .map(|i| i.task_id.as_str())
            .collect();
        names.dedup();
        if names.is_empty() {
            continue;
        }
        if reset {
            control::clear(&state.store, &state.home, dag.id(), &run.run_id, &names, by).await?;
        } else {
            control::forget(&state.store, dag.id(), &run.run_id, &names, by).await?;
        }
    }
    Ok(())
}

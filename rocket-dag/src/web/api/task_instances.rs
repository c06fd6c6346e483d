//! `…/taskInstances…` and `/dags/{dag_id}/clearTaskInstances`, in Airflow's `TaskInstance`
//! and `TaskInstanceReference` schemas.
//!
//! Airflow keeps one row per task instance (its latest try) and creates the rows of every task
//! when a run is created; the history here keeps one row per try, written once a task is
//! decided. So an instance is the latest try of its task and map index, and a task of the DAG
//! without any try yet is listed as Airflow lists it before it runs: state `null`, try 0.

use std::collections::HashMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::params::{self, DateRange, Params, within};
use super::{ApiError, ApiResult, iso, iso_opt};
use crate::control;
use crate::dag::Dag;
use crate::store::{DagRunRecord, NOT_MAPPED, TaskInstanceRecord, TaskStateRecord};
use crate::task::TaskKind;
use crate::web::auth::Caller;
use crate::web::{AppState, Shared};

/// One task instance: its latest try, if it has one.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    pub(crate) dag_id: String,
    pub(crate) run_id: String,
    pub(crate) task_id: String,
    pub(crate) map_index: i32,
    /// The run's logical date (Airflow's `execution_date`).
    pub(crate) logical_date: DateTime<Utc>,
    pub(crate) latest: Option<TaskInstanceRecord>,
}

impl Instance {
    /// Airflow's state name; `None` for no status.
    pub(crate) fn state(&self) -> Option<&'static str> {
        match self.latest.as_ref().map(|t| t.state) {
            None | Some(TaskStateRecord::NoStatus) => None,
            Some(s) => Some(s.as_str()),
        }
    }

    fn start_date(&self) -> Option<DateTime<Utc>> {
        let t = self.latest.as_ref()?;
        // A try's start is when its state was decided; Airflow has no start before it runs.
        match t.state {
            TaskStateRecord::NoStatus | TaskStateRecord::Queued => None,
            _ => Some(t.start),
        }
    }

    fn duration(&self) -> Option<f64> {
        self.latest.as_ref()?.duration.map(|d| d.as_secs_f64())
    }

    /// Airflow's `try_number` as its API shows it (the tries started so far).
    fn try_number(&self) -> u32 {
        match &self.latest {
            None => 0,
            Some(t) if t.state == TaskStateRecord::Queued => t.try_number.saturating_sub(1),
            Some(t) => t.try_number,
        }
    }
}

/// The instances of `runs` (every task of the DAG, as Airflow creates them with the run),
/// ordered by run, then the DAG's task order, then map index.
pub(crate) async fn instances(
    state: &Shared,
    dag_id: Option<&str>,
    runs: &[DagRunRecord],
    run_id: Option<&str>,
) -> ApiResult<Vec<Instance>> {
    let rows = state.store.latest_task_instances(dag_id, run_id).await?;
    let count = rows.len();
    // Rows come grouped by DAG and run: one key per run.
    let mut groups: Vec<Vec<TaskInstanceRecord>> = Vec::new();
    for t in rows {
        match groups.last_mut() {
            Some(g) if g[0].run_id == t.run_id && g[0].dag_id == t.dag_id => g.push(t),
            _ => groups.push(vec![t]),
        }
    }
    let mut by_run: HashMap<(String, String), Vec<TaskInstanceRecord>> = groups
        .into_iter()
        .map(|g| ((g[0].dag_id.clone(), g[0].run_id.clone()), g))
        .collect();
    let mut orders: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut out = Vec::with_capacity(count);
    for run in runs {
        let key = (run.dag_id.clone(), run.run_id.clone());
        let tries = by_run.remove(&key).unwrap_or_default();
        let instance = |task_id: String, map_index, latest| Instance {
            dag_id: run.dag_id.clone(),
            run_id: run.run_id.clone(),
            task_id,
            map_index,
            logical_date: run.logical_date,
            latest,
        };
        let order = orders.entry(&run.dag_id).or_insert_with(|| {
            state
                .dag(&run.dag_id)
                .map(|d| d.topological_ids())
                .unwrap_or_default()
        });
        let first = out.len();
        for task in order.iter() {
            if !tries.iter().any(|t| t.task_id == *task) {
                out.push(instance((*task).to_owned(), NOT_MAPPED, None));
            }
        }
        for t in tries {
            out.push(instance(t.task_id.clone(), t.map_index, Some(t)));
        }
        // Rows come by task id: show the run's instances in the DAG's task order (tasks it no
        // longer has last), then by map index.
        let rank = |i: &Instance| {
            let at = order.iter().position(|o| *o == i.task_id);
            (at.unwrap_or(usize::MAX), i.map_index)
        };
        out[first..].sort_by_key(rank);
    }
    Ok(out)
}

/// Airflow's `TaskInstance` schema.
pub(crate) fn instance_json(state: &Shared, i: &Instance) -> Value {
    let dag = state.dag(&i.dag_id);
    let task = dag.and_then(|d| d.task(&i.task_id));
    let retries = task.map_or(0, |t| t.options().retries);
    let tries = i.try_number();
    // Airflow raises `max_tries` by the retries each time an instance is cleared.
    let max_tries = if tries > retries + 1 {
        tries - 1 + retries
    } else {
        retries
    };
    let operator = match task.map(|t| t.spec().kind) {
        Some(TaskKind::Shell) => "ShellTask",
        _ => "RustTask",
    };
    let queued = i
        .latest
        .as_ref()
        .filter(|t| t.state != TaskStateRecord::NoStatus)
        .map(|t| t.start);
    json!({
        "task_id": i.task_id,
        "dag_id": i.dag_id,
        "dag_run_id": i.run_id,
        "map_index": i.map_index,
        "execution_date": iso(i.logical_date),
        "start_date": iso_opt(i.start_date()),
        "end_date": iso_opt(i.latest.as_ref().and_then(|t| t.end)),
        "duration": i.duration(),
        "state": i.state(),
        "try_number": tries,
        "max_tries": max_tries,
        "hostname": i.latest.as_ref().map_or("", |t| t.hostname.as_str()),
        "unixname": unixname(),
        "pool": "default_pool",
        "pool_slots": 1,
        "queue": "default",
        "priority_weight": 1,
        "operator": operator,
        "queued_when": iso_opt(queued),
        "pid": i.latest.as_ref().and_then(|t| t.pid),
        "executor_config": "{}",
        "note": null,
        "sla_miss": null,
        "rendered_fields": {},
        "trigger": null,
        "triggerer_job": null,
    })
}

/// The user the server runs as (Airflow's `unixname`).
fn unixname() -> String {
    std::env::var("USER").unwrap_or_else(|_| "rocket-dag".to_owned())
}

/// Airflow's `TaskInstanceReference`.
fn reference(i: &Instance) -> Value {
    json!({
        "task_id": i.task_id,
        "dag_id": i.dag_id,
        "execution_date": iso(i.logical_date),
        "dag_run_id": i.run_id,
    })
}

/// The filters of a task instance listing: `state` (`none` for no status), the
/// `…_gte`/`…_lte` ranges of `execution_date`, `start_date`, `end_date` and `duration`,
/// `pool`, `queue`; read once per request.
struct Filter<'q> {
    states: Vec<&'q str>,
    /// `(gte, lte)` of `execution_date`, `start_date`, `end_date`.
    dates: [DateRange; 3],
    duration: (Option<i64>, Option<i64>),
    /// Every instance is in `default_pool` and queue `default`: whether those are allowed.
    pool_and_queue: bool,
}

impl<'q> Filter<'q> {
    fn new(q: &'q Params) -> ApiResult<Filter<'q>> {
        let range = |f: &str| -> ApiResult<_> {
            Ok((q.date(&format!("{f}_gte"))?, q.date(&format!("{f}_lte"))?))
        };
        let (pools, queues) = (q.all("pool"), q.all("queue"));
        Ok(Filter {
            states: q.all("state"),
            dates: [
                range("execution_date")?,
                range("start_date")?,
                range("end_date")?,
            ],
            duration: (q.int("duration_gte")?, q.int("duration_lte")?),
            pool_and_queue: (pools.is_empty() || pools.contains(&"default_pool"))
                && (queues.is_empty() || queues.contains(&"default")),
        })
    }

    /// Whether it lets every instance through (then counts need not read every try).
    fn is_open(&self) -> bool {
        self.states.is_empty()
            && self.dates.iter().all(|(g, l)| g.is_none() && l.is_none())
            && self.duration == (None, None)
            && self.pool_and_queue
    }

    fn matches(&self, i: &Instance) -> bool {
        let state = i.state().unwrap_or("none");
        if !self.states.is_empty()
            && !self
                .states
                .iter()
                .any(|s| *s == state || (*s == "null" && state == "none"))
        {
            return false;
        }
        let end = i.latest.as_ref().and_then(|t| t.end);
        let times = [Some(i.logical_date), i.start_date(), end];
        if !times
            .iter()
            .zip(&self.dates)
            .all(|(t, (g, l))| within(*t, *g, *l))
        {
            return false;
        }
        let (dg, dl) = self.duration;
        if dg.is_some() || dl.is_some() {
            let Some(d) = i.duration() else {
                return false;
            };
            if dg.is_some_and(|g| d < g as f64) || dl.is_some_and(|l| d > l as f64) {
                return false;
            }
        }
        self.pool_and_queue
    }
}

/// The instances `q` selects, as `{"task_instances": […], "total_entries": n}`.
fn listing(state: &Shared, q: &Params, all: Vec<Instance>) -> ApiResult<Value> {
    let page = q.page()?;
    let filter = Filter::new(q)?;
    let kept: Vec<Instance> = all.into_iter().filter(|i| filter.matches(i)).collect();
    let total = kept.len();
    let tis: Vec<Value> = page
        .of(kept)
        .iter()
        .map(|i| instance_json(state, i))
        .collect();
    Ok(json!({ "task_instances": tis, "total_entries": total }))
}

/// An unfiltered listing of the instances of `runs`: counted per run in SQL, and only the
/// runs the page covers read, so a page costs the same out of 100 or 100,000 instances.
async fn paged(
    state: &Shared,
    runs: &[DagRunRecord],
    run_id: Option<&str>,
    page: params::Page,
) -> ApiResult<Value> {
    let mut per_run = HashMap::new();
    let mut dags: Vec<&str> = runs.iter().map(|r| r.dag_id.as_str()).collect();
    dags.sort_unstable();
    dags.dedup();
    for dag in dags {
        let known: Vec<&str> = state
            .dag(dag)
            .map(|d| d.topological_ids())
            .unwrap_or_default();
        let counts = state.store.instance_counts(dag, run_id, &known).await?;
        for run in runs.iter().filter(|r| r.dag_id == dag) {
            let c = counts.get(&run.run_id).copied().unwrap_or_default();
            // Tasks without a try are listed once each, as `instances` lists them.
            let untried = (known.len() as u64).saturating_sub(c.known_tasks);
            per_run.insert((dag, run.run_id.as_str()), c.instances + untried);
        }
    }
    let (from, to) = (page.offset as u64, (page.offset + page.limit) as u64);
    let (mut total, mut skip, mut items) = (0u64, None, Vec::new());
    for run in runs {
        let n = per_run[&(run.dag_id.as_str(), run.run_id.as_str())];
        if total + n > from && total < to {
            skip.get_or_insert(from.saturating_sub(total));
            let one = std::slice::from_ref(run);
            items.extend(instances(state, Some(&run.dag_id), one, Some(&run.run_id)).await?);
        }
        total += n;
    }
    let skip = usize::try_from(skip.unwrap_or(0)).unwrap_or(usize::MAX);
    let tis: Vec<Value> = items
        .iter()
        .skip(skip)
        .take(page.limit)
        .map(|i| instance_json(state, i))
        .collect();
    Ok(json!({ "task_instances": tis, "total_entries": total }))
}

/// `GET /dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances`; `~` for every DAG or run.
pub(super) async fn list(
    State(state): State<AppState>,
    Path((dag_id, run_id)): Path<(String, String)>,
    Query(q): Query<Vec<(String, String)>>,
) -> ApiResult {
    let q = Params(q);
    let dag = if dag_id == "~" {
        None
    } else {
        Some(params::dag(&state, &dag_id)?.id())
    };
    let (runs, run) = match (dag, run_id.as_str()) {
        (_, "~") => (state.store.all_runs(dag).await?, None),
        (Some(d), r) => (vec![params::run(&state, d, r).await?], Some(r)),
        (None, r) => {
            crate::ids::run(r)?;
            let runs: Vec<DagRunRecord> = state
                .store
                .all_runs(None)
                .await?
                .into_iter()
                .filter(|x| x.run_id == r)
                .collect();
            (runs, Some(r))
        }
    };
    if Filter::new(&q)?.is_open() {
        return Ok(super::json(paged(&state, &runs, run, q.page()?).await?));
    }
    let all = instances(&state, dag, &runs, run).await?;
    Ok(super::json(listing(&state, &q, all)?))
}

/// The run and the instances of task `task_id` in it (the task checked).
async fn of_task<'s>(
    state: &'s Shared,
    dag_id: &str,
    run_id: &str,
    task_id: &str,
) -> ApiResult<(&'s Dag, Vec<Instance>)> {
    let dag = params::dag(state, dag_id)?;
    crate::ids::task(task_id)?;
    let run = params::run(state, dag_id, run_id).await?;
    if dag.task(task_id).is_none() {
        return Err(ApiError::NotFound {
            title: "Task instance not found",
            detail: None,
        });
    }
    let all = instances(
        state,
        Some(dag.id()),
        std::slice::from_ref(&run),
        Some(run_id),
    )
    .await?;
    Ok((
        dag,
        all.into_iter().filter(|i| i.task_id == task_id).collect(),
    ))
}

fn mapped_not_found() -> ApiError {
    ApiError::not_found(
        "Task instance not found",
        "Task instance is mapped, add the map_index value to the URL",
    )
}

/// The instance of `task_id` at `map_index` (`-1`: not mapped).
async fn one(
    state: &Shared,
    (dag_id, run_id, task_id): (&str, &str, &str),
    map_index: i32,
) -> ApiResult<Instance> {
    let (dag, all) = of_task(state, dag_id, run_id, task_id).await?;
    let mapped = dag.task(task_id).is_some_and(|t| t.is_mapped());
    if map_index == NOT_MAPPED && mapped && all.iter().any(|i| i.map_index >= 0) {
        return Err(mapped_not_found());
    }
    all.into_iter()
        .find(|i| i.map_index == map_index)
        .ok_or(ApiError::NotFound {
            title: "Task instance not found",
            detail: None,
        })
}

/// A map index from the path.
fn map_index(raw: &str) -> ApiResult<i32> {
    raw.parse()
        .map_err(|_| ApiError::BadRequest(format!("'{raw}' is not of type 'integer' (map_index)")))
}

/// `GET …/taskInstances/{task_id}`.
pub(super) async fn get_one(
    State(state): State<AppState>,
    Path((dag_id, run_id, task_id)): Path<(String, String, String)>,
) -> ApiResult {
    let i = one(&state, (&dag_id, &run_id, &task_id), NOT_MAPPED).await?;
    Ok(super::json(instance_json(&state, &i)))
}

/// `GET …/taskInstances/{task_id}/{map_index}`.
pub(super) async fn get_mapped(
    State(state): State<AppState>,
    Path((dag_id, run_id, task_id, index)): Path<(String, String, String, String)>,
) -> ApiResult {
    let i = one(&state, (&dag_id, &run_id, &task_id), map_index(&index)?).await?;
    Ok(super::json(instance_json(&state, &i)))
}

/// `GET …/taskInstances/{task_id}/listMapped`: the elements of a mapped task; `order_by`
/// `map_index` (default), `-map_index`, `state`, `-state`.
pub(super) async fn list_mapped(
    State(state): State<AppState>,
    Path((dag_id, run_id, task_id)): Path<(String, String, String)>,
    Query(q): Query<Vec<(String, String)>>,
) -> ApiResult {
    let q = Params(q);
    let (dag, all) = of_task(&state, &dag_id, &run_id, &task_id).await?;
    if !dag.task(&task_id).is_some_and(|t| t.is_mapped()) {
        return Err(ApiError::NotFound {
            title: "Task id is not mapped",
            detail: Some(format!("Task id {task_id} is not mapped")),
        });
    }
    let mut all: Vec<Instance> = all.into_iter().filter(|i| i.map_index >= 0).collect();
    match q.one("order_by") {
        None | Some("map_index") => {}
        Some("-map_index") => all.reverse(),
        Some("state") => all.sort_by_key(|i| i.state().unwrap_or("")),
        Some("-state") => all.sort_by_key(|i| std::cmp::Reverse(i.state().unwrap_or(""))),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "Ordering with '{other}' is not supported"
            )));
        }
    }
    Ok(super::json(listing(&state, &q, all)?))
}

/// The body of `PATCH …/taskInstances/{task_id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetState {
    #[serde(default = "yes")]
    dry_run: bool,
    new_state: Option<String>,
    note: Option<String>,
}

fn yes() -> bool {
    true
}

/// The states `PATCH` may set.
fn settable(s: &str) -> ApiResult<TaskStateRecord> {
    match s {
        "success" => Ok(TaskStateRecord::Success),
        "failed" => Ok(TaskStateRecord::Failed),
        "skipped" => Ok(TaskStateRecord::Skipped),
        other => Err(ApiError::BadRequest(format!(
            "{{'new_state': ['Must be one of: success, failed, skipped.']}} (got '{other}')"
        ))),
    }
}

/// Sets the state of one instance (unless `dry_run`, Airflow's default); its reference.
async fn set_state(
    state: &Shared,
    ids: (&str, &str, &str),
    index: i32,
    caller: Option<&Caller>,
    (headers, bytes): (&HeaderMap, &[u8]),
) -> ApiResult {
    let body: SetState = params::body(headers, bytes)?;
    let i = one(state, ids, index).await?;
    let Some(new_state) = body.new_state.as_deref() else {
        return Err(ApiError::BadRequest(
            "{'new_state': ['Missing data for required field.']}".into(),
        ));
    };
    let new_state = settable(new_state)?;
    if body.note.as_ref().is_some_and(|n| n.len() > 1000) {
        return Err(ApiError::BadRequest(
            "{'note': ['Longer than maximum length 1000.']}".into(),
        ));
    }
    if !body.dry_run {
        let only = (index != NOT_MAPPED).then_some((ids.2, index));
        let by = params::by(caller);
        control::mark_tasks(&state.store, ids.0, ids.1, &[ids.2], only, new_state, &by).await?;
    }
    Ok(super::json(reference(&i)))
}

/// `PATCH …/taskInstances/{task_id}`: `{"new_state": …, "dry_run": false}`.
pub(super) async fn patch(
    State(state): State<AppState>,
    Path((dag_id, run_id, task_id)): Path<(String, String, String)>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult {
    let ids = (dag_id.as_str(), run_id.as_str(), task_id.as_str());
    set_state(
        &state,
        ids,
        NOT_MAPPED,
        caller.as_deref(),
        (&headers, &bytes),
    )
    .await
}

/// `PATCH …/taskInstances/{task_id}/{map_index}`.
pub(super) async fn patch_mapped(
    State(state): State<AppState>,
    Path((dag_id, run_id, task_id, index)): Path<(String, String, String, String)>,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    bytes: Bytes,
) -> ApiResult {
    let ids = (dag_id.as_str(), run_id.as_str(), task_id.as_str());
    let index = map_index(&index)?;
    set_state(&state, ids, index, caller.as_deref(), (&headers, &bytes)).await
}

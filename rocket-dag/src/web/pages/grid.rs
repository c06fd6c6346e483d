//! A DAG's Grid tab: its last runs (columns, oldest first) × its tasks (rows), each cell
//! coloured by the state of the task in the run and linked to the instance; a mapped task's
//! cell counts its elements. `…/grid/live` is the same table alone, for `live.js`.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;

use super::super::AppState;
use super::super::auth::Caller;
use super::tabs::DagNav;
use super::{Chrome, PageError, enc, find_dag, render, url, when};
use crate::dag::Dag;
use crate::store::{DagRunRecord, NOT_MAPPED, RunStateRecord, TaskInstanceRecord, TaskStateRecord};

/// Runs shown unless `?runs=` says otherwise, and the most it may say.
const DEFAULT_RUNS: u32 = 25;
const MAX_RUNS: u32 = 1000;

/// The routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/dags/{dag_id}", get(to_grid))
        .route("/dags/{dag_id}/grid", get(page))
        .route("/dags/{dag_id}/grid/live", get(live))
}

async fn to_grid(Path(dag_id): Path<String>) -> Result<Redirect, PageError> {
    crate::ids::dag(&dag_id)?;
    Ok(Redirect::to(&url::tab(&dag_id, "grid", None)))
}

#[derive(Debug, Deserialize)]
pub(super) struct GridQuery {
    runs: Option<u32>,
    run_id: Option<String>,
}

/// The grid: what the page and its live fragment show.
pub(crate) struct Grid {
    live_url: String,
    /// Whether a run shown may still change (`live.js` polls every second then).
    active: bool,
    runs: Vec<RunColumn>,
    rows: Vec<TaskRow>,
}

struct RunColumn {
    state: &'static str,
    href: String,
    title: String,
    selected: bool,
}

struct TaskRow {
    id: String,
    mapped: bool,
    cells: Vec<Cell>,
}

struct Cell {
    run: String,
    state: &'static str,
    href: String,
    text: String,
    title: String,
}

#[derive(Template)]
#[template(path = "web/grid.html")]
struct GridPage {
    chrome: Chrome,
    nav: DagNav,
    grid: Grid,
    legend: Vec<&'static str>,
}

#[derive(Template)]
#[template(path = "web/grid_live.html")]
struct GridFragment {
    grid: Grid,
}

async fn page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(dag_id): Path<String>,
    Query(q): Query<GridQuery>,
) -> Result<Response, PageError> {
    let dag = find_dag(&state, &dag_id)?;
    if let Some(r) = &q.run_id {
        crate::ids::run(r)?;
    }
    let grid = load(&state, dag, &q).await?;
    let nav = DagNav::new(&state, dag, "grid", q.run_id.as_deref()).await?;
    Ok(render(&GridPage {
        chrome: Chrome::new(&state, &caller, format!("{} — Grid", dag.id())),
        nav,
        grid,
        legend: super::assets::STATES.iter().map(|s| s.as_str()).collect(),
    }))
}

async fn live(
    State(state): State<AppState>,
    Path(dag_id): Path<String>,
    Query(q): Query<GridQuery>,
) -> Result<Response, PageError> {
    let dag = find_dag(&state, &dag_id)?;
    if let Some(r) = &q.run_id {
        crate::ids::run(r)?;
    }
    Ok(render(&GridFragment {
        grid: load(&state, dag, &q).await?,
    }))
}

/// Reads the last runs and their tries (two queries) and lays them out.
pub(crate) async fn load(state: &AppState, dag: &Dag, q: &GridQuery) -> Result<Grid, PageError> {
    let n = q.runs.unwrap_or(DEFAULT_RUNS).clamp(1, MAX_RUNS);
    let mut runs = state.store.list_runs(Some(dag.id()), None, n).await?;
    runs.reverse();
    let tries = state.store.recent_task_instances(dag.id(), n).await?;
    let mut live_url = format!("/dags/{}/grid/live?runs={n}", enc(dag.id()));
    if let Some(r) = &q.run_id {
        live_url.push_str(&format!("&run_id={}", enc(r)));
    }
    Ok(layout(dag, &runs, &tries, q.run_id.as_deref(), live_url))
}

/// The grid of `runs` (oldest first) from their `tries`.
fn layout(
    dag: &Dag,
    runs: &[DagRunRecord],
    tries: &[TaskInstanceRecord],
    selected: Option<&str>,
    live_url: String,
) -> Grid {
    // (run, task) → map index → latest try.
    let mut latest: HashMap<(&str, &str), BTreeMap<i32, &TaskInstanceRecord>> = HashMap::new();
    for t in tries {
        let slot = latest
            .entry((t.run_id.as_str(), t.task_id.as_str()))
            .or_default()
            .entry(t.map_index)
            .or_insert(t);
        if t.try_number > slot.try_number {
            *slot = t;
        }
    }
    let active = runs
        .iter()
        .any(|r| matches!(r.state, RunStateRecord::Queued | RunStateRecord::Running));
    let columns = runs
        .iter()
        .map(|r| RunColumn {
            state: r.state.as_str(),
            href: url::run(dag.id(), &r.run_id),
            title: format!(
                "{} — {} (logical date {})",
                r.run_id,
                r.state.as_str(),
                when(r.logical_date)
            ),
            selected: selected == Some(r.run_id.as_str()),
        })
        .collect();
    let rows = dag
        .topological_ids()
        .into_iter()
        .map(|task| TaskRow {
            id: task.to_owned(),
            mapped: dag.task(task).is_some_and(|t| t.is_mapped()),
            cells: runs
                .iter()
                .map(|r| cell(dag.id(), r, task, latest.get(&(r.run_id.as_str(), task))))
                .collect(),
        })
        .collect();
    Grid {
        live_url,
        active,
        runs: columns,
        rows,
    }
}

/// One cell: the task's state in the run; a mapped task's element count and states.
fn cell(
    dag: &str,
    run: &DagRunRecord,
    task: &str,
    latest: Option<&BTreeMap<i32, &TaskInstanceRecord>>,
) -> Cell {
    let href = url::instance(dag, &run.run_id, task, NOT_MAPPED);
    let Some(latest) = latest.filter(|l| !l.is_empty()) else {
        return Cell {
            run: run.run_id.clone(),
            state: TaskStateRecord::NoStatus.as_str(),
            href,
            text: String::new(),
            title: format!("{task} — {}: no status", run.run_id),
        };
    };
    let elements: Vec<&TaskInstanceRecord> = latest.values().copied().collect();
    let mapped = elements.iter().any(|t| t.map_index != NOT_MAPPED);
    if !mapped {
        let s = elements[0].state.as_str();
        return Cell {
            run: run.run_id.clone(),
            state: s,
            href,
            text: String::new(),
            title: format!("{task} — {}: {s}", run.run_id),
        };
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &elements {
        *counts.entry(t.state.as_str()).or_default() += 1;
    }
    let counts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    Cell {
        run: run.run_id.clone(),
        state: crate::store::mapped_state(&elements).as_str(),
        href,
        text: elements.len().to_string(),
        title: format!("{task} — {}: {}", run.run_id, counts.join(", ")),
    }
}

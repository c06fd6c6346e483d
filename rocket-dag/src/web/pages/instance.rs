//! A task instance's page: its tries (start, end, duration, host, error), its output (XCom),
//! each attempt's log with a live tail and a download; a mapped task's elements; the actions
//! clear (optionally with downstream) and mark success/failed.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

use super::super::AppState;
use super::super::auth::Caller;
use super::logs::{Attempt, page_tail};
use super::run::BY;
use super::{Chrome, PageError, csrf, enc, find_dag, render, took, url, when};
use crate::control;
use crate::dag::Dag;
use crate::store::{NOT_MAPPED, RunStateRecord, TaskInstanceRecord, TaskStateRecord};
use crate::viz::RunHistory;

/// Output shown on the page is cut after this many bytes.
const OUTPUT_LIMIT: usize = 20 * 1024;

/// The routes.
pub(super) fn routes() -> Router<AppState> {
    let base = "/dags/{dag_id}/runs/{run_id}/tasks/{task_id}";
    Router::new()
        .route(base, get(page))
        .route(&format!("{base}/live"), get(live))
        .route(&format!("{base}/clear"), post(clear))
        .route(&format!("{base}/mark"), post(mark))
}

#[derive(Debug, Deserialize)]
struct InstanceQuery {
    map_index: Option<i32>,
}

/// The tries table, alone for `live.js`.
struct Tries {
    live_url: String,
    active: bool,
    state: &'static str,
    rows: Vec<TryRow>,
    /// A mapped task's elements (when no map index was asked for): (index, state, link).
    elements: Vec<(i32, &'static str, String)>,
    counts: String,
}

struct TryRow {
    try_number: u32,
    map_index: i32,
    state: &'static str,
    start: String,
    end: String,
    duration: String,
    host: String,
    error: String,
}

struct LogView {
    try_number: u32,
    download: String,
    tail: String,
    text: String,
    cut: bool,
    exists: bool,
    open: bool,
}

#[derive(Template)]
#[template(path = "web/instance.html")]
struct InstancePage {
    chrome: Chrome,
    dag_id: String,
    run_id: String,
    label: String,
    run_href: String,
    grid_href: String,
    action: String,
    map_index: i32,
    tries: Tries,
    output: Option<String>,
    logs: Vec<LogView>,
}

#[derive(Template)]
#[template(path = "web/instance_live.html")]
struct TriesFragment {
    tries: Tries,
}

struct Ids<'a> {
    dag: &'a Dag,
    run: String,
    task: String,
    map_index: i32,
}

fn ids<'a>(
    state: &'a AppState,
    (dag_id, run_id, task_id): (String, String, String),
    map_index: Option<i32>,
) -> Result<Ids<'a>, PageError> {
    let dag = find_dag(state, &dag_id)?;
    crate::ids::run(&run_id)?;
    crate::ids::task(&task_id)?;
    if dag.task(&task_id).is_none() {
        return Err(PageError::NotFound(format!(
            "DAG `{dag_id}` has no task `{task_id}`"
        )));
    }
    Ok(Ids {
        dag,
        run: run_id,
        task: task_id,
        map_index: map_index.unwrap_or(NOT_MAPPED).max(NOT_MAPPED),
    })
}

/// The tries of the instance (every element's, for a mapped task without a map index).
fn tries_of(h: &RunHistory, ids: &Ids<'_>) -> Tries {
    let latest = h.latest_tries(&ids.task);
    let mapped = latest.iter().any(|t| t.map_index != NOT_MAPPED);
    let whole = mapped && ids.map_index == NOT_MAPPED;
    let mine: Vec<&TaskInstanceRecord> = h
        .tries
        .iter()
        .filter(|t| t.task_id == ids.task && (whole || t.map_index == ids.map_index))
        .collect();
    let mut live_url = format!(
        "{}/live",
        url::instance(ids.dag.id(), &ids.run, &ids.task, NOT_MAPPED)
    );
    if ids.map_index >= 0 {
        live_url.push_str(&format!("?map_index={}", ids.map_index));
    }
    let state = if whole {
        crate::store::mapped_state(&latest)
    } else {
        latest
            .iter()
            .find(|t| t.map_index == ids.map_index)
            .map_or(TaskStateRecord::NoStatus, |t| t.state)
    };
    let run_active = matches!(
        h.run.state,
        RunStateRecord::Queued | RunStateRecord::Running
    );
    let summary = h.task_summary(&ids.task);
    Tries {
        live_url,
        active: run_active,
        state: state.as_str(),
        rows: if whole {
            Vec::new()
        } else {
            mine.iter().map(|t| try_row(t)).collect()
        },
        elements: if whole {
            latest
                .iter()
                .map(|t| {
                    let href = url::instance(ids.dag.id(), &ids.run, &ids.task, t.map_index);
                    (t.map_index, t.state.as_str(), href)
                })
                .collect()
        } else {
            Vec::new()
        },
        counts: summary.filter(|s| s.mapped).map_or(String::new(), |s| {
            let parts: Vec<String> = s.by_state.iter().map(|(k, n)| format!("{n} {k}")).collect();
            format!("{} elements: {}", s.instances, parts.join(", "))
        }),
    }
}

fn try_row(t: &TaskInstanceRecord) -> TryRow {
    TryRow {
        try_number: t.try_number,
        map_index: t.map_index,
        state: t.state.as_str(),
        start: when(t.start),
        end: t.end.map_or("—".to_owned(), when),
        duration: t.duration.map_or("—".to_owned(), took),
        host: t.hostname.clone(),
        error: t.error.clone().unwrap_or_default(),
    }
}

async fn page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(path): Path<(String, String, String)>,
    Query(q): Query<InstanceQuery>,
) -> Result<Response, PageError> {
    let ids = ids(&state, path, q.map_index)?;
    let dag = ids.dag;
    let h = RunHistory::load(&state.store, dag.id(), Some(&ids.run)).await?;
    let tries = tries_of(&h, &ids);
    let output = state
        .store
        .load_xcoms(dag.id(), &ids.run)
        .await?
        .into_iter()
        .find(|(t, m, _)| *t == ids.task && *m == ids.map_index)
        .map(|(_, _, json)| pretty(&json));
    let logs = logs(&state, &ids, &tries).await?;
    let label = if ids.map_index >= 0 {
        format!("{}[{}]", ids.task, ids.map_index)
    } else {
        ids.task.clone()
    };
    Ok(render(&InstancePage {
        chrome: Chrome::new(&state, &caller, format!("{label} — {}", ids.run)),
        dag_id: dag.id().to_owned(),
        run_href: url::run(dag.id(), &ids.run),
        grid_href: url::tab(dag.id(), "grid", Some(&ids.run)),
        action: format!(
            "/dags/{}/runs/{}/tasks/{}",
            enc(dag.id()),
            enc(&ids.run),
            enc(&ids.task)
        ),
        map_index: ids.map_index,
        label,
        tries,
        output,
        logs,
        run_id: ids.run,
    }))
}

/// Each try's log (its end), the latest open and followed live.
async fn logs(state: &AppState, ids: &Ids<'_>, tries: &Tries) -> Result<Vec<LogView>, PageError> {
    let mut out = Vec::new();
    let last = tries.rows.iter().map(|r| r.try_number).max();
    for r in &tries.rows {
        let a = Attempt {
            dag: ids.dag.id().to_owned(),
            run: ids.run.clone(),
            task: ids.task.clone(),
            map_index: r.map_index,
            try_number: r.try_number,
        };
        let read = page_tail(a.path(&state.home)?).await;
        let (text, cut, offset) = read.clone().unwrap_or_default();
        let link = |suffix| url::log(&a.dag, &a.run, &a.task, a.map_index, a.try_number, suffix);
        let tail = link("/tail");
        let sep = if tail.contains('?') { '&' } else { '?' };
        out.push(LogView {
            try_number: r.try_number,
            download: link(""),
            tail: format!("{tail}{sep}offset={offset}"),
            text,
            cut,
            exists: read.is_some(),
            open: Some(r.try_number) == last,
        });
    }
    Ok(out)
}

/// JSON pretty-printed, cut after [`OUTPUT_LIMIT`] bytes.
fn pretty(json: &str) -> String {
    let mut text = serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| json.to_owned());
    if text.len() > OUTPUT_LIMIT {
        let mut cut = OUTPUT_LIMIT;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("\n… (cut)");
    }
    text
}

async fn live(
    State(state): State<AppState>,
    Path(path): Path<(String, String, String)>,
    Query(q): Query<InstanceQuery>,
) -> Result<Response, PageError> {
    let ids = ids(&state, path, q.map_index)?;
    let h = RunHistory::load(&state.store, ids.dag.id(), Some(&ids.run)).await?;
    Ok(render(&TriesFragment {
        tries: tries_of(&h, &ids),
    }))
}

#[derive(Debug, Deserialize)]
struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    downstream: Option<String>,
    #[serde(default)]
    state: String,
    map_index: Option<i32>,
}

/// Clears the task (and, asked, everything downstream): the run goes back to queued.
async fn clear(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(path): Path<(String, String, String)>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, PageError> {
    csrf(&caller, &f.csrf)?;
    let ids = ids(&state, path, f.map_index)?;
    let dag = ids.dag;
    let start = dag
        .task_index(&ids.task)
        .ok_or_else(|| PageError::NotFound(format!("no task `{}`", ids.task)))?;
    let tasks: Vec<&str> = control::with_downstream(dag, start, f.downstream.is_some())
        .into_iter()
        .map(|i| dag.tasks()[i].id())
        .collect();
    control::clear(&state.store, &state.home, dag.id(), &ids.run, &tasks, BY).await?;
    Ok(Redirect::to(&url::instance(
        dag.id(),
        &ids.run,
        &ids.task,
        ids.map_index,
    )))
}

/// Marks the instance (one element of a mapped task when a map index is given).
async fn mark(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(path): Path<(String, String, String)>,
    Form(f): Form<ActionForm>,
) -> Result<Redirect, PageError> {
    csrf(&caller, &f.csrf)?;
    let ids = ids(&state, path, f.map_index)?;
    let to = match f.state.as_str() {
        "success" => TaskStateRecord::Success,
        "failed" => TaskStateRecord::Failed,
        _ => {
            return Err(PageError::BadRequest(
                "mark an instance success or failed".into(),
            ));
        }
    };
    let only = (ids.map_index >= 0).then_some((ids.task.as_str(), ids.map_index));
    if let Some((task, index)) = only {
        control::check_map_index(&state.store, ids.dag, &ids.run, task, i64::from(index)).await?;
    }
    let dag = ids.dag.id();
    control::mark_tasks(&state.store, dag, &ids.run, &[&ids.task], only, to, BY).await?;
    Ok(Redirect::to(&url::instance(
        dag,
        &ids.run,
        &ids.task,
        ids.map_index,
    )))
}

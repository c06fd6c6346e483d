//! A DAG's Graph, Gantt, Code and Details tabs, and the navigation every tab shares (tabs,
//! the run shown, downloads). Graph and Gantt have live fragments (`…/graph/live`,
//! `…/gantt/live`) that `live.js` swaps in while the run is active.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;

use super::super::AppState;
use super::super::auth::Caller;
use super::{Chrome, PageError, enc, find_dag, render, url, when};
use crate::dag::Dag;
use crate::store::RunStateRecord;
use crate::viz::{self, RunHistory, VizError};

/// How many runs the run selector offers.
const SELECTABLE_RUNS: u32 = 25;

/// The routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/dags/{dag_id}/graph", get(graph))
        .route("/dags/{dag_id}/graph/live", get(graph_live))
        .route("/dags/{dag_id}/gantt", get(gantt))
        .route("/dags/{dag_id}/gantt/live", get(gantt_live))
        .route("/dags/{dag_id}/code", get(code))
        .route("/dags/{dag_id}/details", get(details))
}

/// The tabs, the run selector and the DAG's downloads.
pub(crate) struct DagNav {
    pub(crate) dag_id: String,
    pub(crate) tab: &'static str,
    pub(crate) tabs: Vec<(&'static str, String, bool)>,
    /// (run id, selected)
    pub(crate) runs: Vec<(String, bool)>,
    pub(crate) run_href: Option<String>,
    pub(crate) lanes_href: String,
    pub(crate) architecture_href: String,
    pub(crate) export_href: String,
}

impl DagNav {
    /// The navigation of `dag`'s tab `tab`, showing run `run` (the last started one if none).
    pub(crate) async fn new(
        state: &AppState,
        dag: &Dag,
        tab: &'static str,
        run: Option<&str>,
    ) -> Result<DagNav, PageError> {
        // Every tab's `?run_id=` is checked here, once.
        if let Some(r) = run {
            crate::ids::run(r)?;
        }
        let recent = state
            .store
            .list_runs(Some(dag.id()), None, SELECTABLE_RUNS)
            .await?;
        let chosen = match run {
            Some(r) => Some(r.to_owned()),
            None => recent.first().map(|r| r.run_id.clone()),
        };
        let mut runs: Vec<(String, bool)> = recent
            .iter()
            .map(|r| {
                (
                    r.run_id.clone(),
                    chosen.as_deref() == Some(r.run_id.as_str()),
                )
            })
            .collect();
        if let Some(c) = &chosen
            && !runs.iter().any(|(_, on)| *on)
        {
            runs.insert(0, (c.clone(), true));
        }
        let tabs = ["grid", "graph", "gantt", "code", "details"]
            .into_iter()
            .map(|t| (t, url::tab(dag.id(), t, run), t == tab))
            .collect();
        let d = enc(dag.id());
        Ok(DagNav {
            dag_id: dag.id().to_owned(),
            tab,
            tabs,
            run_href: chosen.as_deref().map(|r| url::run(dag.id(), r)),
            runs,
            lanes_href: format!("/dags/{d}/download/lanes.drawio"),
            architecture_href: format!("/dags/{d}/download/architecture.drawio"),
            export_href: format!("/dags/{d}/download/export.tar.gz"),
        })
    }
}

#[derive(Debug, Deserialize)]
struct RunQuery {
    run_id: Option<String>,
}

/// A picture of one run that follows it while it is active.
struct Figure {
    live_url: String,
    active: bool,
    /// SVG from `viz` (escaped there), or empty.
    svg: String,
    note: String,
}

#[derive(Template)]
#[template(path = "web/figure.html")]
struct FigurePage {
    chrome: Chrome,
    nav: DagNav,
    figure: Figure,
}

#[derive(Template)]
#[template(path = "web/figure_live.html")]
struct FigureFragment {
    figure: Figure,
}

/// The run asked for (or the last started), if any run exists.
async fn history(
    state: &AppState,
    dag: &Dag,
    run: Option<&str>,
) -> Result<Option<RunHistory>, PageError> {
    if let Some(r) = run {
        crate::ids::run(r)?;
    }
    match RunHistory::load(&state.store, dag.id(), run).await {
        Ok(h) => Ok(Some(h)),
        Err(VizError::NoRun { .. }) if run.is_none() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Draws the graph (`gantt == false`) or the Gantt chart of the run asked for.
async fn figure(
    state: &AppState,
    dag: &Dag,
    run: Option<&str>,
    gantt: bool,
) -> Result<Figure, PageError> {
    let h = history(state, dag, run).await?;
    let tab = if gantt { "gantt" } else { "graph" };
    let mut live_url = format!("/dags/{}/{tab}/live", enc(dag.id()));
    if let Some(h) = &h {
        live_url.push_str(&format!("?run_id={}", enc(&h.run.run_id)));
    }
    let active = h.as_ref().is_some_and(|h| {
        matches!(
            h.run.state,
            RunStateRecord::Queued | RunStateRecord::Running
        )
    });
    let (svg, note) = match (&h, gantt) {
        (Some(h), true) if h.tries.is_empty() => (
            String::new(),
            format!("Run {} has no task attempt yet.", h.run.run_id),
        ),
        (Some(h), true) => (viz::gantt::gantt_svg(h, Some(dag)), String::new()),
        (None, true) => (String::new(), "No run yet.".to_owned()),
        (h, false) => (viz::graph::dag_svg(dag, h.as_ref()), String::new()),
    };
    let note = match (&h, note.is_empty()) {
        (Some(h), true) => format!(
            "Run {} — {} (logical date {})",
            h.run.run_id,
            h.run.state.as_str(),
            when(h.run.logical_date)
        ),
        _ => note,
    };
    Ok(Figure {
        live_url,
        active,
        svg,
        note,
    })
}

async fn figure_page(
    state: AppState,
    caller: Caller,
    dag_id: String,
    run: Option<String>,
    gantt: bool,
) -> Result<Response, PageError> {
    let dag = find_dag(&state, &dag_id)?;
    let figure = figure(&state, dag, run.as_deref(), gantt).await?;
    let tab = if gantt { "gantt" } else { "graph" };
    let nav = DagNav::new(&state, dag, tab, run.as_deref()).await?;
    let title = format!("{} — {}", dag.id(), if gantt { "Gantt" } else { "Graph" });
    Ok(render(&FigurePage {
        chrome: Chrome::new(&state, &caller, title),
        nav,
        figure,
    }))
}

async fn graph(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(dag_id): Path<String>,
    Query(q): Query<RunQuery>,
) -> Result<Response, PageError> {
    figure_page(state, caller, dag_id, q.run_id, false).await
}

async fn gantt(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(dag_id): Path<String>,
    Query(q): Query<RunQuery>,
) -> Result<Response, PageError> {
    figure_page(state, caller, dag_id, q.run_id, true).await
}

async fn graph_live(
    State(state): State<AppState>,
    Path(dag_id): Path<String>,
    Query(q): Query<RunQuery>,
) -> Result<Response, PageError> {
    let dag = find_dag(&state, &dag_id)?;
    let figure = figure(&state, dag, q.run_id.as_deref(), false).await?;
    Ok(render(&FigureFragment { figure }))
}

async fn gantt_live(
    State(state): State<AppState>,
    Path(dag_id): Path<String>,
    Query(q): Query<RunQuery>,
) -> Result<Response, PageError> {
    let dag = find_dag(&state, &dag_id)?;
    let figure = figure(&state, dag, q.run_id.as_deref(), true).await?;
    Ok(render(&FigureFragment { figure }))
}

#[derive(Template)]
#[template(path = "web/code.html")]
struct CodePage {
    chrome: Chrome,
    nav: DagNav,
    dag_source: String,
    tasks: Vec<viz::report::TaskCode>,
}

async fn code(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(dag_id): Path<String>,
    Query(q): Query<RunQuery>,
) -> Result<Response, PageError> {
    let dag = find_dag(&state, &dag_id)?;
    let nav = DagNav::new(&state, dag, "code", q.run_id.as_deref()).await?;
    Ok(render(&CodePage {
        chrome: Chrome::new(&state, &caller, format!("{} — Code", dag.id())),
        nav,
        dag_source: dag.options().source.to_owned(),
        tasks: viz::report::task_code(dag),
    }))
}

#[derive(Template)]
#[template(path = "web/details.html")]
struct DetailsPage {
    chrome: Chrome,
    nav: DagNav,
    description: String,
    facts: Vec<(&'static str, String)>,
    tags: Vec<String>,
    tasks: Vec<TaskFacts>,
}

struct TaskFacts {
    id: String,
    doc: String,
    upstream: String,
    mapped: bool,
    layer: &'static str,
    retries: u32,
    trigger_rule: String,
    timeout: String,
}

async fn details(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(dag_id): Path<String>,
    Query(q): Query<RunQuery>,
) -> Result<Response, PageError> {
    let dag = find_dag(&state, &dag_id)?;
    let nav = DagNav::new(&state, dag, "details", q.run_id.as_deref()).await?;
    let o = dag.options();
    let opt = |d: Option<chrono::NaiveDateTime>| d.map_or("—".to_owned(), |d| d.to_string());
    let facts = vec![
        ("Schedule", o.schedule.as_str().to_owned()),
        ("Time zone", o.timezone.name().to_owned()),
        ("Start date", opt(o.start_date)),
        ("End date", opt(o.end_date)),
        ("Catchup", o.catchup.to_string()),
        ("Max active tasks", o.max_active_tasks.to_string()),
        ("Max active runs", o.max_active_runs.to_string()),
        ("Paused", state.store.is_paused(dag.id()).await?.to_string()),
    ];
    // Notification settings are left out: they may hold addresses and webhook secrets.
    let tasks = dag
        .topological_order()
        .iter()
        .map(|&i| {
            let t = &dag.tasks()[i];
            let opts = t.options();
            let up: Vec<&str> = t.upstream().iter().map(|&u| dag.tasks()[u].id()).collect();
            TaskFacts {
                id: t.id().to_owned(),
                doc: t.doc().lines().next().unwrap_or("").to_owned(),
                upstream: up.join(", "),
                mapped: t.is_mapped(),
                layer: viz::layer_title(opts.layer),
                retries: opts.retries,
                trigger_rule: opts.trigger_rule.as_str().to_owned(),
                timeout: opts.execution_timeout.map_or("—".to_owned(), super::took),
            }
        })
        .collect();
    Ok(render(&DetailsPage {
        chrome: Chrome::new(&state, &caller, format!("{} — Details", dag.id())),
        nav,
        description: o.description.clone(),
        facts,
        tags: o.tags.clone(),
        tasks,
    }))
}

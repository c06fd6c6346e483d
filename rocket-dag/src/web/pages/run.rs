//! A run's page: its facts and conf, what each task amounted to, the run's downloads, and the
//! actions mark success/failed and clear the failed tasks.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

use super::super::AppState;
use super::super::auth::Caller;
use super::{Chrome, PageError, csrf, enc, find_dag, render, took, url, when};
use crate::control;
use crate::store::RunStateRecord;
use crate::viz::RunHistory;

/// Who the web UI's actions are recorded as.
pub(crate) const BY: &str = "the web UI";

/// The routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/dags/{dag_id}/runs/{run_id}", get(page))
        .route("/dags/{dag_id}/runs/{run_id}/mark", post(mark))
        .route(
            "/dags/{dag_id}/runs/{run_id}/clear_failed",
            post(clear_failed),
        )
}

#[derive(Template)]
#[template(path = "web/run.html")]
struct RunPage {
    chrome: Chrome,
    dag_id: String,
    run_id: String,
    state: &'static str,
    action: String,
    grid_href: String,
    facts: Vec<(&'static str, String)>,
    conf: String,
    tasks: Vec<TaskLine>,
    downloads: Vec<(&'static str, String)>,
}

struct TaskLine {
    id: String,
    href: String,
    state: &'static str,
    detail: String,
}

async fn page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((dag_id, run_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let dag = find_dag(&state, &dag_id)?;
    crate::ids::run(&run_id)?;
    let h = RunHistory::load(&state.store, dag.id(), Some(&run_id)).await?;
    let r = &h.run;
    let facts = vec![
        ("Type", r.run_type.as_str().to_owned()),
        ("Logical date", when(r.logical_date)),
        (
            "Data interval",
            format!(
                "{} to {}",
                when(r.data_interval_start),
                when(r.data_interval_end)
            ),
        ),
        ("Started", when(r.start)),
        ("Ended", r.end.map_or("—".to_owned(), when)),
        (
            "Duration",
            r.end
                .and_then(|e| (e - r.start).to_std().ok())
                .map_or("—".to_owned(), took),
        ),
    ];
    let tasks = task_lines(dag, &h, &run_id);
    let base = format!("/dags/{}/runs/{}", enc(dag.id()), enc(&run_id));
    let downloads = downloads(&base);
    Ok(render(&RunPage {
        chrome: Chrome::new(&state, &caller, format!("{} — {}", dag.id(), run_id)),
        dag_id: dag.id().to_owned(),
        state: r.state.as_str(),
        action: base,
        grid_href: url::tab(dag.id(), "grid", Some(&run_id)),
        facts,
        // Conf is what the trigger gave: shown as is (it is the run's input, not a secret store).
        conf: serde_json::to_string_pretty(&r.conf).unwrap_or_default(),
        tasks,
        downloads,
        run_id,
    }))
}

/// What each task amounted to in the run.
fn task_lines(dag: &crate::dag::Dag, h: &RunHistory, run_id: &str) -> Vec<TaskLine> {
    dag.topological_ids()
        .into_iter()
        .map(|task| match h.task_summary(task) {
            None => TaskLine {
                id: task.to_owned(),
                href: url::instance(dag.id(), run_id, task, -1),
                state: "no_status",
                detail: String::new(),
            },
            Some(s) => TaskLine {
                id: task.to_owned(),
                href: url::instance(dag.id(), run_id, task, -1),
                state: s.state.as_str(),
                detail: if s.mapped {
                    let parts: Vec<String> =
                        s.by_state.iter().map(|(k, n)| format!("{n} {k}")).collect();
                    format!("{} elements: {}", s.instances, parts.join(", "))
                } else {
                    format!("{} tr{}", s.tries, if s.tries == 1 { "y" } else { "ies" })
                },
            },
        })
        .collect()
}

/// The run's downloads under `base` (its page's path); the PDF only where Chromium is.
fn downloads(base: &str) -> Vec<(&'static str, String)> {
    let mut downloads = vec![
        ("Gantt chart (SVG)", format!("{base}/download/gantt.svg")),
        ("Gantt chart (HTML)", format!("{base}/download/gantt.html")),
        ("Run report (HTML)", format!("{base}/download/report.html")),
    ];
    if crate::viz::chromium::find().is_some() {
        downloads.push(("Run report (PDF)", format!("{base}/download/report.pdf")));
    }
    downloads.push((
        "Export archive (.tar.gz)",
        format!("{base}/download/export.tar.gz"),
    ));
    downloads
}

#[derive(Debug, Deserialize)]
struct MarkForm {
    #[serde(default)]
    csrf: String,
    state: String,
}

async fn mark(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((dag_id, run_id)): Path<(String, String)>,
    Form(f): Form<MarkForm>,
) -> Result<Redirect, PageError> {
    csrf(&caller, &f.csrf)?;
    let dag = find_dag(&state, &dag_id)?;
    crate::ids::run(&run_id)?;
    let to = match f.state.as_str() {
        "success" => RunStateRecord::Success,
        "failed" => RunStateRecord::Failed,
        _ => return Err(PageError::BadRequest("mark a run success or failed".into())),
    };
    control::mark_run(&state.store, dag.id(), &run_id, to).await?;
    Ok(Redirect::to(&url::run(dag.id(), &run_id)))
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn clear_failed(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((dag_id, run_id)): Path<(String, String)>,
    Form(f): Form<CsrfForm>,
) -> Result<Redirect, PageError> {
    csrf(&caller, &f.csrf)?;
    let dag = find_dag(&state, &dag_id)?;
    crate::ids::run(&run_id)?;
    control::recorded_run(&state.store, dag.id(), &run_id).await?;
    let failed = control::failed_tasks(&state.store, dag, &run_id).await?;
    if !failed.is_empty() {
        let tasks: Vec<&str> = failed.iter().map(String::as_str).collect();
        control::clear(&state.store, &state.home, dag.id(), &run_id, &tasks, BY).await?;
    }
    Ok(Redirect::to(&url::tab(dag.id(), "grid", Some(&run_id))))
}

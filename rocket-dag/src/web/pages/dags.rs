//! `/` (and `/home`): every DAG with its schedule, next run, pause toggle, last runs and a
//! trigger form; the forms' POST handlers.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;

use super::super::AppState;
use super::super::auth::Caller;
use super::{Chrome, PageError, csrf, find_dag, render, url, when};
use crate::control::{self, Trigger};
use crate::dag::Dag;
use crate::store::{RunType, Store};

/// How many of a DAG's last runs the list shows.
const LAST_RUNS: u32 = 12;

/// The routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(page))
        .route("/home", get(page))
        .route("/dags/{dag_id}/pause", post(pause))
        .route("/dags/{dag_id}/trigger", post(trigger))
}

#[derive(Template)]
#[template(path = "web/dags.html")]
struct DagsPage {
    chrome: Chrome,
    dags: Vec<DagRow>,
}

struct DagRow {
    id: String,
    href: String,
    description: String,
    schedule: String,
    next_run: String,
    paused: bool,
    tags: Vec<String>,
    /// Oldest first: (state, link, title).
    last_runs: Vec<(&'static str, String, String)>,
}

async fn page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, PageError> {
    let mut dags = Vec::with_capacity(state.dags.len());
    for dag in &state.dags {
        dags.push(row(&state.store, dag).await?);
    }
    Ok(render(&DagsPage {
        chrome: Chrome::new(&state, &caller, "DAGs"),
        dags,
    }))
}

async fn row(store: &Store, dag: &Dag) -> Result<DagRow, PageError> {
    let o = dag.options();
    let last = store
        .last_run(dag.id(), Some(RunType::Scheduled))
        .await?
        .map(|r| crate::timetable::DataInterval {
            start: r.data_interval_start,
            end: r.data_interval_end,
        });
    let paused = store.is_paused(dag.id()).await?;
    let next = crate::timetable::next_interval(o, last.as_ref(), Utc::now());
    let runs = store.list_runs(Some(dag.id()), None, LAST_RUNS).await?;
    let last_runs = runs
        .iter()
        .rev()
        .map(|r| {
            (
                r.state.as_str(),
                url::tab(dag.id(), "grid", Some(&r.run_id)),
                format!("{} — {}", r.run_id, r.state.as_str()),
            )
        })
        .collect();
    Ok(DagRow {
        id: dag.id().to_owned(),
        href: url::tab(dag.id(), "grid", None),
        description: o.description.lines().next().unwrap_or("").to_owned(),
        schedule: o.schedule.as_str().to_owned(),
        next_run: next.map_or_else(|| "—".to_owned(), |i| when(i.start)),
        paused,
        tags: o.tags.clone(),
        last_runs,
    })
}

#[derive(Debug, Deserialize)]
struct PauseForm {
    #[serde(default)]
    csrf: String,
    /// `true` to pause, `false` to unpause.
    paused: String,
}

async fn pause(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(dag_id): Path<String>,
    Form(f): Form<PauseForm>,
) -> Result<Redirect, PageError> {
    csrf(&caller, &f.csrf)?;
    let dag = find_dag(&state, &dag_id)?;
    let paused = match f.paused.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(PageError::BadRequest("`paused` is true or false".into())),
    };
    control::set_paused(&state.store, &state.home, dag.id(), paused).await?;
    Ok(Redirect::to("/"))
}

#[derive(Debug, Deserialize)]
struct TriggerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    conf: String,
    #[serde(default)]
    logical_date: String,
}

/// Queues a run (`control::trigger`) and shows it in the Grid.
async fn trigger(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(dag_id): Path<String>,
    Form(f): Form<TriggerForm>,
) -> Result<Redirect, PageError> {
    csrf(&caller, &f.csrf)?;
    let dag = find_dag(&state, &dag_id)?;
    let request = Trigger {
        logical_date: logical_date(&f.logical_date)?,
        run_id: None,
        conf: conf(&f.conf)?,
    };
    let run = control::trigger(&state.store, &state.home, dag, request).await?;
    Ok(Redirect::to(&url::tab(dag.id(), "grid", Some(&run.run_id))))
}

/// The conf: a JSON object, `{}` when empty.
fn conf(text: &str) -> Result<serde_json::Map<String, serde_json::Value>, PageError> {
    if text.trim().is_empty() {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_str(text) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => Err(PageError::BadRequest(
            "the conf must be a JSON object, e.g. {\"key\": \"value\"}".into(),
        )),
        Err(e) => Err(PageError::BadRequest(format!("the conf is not JSON: {e}"))),
    }
}

/// The logical date: RFC 3339, or a browser's `datetime-local` value (read as UTC); now when
/// empty.
fn logical_date(text: &str) -> Result<Option<DateTime<Utc>>, PageError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .map(|n| Some(n.and_utc()))
        .ok_or_else(|| {
            PageError::BadRequest(format!(
                "cannot read the logical date `{text}`: give e.g. 2026-12-04T06:00:00Z"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_values_are_read() {
        assert!(conf("").unwrap().is_empty());
        assert_eq!(conf(r#"{"a": 1}"#).unwrap()["a"], 1);
        assert!(conf("[1]").is_err() && conf("{").is_err());
        assert_eq!(logical_date(" ").unwrap(), None);
        let t = logical_date("2026-12-04T06:00").unwrap().unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-04T06:00:00+00:00");
        assert!(logical_date("2026-12-04T06:00:00+01:00").unwrap().is_some());
        assert!(logical_date("tomorrow").is_err());
    }
}

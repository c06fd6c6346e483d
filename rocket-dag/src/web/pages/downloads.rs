//! The course deliverables, as files to save: the DAG in swimlanes and the architecture
//! (draw.io), a run's Gantt chart (SVG, HTML), its report (HTML, and PDF where Chromium is
//! installed) and the export archive (`.tar.gz`, as `export` makes it). Each is drawn by the
//! same function as the command that writes it.

use std::path::Path as FsPath;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::super::AppState;
use super::logs::file_chunks;
use super::{PageError, find_dag};
use crate::dag::Dag;
use crate::viz::{self, RunHistory};

const DRAWIO: &str = "application/vnd.jgraph.mxfile";

/// The routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/dags/{dag_id}/download/{file}", get(dag_file))
        .route(
            "/dags/{dag_id}/runs/{run_id}/download/{file}",
            get(run_file),
        )
}

/// `body` as an attachment named `name`.
fn attachment(content_type: &str, name: &str, body: impl Into<Body>) -> Response {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body.into(),
    )
        .into_response()
}

async fn dag_file(
    State(state): State<AppState>,
    Path((dag_id, file)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let dag = find_dag(&state, &dag_id)?;
    let id = dag.id();
    match file.as_str() {
        "lanes.drawio" => {
            let text = viz::lanes::LaneDiagram::from_dag(dag).to_drawio();
            Ok(attachment(DRAWIO, &format!("{id}-lanes.drawio"), text))
        }
        "architecture.drawio" => {
            let diagram = viz::architecture::architecture(&format!("{id} — architecture"), &[dag]);
            if diagram.nodes.is_empty() {
                return Err(PageError::NotFound(format!(
                    "no task of `{id}` declares what it reads or writes: no architecture to draw"
                )));
            }
            Ok(attachment(
                DRAWIO,
                &format!("{id}-architecture.drawio"),
                diagram.to_drawio(),
            ))
        }
        "export.tar.gz" => export(&state, dag, None).await,
        _ => Err(PageError::NotFound(format!("no download `{file}`"))),
    }
}

async fn run_file(
    State(state): State<AppState>,
    Path((dag_id, run_id, file)): Path<(String, String, String)>,
) -> Result<Response, PageError> {
    let dag = find_dag(&state, &dag_id)?;
    crate::ids::run(&run_id)?;
    let stem = format!("{}-{run_id}", dag.id());
    match file.as_str() {
        "gantt.svg" | "gantt.html" => {
            let h = RunHistory::load(&state.store, dag.id(), Some(&run_id)).await?;
            Ok(if file == "gantt.svg" {
                let svg = viz::gantt::gantt_svg(&h, Some(dag));
                attachment("image/svg+xml", &format!("gantt-{stem}.svg"), svg)
            } else {
                let html = viz::gantt::gantt_html(&h, Some(dag));
                attachment(
                    "text/html; charset=utf-8",
                    &format!("gantt-{stem}.html"),
                    html,
                )
            })
        }
        "report.html" => {
            let report = viz::report::build(dag, &state.store, &state.home, Some(&run_id)).await?;
            let name = format!("report-{stem}.html");
            Ok(attachment("text/html; charset=utf-8", &name, report.html()))
        }
        "report.pdf" => pdf(&state, dag, &run_id).await,
        "export.tar.gz" => export(&state, dag, Some(&run_id)).await,
        _ => Err(PageError::NotFound(format!("no download `{file}`"))),
    }
}

/// The run report printed by headless Chromium (as `report --pdf` does).
async fn pdf(state: &AppState, dag: &Dag, run_id: &str) -> Result<Response, PageError> {
    if viz::chromium::find().is_none() {
        return Err(PageError::NotFound(
            "no Chromium on the server's machine to print the PDF: download the HTML report".into(),
        ));
    }
    let report = viz::report::build(dag, &state.store, &state.home, Some(run_id)).await?;
    let dir =
        tempfile::tempdir().map_err(|e| PageError::Io(format!("no temporary folder: {e}")))?;
    let (html, out) = (
        dir.path().join("report.html"),
        dir.path().join("report.pdf"),
    );
    std::fs::write(&html, report.print_html())
        .map_err(|e| PageError::Io(format!("cannot write the page to print: {e}")))?;
    let target = out.clone();
    tokio::task::spawn_blocking(move || viz::chromium::print_pdf(&html, &target))
        .await
        .map_err(|e| PageError::Io(format!("printing the PDF stopped: {e}")))?
        .map_err(|e| PageError::Io(e.to_string()))?;
    let bytes = tokio::fs::read(&out)
        .await
        .map_err(|e| PageError::Io(format!("cannot read the PDF: {e}")))?;
    let name = format!("report-{}-{run_id}.pdf", dag.id());
    Ok(attachment("application/pdf", &name, bytes))
}

/// The export archive of one run (or every run), written to a temporary file and streamed
/// from it (the file is gone once sent: its name is removed before streaming).
async fn export(state: &AppState, dag: &Dag, run: Option<&str>) -> Result<Response, PageError> {
    let dir =
        tempfile::tempdir().map_err(|e| PageError::Io(format!("no temporary folder: {e}")))?;
    let out = dir.path().join("export.tar.gz");
    crate::export::export(&state.store, &state.home, dag.id(), run, &out)
        .await
        .map_err(|e| match e {
            crate::export::ExportError::NoRun { .. } => PageError::NotFound(e.to_string()),
            e => PageError::Io(e.to_string()),
        })?;
    let file = open_then_remove(&out, dir)?;
    let name = format!("{}-{}.tar.gz", dag.id(), run.unwrap_or("all-runs"));
    Ok(attachment(
        "application/gzip",
        &name,
        Body::from_stream(file_chunks(file)),
    ))
}

/// Opens `path` and removes its folder: the open file stays readable until dropped.
fn open_then_remove(path: &FsPath, dir: tempfile::TempDir) -> Result<tokio::fs::File, PageError> {
    let file = std::fs::File::open(path)
        .map_err(|e| PageError::Io(format!("cannot read the archive: {e}")))?;
    drop(dir);
    Ok(tokio::fs::File::from_std(file))
}

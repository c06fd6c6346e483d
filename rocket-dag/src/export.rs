//! Export a DAG's runs in one archive (the course's "automate the export to the host"): the run
//! records as JSON, the attempt logs and the data the runs produced.

use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Serialize;

use crate::store::{DagRunRecord, Store, StoreError, TaskInstanceRecord};

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Reading the run history failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No run matched.
    #[error("no recorded run of DAG `{dag}`{}", run.as_ref().map(|r| format!(" with id `{r}`")).unwrap_or_default())]
    NoRun {
        /// The DAG.
        dag: String,
        /// The run asked for.
        run: Option<String>,
    },
    /// Writing the archive failed.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The archive.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A run and its tries, as written to `runs.json`.
#[derive(Debug, Serialize)]
pub struct ExportedRun {
    /// The run.
    #[serde(flatten)]
    pub run: DagRunRecord,
    /// Every try of every task.
    pub task_instances: Vec<TaskInstanceRecord>,
}

/// What [`export`] wrote.
#[derive(Debug, Serialize)]
pub struct ExportSummary {
    /// The archive.
    pub path: PathBuf,
    /// Runs in it.
    pub runs: usize,
    /// Files in it (logs and data), besides `runs.json`.
    pub files: usize,
}

/// Writes `<dag>/runs.json`, `<dag>/logs/…` (Airflow's layout, only the exported runs) and
/// `<dag>/data/…` into a gzip'd tar at `out`. The archive is written under a temporary name and
/// renamed, so `out` is never half-written.
pub async fn export(
    store: &Store,
    home: &Path,
    dag: &str,
    run: Option<&str>,
    out: &Path,
) -> Result<ExportSummary, ExportError> {
    let exported = read_runs(store, dag, run).await?;
    let (home, dag, out) = (home.to_owned(), dag.to_owned(), out.to_owned());
    let path = out.clone();
    let written = tokio::task::spawn_blocking(move || write_archive(&home, &dag, &exported, &out))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)));
    written.map_err(|source| ExportError::Io { path, source })
}

/// The runs to export (one, or every run of the DAG) with their tries.
async fn read_runs(
    store: &Store,
    dag: &str,
    run: Option<&str>,
) -> Result<Vec<ExportedRun>, ExportError> {
    let runs = match run {
        Some(r) => store.get_run(dag, r).await?.into_iter().collect::<Vec<_>>(),
        None => store.list_runs(Some(dag), None, u32::MAX).await?,
    };
    if runs.is_empty() {
        return Err(ExportError::NoRun {
            dag: dag.to_owned(),
            run: run.map(str::to_owned),
        });
    }
    let mut exported = Vec::with_capacity(runs.len());
    for r in runs {
        let task_instances = store.task_instances(dag, &r.run_id).await?;
        exported.push(ExportedRun {
            run: r,
            task_instances,
        });
    }
    Ok(exported)
}

/// The archive, built under a temporary name beside `out` and renamed once complete.
fn write_archive(
    home: &Path,
    dag: &str,
    exported: &[ExportedRun],
    out: &Path,
) -> std::io::Result<ExportSummary> {
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = tempfile::Builder::new()
        .prefix(".export.")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    let mut tar = tar::Builder::new(GzEncoder::new(tmp.as_file(), Compression::default()));
    tar.follow_symlinks(false);
    let json = serde_json::to_vec_pretty(exported).expect("records serialize");
    let mut header = tar::Header::new_gnu();
    header.set_size(json.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
    tar.append_data(&mut header, format!("{dag}/runs.json"), json.as_slice())?;
    // The ids were checked when they were recorded; the layout is the home's (`crate::home`).
    let invalid = std::io::Error::other;
    let mut files = 0;
    for r in exported {
        let run_dir = format!("run_id={}", r.run.run_id);
        let logs = crate::home::run_logs(home, dag, &r.run.run_id).map_err(invalid)?;
        files += append_tree(&mut tar, &logs, &format!("{dag}/logs/{run_dir}"))?;
    }
    let data = crate::home::data_dir(home, dag).map_err(invalid)?;
    files += append_tree(&mut tar, &data, &format!("{dag}/data"))?;
    tar.into_inner()?.finish()?.sync_all()?;
    tmp.persist(out).map_err(|e| e.error)?;
    Ok(ExportSummary {
        path: out.to_owned(),
        runs: exported.len(),
        files,
    })
}

/// Adds every regular file under `dir` (none if it does not exist); hidden in-progress files
/// (`.name.part`, `.name.tmp`) are left out.
fn append_tree<W: std::io::Write>(
    tar: &mut tar::Builder<W>,
    dir: &Path,
    prefix: &str,
) -> std::io::Result<usize> {
    let mut n = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let ty = e.file_type()?;
        if ty.is_dir() {
            n += append_tree(tar, &e.path(), &format!("{prefix}/{name}"))?;
        } else if ty.is_file()
            && !(name.starts_with('.') && (name.ends_with(".part") || name.ends_with(".tmp")))
        {
            tar.append_path_with_name(e.path(), format!("{prefix}/{name}"))?;
            n += 1;
        }
    }
    Ok(n)
}

//! Loading a run report: the run and its tries, the task outputs, each attempt's log (its
//! tail) and the report files the DAG's tasks write, read only inside the data directory.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Component, Path};

use chrono::Utc;

use crate::Dag;
use crate::asset::AssetKind;
use crate::store::{Store, TaskInstanceRecord};
use crate::viz::{RunHistory, VizError, architecture, gantt, graph, lanes};

use super::{
    AttemptLog, FileContent, FolderEntry, LOG_LIMIT, LogText, Report, ResultAsset, ResultContent,
    TEXT_LIMIT, TaskCode, TaskOutput,
};

/// JSON report files larger than this are shown as text (not parsed).
const JSON_READ_LIMIT: u64 = 4 * 1024 * 1024;

/// Loads the report of run `run_id` of `dag` (its newest run when `None`) from `store` and the
/// files under `home` (logs, report files).
///
/// A log or report file that cannot be read is reported in the page, not as an error; the
/// error is for a store that cannot be read or a run that does not exist.
pub async fn build(
    dag: &Dag,
    store: &Store,
    home: &Path,
    run_id: Option<&str>,
) -> Result<Report, VizError> {
    let history = RunHistory::load(store, dag.id(), run_id).await?;
    let outputs = store
        .load_xcoms(dag.id(), &history.run.run_id)
        .await?
        .into_iter()
        .map(|(task_id, map_index, json)| TaskOutput {
            task_id,
            map_index,
            json,
        })
        .collect();
    let (logs, files) = read_files(dag, &history, home).await;
    let architecture = architecture::architecture(&format!("Architecture of {}", dag.id()), &[dag]);
    Ok(Report {
        dag_id: dag.id().to_owned(),
        description: dag.options().description.clone(),
        dag_source: dag.options().source.to_owned(),
        tasks: task_code(dag),
        graph_svg: graph::dag_svg(dag, Some(&history)),
        lanes_svg: lanes::LaneDiagram::from_dag(dag).to_svg(),
        architecture_nodes: architecture.nodes.len(),
        architecture_svg: architecture.to_svg(),
        gantt_svg: gantt::gantt_svg(&history, Some(dag)),
        history,
        logs,
        outputs,
        files,
        generated_at: Utc::now(),
    })
}

/// The DAG's tasks in topological order, as the code section (and the web UI's Code tab) shows them.
pub fn task_code(dag: &Dag) -> Vec<TaskCode> {
    dag.topological_order()
        .iter()
        .map(|&i| {
            let t = &dag.tasks()[i];
            TaskCode {
                id: t.id().to_owned(),
                doc: t.doc().to_owned(),
                source: t.spec().source.to_owned(),
                mapped: t.is_mapped(),
            }
        })
        .collect()
}

/// Each try's log and the DAG's report files for the run, read off the async runtime.
async fn read_files(
    dag: &Dag,
    history: &RunHistory,
    home: &Path,
) -> (Vec<AttemptLog>, Vec<ResultAsset>) {
    let home = home.to_path_buf();
    let data_dir = home.join("data").join(dag.id());
    let tries = history.tries.clone();
    let assets = report_assets(dag);
    let run_id = history.run.run_id.clone();
    let ds = history.run.logical_date.format("%Y-%m-%d").to_string();
    let read = move || {
        let logs = tries.iter().map(|t| attempt_log(t, &home)).collect();
        let files = assets
            .into_iter()
            .map(|(asset, written_by)| {
                let location = asset.location_for(&run_id, &ds);
                let content = read_result(&data_dir, &location);
                ResultAsset {
                    asset_id: asset.id.to_owned(),
                    label: asset.label.to_owned(),
                    written_by,
                    location,
                    content,
                }
            })
            .collect();
        (logs, files)
    };
    match tokio::task::spawn_blocking(read).await {
        Ok(x) => x,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => (Vec::new(), Vec::new()),
    }
}

/// The log of try `t`, its path relative to `home` unless absolute.
fn attempt_log(t: &TaskInstanceRecord, home: &Path) -> AttemptLog {
    AttemptLog {
        task_id: t.task_id.clone(),
        map_index: t.map_index,
        try_number: t.try_number,
        log: match &t.log_path {
            Some(p) => {
                let p = Path::new(p);
                read_log(&if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    home.join(p)
                })
            }
            None => LogText::None,
        },
    }
}

/// Every distinct asset of kind [`AssetKind::Report`] the DAG's tasks write, with the tasks
/// that write it, in topological order.
fn report_assets(dag: &Dag) -> Vec<(crate::Asset, Vec<String>)> {
    let mut out: Vec<(crate::Asset, Vec<String>)> = Vec::new();
    for &i in dag.topological_order() {
        let t = &dag.tasks()[i];
        for a in t
            .spec()
            .writes
            .iter()
            .filter(|a| a.kind == AssetKind::Report)
        {
            match out.iter_mut().find(|(b, _)| b.id == a.id) {
                Some((_, by)) => by.push(t.id().to_owned()),
                None => out.push((*a, vec![t.id().to_owned()])),
            }
        }
    }
    out
}

/// The last [`LOG_LIMIT`] bytes of a log file, from a line start.
pub(super) fn read_log(path: &Path) -> LogText {
    read_log_limited(path, LOG_LIMIT)
}

pub(super) fn read_log_limited(path: &Path, limit: u64) -> LogText {
    let unreadable = |e: std::io::Error| LogText::Unreadable {
        path: path.display().to_string(),
        reason: if e.kind() == std::io::ErrorKind::NotFound {
            "the file is missing".to_owned()
        } else {
            e.to_string()
        },
    };
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return unreadable(e),
    };
    let total = match f.metadata() {
        Ok(m) => m.len(),
        Err(e) => return unreadable(e),
    };
    let start = total.saturating_sub(limit);
    if start > 0
        && let Err(e) = f.seek(SeekFrom::Start(start))
    {
        return unreadable(e);
    }
    let mut buf = Vec::with_capacity((total - start) as usize);
    if let Err(e) = f.take(limit).read_to_end(&mut buf) {
        return unreadable(e);
    }
    let mut skip = 0;
    if start > 0 {
        // Start at a whole line (and so never inside a UTF-8 sequence).
        if let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            skip = nl + 1;
        }
    }
    LogText::Text {
        text: String::from_utf8_lossy(&buf[skip..]).into_owned(),
        cut: start + skip as u64,
        total,
    }
}

/// Whether a report location (run id and date filled in) may be read under the data
/// directory; `Err` says why not.
pub(super) fn check_location(location: &str) -> Result<(), String> {
    if location.trim().is_empty() {
        return Err("the asset has no location".to_owned());
    }
    if location.contains("://") {
        return Err(format!(
            "`{location}` is a URL, not a file under the data directory"
        ));
    }
    let p = Path::new(location);
    if p.is_absolute() || location.starts_with('/') || location.starts_with('\\') {
        return Err(format!(
            "`{location}` is absolute; report locations are relative to the DAG's data directory"
        ));
    }
    if p.components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        || location.split(['/', '\\']).any(|s| s == "..")
    {
        return Err(format!(
            "`{location}` leaves the DAG's data directory (`..`); not read"
        ));
    }
    Ok(())
}

/// What `location` (relative to `data_dir`) holds.
pub(super) fn read_result(data_dir: &Path, location: &str) -> ResultContent {
    if let Err(why) = check_location(location) {
        return ResultContent::Refused(why);
    }
    let path = data_dir.join(location);
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return ResultContent::Missing,
        Err(e) => return ResultContent::Unreadable(e.to_string()),
    };
    // A symbolic link may still point outside.
    if let (Ok(real), Ok(base)) = (path.canonicalize(), data_dir.canonicalize())
        && !real.starts_with(&base)
    {
        return ResultContent::Refused(format!(
            "`{location}` resolves outside the DAG's data directory; not read"
        ));
    }
    if meta.is_file() {
        return ResultContent::File(read_file(&path, meta.len()));
    }
    let entries = match std::fs::read_dir(&path) {
        Ok(e) => e,
        Err(e) => return ResultContent::Unreadable(e.to_string()),
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        // Entries are not followed: a link in the folder could point anywhere.
        let (is_dir, is_file, size) = match e.path().symlink_metadata() {
            Ok(m) => (
                m.is_dir(),
                m.is_file(),
                if m.is_file() { m.len() } else { 0 },
            ),
            Err(_) => (false, false, 0),
        };
        let content = (is_file && extension(&name) == "md").then(|| read_file(&e.path(), size));
        out.push(FolderEntry {
            name,
            size,
            is_dir,
            content,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    ResultContent::Folder(out)
}

fn extension(name: &str) -> String {
    Path::new(name)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

fn read_file(path: &Path, size: u64) -> FileContent {
    let ext = extension(&path.to_string_lossy());
    if ext == "json" && size <= JSON_READ_LIMIT {
        return match std::fs::read_to_string(path) {
            Ok(s) => FileContent::Json(s),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => FileContent::Binary { size },
            Err(e) => FileContent::Unreadable(e.to_string()),
        };
    }
    let mut buf = Vec::new();
    let read = std::fs::File::open(path)
        .and_then(|f| f.take(TEXT_LIMIT).read_to_end(&mut buf).map(|_| ()));
    if let Err(e) = read {
        return FileContent::Unreadable(e.to_string());
    }
    let cut = size.saturating_sub(buf.len() as u64);
    let text = match String::from_utf8(buf) {
        Ok(s) => s,
        // Cut inside a UTF-8 sequence: drop the partial character.
        Err(e) if cut > 0 && e.utf8_error().error_len().is_none() => {
            let valid = e.utf8_error().valid_up_to();
            let mut b = e.into_bytes();
            b.truncate(valid);
            String::from_utf8(b).unwrap_or_default()
        }
        Err(_) => return FileContent::Binary { size },
    };
    if text.contains('\0') {
        return FileContent::Binary { size };
    }
    if ext == "md" || ext == "markdown" {
        FileContent::Markdown { text, cut }
    } else {
        FileContent::Text { text, cut }
    }
}

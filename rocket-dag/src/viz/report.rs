//! The run report: one self-contained HTML file (and a PDF through headless Chromium).
//!
//! [`build`] reads everything a report shows (the run and its tries from the [`Store`], the
//! task outputs, each attempt's log file, the report files the DAG's tasks declare they
//! write) into a [`Report`]; [`Report::html`] renders it, a pure function of that data. The
//! page has no script and fetches nothing (a Content-Security-Policy says so to the browser):
//! styles are inline, the pictures are inline SVG, links only jump within the page.
//! [`Report::print_html`] is the same page with every collapsible block open, for printing;
//! [`super::chromium::print_pdf`] prints a page to PDF with headless Chromium.
//!
//! Sections, each a `<section id="…">`: `summary`, `statement`, `code`, `graph`, `lanes`,
//! `architecture`, `gantt`, `logs`, `results` ([`SECTIONS`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Component, Path};
use std::time::Duration;

use askama::Template;
use chrono::{DateTime, Utc};
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd};

use crate::Dag;
use crate::asset::AssetKind;
use crate::store::{NOT_MAPPED, Store, TaskStateRecord};

use super::html::escape_html;
use super::palette::{run_state_color, state_color};
use super::{RunHistory, VizError};

/// The id and title of every section of the page, in order.
pub const SECTIONS: [(&str, &str); 9] = [
    ("summary", "Summary"),
    ("statement", "Statement"),
    ("code", "Code"),
    ("graph", "Graph"),
    ("lanes", "DAG in layers"),
    ("architecture", "Architecture"),
    ("gantt", "Gantt chart"),
    ("logs", "Logs"),
    ("results", "Results"),
];

/// At most this much of each attempt's log is kept (its tail).
pub const LOG_LIMIT: u64 = 256 * 1024;
/// Pretty-printed JSON (task outputs, `.json` report files) is cut after this many bytes.
pub const JSON_LIMIT: usize = 20 * 1024;
/// At most this much of a Markdown or text report file is kept (its head).
pub const TEXT_LIMIT: u64 = 256 * 1024;
/// JSON report files larger than this are shown as text (not parsed).
const JSON_READ_LIMIT: u64 = 4 * 1024 * 1024;

/// Everything a run report shows, loaded by [`build`].
#[derive(Debug, Clone)]
pub struct Report {
    /// The DAG.
    pub dag_id: String,
    /// The DAG's description (its doc comment), Markdown.
    pub description: String,
    /// The DAG fn's source as written.
    pub dag_source: String,
    /// The DAG's tasks in topological order.
    pub tasks: Vec<TaskCode>,
    /// The run and every try.
    pub history: RunHistory,
    /// Each try's log, in the order of `history.tries`.
    pub logs: Vec<AttemptLog>,
    /// The outputs of the run's task instances.
    pub outputs: Vec<TaskOutput>,
    /// The report files the DAG's tasks write (assets of kind [`AssetKind::Report`]).
    pub files: Vec<ResultAsset>,
    /// The graph, coloured by state (SVG).
    pub graph_svg: String,
    /// The DAG in Source / Storage / Business swimlanes (SVG).
    pub lanes_svg: String,
    /// The architecture from the tasks' reads and writes (SVG).
    pub architecture_svg: String,
    /// How many nodes the architecture has (none: no task declares reads/writes).
    pub architecture_nodes: usize,
    /// The Gantt chart of the run (SVG).
    pub gantt_svg: String,
    /// When the report was made.
    pub generated_at: DateTime<Utc>,
}

/// A task of the DAG as the code section shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskCode {
    /// Task id.
    pub id: String,
    /// Its doc comment.
    pub doc: String,
    /// Its fn's source as written.
    pub source: String,
    /// Whether it runs once per element of a list.
    pub mapped: bool,
}

/// The log of one try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptLog {
    /// The task.
    pub task_id: String,
    /// Its map index ([`NOT_MAPPED`] when not mapped).
    pub map_index: i32,
    /// The try, from 1.
    pub try_number: u32,
    /// What was read.
    pub log: LogText,
}

/// An attempt's log as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogText {
    /// The log, or its last [`LOG_LIMIT`] bytes.
    Text {
        /// The text kept.
        text: String,
        /// Bytes left out at the start.
        cut: u64,
        /// The file's size.
        total: u64,
    },
    /// The try has a log file that could not be read.
    Unreadable {
        /// The file.
        path: String,
        /// Why (e.g. "not found").
        reason: String,
    },
    /// The try has no log file (it never ran, or logs were off).
    None,
}

/// A task instance's output (its latest try's), as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskOutput {
    /// The task.
    pub task_id: String,
    /// Its map index ([`NOT_MAPPED`] when not mapped).
    pub map_index: i32,
    /// The output as JSON text.
    pub json: String,
}

/// A report asset written by one of the DAG's tasks, and what was found at its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultAsset {
    /// The asset's id.
    pub asset_id: String,
    /// What diagrams call it.
    pub label: String,
    /// The tasks that write it.
    pub written_by: Vec<String>,
    /// Its location for the run (`{run_id}` and `{ds}` filled in), relative to
    /// `<home>/data/<dag_id>/`.
    pub location: String,
    /// What is there.
    pub content: ResultContent,
}

/// What a report asset's location holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultContent {
    /// The location was not read: it is absolute, leaves the data directory, or is a URL.
    Refused(String),
    /// Nothing there.
    Missing,
    /// It could not be read.
    Unreadable(String),
    /// A folder: its entries, by name.
    Folder(Vec<FolderEntry>),
    /// A file.
    File(FileContent),
}

/// An entry of a report folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderEntry {
    /// File name.
    pub name: String,
    /// Size in bytes (0 for a folder).
    pub size: u64,
    /// Whether it is a folder.
    pub is_dir: bool,
    /// The content of a Markdown file (other files are only listed).
    pub content: Option<FileContent>,
}

/// A report file's content as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileContent {
    /// Markdown source (its first [`TEXT_LIMIT`] bytes).
    Markdown {
        /// The text kept.
        text: String,
        /// Bytes left out at the end.
        cut: u64,
    },
    /// JSON, as read (pretty-printed and cut when rendered).
    Json(String),
    /// Other text (its first [`TEXT_LIMIT`] bytes).
    Text {
        /// The text kept.
        text: String,
        /// Bytes left out at the end.
        cut: u64,
    },
    /// Not text.
    Binary {
        /// Size in bytes.
        size: u64,
    },
    /// Could not be read.
    Unreadable(String),
}

// ---------------------------------------------------------------------------------- loading

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

    let home = home.to_path_buf();
    let data_dir = home.join("data").join(dag.id());
    let tries = history.tries.clone();
    let assets = report_assets(dag);
    let run_id = history.run.run_id.clone();
    let ds = history.run.logical_date.format("%Y-%m-%d").to_string();
    let read = move || {
        let logs = tries
            .iter()
            .map(|t| AttemptLog {
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
            })
            .collect::<Vec<_>>();
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
            .collect::<Vec<_>>();
        (logs, files)
    };
    let (logs, files) = match tokio::task::spawn_blocking(read).await {
        Ok(x) => x,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => (Vec::new(), Vec::new()),
    };

    let architecture =
        super::architecture::architecture(&format!("Architecture of {}", dag.id()), &[dag]);
    Ok(Report {
        dag_id: dag.id().to_owned(),
        description: dag.options().description.clone(),
        dag_source: dag.options().source.to_owned(),
        tasks: dag
            .topological_order()
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
            .collect(),
        graph_svg: super::graph::dag_svg(dag, Some(&history)),
        lanes_svg: super::lanes::LaneDiagram::from_dag(dag).to_svg(),
        architecture_nodes: architecture.nodes.len(),
        architecture_svg: architecture.to_svg(),
        gantt_svg: super::gantt::gantt_svg(&history, Some(dag)),
        history,
        logs,
        outputs,
        files,
        generated_at: Utc::now(),
    })
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
pub(crate) fn read_log(path: &Path) -> LogText {
    read_log_limited(path, LOG_LIMIT)
}

fn read_log_limited(path: &Path, limit: u64) -> LogText {
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
pub(crate) fn check_location(location: &str) -> Result<(), String> {
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
pub(crate) fn read_result(data_dir: &Path, location: &str) -> ResultContent {
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

// -------------------------------------------------------------------------------- rendering

/// Markdown to HTML (tables and strikethrough on). Raw HTML is shown as text; links keep their
/// text (the address follows in parentheses) and images become their alt text, so the result
/// links and fetches nothing.
pub(crate) fn markdown_to_html(md: &str) -> String {
    let parser = Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH);
    let mut events: Vec<Event<'_>> = Vec::new();
    let mut links: Vec<CowStr<'_>> = Vec::new();
    for ev in parser {
        match ev {
            Event::Html(s) | Event::InlineHtml(s) => events.push(Event::Text(s)),
            Event::Start(Tag::Link { dest_url, .. }) => links.push(dest_url),
            Event::End(TagEnd::Link) => {
                if let Some(url) = links.pop() {
                    let shown = matches!(events.last(), Some(Event::Text(t)) if **t == *url);
                    if !url.is_empty() && !url.starts_with('#') && !shown {
                        events.push(Event::Text(format!(" ({url})").into()));
                    }
                }
            }
            Event::Start(Tag::Image { .. }) => events.push(Event::Text("[image: ".into())),
            Event::End(TagEnd::Image) => events.push(Event::Text("]".into())),
            other => events.push(other),
        }
    }
    let mut html = String::with_capacity(md.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    html
}

/// `text` cut to at most `limit` bytes (at a line end when there is one in the last quarter,
/// else at a character boundary), and a note saying what was left out.
pub(crate) fn truncate(text: &str, limit: usize) -> (&str, Option<String>) {
    if text.len() <= limit {
        return (text, None);
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if let Some(nl) = text[..end].rfind('\n')
        && nl >= limit * 3 / 4
    {
        end = nl + 1;
    }
    let note = format!(
        "Truncated: showing the first {} of {}.",
        human_bytes(end as u64),
        human_bytes(text.len() as u64)
    );
    (&text[..end], Some(note))
}

/// JSON text pretty-printed (as is when it does not parse), cut at [`JSON_LIMIT`].
pub(crate) fn pretty_json(json: &str) -> (String, Option<String>) {
    let pretty = serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| json.to_owned());
    let (kept, note) = truncate(&pretty, JSON_LIMIT);
    (kept.to_owned(), note)
}

/// `512 B`, `20.0 KiB`, `3.1 MiB`.
pub(crate) fn human_bytes(n: u64) -> String {
    const K: f64 = 1024.0;
    let f = n as f64;
    if f < K {
        format!("{n} B")
    } else if f < K * K {
        format!("{:.1} KiB", f / K)
    } else if f < K * K * K {
        format!("{:.1} MiB", f / K / K)
    } else {
        format!("{:.1} GiB", f / K / K / K)
    }
}

fn fmt_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string()
}

fn fmt_secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.3}s")
    } else if s < 3600.0 {
        format!("{}m {:04.1}s", (s / 60.0).floor(), s % 60.0)
    } else {
        format!(
            "{}h {:02}m {:02}s",
            (s / 3600.0).floor(),
            (s % 3600.0 / 60.0).floor() as u64,
            (s % 60.0).floor() as u64
        )
    }
}

fn span(start: DateTime<Utc>, end: Option<DateTime<Utc>>) -> String {
    end.and_then(|e| (e - start).to_std().ok())
        .map_or_else(|| "—".to_owned(), fmt_secs)
}

/// Removes an XML declaration or doctype before an inline `<svg>`.
fn inline_svg(svg: &str) -> String {
    match svg.find("<svg") {
        Some(i) => svg[i..].trim_end().to_owned(),
        None => svg.trim().to_owned(),
    }
}

struct TaskRow {
    id: String,
    state: String,
    color: &'static str,
    instances: String,
    tries: usize,
    duration: String,
}

struct SourceView {
    anchor: String,
    id: String,
    headline: String,
    doc: String,
    source: String,
}

struct AttemptView {
    header: String,
    color: &'static str,
    error: Option<String>,
    note: Option<String>,
    text: Option<String>,
}

struct InstanceView {
    label: String,
    state: String,
    color: &'static str,
    attempts: Vec<AttemptView>,
}

struct OutputView {
    task_id: String,
    summary: String,
    json: String,
    note: Option<String>,
}

/// One rendered piece of a report file: Markdown (rendered), preformatted text, or a note.
struct FileBlock {
    title: String,
    markdown: Option<String>,
    pre: Option<String>,
    notes: Vec<String>,
}

struct AssetView {
    title: String,
    location: String,
    written_by: String,
    notes: Vec<String>,
    listing: Vec<(String, String)>,
    blocks: Vec<FileBlock>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    open: &'static str,
    sections: &'static [(&'static str, &'static str)],
    dag_id: &'a str,
    run_id: &'a str,
    facts: Vec<(&'static str, String)>,
    run_state: String,
    run_color: &'static str,
    generated: String,
    task_rows: Vec<TaskRow>,
    statement: String,
    dag_source: &'a str,
    sources: Vec<SourceView>,
    graph_svg: String,
    lanes_svg: String,
    architecture_svg: String,
    architecture_note: Option<String>,
    gantt_svg: String,
    logs: Vec<InstanceView>,
    outputs: Vec<OutputView>,
    assets: Vec<AssetView>,
}

fn file_block(title: String, content: &FileContent) -> FileBlock {
    let mut b = FileBlock {
        title,
        markdown: None,
        pre: None,
        notes: Vec::new(),
    };
    let cut_note = |cut: u64, kept: usize| {
        (cut > 0).then(|| {
            format!(
                "Truncated: showing the first {} of {}.",
                human_bytes(kept as u64),
                human_bytes(kept as u64 + cut)
            )
        })
    };
    match content {
        FileContent::Markdown { text, cut } => {
            b.markdown = Some(markdown_to_html(text));
            b.notes.extend(cut_note(*cut, text.len()));
        }
        FileContent::Json(json) => {
            let (text, note) = pretty_json(json);
            b.pre = Some(text);
            b.notes.extend(note);
        }
        FileContent::Text { text, cut } => {
            let (kept, note) = truncate(text, JSON_LIMIT);
            b.pre = Some(kept.to_owned());
            match note {
                Some(n) if *cut == 0 => b.notes.push(n),
                _ => b.notes.extend(cut_note(
                    *cut + (text.len() - kept.len()) as u64,
                    kept.len(),
                )),
            }
        }
        FileContent::Binary { size } => {
            b.notes
                .push(format!("Not text ({}); not shown.", human_bytes(*size)));
        }
        FileContent::Unreadable(e) => b.notes.push(format!("Could not be read: {e}")),
    }
    b
}

fn asset_view(a: &ResultAsset) -> AssetView {
    let mut v = AssetView {
        title: if a.label == a.asset_id {
            a.asset_id.clone()
        } else {
            format!("{} ({})", a.label, a.asset_id)
        },
        location: a.location.clone(),
        written_by: a.written_by.join(", "),
        notes: Vec::new(),
        listing: Vec::new(),
        blocks: Vec::new(),
    };
    match &a.content {
        ResultContent::Refused(why) => v.notes.push(format!("Not read: {why}")),
        ResultContent::Missing => v.notes.push("Nothing there for this run.".to_owned()),
        ResultContent::Unreadable(e) => v.notes.push(format!("Could not be read: {e}")),
        ResultContent::File(c) => v.blocks.push(file_block(a.location.clone(), c)),
        ResultContent::Folder(entries) => {
            if entries.is_empty() {
                v.notes.push("The folder is empty.".to_owned());
            }
            for e in entries {
                match &e.content {
                    Some(c) => v.blocks.push(file_block(e.name.clone(), c)),
                    None if e.is_dir => v
                        .listing
                        .push((format!("{}/", e.name), "folder".to_owned())),
                    None => v.listing.push((e.name.clone(), human_bytes(e.size))),
                }
            }
        }
    }
    v
}

impl Report {
    /// The report as one self-contained HTML page (logs, code and outputs collapsed).
    pub fn html(&self) -> String {
        self.render(false)
    }

    /// The same page with every collapsible block open, for printing to PDF.
    pub fn print_html(&self) -> String {
        self.render(true)
    }

    fn task_order(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.tasks.iter().map(|t| t.id.clone()).collect();
        for t in &self.history.tries {
            if !ids.contains(&t.task_id) {
                ids.push(t.task_id.clone());
            }
        }
        ids
    }

    fn render(&self, open: bool) -> String {
        let run = &self.history.run;
        let order = self.task_order();

        let mut facts = vec![
            ("DAG", self.dag_id.clone()),
            ("Run", run.run_id.clone()),
            ("Run type", run.run_type.as_str().to_owned()),
            ("Logical date", fmt_time(run.logical_date)),
            (
                "Data interval",
                format!(
                    "{} → {}",
                    fmt_time(run.data_interval_start),
                    fmt_time(run.data_interval_end)
                ),
            ),
            ("Started", fmt_time(run.start)),
            ("Ended", run.end.map_or_else(|| "—".to_owned(), fmt_time)),
            ("Duration", span(run.start, run.end)),
        ];
        let has_conf = match &run.conf {
            serde_json::Value::Null => false,
            serde_json::Value::Object(m) => !m.is_empty(),
            _ => true,
        };
        if has_conf {
            facts.push(("Params", run.conf.to_string()));
        }

        let task_rows = order
            .iter()
            .map(|id| {
                let tries: Vec<_> = self
                    .history
                    .tries
                    .iter()
                    .filter(|t| &t.task_id == id)
                    .collect();
                match self.history.task_summary(id) {
                    Some(s) => {
                        let start = tries.iter().map(|t| t.start).min();
                        let end = if tries.iter().all(|t| t.end.is_some()) {
                            tries.iter().filter_map(|t| t.end).max()
                        } else {
                            None
                        };
                        let mut instances = s.instances.to_string();
                        if s.mapped && s.by_state.len() > 1 {
                            let _ = write!(instances, " ({})", s.states());
                        }
                        TaskRow {
                            id: id.clone(),
                            state: s.state.as_str().to_owned(),
                            color: state_color(s.state),
                            instances,
                            tries: s.tries,
                            duration: start.map_or_else(|| "—".to_owned(), |st| span(st, end)),
                        }
                    }
                    None => TaskRow {
                        id: id.clone(),
                        state: "no_status".to_owned(),
                        color: state_color(TaskStateRecord::NoStatus),
                        instances: "0".to_owned(),
                        tries: 0,
                        duration: "—".to_owned(),
                    },
                }
            })
            .collect();

        let statement = if self.description.trim().is_empty() {
            String::new()
        } else {
            markdown_to_html(&self.description)
        };

        let sources = self
            .tasks
            .iter()
            .map(|t| {
                let mut id = t.id.clone();
                if t.mapped {
                    id.push_str(" [ ]");
                }
                SourceView {
                    anchor: t.id.clone(),
                    id,
                    headline: first_sentence(&t.doc),
                    doc: t.doc.trim().to_owned(),
                    source: t.source.trim_end().to_owned(),
                }
            })
            .collect();

        // Logs, one block per task instance, attempts in order.
        let mut instances: BTreeMap<(usize, i32), InstanceView> = BTreeMap::new();
        for (i, t) in self.history.tries.iter().enumerate() {
            let rank = order
                .iter()
                .position(|id| id == &t.task_id)
                .unwrap_or(usize::MAX);
            let entry = instances
                .entry((rank, t.map_index))
                .or_insert_with(|| InstanceView {
                    label: t.label(),
                    state: String::new(),
                    color: "",
                    attempts: Vec::new(),
                });
            // Tries come in order: the last one decides the instance's state.
            entry.state = t.state.as_str().to_owned();
            entry.color = state_color(t.state);
            let duration = t
                .duration
                .map(fmt_secs)
                .unwrap_or_else(|| span(t.start, t.end));
            let log = self
                .logs
                .get(i)
                .filter(|l| {
                    l.task_id == t.task_id
                        && l.map_index == t.map_index
                        && l.try_number == t.try_number
                })
                .or_else(|| {
                    self.logs.iter().find(|l| {
                        l.task_id == t.task_id
                            && l.map_index == t.map_index
                            && l.try_number == t.try_number
                    })
                })
                .map_or(&LogText::None, |l| &l.log);
            let (text, note) = match log {
                LogText::Text { text, cut, total } => (
                    Some(text.clone()),
                    (*cut > 0).then(|| {
                        format!(
                            "Truncated: the first {} of {} are left out; the last {} follow.",
                            human_bytes(*cut),
                            human_bytes(*total),
                            human_bytes(total - cut)
                        )
                    }),
                ),
                LogText::Unreadable { path, reason } => {
                    (None, Some(format!("No log: {path}: {reason}.")))
                }
                LogText::None => (None, Some("No log file for this attempt.".to_owned())),
            };
            entry.attempts.push(AttemptView {
                header: format!("attempt {} — {} — {}", t.try_number, t.state, duration),
                color: state_color(t.state),
                error: t.error.clone(),
                note,
                text,
            });
        }

        // Outputs, one block per task; a mapped task's as a list by map index.
        let mut outputs: Vec<OutputView> = Vec::new();
        for id in &order {
            let of: Vec<&TaskOutput> = self.outputs.iter().filter(|o| &o.task_id == id).collect();
            if of.is_empty() {
                continue;
            }
            let mapped = of.iter().any(|o| o.map_index != NOT_MAPPED);
            let json = if mapped {
                let items: Vec<String> = of.iter().map(|o| o.json.clone()).collect();
                format!("[{}]", items.join(","))
            } else {
                of[0].json.clone()
            };
            let (json, note) = pretty_json(&json);
            let size = of.iter().map(|o| o.json.len() as u64).sum();
            outputs.push(OutputView {
                task_id: id.clone(),
                summary: if mapped {
                    format!("{id} — {} outputs, {}", of.len(), human_bytes(size))
                } else {
                    format!("{id} — {}", human_bytes(size))
                },
                json,
                note,
            });
        }

        let page = Page {
            open: if open { " open" } else { "" },
            sections: &SECTIONS,
            dag_id: &self.dag_id,
            run_id: &run.run_id,
            facts,
            run_state: run.state.as_str().to_owned(),
            run_color: run_state_color(run.state),
            generated: fmt_time(self.generated_at),
            task_rows,
            statement,
            dag_source: self.dag_source.trim_end(),
            sources,
            graph_svg: inline_svg(&self.graph_svg),
            lanes_svg: inline_svg(&self.lanes_svg),
            architecture_svg: inline_svg(&self.architecture_svg),
            architecture_note: (self.architecture_nodes == 0).then(|| {
                "No task declares reads/writes: there is no architecture to draw.".to_owned()
            }),
            gantt_svg: inline_svg(&self.gantt_svg),
            logs: instances.into_values().collect(),
            outputs,
            assets: self.files.iter().map(asset_view).collect(),
        };
        page.render().unwrap_or_else(|e| {
            format!(
                "<!doctype html><title>report</title><p>cannot render the report: {}",
                escape_html(&e.to_string())
            )
        })
    }
}

/// The first sentence of a doc comment's first paragraph, on one line, at most ~160
/// characters.
fn first_sentence(doc: &str) -> String {
    let para = doc
        .trim()
        .split("\n\n")
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let sentence = match para.find(". ") {
        Some(i) => &para[..=i],
        None => para.as_str(),
    };
    if sentence.chars().count() > 160 {
        let cut: String = sentence.chars().take(159).collect();
        format!("{}…", cut.trim_end())
    } else {
        sentence.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{DagRunRecord, RunStateRecord, RunType, TaskInstanceRecord};

    fn at(s: u32) -> DateTime<Utc> {
        DateTime::from_timestamp(1_704_067_200 + i64::from(s), 0).unwrap()
    }

    fn try_of(task: &str, map_index: i32, n: u32, state: TaskStateRecord) -> TaskInstanceRecord {
        TaskInstanceRecord {
            dag_id: "rockets".into(),
            run_id: "manual__2024-01-01T00:00:00+00:00".into(),
            task_id: task.into(),
            map_index,
            try_number: n,
            state,
            start: at(n),
            end: Some(at(n + 1)),
            duration: Some(Duration::from_millis(1250)),
            hostname: "host".into(),
            pid: Some(1),
            log_path: Some(format!("/nowhere/{task}/attempt={n}.log")),
            error: (state == TaskStateRecord::UpForRetry).then(|| "HTTP 503 <b>".to_owned()),
        }
    }

    fn log(t: &TaskInstanceRecord, text: &str) -> AttemptLog {
        AttemptLog {
            task_id: t.task_id.clone(),
            map_index: t.map_index,
            try_number: t.try_number,
            log: LogText::Text {
                text: text.into(),
                cut: 0,
                total: text.len() as u64,
            },
        }
    }

    fn report() -> Report {
        use TaskStateRecord as S;
        let tries = vec![
            try_of("download", NOT_MAPPED, 1, S::UpForRetry),
            try_of("download", NOT_MAPPED, 2, S::Success),
            try_of("picture", 0, 1, S::Success),
            try_of("picture", 1, 1, S::Failed),
        ];
        let logs = vec![
            log(
                &tries[0],
                "starting attempt 1\n<script>alert('x')</script>\n",
            ),
            log(&tries[1], "starting attempt 2\nmarking task as SUCCESS\n"),
            log(&tries[2], "picture 0 & done\n"),
            AttemptLog {
                log: LogText::Unreadable {
                    path: "/nowhere/picture/attempt=1.log".into(),
                    reason: "the file is missing".into(),
                },
                ..log(&tries[3], "")
            },
        ];
        Report {
            dag_id: "rockets".into(),
            description: "Download **launches**.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n".into(),
            dag_source: "#[dag]\nfn rockets() {\n    picture(download());\n}".into(),
            tasks: vec![
                TaskCode {
                    id: "download".into(),
                    doc: "Fetch the launches.".into(),
                    source: "async fn download() -> Vec<u8> { vec![] }".into(),
                    mapped: false,
                },
                TaskCode {
                    id: "picture".into(),
                    doc: String::new(),
                    source: "async fn picture(x: u8) {}".into(),
                    mapped: true,
                },
            ],
            history: RunHistory {
                run: DagRunRecord {
                    dag_id: "rockets".into(),
                    run_id: "manual__2024-01-01T00:00:00+00:00".into(),
                    run_type: RunType::Manual,
                    logical_date: at(0),
                    data_interval_start: at(0),
                    data_interval_end: at(86_400),
                    state: RunStateRecord::Failed,
                    start: at(0),
                    end: Some(at(10)),
                    conf: serde_json::json!({}),
                },
                tries,
            },
            logs,
            outputs: vec![
                TaskOutput {
                    task_id: "download".into(),
                    map_index: NOT_MAPPED,
                    json: r#"{"launches":[1,2,3],"note":"<i>x</i>"}"#.into(),
                },
                TaskOutput {
                    task_id: "picture".into(),
                    map_index: 0,
                    json: "\"a.png\"".into(),
                },
            ],
            files: vec![ResultAsset {
                asset_id: "reports".into(),
                label: "Launch reports".into(),
                written_by: vec!["download".into()],
                location: "reports/manual".into(),
                content: ResultContent::Folder(vec![
                    FolderEntry {
                        name: "launches.md".into(),
                        size: 40,
                        is_dir: false,
                        content: Some(FileContent::Markdown {
                            text: "# Launches\n\n<iframe src=\"https://evil.example\"></iframe>\n\n| n |\n|---|\n| 3 |\n".into(),
                            cut: 0,
                        }),
                    },
                    FolderEntry {
                        name: "launches.csv".into(),
                        size: 2048,
                        is_dir: false,
                        content: None,
                    },
                ]),
            }],
            graph_svg: r#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="1" height="1"/></svg>"#.into(),
            lanes_svg: String::new(),
            architecture_svg: String::new(),
            architecture_nodes: 0,
            gantt_svg: r#"<svg xmlns="http://www.w3.org/2000/svg"></svg>"#.into(),
            generated_at: at(20),
        }
    }

    #[test]
    fn every_section_is_there_in_order() {
        let html = report().html();
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains(r#"<meta charset="utf-8">"#));
        assert!(html.contains("default-src 'none'; style-src 'unsafe-inline'; img-src data:"));
        let mut last = 0;
        for (id, title) in SECTIONS {
            let at = html
                .find(&format!(r#"<section id="{id}">"#))
                .unwrap_or_else(|| panic!("no section {id}"));
            assert!(at > last, "{id} out of order");
            last = at;
            assert!(html[at..].contains(&format!("<h2>{title}</h2>")));
            assert!(html.contains(&format!(r##"<a href="#{id}">"##)));
        }
        assert!(!html.contains("<script"));
        assert!(
            !html.contains("<?xml"),
            "XML declaration left in an inline SVG"
        );
        assert!(
            html.contains(
                r#"<div class="figure"><svg xmlns="http://www.w3.org/2000/svg" width="10""#
            )
        );
        assert!(html.contains("No swimlane picture is available."));
        assert!(html.contains("No task declares reads/writes"));
    }

    #[test]
    fn summary_statement_code_and_results_show_the_data() {
        let html = report().html();
        assert!(html.contains("manual__2024-01-01T00:00:00+00:00"));
        assert!(html.contains("2024-01-01 00:00:00.000 UTC → 2024-01-02 00:00:00.000 UTC"));
        assert!(html.contains("10.000s"));
        // picture: two instances, one failed.
        assert!(html.contains("2 (1 failed, 1 success)"), "{html}");
        assert!(html.contains(&format!(
            "background: {}",
            state_color(TaskStateRecord::Failed)
        )));
        assert!(html.contains("<strong>launches</strong>"));
        assert!(html.contains("<table>"));
        assert!(html.contains("fn rockets() {\n    picture(download());\n}"));
        assert!(html.contains("async fn download() -&#62; Vec&#60;u8&#62; { vec![] }"));
        assert!(html.contains(
            "<code>download</code> <span class=\"headline\">— Fetch the launches.</span>"
        ));
        assert!(html.contains("attempt 1 — up_for_retry — 1.250s"));
        assert!(html.contains("attempt 2 — success — 1.250s"));
        assert!(html.contains("HTTP 503 &#60;b&#62;"));
        assert!(html.contains("No log: /nowhere/picture/attempt=1.log: the file is missing."));
        assert!(html.contains("&#34;note&#34;: &#34;&#60;i&#62;x&#60;/i&#62;&#34;"));
        assert!(html.contains("picture — 1 outputs"));
        assert!(html.contains("<h1>Launches</h1>"));
        assert!(html.contains("launches.csv"));
        assert!(html.contains("2.0 KiB"));
    }

    #[test]
    fn log_text_is_escaped() {
        let html = report().html();
        assert!(html.contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62;"));
        assert!(html.contains("picture 0 &#38; done"));
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn raw_html_in_markdown_is_text() {
        let md = "Hi <b onclick=\"x()\">there</b>\n\n<script>alert(1)</script>\n\n<img src=\"https://evil.example/a.png\">\n\n[site](https://example.com/page) and ![logo](http://example.com/l.png) and <https://example.org/>\n";
        let html = markdown_to_html(md);
        assert!(!html.contains("<b "), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("href="), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(html.contains("site (https://example.com/page)"), "{html}");
        assert!(html.contains("[image: logo]"), "{html}");
        assert!(html.contains("https://example.org/"), "{html}");
        assert!(
            !html.contains("https://example.org/ (https://example.org/)"),
            "{html}"
        );

        let mut r = report();
        r.description = "<script>alert(1)</script>\n\n<style>body{display:none}</style>".into();
        let page = r.html();
        assert!(!page.contains("<script"));
        assert!(page.contains("&lt;style&gt;body{display:none}&lt;/style&gt;"));
        // The report file's iframe too.
        assert!(!page.contains("<iframe"));
        assert!(page.contains("&lt;iframe"));
    }

    #[test]
    fn locations_outside_the_data_directory_are_refused() {
        for bad in [
            "../secret",
            "reports/../../etc/passwd",
            "/etc/passwd",
            "https://example.com/report",
            "",
            "..",
        ] {
            assert!(check_location(bad).is_err(), "{bad:?} accepted");
        }
        for good in [
            "reports/manual__2024-01-01T00:00:00+00:00",
            "./a.md",
            "x..y/z.md",
        ] {
            assert!(check_location(good).is_ok(), "{good:?} refused");
        }
        let home = tempfile::tempdir().unwrap();
        let data = home.path().join("data/rockets");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(home.path().join("data/secret.md"), "secret").unwrap();
        assert!(matches!(
            read_result(&data, "../secret.md"),
            ResultContent::Refused(_)
        ));
        std::os::unix::fs::symlink(home.path().join("data/secret.md"), data.join("link.md"))
            .unwrap();
        assert!(matches!(
            read_result(&data, "link.md"),
            ResultContent::Refused(_)
        ));
        assert_eq!(read_result(&data, "nothing"), ResultContent::Missing);
        // A link inside a report folder is listed, not followed.
        std::fs::create_dir_all(data.join("reports")).unwrap();
        std::fs::write(data.join("reports/ok.md"), "# fine").unwrap();
        std::os::unix::fs::symlink(
            home.path().join("data/secret.md"),
            data.join("reports/leak.md"),
        )
        .unwrap();
        let ResultContent::Folder(entries) = read_result(&data, "reports") else {
            panic!("a folder")
        };
        let leak = entries.iter().find(|e| e.name == "leak.md").unwrap();
        assert!(leak.content.is_none(), "the link was read");
        let ok = entries.iter().find(|e| e.name == "ok.md").unwrap();
        assert!(ok.content.is_some());

        let mut r = report();
        r.files[0].content = read_result(&data, "../secret.md");
        let html = r.html();
        assert!(
            html.contains("Not read: `../secret.md` leaves the DAG"),
            "{html}"
        );
        assert!(!html.contains(">secret<"));
    }

    #[test]
    fn report_folders_and_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let reports = dir.path().join("reports/run1");
        std::fs::create_dir_all(reports.join("sub")).unwrap();
        std::fs::write(reports.join("launches.md"), "# Launches\n\n3 launches\n").unwrap();
        std::fs::write(reports.join("launches.csv"), "a,b\n1,2\n").unwrap();
        std::fs::write(dir.path().join("one.json"), r#"{"a":[1,2]}"#).unwrap();
        std::fs::write(dir.path().join("one.txt"), "plain <text>").unwrap();
        std::fs::write(dir.path().join("one.bin"), [0u8, 159, 146, 150]).unwrap();
        let ResultContent::Folder(entries) = read_result(dir.path(), "reports/run1") else {
            panic!("not a folder")
        };
        let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["launches.csv", "launches.md", "sub"]);
        assert!(entries[0].content.is_none());
        assert_eq!(entries[0].size, 8);
        assert!(matches!(
            entries[1].content,
            Some(FileContent::Markdown { cut: 0, .. })
        ));
        assert!(entries[2].is_dir);
        assert_eq!(
            read_result(dir.path(), "one.json"),
            ResultContent::File(FileContent::Json(r#"{"a":[1,2]}"#.into()))
        );
        assert!(matches!(
            read_result(dir.path(), "one.txt"),
            ResultContent::File(FileContent::Text { cut: 0, .. })
        ));
        assert_eq!(
            read_result(dir.path(), "one.bin"),
            ResultContent::File(FileContent::Binary { size: 4 })
        );
        let mut r = report();
        r.files[0].content = read_result(dir.path(), "one.json");
        assert!(r.html().contains("&#34;a&#34;: [\n    1,"));
        r.files[0].content = read_result(dir.path(), "one.txt");
        assert!(r.html().contains("<pre>plain &#60;text&#62;</pre>"));
    }

    #[test]
    fn long_logs_keep_their_tail_and_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("attempt=1.log");
        let text: String = (0..1000).map(|i| format!("line {i} é\n")).collect();
        std::fs::write(&p, &text).unwrap();
        let LogText::Text {
            text: kept,
            cut,
            total,
        } = read_log_limited(&p, 1000)
        else {
            panic!("not read")
        };
        assert_eq!(total, text.len() as u64);
        assert!(kept.starts_with("line "), "starts mid-line: {kept:?}");
        assert!(kept.ends_with("line 999 é\n"));
        assert_eq!(cut + kept.len() as u64, total);
        assert!(kept.len() <= 1000);

        assert!(matches!(
            read_log(&dir.path().join("missing.log")),
            LogText::Unreadable { ref reason, .. } if reason == "the file is missing"
        ));

        let mut r = report();
        r.logs[1].log = LogText::Text {
            text: kept,
            cut,
            total,
        };
        let html = r.html();
        assert!(html.contains("Truncated: the first "), "{html}");
        assert!(html.contains("are left out; the last"));
    }

    #[test]
    fn long_outputs_are_cut_with_a_note() {
        let big: Vec<String> = (0..5000).map(|i| format!("launch number {i}")).collect();
        let json = serde_json::to_string(&big).unwrap();
        let (kept, note) = pretty_json(&json);
        assert!(kept.len() <= JSON_LIMIT);
        assert!(note.unwrap().starts_with("Truncated: showing the first"));
        let (same, none) = pretty_json("[1]");
        assert_eq!((same.as_str(), none), ("[\n  1\n]", None));
        // Never inside a character.
        let (cut, _) = truncate("ééé", 3);
        assert_eq!(cut, "é");

        let mut r = report();
        r.outputs[0].json = json;
        let html = r.html();
        assert!(
            html.contains("Truncated: showing the first 20.0 KiB")
                || html.contains("Truncated: showing the first 19."),
            "{html}"
        );
    }

    #[test]
    fn the_print_page_opens_every_block() {
        let r = report();
        let screen = r.html();
        let print = r.print_html();
        let closed = |h: &str| h.matches("<details>").count() + h.matches("<details id=").count();
        assert!(closed(&screen) > 0);
        assert_eq!(closed(&print), 0, "{print}");
        assert_eq!(
            screen.matches("<details").count(),
            print.matches("<details").count()
        );
        assert!(print.contains("@media print"));
        assert!(print.contains("@page"));
    }

    #[test]
    fn helpers() {
        assert_eq!(
            first_sentence(
                "Fetch the launches (every\npage) and store them. Then more.\n\nDetails."
            ),
            "Fetch the launches (every page) and store them."
        );
        assert!(first_sentence(&"word ".repeat(100)).ends_with('…'));
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(20 * 1024), "20.0 KiB");
        assert_eq!(fmt_secs(Duration::from_millis(28)), "0.028s");
        assert_eq!(fmt_secs(Duration::from_secs(125)), "2m 05.0s");
    }
}

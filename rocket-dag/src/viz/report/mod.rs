//! The run report, one self-contained HTML file: what a report holds (here), reading it
//! (`load`: [`build`]), writing the page (`render`: [`Report::html`]) and its text (`format`).
//!
//! [`build`] reads everything a report shows (the run and its tries from the
//! [`Store`](crate::store::Store), the task outputs, each attempt's log file, the report files
//! the DAG's tasks declare they write) into a [`Report`]; [`Report::html`] renders it, a pure
//! function of that data. The page has no script and fetches nothing (a
//! Content-Security-Policy says so to the browser): styles are inline, the pictures are inline
//! SVG, links only jump within the page. [`Report::print_html`] is the same page with every
//! collapsible block open, for printing; [`super::chromium::print_pdf`] prints a page to PDF
//! with headless Chromium.
//!
//! Sections, each a `<section id="…">`: `summary`, `statement`, `code`, `graph`, `lanes`,
//! `architecture`, `gantt`, `logs`, `results` ([`SECTIONS`]).

use chrono::{DateTime, Utc};

use super::RunHistory;

mod format;
mod load;
mod render;
#[cfg(test)]
mod tests;

pub(in crate::viz) use format::{fmt_time, human_bytes, markdown_to_html, truncate};
pub use load::{build, task_code};

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
    /// The report files the DAG's tasks write (assets of kind [`AssetKind::Report`](crate::asset::AssetKind::Report)).
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
    /// Its map index ([`NOT_MAPPED`](crate::store::NOT_MAPPED) when not mapped).
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
    /// Its map index ([`NOT_MAPPED`](crate::store::NOT_MAPPED) when not mapped).
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

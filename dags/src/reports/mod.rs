//! Per-run reports of the Rocket pipeline: the launches, the picture downloads and the DAG's
//! run history, each as JSON, CSV and Markdown.
//!
//! A report is built from plain data by a pure function ([`LaunchReport::build`],
//! [`DownloadReport::build`], [`HistoryReport::build`]), so it is testable without a network
//! or a database; [`HistoryReport::load`] reads its input from the run history first. Each
//! report serializes to JSON as it is (numbers are plain numbers, instants RFC 3339), renders
//! Markdown for a course report ([`LaunchReport::to_markdown`], …) and writes its files into a
//! directory the caller gives (the DAG passes `<home>/data/<dag>/reports/<run_id>/`):
//!
//! | report | JSON and Markdown | CSV, one file per table |
//! |---|---|---|
//! | [`LaunchReport`] | `launches.json`, `launches.md` | `launches.csv` (key fields, one row per launch), `launches_counts.csv` (`dimension,value,launches`), `launches_intervals.csv` (gaps) |
//! | [`DownloadReport`] | `downloads.json`, `downloads.md` | `downloads.csv` (one row per launch), `downloads_images.csv` (one row per image record), `downloads_attempts.csv` (one row per failed request), `downloads_slowest.csv`, `downloads_summary.csv` (the other tables in long form: `table,key,metric,value`) |
//! | [`HistoryReport`] | `history.json`, `history.md` | `history.csv` (images per day), `history_success_rate.csv`, `history_durations.csv` (one row per run and task) |
//!
//! Every file is written atomically: to a hidden temporary file in the same directory, flushed
//! to disk, then renamed into place, so a reader sees the previous version of a file or the
//! new one, never half of one (a report's files are replaced one after the other, though, not
//! all at once). Writing is blocking file I/O: from async code, go through
//! `tokio::task::spawn_blocking`.
//!
//! ```
//! # use dags::reports::{DownloadReport, LaunchReport};
//! let logical_date = "2025-11-02T00:00:00Z".parse().unwrap();
//! let launches = LaunchReport::build(&[], logical_date);
//! assert!(launches.to_markdown().contains("no launches"));
//! let dir = tempfile::tempdir()?;
//! let written = DownloadReport::build(&[]).write(dir.path())?;
//! assert!(written.iter().any(|p| p.ends_with("downloads.md")));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rocket_dag::store::StoreError;
use serde::Serialize;

use crate::ll2::Launch;
use crate::record::ImageRecord;

pub mod changes;
mod chart;
mod downloads;
mod files;
mod format;
mod history;
mod launches;
mod table;

pub use downloads::{
    DownloadReport, Duplicates, HostThroughput, LaunchImages, OutcomeCount, Percentiles,
    RocketImages, SLOWEST_IMAGES, Saved, SlowImage,
};
pub use history::{
    DayImages, HISTORY_DAYS, HistoryReport, RunDurations, RunHistory, SuccessRate, SuccessRates,
    TaskDuration,
};
pub use launches::{
    Gap, Intervals, LaunchCounts, LaunchReport, LaunchRow, LaunchWindow, WINDOW_DAYS, WindowLaunch,
    ZoneFallback,
};

/// Why a report could not be read or written.
///
/// The message includes the cause (so `source()` does not repeat it), as in
/// [`StoreError`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportError {
    /// A report file or the report directory could not be written.
    #[error("cannot write the report file {}: {cause}", path.display())]
    Write {
        /// The file (or directory).
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// A report could not be encoded as JSON or CSV (not expected: every report is plain data).
    #[error("cannot encode the report file {name}: {message}")]
    Encode {
        /// The file name, e.g. `launches.csv`.
        name: String,
        /// What the encoder said.
        message: String,
    },
    /// The run history could not be read.
    #[error("cannot read the run history of DAG `{dag_id}` for its report: {cause}")]
    History {
        /// The DAG.
        dag_id: String,
        /// Why.
        cause: StoreError,
    },
}

/// Builds the launch and download reports (and writes the history report if given) into
/// `dir`, creating it; returns every file written, in order.
///
/// Blocking file I/O: from an async task, call it through `tokio::task::spawn_blocking`.
///
/// # Errors
///
/// [`ReportError::Write`] when a file cannot be written; files written before stay.
pub fn write_all(
    dir: &Path,
    launches: &[Launch],
    logical_date: DateTime<Utc>,
    records: &[ImageRecord],
    history: Option<&HistoryReport>,
) -> Result<Vec<PathBuf>, ReportError> {
    let mut written = LaunchReport::build(launches, logical_date).write(dir)?;
    written.extend(DownloadReport::build(records).write(dir)?);
    if let Some(history) = history {
        written.extend(history.write(dir)?);
    }
    Ok(written)
}

/// A count of one value, e.g. launches by provider `SpaceX`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    /// The value; `null` when the data gave none.
    pub value: Option<String>,
    /// How many.
    pub count: usize,
}

/// Counts each value, most frequent first, ties by value, `None` last.
fn tally(values: impl Iterator<Item = Option<String>>) -> Vec<Count> {
    let mut counts: BTreeMap<Option<String>, usize> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    let mut out: Vec<Count> = counts
        .into_iter()
        .map(|(value, count)| Count { value, count })
        .collect();
    out.sort_by(|a, b| most_first((a.count, &a.value), (b.count, &b.value)));
    out
}

/// The order of counted values: the largest count first, ties by value, `None` last.
fn most_first(a: (usize, &Option<String>), b: (usize, &Option<String>)) -> Ordering {
    b.0.cmp(&a.0)
        .then(a.1.is_none().cmp(&b.1.is_none()))
        .then(a.1.cmp(b.1))
}

#[cfg(test)]
mod tests;

//! The rows of the metadata store as typed Rust values, and their conversion from database rows.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::run::text_enum;
pub use crate::run::{RunType, UnknownName};

/// `map_index` of a task instance that is not mapped (Airflow's `-1`).
pub const NOT_MAPPED: i32 = -1;

text_enum! {
    /// The state of a DAG run as stored.
    RunStateRecord, "run state" {
        /// Created, no task started yet.
        Queued => "queued",
        /// At least one task may still run.
        Running => "running",
        /// Every task finished and none failed.
        Success => "success",
        /// A task failed or the run was interrupted.
        Failed => "failed",
    }
}

text_enum! {
    /// The state of one try of a task instance as stored (Airflow's names).
    TaskStateRecord, "task state" {
        /// Not decided yet.
        NoStatus => "no_status",
        /// Its trigger rule allows it; waiting for a free slot.
        Queued => "queued",
        /// The try is running (or its process died: see [`Store::mark_running_as_failed`]).
        ///
        /// [`Store::mark_running_as_failed`]: super::Store::mark_running_as_failed
        Running => "running",
        /// Finished successfully.
        Success => "success",
        /// Failed, no tries left.
        Failed => "failed",
        /// Failed, waiting to be retried.
        UpForRetry => "up_for_retry",
        /// Not run because upstream tasks failed.
        UpstreamFailed => "upstream_failed",
        /// Skipped (by itself or by its trigger rule).
        Skipped => "skipped",
    }
}

/// One DAG run (a row of `dag_runs`).
///
/// Instants are stored with microsecond precision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DagRunRecord {
    /// The DAG.
    pub dag_id: String,
    /// The run, e.g. `manual__2024-01-01T00:00:00+00:00`.
    pub run_id: String,
    /// Why the run exists.
    pub run_type: RunType,
    /// Its logical date.
    pub logical_date: DateTime<Utc>,
    /// Start of its data interval.
    pub data_interval_start: DateTime<Utc>,
    /// End of its data interval.
    pub data_interval_end: DateTime<Utc>,
    /// Its state.
    pub state: RunStateRecord,
    /// When it started.
    pub start: DateTime<Utc>,
    /// When it finished, once it has.
    pub end: Option<DateTime<Utc>>,
    /// Its params (Airflow's `--conf`), a JSON value (usually an object).
    pub conf: serde_json::Value,
}

/// One try of one task instance (a row of `task_instances`).
///
/// Instants and durations are stored with microsecond precision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskInstanceRecord {
    /// The DAG.
    pub dag_id: String,
    /// The run.
    pub run_id: String,
    /// The task.
    pub task_id: String,
    /// Index of a mapped task instance, [`NOT_MAPPED`] (`-1`) otherwise.
    pub map_index: i32,
    /// The try, from 1.
    pub try_number: u32,
    /// Its state.
    pub state: TaskStateRecord,
    /// When the try started (or, for a try that never ran, when its state was decided).
    pub start: DateTime<Utc>,
    /// When it ended, once it has.
    pub end: Option<DateTime<Utc>>,
    /// How long it ran, once it has ended; serialized as seconds.
    #[serde(serialize_with = "serialize_secs")]
    pub duration: Option<Duration>,
    /// The host that ran (or decided) it.
    pub hostname: String,
    /// The process that ran it.
    pub pid: Option<u32>,
    /// Its log file.
    pub log_path: Option<String>,
    /// Why it failed, causes included.
    pub error: Option<String>,
}

impl TaskInstanceRecord {
    /// `task` or, for an element of a mapped task, `task[3]`.
    pub fn label(&self) -> String {
        if self.map_index == NOT_MAPPED {
            self.task_id.clone()
        } else {
            format!("{}[{}]", self.task_id, self.map_index)
        }
    }
}

/// The latest try of each instance of `task` among `tries` (one per map index), by map index.
pub fn latest_tries<'a>(
    tries: &'a [TaskInstanceRecord],
    task: &str,
) -> Vec<&'a TaskInstanceRecord> {
    let mut latest: std::collections::BTreeMap<i32, &TaskInstanceRecord> =
        std::collections::BTreeMap::new();
    for t in tries.iter().filter(|t| t.task_id == task) {
        let e = latest.entry(t.map_index).or_insert(t);
        if t.try_number > e.try_number {
            *e = t;
        }
    }
    latest.into_values().collect()
}

/// The state the latest tries of a mapped task's elements add up to, as the runner decides
/// it: failed if any failed (or was upstream_failed), else running while any is not done,
/// else success if any succeeded, else skipped.
pub fn mapped_state(elements: &[&TaskInstanceRecord]) -> TaskStateRecord {
    use TaskStateRecord as S;
    let has = |f: fn(S) -> bool| elements.iter().any(|t| f(t.state));
    if has(|s| matches!(s, S::Failed | S::UpstreamFailed)) {
        S::Failed
    } else if has(|s| !matches!(s, S::Success | S::Skipped)) {
        S::Running
    } else if has(|s| s == S::Success) {
        S::Success
    } else {
        S::Skipped
    }
}

fn serialize_secs<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

/// Epoch microseconds, the portable form of an instant in the database.
pub(super) fn to_us(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// A duration in microseconds, saturating (no task runs for 292,000 years).
pub(super) fn duration_to_us(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Wraps a failure to read `column` as sqlx's own decode error, so every read path reports
/// through the same `StoreError::Query` with the operation's name.
fn bad_column(column: &str, e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: format!("{column:?}"),
        source: e.into(),
    }
}

fn instant(row: &AnyRow, column: &str) -> Result<DateTime<Utc>, sqlx::Error> {
    let us: i64 = row.try_get(column)?;
    DateTime::from_timestamp_micros(us)
        .ok_or_else(|| bad_column(column, format!("{us} µs is out of range for a date")))
}

fn opt_instant(row: &AnyRow, column: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    match row.try_get::<Option<i64>, _>(column)? {
        None => Ok(None),
        Some(_) => instant(row, column).map(Some),
    }
}

fn parsed<T: FromStr<Err = UnknownName>>(row: &AnyRow, column: &str) -> Result<T, sqlx::Error> {
    let text: String = row.try_get(column)?;
    text.parse().map_err(|e| bad_column(column, e))
}

fn int<T: TryFrom<i64>>(row: &AnyRow, column: &str) -> Result<T, sqlx::Error>
where
    T::Error: std::error::Error + Send + Sync + 'static,
{
    let n: i64 = row.try_get(column)?;
    T::try_from(n).map_err(|e| bad_column(column, e))
}

/// The columns [`run_from_row`] reads, in `SELECT` form.
pub(super) const RUN_COLUMNS: &str = "dag_id, run_id, run_type, logical_date_us, \
    data_interval_start_us, data_interval_end_us, state, start_us, end_us, conf";

pub(super) fn run_from_row(row: &AnyRow) -> Result<DagRunRecord, sqlx::Error> {
    let conf: String = row.try_get("conf")?;
    Ok(DagRunRecord {
        dag_id: row.try_get("dag_id")?,
        run_id: row.try_get("run_id")?,
        run_type: parsed(row, "run_type")?,
        logical_date: instant(row, "logical_date_us")?,
        data_interval_start: instant(row, "data_interval_start_us")?,
        data_interval_end: instant(row, "data_interval_end_us")?,
        state: parsed(row, "state")?,
        start: instant(row, "start_us")?,
        end: opt_instant(row, "end_us")?,
        conf: serde_json::from_str(&conf).map_err(|e| bad_column("conf", e))?,
    })
}

/// The columns [`task_instance_from_row`] reads, in `SELECT`/`RETURNING` form.
pub(super) const TASK_INSTANCE_COLUMNS: &str = "dag_id, run_id, task_id, map_index, try_number, \
    state, start_us, end_us, duration_us, hostname, pid, log_path, error";

pub(super) fn task_instance_from_row(row: &AnyRow) -> Result<TaskInstanceRecord, sqlx::Error> {
    let duration_us: Option<i64> = row.try_get("duration_us")?;
    let pid: Option<i64> = row.try_get("pid")?;
    Ok(TaskInstanceRecord {
        dag_id: row.try_get("dag_id")?,
        run_id: row.try_get("run_id")?,
        task_id: row.try_get("task_id")?,
        map_index: int(row, "map_index")?,
        try_number: int(row, "try_number")?,
        state: parsed(row, "state")?,
        start: instant(row, "start_us")?,
        end: opt_instant(row, "end_us")?,
        // A negative duration can only come from a clock step; show it as zero.
        duration: duration_us.map(|us| Duration::from_micros(us.max(0).unsigned_abs())),
        hostname: row.try_get("hostname")?,
        pid: pid
            .map(u32::try_from)
            .transpose()
            .map_err(|e| bad_column("pid", e))?,
        log_path: row.try_get("log_path")?,
        error: row.try_get("error")?,
    })
}

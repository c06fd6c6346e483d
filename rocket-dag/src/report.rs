//! What a run reports: the state of each task instance and of the run, every attempt, and why
//! a run failed as a whole ([`RunError`]).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::dag::Dag;
use crate::task::XCom;

/// The state of a task instance (Airflow's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TaskState {
    /// Not decided yet (Airflow shows "no status").
    NoStatus,
    /// Its trigger rule allows it; waiting for a free slot.
    Queued,
    /// An attempt is running.
    Running,
    /// Finished successfully.
    Success,
    /// Failed, no tries left.
    Failed,
    /// Failed, waiting to be retried.
    UpForRetry,
    /// Not run because upstream tasks failed.
    UpstreamFailed,
    /// Skipped (by itself or by its trigger rule).
    Skipped,
}

impl TaskState {
    /// Airflow's name, e.g. `upstream_failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::NoStatus => "no_status",
            TaskState::Queued => "queued",
            TaskState::Running => "running",
            TaskState::Success => "success",
            TaskState::Failed => "failed",
            TaskState::UpForRetry => "up_for_retry",
            TaskState::UpstreamFailed => "upstream_failed",
            TaskState::Skipped => "skipped",
        }
    }

    /// `true` for success, failed, upstream_failed and skipped.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            TaskState::Success | TaskState::Failed | TaskState::UpstreamFailed | TaskState::Skipped
        )
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state of a DAG run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunState {
    /// Every task finished and none failed.
    Success,
    /// A task failed or the run was interrupted.
    Failed,
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RunState::Success => "success",
            RunState::Failed => "failed",
        })
    }
}

/// One attempt of a task.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct AttemptReport {
    /// From 1.
    pub try_number: u32,
    /// How it ended: success, failed, up_for_retry or skipped.
    pub state: TaskState,
    /// When it started.
    pub start: DateTime<Utc>,
    /// How long it ran.
    #[serde(with = "duration_secs")]
    pub duration: Duration,
    /// Why it failed, causes included.
    pub error: Option<String>,
    /// Its log file.
    pub log_path: PathBuf,
}

/// One task of a finished run.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct TaskInstanceReport {
    /// The task id.
    pub task_id: String,
    /// The element's index, for one element of a mapped task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map_index: Option<u32>,
    /// Final state.
    pub state: TaskState,
    /// Every attempt, in order.
    pub attempts: Vec<AttemptReport>,
    /// Why it did not succeed (for upstream_failed and skipped too).
    pub reason: Option<String>,
    /// Its output as JSON (Airflow's XCom), when it succeeded; for a mapped task, the list of
    /// what its succeeded elements returned, even when others failed.
    #[serde(skip)]
    pub output: Option<XCom>,
    /// For a mapped task, one report per element, in map index order (the task's own
    /// `attempts` are then empty and its state sums theirs up).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mapped: Vec<TaskInstanceReport>,
}

impl TaskInstanceReport {
    /// Number of attempts made (by every element, for a mapped task).
    pub fn tries(&self) -> u32 {
        self.attempts.len() as u32 + self.mapped.iter().map(Self::tries).sum::<u32>()
    }
    /// Sum of the attempts' durations (of every element, for a mapped task).
    pub fn duration(&self) -> Duration {
        self.attempts.iter().map(|a| a.duration).sum::<Duration>()
            + self.mapped.iter().map(Self::duration).sum::<Duration>()
    }
    /// Wall-clock time from the first attempt started at or after `since` (this execution of
    /// the run) to the end of the last one, waits between retries included; for a mapped task,
    /// over every element. What a person waited for the task.
    pub fn wall_time(&self, since: DateTime<Utc>) -> Duration {
        let mut first: Option<DateTime<Utc>> = None;
        let mut last: Option<DateTime<Utc>> = None;
        let mut visit = |a: &AttemptReport| {
            if a.start >= since {
                let end = a.start + chrono::Duration::from_std(a.duration).unwrap_or_default();
                first = Some(first.map_or(a.start, |f| f.min(a.start)));
                last = Some(last.map_or(end, |l| l.max(end)));
            }
        };
        self.attempts.iter().for_each(&mut visit);
        self.mapped
            .iter()
            .flat_map(|m| &m.attempts)
            .for_each(&mut visit);
        match (first, last) {
            (Some(f), Some(l)) => (l - f).to_std().unwrap_or_default(),
            _ => Duration::ZERO,
        }
    }
    /// `task` or, for an element of a mapped task, `task[3]`.
    pub fn label(&self) -> String {
        match self.map_index {
            Some(i) => format!("{}[{i}]", self.task_id),
            None => self.task_id.clone(),
        }
    }
    /// One element of a mapped task.
    pub fn element(&self, map_index: u32) -> Option<&TaskInstanceReport> {
        self.mapped.iter().find(|m| m.map_index == Some(map_index))
    }
    /// The output, deserialized.
    pub fn output<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        self.output.as_ref().and_then(|x| x.decode().ok())
    }
}

/// The outcome of a DAG run.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct DagRunReport {
    /// The DAG.
    pub dag_id: String,
    /// The run.
    pub run_id: String,
    /// Its logical date.
    pub logical_date: DateTime<Utc>,
    /// Its data interval.
    pub data_interval: (DateTime<Utc>, DateTime<Utc>),
    /// Success or failed.
    pub state: RunState,
    /// Set when Ctrl-C or SIGTERM stopped the run.
    pub interrupted: bool,
    /// Set when the run did not run (another process executes it, a bad run id) or its history
    /// could not be recorded; the state is then `failed`.
    pub error: Option<RunError>,
    /// When it started.
    pub start: DateTime<Utc>,
    /// How long it took.
    #[serde(with = "duration_secs")]
    pub duration: Duration,
    /// Every task, in topological order.
    pub tasks: Vec<TaskInstanceReport>,
}

impl DagRunReport {
    /// The report of a run that did not start: every task `no_status`, nothing recorded.
    pub(crate) fn not_run(
        dag: &Dag,
        logical_date: DateTime<Utc>,
        run_id: String,
        error: RunError,
    ) -> Self {
        DagRunReport {
            dag_id: dag.id().to_owned(),
            run_id,
            logical_date,
            data_interval: dag
                .options()
                .schedule
                .data_interval(logical_date, dag.options().timezone),
            state: RunState::Failed,
            interrupted: false,
            error: Some(error),
            start: Utc::now(),
            duration: Duration::ZERO,
            tasks: dag
                .topological_order()
                .iter()
                .map(|&i| TaskInstanceReport {
                    task_id: dag.tasks()[i].id().to_owned(),
                    map_index: None,
                    state: TaskState::NoStatus,
                    attempts: Vec::new(),
                    reason: None,
                    output: None,
                    mapped: Vec::new(),
                })
                .collect(),
        }
    }

    /// A task by id.
    pub fn task(&self, id: &str) -> Option<&TaskInstanceReport> {
        self.tasks.iter().find(|t| t.task_id == id)
    }

    /// The end-of-run table: task, state, tries, duration (from the first attempt's start to
    /// the last one's end in this execution, waits between retries included), then why tasks
    /// did not succeed and why the run failed as a whole. Text from errors is escaped for a
    /// terminal ([`crate::escape::control`]).
    pub fn summary_table(&self) -> String {
        let name = |t: &TaskInstanceReport| {
            if t.mapped.is_empty() {
                t.task_id.clone()
            } else {
                format!("{} [{}]", t.task_id, t.mapped.len())
            }
        };
        let w = self
            .tasks
            .iter()
            .map(|t| name(t).len())
            .max()
            .unwrap_or(4)
            .max(4);
        let mut out = format!(
            "DAG run {} ({}): {}{}\n{:<w$}  {:<15}  {:>5}  {:>10}\n",
            self.run_id,
            self.dag_id,
            self.state,
            if self.interrupted {
                " (interrupted)"
            } else {
                ""
            },
            "task",
            "state",
            "tries",
            "duration",
        );
        for t in &self.tasks {
            out.push_str(&format!(
                "{:<w$}  {:<15}  {:>5}  {:>10}\n",
                name(t),
                t.state.as_str(),
                t.tries(),
                format!("{:.3}s", t.wall_time(self.start).as_secs_f64()),
            ));
        }
        for t in &self.tasks {
            if let Some(r) = &t.reason
                && t.state != TaskState::Success
            {
                out.push_str(&format!("{}: {}\n", t.task_id, crate::escape::control(r)));
            }
        }
        if let Some(e) = &self.error {
            out.push_str(&format!(
                "error: {}\n",
                crate::escape::control(&e.to_string())
            ));
        }
        out
    }
}

mod duration_secs {
    pub(super) fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

/// Why a DAG run did not run, or ended without its history recorded ([`DagRunReport::error`]).
///
/// [`DagRunReport::error`]: crate::DagRunReport::error
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunError {
    /// The run id cannot be used (it becomes a directory name): nothing ran.
    #[error("{message}")]
    InvalidRunId {
        /// What is wrong.
        message: String,
    },
    /// Another process executes this run: nothing ran, nothing was recorded.
    #[error("run `{run_id}` of DAG `{dag_id}` is being executed by {owner}")]
    Busy {
        /// The DAG.
        dag_id: String,
        /// The run.
        run_id: String,
        /// Who executes it.
        owner: crate::store::RunOwner,
    },
    /// Another engine schedules this run (Airflow, through `tasks run`): rocket-dag records it
    /// but does not execute it. Nothing ran.
    #[error(
        "run `{run_id}` of DAG `{dag_id}` is scheduled by {executor}: rocket-dag records its \
         tries but does not execute it (run or clear it there, or choose another run id)"
    )]
    External {
        /// The DAG.
        dag_id: String,
        /// The run.
        run_id: String,
        /// The engine, e.g. `airflow`.
        executor: String,
    },
    /// Ctrl-C or SIGTERM came before the run started: nothing ran, nothing was recorded.
    #[error("interrupted before it started")]
    NotStarted,
    /// The run history could not be written (or read back when resuming): the run stopped
    /// starting tasks and failed.
    #[error("the run history could not be recorded: {message}")]
    History {
        /// The store's error.
        message: String,
    },
}

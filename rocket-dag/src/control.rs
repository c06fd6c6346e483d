//! What people do to DAGs and runs, whether from the command line, the web UI or the REST API:
//! trigger a run, pause a DAG, clear task instances, mark instances and runs. One place, so the
//! three surfaces cannot disagree on what "clear" means.
//!
//! Clearing follows Airflow: the cleared instances lose their outcome (state and output; their
//! tries stay in the history) and their run goes back to `queued`, so a running scheduler runs
//! them again at once.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Timelike, Utc};
use serde_json::{Map, Value};

use crate::dag::Dag;
use crate::ids::InvalidId;
use crate::store::{
    DagRunRecord, NOT_MAPPED, RunStateRecord, RunType, Store, StoreError, TaskInstanceRecord,
    TaskStateRecord, latest_tries,
};

/// Why an action was refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// The run is not recorded.
    #[error("no run `{run}` of DAG `{dag}` is recorded")]
    NoRun {
        /// The DAG.
        dag: String,
        /// The run.
        run: String,
    },
    /// Another engine schedules the run: clear it there.
    #[error(
        "run `{run}` of DAG `{dag}` is scheduled by {executor}: clear it there (its workers \
         record the new tries here)"
    )]
    External {
        /// The DAG.
        dag: String,
        /// The run.
        run: String,
        /// The engine, e.g. `airflow`.
        executor: String,
    },
    /// A run with this id exists already.
    #[error("a run `{run}` of DAG `{dag}` already exists")]
    RunExists {
        /// The DAG.
        dag: String,
        /// The run.
        run: String,
    },
    /// A run with this logical date exists already (Airflow allows one per date).
    #[error("a run `{run}` of DAG `{dag}` at logical date {logical_date} already exists")]
    LogicalDateTaken {
        /// The DAG.
        dag: String,
        /// The run at that date.
        run: String,
        /// The date.
        logical_date: DateTime<Utc>,
    },
    /// `--map-index` on a task that is not mapped.
    #[error("task `{task}` of DAG `{dag}` is not mapped: leave out the map index")]
    NotMapped {
        /// The DAG.
        dag: String,
        /// The task.
        task: String,
    },
    /// A map index beyond the run's elements.
    #[error(
        "map index {index} is out of range: task `{task}` has {elements} element(s) in run `{run}`{}",
        if *elements == 0 { " (it was not expanded yet)" } else { "" }
    )]
    MapIndexOutOfRange {
        /// The task.
        task: String,
        /// The run.
        run: String,
        /// The index asked for.
        index: i64,
        /// How many elements the run has.
        elements: usize,
    },
    /// A run id that may not be used.
    #[error(transparent)]
    InvalidId(#[from] InvalidId),
    /// The run history failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The socket a scheduler listens on for wake-ups: `<home>/scheduler.sock`.
pub fn wake_socket(home: &Path) -> PathBuf {
    home.join("scheduler.sock")
}

/// Wakes the scheduler running on `home`, if any, so it looks at queued runs and pause states
/// now rather than at its next timer. Best effort: without a scheduler nothing happens.
pub fn wake(home: &Path) {
    if let Ok(sock) = std::os::unix::net::UnixDatagram::unbound() {
        let _ = sock.send_to(b"wake", wake_socket(home));
    }
}

/// A run to queue: Airflow's `POST /dags/{dag_id}/dagRuns` body, and `dags trigger`.
#[derive(Debug, Clone, Default)]
pub struct Trigger {
    /// The logical date; now (to the millisecond) when absent.
    pub logical_date: Option<DateTime<Utc>>,
    /// The run id; `manual__<logical date>` when absent.
    pub run_id: Option<String>,
    /// The run's params (`conf`).
    pub conf: Map<String, Value>,
}

/// Queues a manual run of `dag` for the scheduler on `home` (and wakes it). A run id that
/// exists is refused.
pub async fn trigger(
    store: &Store,
    home: &Path,
    dag: &Dag,
    trigger: Trigger,
) -> Result<DagRunRecord, ControlError> {
    // Milliseconds: two triggers in one second are two runs (Airflow uses microseconds).
    let now = Utc::now();
    let logical = trigger.logical_date.unwrap_or_else(|| {
        now.with_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000)
            .unwrap_or(now)
    });
    let run_id = match trigger.run_id {
        Some(id) => {
            crate::ids::run(&id)?;
            id
        }
        None => crate::run::run_id(RunType::Manual.as_str(), logical),
    };
    if store.get_run(dag.id(), &run_id).await?.is_some() {
        return Err(ControlError::RunExists {
            dag: dag.id().to_owned(),
            run: run_id,
        });
    }
    if let Some(other) = store.run_at(dag.id(), logical).await? {
        return Err(ControlError::LogicalDateTaken {
            dag: dag.id().to_owned(),
            run: other.run_id,
            logical_date: logical,
        });
    }
    let (start, end) = dag
        .options()
        .schedule
        .data_interval(logical, dag.options().timezone);
    let record = DagRunRecord {
        dag_id: dag.id().to_owned(),
        run_id,
        run_type: RunType::Manual,
        logical_date: logical,
        data_interval_start: start,
        data_interval_end: end,
        state: RunStateRecord::Queued,
        start: Utc::now(),
        end: None,
        conf: Value::Object(trigger.conf),
    };
    if !store.queue_run(&record).await? {
        return Err(ControlError::RunExists {
            dag: record.dag_id,
            run: record.run_id,
        });
    }
    wake(home);
    Ok(record)
}

/// Pauses or unpauses `dag` and tells the scheduler.
pub async fn set_paused(
    store: &Store,
    home: &Path,
    dag: &str,
    paused: bool,
) -> Result<(), ControlError> {
    store.set_paused(dag, paused).await?;
    wake(home);
    Ok(())
}

/// The run, or [`ControlError::NoRun`].
pub async fn recorded_run(
    store: &Store,
    dag: &str,
    run: &str,
) -> Result<DagRunRecord, ControlError> {
    store
        .get_run(dag, run)
        .await?
        .ok_or_else(|| ControlError::NoRun {
            dag: dag.to_owned(),
            run: run.to_owned(),
        })
}

/// `start` and, with `downstream`, every task after it (breadth first).
pub fn with_downstream(dag: &Dag, start: usize, downstream: bool) -> Vec<usize> {
    let mut out = vec![start];
    if downstream {
        let mut i = 0;
        while i < out.len() {
            for &n in dag.tasks()[out[i]].downstream() {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
            i += 1;
        }
    }
    out
}

/// Clears `tasks` of run `run` and puts the run back to `queued`, so that the scheduler on
/// `home` runs them again (as Airflow's clear does): see [`forget`]. Returns the instances
/// cleared (`task` or `task[3]`).
pub async fn clear(
    store: &Store,
    home: &Path,
    dag: &str,
    run: &str,
    tasks: &[&str],
    by: &str,
) -> Result<Vec<String>, ControlError> {
    recorded_run(store, dag, run).await?;
    if let Some(executor) = store.run_executor(dag, run).await? {
        return Err(ControlError::External {
            dag: dag.to_owned(),
            run: run.to_owned(),
            executor,
        });
    }
    let cleared = forget(store, dag, run, tasks, by).await?;
    store
        .set_run_state(dag, run, RunStateRecord::Queued, None)
        .await?;
    wake(home);
    Ok(cleared)
}

/// Forgets the outcome of `tasks` in run `run`: each loses its output and the state of its
/// latest try (every element of a mapped task too; the tries stay in the history), so the
/// next execution of the run runs them again. `by` says who cleared ("`tasks clear`", "the
/// web UI"), in the cleared tries' error column. Returns the instances cleared.
pub async fn forget(
    store: &Store,
    dag: &str,
    run: &str,
    tasks: &[&str],
    by: &str,
) -> Result<Vec<String>, ControlError> {
    let tis = store.task_instances(dag, run).await?;
    let mut cleared = Vec::new();
    for task in tasks {
        store.delete_xcom(dag, run, task).await?;
        for t in latest_tries(&tis, task) {
            if t.state != TaskStateRecord::NoStatus {
                let mut row = t.clone();
                row.state = TaskStateRecord::NoStatus;
                row.error = Some(format!("cleared by {by}"));
                store.upsert_task_instance(&row).await?;
                cleared.push(row.label());
            }
        }
    }
    Ok(cleared)
}

/// The failed instances of run `run` (failed and upstream failed, latest tries), by task.
pub async fn failed_tasks(
    store: &Store,
    dag: &Dag,
    run: &str,
) -> Result<Vec<String>, ControlError> {
    let tis = store.task_instances(dag.id(), run).await?;
    Ok(dag
        .topological_ids()
        .into_iter()
        .filter(|task| {
            latest_tries(&tis, task).iter().any(|t| {
                matches!(
                    t.state,
                    TaskStateRecord::Failed | TaskStateRecord::UpstreamFailed
                )
            })
        })
        .map(str::to_owned)
        .collect())
}

/// Checks that `index` names an element of mapped task `task` in run `run`.
pub async fn check_map_index(
    store: &Store,
    dag: &Dag,
    run: &str,
    task: &str,
    index: i64,
) -> Result<(), ControlError> {
    let mapped = dag.task(task).is_some_and(|t| t.is_mapped());
    if !mapped {
        return Err(ControlError::NotMapped {
            dag: dag.id().to_owned(),
            task: task.to_owned(),
        });
    }
    let tis = store.task_instances(dag.id(), run).await?;
    let elements = latest_tries(&tis, task)
        .iter()
        .filter(|t| t.map_index >= 0)
        .count();
    if index < 0 || index as usize >= elements {
        return Err(ControlError::MapIndexOutOfRange {
            task: task.to_owned(),
            run: run.to_owned(),
            index,
            elements,
        });
    }
    Ok(())
}

/// Sets the latest try of each instance of `tasks` to `state` (only map index `only.1` of
/// task `only.0` when given); a task never tried gets a try-0 row. `by` says who marked.
/// Returns the instances marked.
pub async fn mark_tasks(
    store: &Store,
    dag: &str,
    run: &str,
    tasks: &[&str],
    only: Option<(&str, i32)>,
    state: TaskStateRecord,
    by: &str,
) -> Result<Vec<String>, ControlError> {
    recorded_run(store, dag, run).await?;
    let tis = store.task_instances(dag, run).await?;
    let mut marked = Vec::new();
    for task in tasks {
        let mut rows: Vec<TaskInstanceRecord> = latest_tries(&tis, task)
            .into_iter()
            .filter(|t| only.is_none_or(|(id, m)| id != *task || t.map_index == m))
            .cloned()
            .collect();
        if rows.is_empty() {
            rows.push(TaskInstanceRecord {
                dag_id: dag.to_owned(),
                run_id: run.to_owned(),
                task_id: (*task).to_owned(),
                map_index: only
                    .filter(|(id, _)| id == task)
                    .map_or(NOT_MAPPED, |(_, m)| m),
                try_number: 0,
                state,
                start: Utc::now(),
                end: None,
                duration: None,
                hostname: crate::process::hostname(),
                pid: None,
                log_path: None,
                error: None,
            });
        }
        for mut t in rows {
            t.state = state;
            t.end = t.end.or(Some(Utc::now()));
            t.error = Some(format!("marked {} by {by}", state.as_str()));
            store.upsert_task_instance(&t).await?;
            marked.push(t.label());
        }
    }
    Ok(marked)
}

/// Sets the state of run `run` (its end now).
pub async fn mark_run(
    store: &Store,
    dag: &str,
    run: &str,
    state: RunStateRecord,
) -> Result<(), ControlError> {
    if store
        .set_run_state(dag, run, state, Some(Utc::now()))
        .await?
    {
        Ok(())
    } else {
        Err(ControlError::NoRun {
            dag: dag.to_owned(),
            run: run.to_owned(),
        })
    }
}

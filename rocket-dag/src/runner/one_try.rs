//! One try of one task instance of a run that another engine schedules.
//!
//! Apache Airflow's workers run rocket-dag DAGs one try at a time (`tasks run`, see
//! `crate::airflow`): Airflow decides when a task runs, how often it is retried and what its
//! downstream tasks do. rocket-dag records each try in the shared history, reads the task's
//! upstream outputs from it and writes its output there, so the workers need share nothing but
//! the history. After each try the run's tasks that can no longer run are decided by their
//! trigger rules (skipped, upstream_failed), as Airflow decides them without calling a worker,
//! and the run ends when every task has: both histories agree.

use tracing::Instrument;

use super::rules::by_rule;
use super::*;
use crate::error::DagError;
use crate::store::{StoreError, latest_tries, mapped_state};

/// Which try of which run a worker runs (`tasks run`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TryRequest {
    /// The run, as the engine names it (e.g. `scheduled__2024-01-01T00:00:00+00:00`).
    pub run_id: String,
    /// The run's logical date.
    pub logical_date: DateTime<Utc>,
    /// The run's data interval as the engine computed it (default: the DAG's schedule's).
    pub data_interval: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// The run's params (Airflow's `dag_run.conf`).
    pub params: Map<String, Value>,
    /// The element of a mapped task.
    pub map_index: Option<u32>,
    /// The try, from 1, as the engine counts it.
    pub try_number: u32,
    /// Tries the engine allows this instance in all (Airflow's `max_tries + 1`, which a clear
    /// raises); default: the task's `retries + 1`.
    pub max_tries: Option<u32>,
    /// The engine, recorded with the run (`airflow`).
    pub executor: String,
}

impl TryRequest {
    /// Try `try_number` of run `run_id` at `logical_date`, scheduled by `executor`.
    pub fn new(
        run_id: impl Into<String>,
        logical_date: DateTime<Utc>,
        try_number: u32,
        executor: impl Into<String>,
    ) -> Self {
        TryRequest {
            run_id: run_id.into(),
            logical_date,
            data_interval: None,
            params: Map::new(),
            map_index: None,
            try_number: try_number.max(1),
            max_tries: None,
            executor: executor.into(),
        }
    }
    /// Sets the data interval.
    pub fn data_interval(mut self, start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        self.data_interval = Some((start, end));
        self
    }
    /// Sets the params.
    pub fn params(mut self, params: Map<String, Value>) -> Self {
        self.params = params;
        self
    }
    /// Sets the tries the engine allows in all.
    pub fn max_tries(mut self, n: Option<u32>) -> Self {
        self.max_tries = n;
        self
    }
    /// Sets the element of a mapped task.
    pub fn map_index(mut self, index: Option<u32>) -> Self {
        self.map_index = index;
        self
    }
}

/// How a try ended, as recorded.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TryOutcome {
    /// `success`, `skipped`, `up_for_retry` (the task has tries left) or `failed`.
    pub state: TaskState,
    /// Whether another try could heal it (`false` for [`TaskError::fail_now`], an input that
    /// failed, and what is not a failure).
    pub retryable: bool,
    /// Why it did not succeed.
    pub error: Option<String>,
    /// What the task returned.
    pub output: Option<XCom>,
    /// The try's log file.
    pub log_path: PathBuf,
    /// How long the task ran.
    pub duration: Duration,
    /// The run's state once this try and what it decided are recorded: `running` until every
    /// task has a final state.
    pub run_state: RunStateRecord,
}

/// Why a try could not run at all (nothing was recorded for it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TryError {
    /// No such task, or a map index that does not fit it.
    #[error(transparent)]
    Dag(#[from] DagError),
    /// The runner has no history to record the try in.
    #[error("a try run for another engine needs the run history (Runner::with_store)")]
    NoStore,
    /// The history could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The run id is rocket-dag's own run, or another engine's.
    #[error(
        "run `{run_id}` of DAG `{dag_id}` is executed by {by}, not {executor}: choose another \
         run id"
    )]
    NotExternal {
        /// The DAG.
        dag_id: String,
        /// The run.
        run_id: String,
        /// Who executes it (`rocket-dag`, or another engine).
        by: String,
        /// The engine that asked.
        executor: String,
    },
    /// The run is recorded with another logical date.
    #[error(
        "run `{run_id}` of DAG `{dag_id}` is recorded with logical date {recorded}, not {asked}"
    )]
    LogicalDate {
        /// The DAG.
        dag_id: String,
        /// The run.
        run_id: String,
        /// As recorded.
        recorded: DateTime<Utc>,
        /// As asked.
        asked: DateTime<Utc>,
    },
    /// An upstream task succeeded (or never ran) and its output is not in this history.
    #[error(
        "task `{task}` of DAG `{dag_id}` takes the output of `{upstream}`, which run `{run_id}` \
         has not recorded in the history at {store}: every worker must share one history \
         (ROCKET_DAG_DATABASE_URL, or one ROCKET_DAG_HOME on a shared disk), and `{upstream}` \
         must have succeeded first"
    )]
    MissingInput {
        /// The DAG.
        dag_id: String,
        /// The run.
        run_id: String,
        /// The task.
        task: String,
        /// The upstream task whose output is missing.
        upstream: String,
        /// The history's URL, password hidden.
        store: String,
    },
}

/// What the history says of a task in a run: its state and output, or those of its elements.
struct Recorded<'a> {
    tries: &'a [TaskInstanceRecord],
    xcoms: &'a [(String, i32, String)],
}

impl Recorded<'_> {
    /// The state a task reached (for a mapped task, what its elements add up to, or what was
    /// decided for it as a whole); `None` before any try.
    fn state(&self, task: &str) -> Option<TaskState> {
        let latest = latest_tries(self.tries, task);
        let whole = latest.iter().find(|t| t.map_index == NOT_MAPPED);
        let elements: Vec<&TaskInstanceRecord> = latest
            .iter()
            .filter(|t| t.map_index >= 0)
            .copied()
            .collect();
        if let Some(t) = whole {
            return Some(state_of(t.state));
        }
        (!elements.is_empty()).then(|| state_of(mapped_state(&elements)))
    }

    /// A task's output: a mapped task's is the list of its elements' outputs, in map index
    /// order (those that succeeded), as the runner collects them.
    fn output(&self, dag: &Dag, task: usize) -> Option<XCom> {
        let id = dag.tasks()[task].id();
        if dag.tasks()[task].is_mapped() {
            let items: Vec<&str> = self
                .xcoms
                .iter()
                .filter(|(t, m, _)| t == id && *m >= 0)
                .map(|(_, _, v)| v.as_str())
                .collect();
            (!items.is_empty()).then(|| XCom(format!("[{}]", items.join(",")).into()))
        } else {
            self.xcoms
                .iter()
                .find(|(t, m, _)| t == id && *m == NOT_MAPPED)
                .map(|(_, _, v)| XCom(v.as_str().into()))
        }
    }
}

/// The inputs of a try, or why it cannot run with them.
enum Inputs {
    Ready(Vec<XCom>),
    /// A data input was skipped: the task is skipped (as the runner decides it).
    Skip(String),
    /// A data input failed: the task cannot run.
    Failed(String),
}

impl Runner {
    /// Runs try `request.try_number` of task `task_id` for another engine (Airflow's worker
    /// runs it as `tasks run`) and records it in the runner's store, returning a
    /// [`TryOutcome`]: the run is recorded if it is not yet (as scheduled by
    /// `request.executor`), the task's inputs are read from the history, the
    /// try runs once (no retries: they are the engine's) with its log in the usual attempt
    /// file, and its state and output are recorded; whether it is `up_for_retry` or `failed`
    /// follows the task's own `retries`.
    pub async fn run_try(
        &self,
        dag: &Dag,
        task_id: &str,
        request: TryRequest,
    ) -> Result<TryOutcome, TryError> {
        let store = self.store.as_ref().ok_or(TryError::NoStore)?;
        let task = dag
            .task_index(task_id)
            .ok_or_else(|| DagError::UnknownTask {
                dag: dag.id().to_owned(),
                task: task_id.to_owned(),
            })?;
        let node = &dag.tasks()[task];
        let map_error = |message: String| DagError::MapIndex {
            dag: dag.id().to_owned(),
            task: task_id.to_owned(),
            message,
        };
        match (node.is_mapped(), request.map_index) {
            (false, Some(_)) => return Err(map_error("the task is not mapped".into()).into()),
            (true, None) => {
                return Err(map_error("the task is mapped: give the map index".into()).into());
            }
            _ => {}
        }
        crate::ids::run(&request.run_id).map_err(StoreError::from)?;
        let run = self.record_external_run(store, dag, &request).await?;

        let tries = store.task_instances(dag.id(), &request.run_id).await?;
        // Only what this instance reads: its inputs' outputs.
        let input_ids: Vec<&str> = node.inputs().iter().map(|&u| dag.tasks()[u].id()).collect();
        let xcoms = store
            .load_xcoms_of(dag.id(), &request.run_id, &input_ids)
            .await?;
        let recorded = Recorded {
            tries: &tries,
            xcoms: &xcoms,
        };
        let inputs = match self.try_inputs(store, dag, task, &recorded, &request)? {
            Inputs::Ready(outputs) if node.is_mapped() => {
                let lists = Mapping::new(dag, task, outputs).map_err(map_error)?;
                let i = request.map_index.unwrap_or(0);
                if i as usize >= lists.len() {
                    return Err(map_error(format!(
                        "map index {i} is out of range: the task has {} element(s) in run `{}`",
                        lists.len(),
                        request.run_id
                    ))
                    .into());
                }
                Inputs::Ready(lists.element(i as usize))
            }
            other => other,
        };

        let request_run = RunRequest::new(run.logical_date)
            .params(request.params.clone())
            .run_id(&request.run_id)
            .run_type(run.run_type);
        let info = self.run_info_with_interval(
            dag,
            &request_run,
            (run.data_interval_start, run.data_interval_end),
        );
        let label = match request.map_index {
            Some(i) => format!("{task_id}[{i}]"),
            None => task_id.to_owned(),
        };
        let try_number = try_number(&tries, task_id, &request);
        let log_path = crate::home::attempt_log(
            &self.home,
            dag.id(),
            &request.run_id,
            task_id,
            request.map_index,
            try_number,
        )
        .map_err(StoreError::from)?;
        let record = |state: TaskState, start: DateTime<Utc>, ran: Option<Duration>, error| {
            TaskInstanceRecord {
                dag_id: dag.id().to_owned(),
                run_id: request.run_id.clone(),
                task_id: task_id.to_owned(),
                map_index: request.map_index.map_or(NOT_MAPPED, |m| m as i32),
                try_number,
                state: record_of(state),
                start,
                end: ran.map(|d| start + d),
                duration: ran,
                hostname: crate::process::hostname(),
                pid: Some(std::process::id()),
                log_path: self.attempt_logs.then(|| log_path.display().to_string()),
                error,
            }
        };
        let started = Utc::now();
        store
            .record_tries(&[(record(TaskState::Running, started, None, None), None)])
            .await?;

        let opts = *node.options();
        let max_tries = request.max_tries.unwrap_or_else(|| opts.max_tries()).max(1);
        let span = tracing::error_span!(
            target: "rocket_dag::task",
            "task",
            task_id = &*label,
            dag_id = dag.id(),
            run_id = &*request.run_id,
            try_number,
            log = if self.attempt_logs { log_path.display().to_string() } else { String::new() },
        );
        let (start, duration, result) = match inputs {
            Inputs::Ready(inputs) => {
                let ctx = TaskContext {
                    run: info,
                    task_id: task_id.into(),
                    map_index: request.map_index,
                    try_number,
                    max_tries,
                    cancel: self.cancel.child_token(),
                };
                let work = attempt(ctx, node.erased.clone(), inputs, opts, self.cancel_grace)
                    .instrument(span.clone());
                tokio::pin!(work);
                tokio::select! {
                    done = &mut work => done,
                    _ = self.cancel.cancelled() => {
                        // SIGTERM (Airflow killing the task): the task sees `ctx.cancelled()`
                        // and has the grace period to clean up.
                        match tokio::time::timeout(self.cancel_grace, &mut work).await {
                            Ok(done) => done,
                            Err(_) => (
                                started,
                                (Utc::now() - started).to_std().unwrap_or_default(),
                                // Retryable, as Airflow's timeout that sends it is.
                                Err(TaskError::msg(
                                    "the worker was told to stop (SIGTERM) and the task did \
                                     not end within its grace period",
                                )),
                            ),
                        }
                    }
                }
            }
            Inputs::Skip(why) => {
                span.in_scope(|| tracing::info!("marking task as SKIPPED: {why}"));
                (started, Duration::ZERO, Err(TaskError::skip(why)))
            }
            Inputs::Failed(why) => {
                span.in_scope(|| tracing::error!("{why}"));
                (started, Duration::ZERO, Err(TaskError::fail_now(why)))
            }
        };
        let (state, retryable, error, output) = match result {
            Ok(out) => (TaskState::Success, false, None, Some(out)),
            Err(e) if e.is_skip() => (TaskState::Skipped, false, Some(e.to_string()), None),
            Err(e) => {
                let retryable = e.is_retryable();
                let state = if retryable && try_number < max_tries {
                    TaskState::UpForRetry
                } else {
                    TaskState::Failed
                };
                (state, retryable, Some(e.to_string()), None)
            }
        };
        store
            .record_tries(&[(
                record(state, start, Some(duration), error.clone()),
                output.as_ref().map(XCom::as_json),
            )])
            .await?;
        let run_state = if state == TaskState::UpForRetry {
            RunStateRecord::Running
        } else {
            settle(store, dag, &request.run_id).await?
        };
        Ok(TryOutcome {
            state,
            retryable,
            error,
            output,
            log_path,
            duration,
            run_state,
        })
    }

    /// Records the run as the engine's (if no worker has yet) and checks it is the same run:
    /// the engine's, at the same logical date. A run that ended and runs again (cleared in the
    /// engine) is running again.
    async fn record_external_run(
        &self,
        store: &Store,
        dag: &Dag,
        request: &TryRequest,
    ) -> Result<DagRunRecord, TryError> {
        let (start, end) = request.data_interval.unwrap_or_else(|| {
            dag.options()
                .schedule
                .data_interval(request.logical_date, dag.options().timezone)
        });
        let wanted = DagRunRecord {
            dag_id: dag.id().to_owned(),
            run_id: request.run_id.clone(),
            run_type: run_type_of(&request.run_id),
            logical_date: request.logical_date,
            data_interval_start: start,
            data_interval_end: end,
            state: RunStateRecord::Running,
            start: Utc::now(),
            end: None,
            conf: Value::Object(request.params.clone()),
        };
        let crate::store::ExternalRun { run, executor, .. } = store
            .record_external_run(&wanted, &request.executor)
            .await?;
        if executor.as_deref() != Some(request.executor.as_str()) {
            return Err(TryError::NotExternal {
                dag_id: dag.id().to_owned(),
                run_id: request.run_id.clone(),
                by: executor.unwrap_or_else(|| "rocket-dag".to_owned()),
                executor: request.executor.clone(),
            });
        }
        if run.logical_date != request.logical_date {
            return Err(TryError::LogicalDate {
                dag_id: dag.id().to_owned(),
                run_id: request.run_id.clone(),
                recorded: run.logical_date,
                asked: request.logical_date,
            });
        }
        if run.state != RunStateRecord::Running {
            store
                .set_run_state(dag.id(), &run.run_id, RunStateRecord::Running, None)
                .await?;
        }
        Ok(run)
    }

    /// The upstream outputs task `task` takes, in parameter order, from the history.
    fn try_inputs(
        &self,
        store: &Store,
        dag: &Dag,
        task: usize,
        recorded: &Recorded<'_>,
        request: &TryRequest,
    ) -> Result<Inputs, TryError> {
        let node = &dag.tasks()[task];
        let mut outputs = Vec::with_capacity(node.inputs().len());
        for &u in node.inputs() {
            let up = dag.tasks()[u].id();
            if let Some(out) = recorded.output(dag, u) {
                outputs.push(out);
                continue;
            }
            match recorded.state(up) {
                Some(TaskState::Skipped) => {
                    return Ok(Inputs::Skip(format!("input from `{up}` was skipped")));
                }
                Some(TaskState::Failed | TaskState::UpstreamFailed) => {
                    return Ok(Inputs::Failed(format!(
                        "upstream failed: input from `{up}` is unavailable"
                    )));
                }
                _ => {
                    return Err(TryError::MissingInput {
                        dag_id: dag.id().to_owned(),
                        run_id: request.run_id.clone(),
                        task: node.id().to_owned(),
                        upstream: up.to_owned(),
                        store: store.url().to_owned(),
                    });
                }
            }
        }
        Ok(Inputs::Ready(outputs))
    }

    /// [`Runner::run_info`] with the data interval the engine gave.
    fn run_info_with_interval(
        &self,
        dag: &Dag,
        request: &RunRequest,
        interval: (DateTime<Utc>, DateTime<Utc>),
    ) -> Arc<RunInfo> {
        let mut info = self.run_info(dag, request, None);
        if let Some(fresh) = Arc::get_mut(&mut info) {
            fresh.interval = interval;
        }
        info
    }
}

/// The number this try is recorded under: the engine's, unless the engine gave a number whose
/// try is already over (`airflow dags test` gives every try of a task the number 1, as it does
/// not count them): then the next after the instance's last recorded try. A try recorded as
/// still running is the same try started again (a redelivered task): it keeps its number.
fn try_number(tries: &[TaskInstanceRecord], task_id: &str, request: &TryRequest) -> u32 {
    let map_index = request.map_index.map_or(NOT_MAPPED, |m| m as i32);
    let mine = || {
        tries
            .iter()
            .filter(move |t| t.task_id == task_id && t.map_index == map_index)
    };
    let over = mine().any(|t| {
        t.try_number == request.try_number
            && !matches!(
                t.state,
                TaskStateRecord::Running | TaskStateRecord::Queued | TaskStateRecord::NoStatus
            )
    });
    if !over {
        return request.try_number;
    }
    let next = mine().map(|t| t.try_number).max().unwrap_or(0) + 1;
    tracing::info!(
        "try {} of `{}` is already recorded as over: recording this one as try {next}",
        request.try_number,
        task_id
    );
    next
}

/// The run type an engine's run id names (`scheduled__…`, `backfill__…`); manual otherwise
/// (Airflow's `manual__…` and `dataset_triggered__…`).
fn run_type_of(run_id: &str) -> RunType {
    match run_id.split_once("__").map(|(kind, _)| kind) {
        Some("scheduled") => RunType::Scheduled,
        Some("backfill") => RunType::Backfill,
        _ => RunType::Manual,
    }
}

/// Decides, by their trigger rules, the tasks of a run that can no longer run (recorded as
/// skipped or upstream_failed with try 0, as the runner records a task decided without
/// running), and ends the run once every task has a final state. Returns the run's state.
async fn settle(store: &Store, dag: &Dag, run_id: &str) -> Result<RunStateRecord, StoreError> {
    let tries = store.task_instances(dag.id(), run_id).await?;
    // Outputs are read only for a task that could run now, and only its inputs'.
    let recorded = Recorded {
        tries: &tries,
        xcoms: &[],
    };
    let mut states: Vec<Option<TaskState>> =
        dag.tasks().iter().map(|t| recorded.state(t.id())).collect();
    let mut decided = Vec::new();
    for &i in dag.topological_order() {
        if states[i].is_some() {
            continue;
        }
        let node = &dag.tasks()[i];
        let rule = node.options().trigger_rule;
        let upstream = if rule == TriggerRule::Always {
            node.inputs()
        } else {
            node.upstream()
        };
        let mut counts = Counts::default();
        for &u in upstream {
            if let Some(s) = states[u].filter(|s| s.is_finished()) {
                counts.add(s);
            }
        }
        let decision = match by_rule(rule, counts, upstream.len()) {
            Decision::Run => {
                let input_ids: Vec<&str> =
                    node.inputs().iter().map(|&u| dag.tasks()[u].id()).collect();
                let xcoms = store.load_xcoms_of(dag.id(), run_id, &input_ids).await?;
                let with_outputs = Recorded {
                    tries: &tries,
                    xcoms: &xcoms,
                };
                let inputs: Option<Vec<XCom>> = node
                    .inputs()
                    .iter()
                    .map(|&u| with_outputs.output(dag, u))
                    .collect();
                let input_state = |f: fn(TaskState) -> bool| {
                    node.inputs()
                        .iter()
                        .find(|&&u| states[u].is_some_and(f))
                        .map(|&u| dag.tasks()[u].id())
                };
                match inputs {
                    // An empty list maps to no element: skipped, as Airflow skips it.
                    Some(outputs) if node.is_mapped() => match Mapping::new(dag, i, outputs) {
                        Ok(m) if m.len() == 0 => {
                            Decision::Skip("skipped: mapped over an empty list".into())
                        }
                        _ => Decision::Run,
                    },
                    Some(_) => Decision::Run,
                    None => {
                        if let Some(up) = input_state(|s| {
                            matches!(s, TaskState::Failed | TaskState::UpstreamFailed)
                        }) {
                            Decision::UpstreamFailed(format!(
                                "upstream failed: input from `{up}` is unavailable"
                            ))
                        } else if let Some(up) = input_state(|s| s == TaskState::Skipped) {
                            Decision::Skip(format!("skipped: input from `{up}` was skipped"))
                        } else {
                            Decision::Wait
                        }
                    }
                }
            }
            other => other,
        };
        let (state, why) = match decision {
            Decision::Skip(why) => (TaskState::Skipped, why),
            Decision::UpstreamFailed(why) => (TaskState::UpstreamFailed, why),
            Decision::Run | Decision::Wait => continue,
        };
        states[i] = Some(state);
        let now = Utc::now();
        decided.push(TaskInstanceRecord {
            dag_id: dag.id().to_owned(),
            run_id: run_id.to_owned(),
            task_id: node.id().to_owned(),
            map_index: NOT_MAPPED,
            try_number: 0,
            state: record_of(state),
            start: now,
            end: Some(now),
            duration: Some(Duration::ZERO),
            hostname: crate::process::hostname(),
            pid: Some(std::process::id()),
            log_path: None,
            error: Some(why),
        });
    }
    if !decided.is_empty() {
        let batch: Vec<(TaskInstanceRecord, Option<&str>)> =
            decided.into_iter().map(|r| (r, None)).collect();
        store.record_tries(&batch).await?;
    }
    if !states.iter().all(|s| s.is_some_and(TaskState::is_finished)) {
        return Ok(RunStateRecord::Running);
    }
    let failed = states
        .iter()
        .any(|s| matches!(s, Some(TaskState::Failed | TaskState::UpstreamFailed)));
    let state = if failed {
        RunStateRecord::Failed
    } else {
        RunStateRecord::Success
    };
    store
        .set_run_state(dag.id(), run_id, state, Some(Utc::now()))
        .await?;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_types_from_airflow_run_ids() {
        assert_eq!(
            run_type_of("scheduled__2024-01-01T00:00:00+00:00"),
            RunType::Scheduled
        );
        assert_eq!(run_type_of("backfill__2024-01-01"), RunType::Backfill);
        assert_eq!(run_type_of("manual__2024-01-01"), RunType::Manual);
        assert_eq!(run_type_of("dataset_triggered__x"), RunType::Manual);
        assert_eq!(run_type_of("my-own-id"), RunType::Manual);
    }
}

//! Runs one DAG run: starts each task as soon as its trigger rule allows, retries, times out,
//! isolates panics and stops cleanly when interrupted.

use std::collections::VecDeque;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::FutureExt;
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::context::{RunInfo, TaskContext};
use crate::dag::Dag;
use crate::error::{TaskError, TaskErrorKind};
use crate::retry;
use crate::store::{
    DagRunRecord, NOT_MAPPED, RunStateRecord, RunType, Store, TaskInstanceRecord, TaskStateRecord,
};
use crate::task::{TriggerRule, XCom};

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
    /// Final state.
    pub state: TaskState,
    /// Every attempt, in order.
    pub attempts: Vec<AttemptReport>,
    /// Why it did not succeed (for upstream_failed and skipped too).
    pub reason: Option<String>,
    /// Its output as JSON (Airflow's XCom), when it succeeded.
    #[serde(skip)]
    pub output: Option<XCom>,
}

impl TaskInstanceReport {
    /// Number of attempts made.
    pub fn tries(&self) -> u32 {
        self.attempts.len() as u32
    }
    /// Sum of the attempts' durations.
    pub fn duration(&self) -> Duration {
        self.attempts.iter().map(|a| a.duration).sum()
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
    /// When it started.
    pub start: DateTime<Utc>,
    /// How long it took.
    #[serde(with = "duration_secs")]
    pub duration: Duration,
    /// Every task, in topological order.
    pub tasks: Vec<TaskInstanceReport>,
}

impl DagRunReport {
    /// A task by id.
    pub fn task(&self, id: &str) -> Option<&TaskInstanceReport> {
        self.tasks.iter().find(|t| t.task_id == id)
    }

    /// The end-of-run table: task, state, tries, duration.
    pub fn summary_table(&self) -> String {
        let w = self
            .tasks
            .iter()
            .map(|t| t.task_id.len())
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
                t.task_id,
                t.state.as_str(),
                t.tries(),
                format!("{:.3}s", t.duration().as_secs_f64()),
            ));
        }
        for t in &self.tasks {
            if let Some(r) = &t.reason
                && t.state != TaskState::Success
            {
                out.push_str(&format!("{}: {}\n", t.task_id, r));
            }
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

/// What to run: a logical date, params and optionally a run id.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RunRequest {
    /// The logical date.
    pub logical_date: DateTime<Utc>,
    /// Params passed to every task.
    pub params: Map<String, Value>,
    /// The run id (default `<run type>__<logical date>`).
    pub run_id: Option<String>,
    /// Why the run exists (default manual).
    pub run_type: RunType,
}

impl RunRequest {
    /// A manual run at `logical_date`.
    pub fn new(logical_date: DateTime<Utc>) -> Self {
        RunRequest {
            logical_date,
            params: Map::new(),
            run_id: None,
            run_type: RunType::Manual,
        }
    }
    /// Sets why the run exists (scheduled, backfill).
    pub fn run_type(mut self, t: RunType) -> Self {
        self.run_type = t;
        self
    }
    /// Adds a param.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.params.insert(name.into(), value.into());
        self
    }
    /// Replaces the params.
    pub fn params(mut self, params: Map<String, Value>) -> Self {
        self.params = params;
        self
    }
    /// Sets the run id.
    pub fn run_id(mut self, id: impl Into<String>) -> Self {
        self.run_id = Some(id.into());
        self
    }
}

/// Airflow's run id: `<type>__<logical date RFC 3339>`.
pub fn run_id(run_type: &str, logical: DateTime<Utc>) -> String {
    format!(
        "{run_type}__{}",
        logical.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
    )
}

/// Runs DAG runs. Cheap to clone; clones share the cancellation signal and HTTP client.
#[derive(Debug, Clone)]
pub struct Runner {
    home: PathBuf,
    cancel: CancellationToken,
    http: Arc<OnceLock<reqwest::Client>>,
    attempt_logs: bool,
    cancel_grace: Duration,
    progress: Option<ProgressHook>,
    store: Option<Store>,
}

/// A change of a task's state during a run, for progress displays.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Progress<'a> {
    /// The task.
    pub task_id: &'a str,
    /// Its new state (`running` or a final state).
    pub state: TaskState,
    /// Tasks in a final state so far.
    pub finished: usize,
    /// Tasks in the DAG.
    pub total: usize,
}

type ProgressFn = dyn Fn(&Progress<'_>) + Send + Sync;

#[derive(Clone)]
struct ProgressHook(Arc<ProgressFn>);

impl fmt::Debug for ProgressHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressHook")
    }
}

impl Runner {
    /// A runner whose logs and data live under `home`.
    pub fn new(home: impl Into<PathBuf>) -> Self {
        Runner {
            home: home.into(),
            cancel: CancellationToken::new(),
            http: Arc::new(OnceLock::new()),
            attempt_logs: true,
            cancel_grace: Duration::from_secs(5),
            progress: None,
            store: None,
        }
    }

    /// Records every run, attempt and output in `store`, and resumes a run that is already
    /// there: tasks that succeeded are not run again (their outputs are read back, typed),
    /// attempts a dead process left `running` are recorded as failed, and every other task runs
    /// again with a fresh retry budget, its try numbers continuing.
    pub fn with_store(mut self, store: Store) -> Self {
        self.store = Some(store);
        self
    }

    /// Calls `f` whenever a task starts running or reaches a final state (the CLI draws its
    /// progress bar with it).
    pub fn on_progress(mut self, f: impl Fn(&Progress<'_>) + Send + Sync + 'static) -> Self {
        self.progress = Some(ProgressHook(Arc::new(f)));
        self
    }

    /// How long a cancelled attempt (timeout, Ctrl-C, SIGTERM) may keep running to clean up
    /// after its `ctx.cancelled()` fired, before it is dropped (default 5 s).
    pub fn cancel_grace(mut self, grace: Duration) -> Self {
        self.cancel_grace = grace;
        self
    }

    /// Whether each attempt writes its log file (default `true`). Off, events still reach the
    /// console and any other subscriber; the reports' log paths are then never written.
    pub fn attempt_logs(mut self, on: bool) -> Self {
        self.attempt_logs = on;
        self
    }

    /// The home directory.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The signal that interrupts runs: cancel it (as Ctrl-C does) to start nothing new and
    /// cancel what runs.
    pub fn cancellation_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Interrupt this runner's runs when the process gets Ctrl-C or SIGTERM; a second one exits
    /// the process at once (code 130).
    pub fn cancel_on_signals(&self) {
        let token = self.cancel.clone();
        tokio::spawn(async move {
            let why = crate::signal::shutdown_signal().await;
            tracing::warn!(
                "{why} received: starting nothing new, cancelling running tasks (again to quit now)"
            );
            token.cancel();
            let again = crate::signal::shutdown_signal().await;
            eprintln!("{again} received again: exiting without waiting for running tasks");
            std::process::exit(130);
        });
    }

    /// Path of an attempt's log: `<home>/logs/dag_id=…/run_id=…/task_id=…/attempt=N.log`.
    pub fn log_path(&self, dag_id: &str, run_id: &str, task_id: &str, try_number: u32) -> PathBuf {
        attempt_log_path(&self.home, dag_id, run_id, task_id, try_number)
    }

    /// Runs one attempt of one task now, as `airflow tasks test` does: no dependency checks, no
    /// retries, no attempt log file (events go to the console). `inputs` are the upstream
    /// outputs in parameter order.
    pub async fn run_task(
        &self,
        dag: &Dag,
        task_id: &str,
        request: RunRequest,
        inputs: Vec<XCom>,
    ) -> Result<TaskInstanceReport, crate::error::DagError> {
        crate::logging::ensure_installed();
        let node = dag
            .task(task_id)
            .ok_or_else(|| crate::error::DagError::UnknownTask {
                dag: dag.id().to_owned(),
                task: task_id.to_owned(),
            })?;
        if inputs.len() != node.inputs().len() {
            return Err(crate::error::DagError::MissingInputs {
                dag: dag.id().to_owned(),
                task: task_id.to_owned(),
                expected: node.inputs().len(),
                given: inputs.len(),
            });
        }
        let info = self.run_info(dag, &request);
        let ctx = TaskContext {
            run: info.clone(),
            task_id: task_id.into(),
            try_number: 1,
            max_tries: 1,
            cancel: self.cancel.child_token(),
        };
        let span = tracing::error_span!(
            target: "rocket_dag::task",
            "task",
            task_id,
            dag_id = dag.id(),
            run_id = &*info.run_id,
            try_number = 1,
            log = "",
        );
        let (start, duration, result) = attempt(
            ctx,
            node.erased.clone(),
            inputs,
            *node.options(),
            self.cancel_grace,
        )
        .instrument(span)
        .await;
        let (state, error, output) = match result {
            Ok(out) => (TaskState::Success, None, Some(out)),
            Err(e) if e.is_skip() => (TaskState::Skipped, Some(e.to_string()), None),
            Err(e) => (TaskState::Failed, Some(e.to_string()), None),
        };
        Ok(TaskInstanceReport {
            task_id: task_id.to_owned(),
            state,
            attempts: vec![AttemptReport {
                try_number: 1,
                state,
                start,
                duration,
                error: error.clone(),
                log_path: PathBuf::new(),
            }],
            reason: error,
            output,
        })
    }

    fn run_info(&self, dag: &Dag, request: &RunRequest) -> Arc<RunInfo> {
        let logical = request.logical_date;
        let run_id = request
            .run_id
            .clone()
            .unwrap_or_else(|| run_id(request.run_type.as_str(), logical));
        let interval = dag
            .options()
            .schedule
            .data_interval(logical, dag.options().timezone);
        let data_dir = self.home.join("data").join(dag.id());
        if let Err(e) = std::fs::create_dir_all(&data_dir) {
            tracing::error!(path = %data_dir.display(), "cannot create the data directory: {e}");
        }
        Arc::new(RunInfo {
            dag_id: dag.id().into(),
            run_id: run_id.as_str().into(),
            run_type: request.run_type,
            logical_date: logical,
            interval,
            params: request.params.clone(),
            home: self.home.clone(),
            data_dir,
            http: self.http.clone(),
        })
    }

    /// Runs the DAG once for the request and reports every task.
    pub async fn run(&self, dag: &Dag, request: RunRequest) -> DagRunReport {
        crate::logging::ensure_installed();
        let info = self.run_info(dag, &request);
        // The scheduling loop runs as a tokio task of its own: attempts it spawns then start on
        // the same worker (tokio's LIFO slot) instead of waking another thread for every task.
        let dag = dag.clone();
        let runner = self.clone();
        let handle = tokio::spawn(async move { DagRun::new(&dag, info, &runner).execute().await });
        match handle.await {
            Ok(report) => report,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("the DAG run's scheduling task was cancelled: {e}"),
        }
    }
}

fn attempt_log_path(home: &Path, dag: &str, run: &str, task: &str, try_number: u32) -> PathBuf {
    home.join("logs")
        .join(format!("dag_id={dag}"))
        .join(format!("run_id={run}"))
        .join(format!("task_id={task}"))
        .join(format!("attempt={try_number}.log"))
}

enum Event {
    Done {
        idx: usize,
        start: DateTime<Utc>,
        elapsed: Duration,
        result: Result<XCom, TaskError>,
    },
    RetryDue(usize),
}

enum Decision {
    Wait,
    Run,
    Skip(String),
    UpstreamFailed(String),
}

/// Final states among a task's upstream tasks, kept up to date as they finish, so deciding a
/// trigger rule is O(1) however wide the fan-in.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    success: usize,
    failed: usize,
    skipped: usize,
}

impl Counts {
    fn done(&self) -> usize {
        self.success + self.failed + self.skipped
    }
    fn add(&mut self, state: TaskState) {
        match state {
            TaskState::Success => self.success += 1,
            TaskState::Failed | TaskState::UpstreamFailed => self.failed += 1,
            TaskState::Skipped => self.skipped += 1,
            _ => {}
        }
    }
}

struct DagRun<'a> {
    dag: &'a Dag,
    info: Arc<RunInfo>,
    runner: &'a Runner,
    states: Vec<TaskState>,
    reasons: Vec<Option<String>>,
    attempts: Vec<Vec<AttemptReport>>,
    outputs: Vec<Option<XCom>>,
    /// Over every upstream task.
    upstream: Vec<Counts>,
    /// Over the distinct tasks whose outputs the task takes.
    inputs: Vec<Counts>,
    input_totals: Vec<usize>,
    ready: VecDeque<usize>,
    running: usize,
    /// When the running attempt of each task started.
    started: Vec<Option<(DateTime<Utc>, Instant)>>,
    set: JoinSet<Event>,
    task_ids: Vec<Arc<str>>,
    finished_count: usize,
    /// Tries made before this execution (a resumed run continues their numbering).
    base_tries: Vec<u32>,
}

impl<'a> DagRun<'a> {
    fn report_progress(&self, idx: usize) {
        if let Some(hook) = &self.runner.progress {
            (hook.0)(&Progress {
                task_id: &self.task_ids[idx],
                state: self.states[idx],
                finished: self.finished_count,
                total: self.states.len(),
            });
        }
    }

    fn new(dag: &'a Dag, info: Arc<RunInfo>, runner: &'a Runner) -> Self {
        let n = dag.tasks().len();
        let input_totals = dag
            .tasks()
            .iter()
            .map(|t| {
                let mut ins = t.inputs().to_vec();
                ins.sort_unstable();
                ins.dedup();
                ins.len()
            })
            .collect();
        DagRun {
            dag,
            info,
            runner,
            states: vec![TaskState::NoStatus; n],
            reasons: vec![None; n],
            attempts: vec![Vec::new(); n],
            outputs: vec![None; n],
            upstream: vec![Counts::default(); n],
            inputs: vec![Counts::default(); n],
            input_totals,
            ready: VecDeque::new(),
            running: 0,
            started: vec![None; n],
            set: JoinSet::new(),
            task_ids: dag.tasks().iter().map(|t| Arc::from(t.id())).collect(),
            finished_count: 0,
            base_tries: vec![0; n],
        }
    }

    /// Loads what the store knows of this run: finished tasks keep their state and output,
    /// attempts of a dead process become failed ones, try numbers continue.
    async fn resume(&mut self, store: &Store) {
        let (dag_id, run_id) = (self.info.dag_id.clone(), self.info.run_id.clone());
        match store
            .mark_running_as_failed(
                &dag_id,
                &run_id,
                "the process running this attempt stopped before it finished (crash or kill -9)",
            )
            .await
        {
            Ok(dead) => {
                for ti in dead {
                    tracing::warn!(
                        "task `{}` try {} was left running by a process that died: recorded as failed",
                        ti.task_id,
                        ti.try_number
                    );
                }
            }
            Err(e) => tracing::error!("{e}"),
        }
        let tis = match store.task_instances(&dag_id, &run_id).await {
            Ok(t) => t,
            Err(e) => {
                tracing::error!("{e}");
                return;
            }
        };
        let xcoms: std::collections::HashMap<String, String> =
            match store.load_xcoms(&dag_id, &run_id).await {
                Ok(x) => x
                    .into_iter()
                    .filter(|(_, m, _)| *m == NOT_MAPPED)
                    .map(|(t, _, v)| (t, v))
                    .collect(),
                Err(e) => {
                    tracing::error!("{e}");
                    Default::default()
                }
            };
        let mut resumed = 0;
        for (idx, id) in self.task_ids.clone().iter().enumerate() {
            let mut tries: Vec<&TaskInstanceRecord> = tis
                .iter()
                .filter(|t| *t.task_id == **id && t.map_index == NOT_MAPPED && t.try_number > 0)
                .collect();
            tries.sort_by_key(|t| t.try_number);
            self.base_tries[idx] = tries.last().map_or(0, |t| t.try_number);
            self.attempts[idx] = tries
                .iter()
                .map(|t| AttemptReport {
                    try_number: t.try_number,
                    state: t.state.as_str().parse_state(),
                    start: t.start,
                    duration: t.duration.unwrap_or_default(),
                    error: t.error.clone(),
                    log_path: t.log_path.clone().map(PathBuf::from).unwrap_or_default(),
                })
                .collect();
            let Some(last) = tries.last() else { continue };
            match (last.state, xcoms.get(&**id)) {
                (TaskStateRecord::Success, Some(value)) => {
                    self.states[idx] = TaskState::Success;
                    self.outputs[idx] = Some(XCom(value.as_str().into()));
                    resumed += 1;
                }
                (TaskStateRecord::Skipped, _) => {
                    self.states[idx] = TaskState::Skipped;
                    self.reasons[idx] = last.error.clone();
                    resumed += 1;
                }
                _ => {}
            }
        }
        if resumed > 0 {
            tracing::info!(
                "resuming run {run_id}: {resumed} task(s) already finished are not run again"
            );
        }
    }

    async fn persist_run(&self, state: RunStateRecord, end: Option<DateTime<Utc>>) {
        let Some(store) = &self.runner.store else {
            return;
        };
        let record = DagRunRecord {
            dag_id: self.info.dag_id.to_string(),
            run_id: self.info.run_id.to_string(),
            run_type: self.info.run_type,
            logical_date: self.info.logical_date,
            data_interval_start: self.info.interval.0,
            data_interval_end: self.info.interval.1,
            state,
            start: Utc::now(),
            end,
            conf: Value::Object(self.info.params.clone()),
        };
        let result = match end {
            None => store.upsert_run(&record).await,
            Some(_) => store
                .set_run_state(&record.dag_id, &record.run_id, state, end)
                .await
                .map(|_| ()),
        };
        if let Err(e) = result {
            tracing::error!("{e}");
        }
    }

    /// Records one try of a task (or, with try 0, a task decided without running).
    async fn persist_try(&self, idx: usize, attempt: &AttemptReport, output: Option<&XCom>) {
        let Some(store) = &self.runner.store else {
            return;
        };
        let (dag_id, run_id) = (&*self.info.dag_id, &*self.info.run_id);
        if let Some(out) = output
            && let Err(e) = store
                .save_xcom(
                    dag_id,
                    run_id,
                    &self.task_ids[idx],
                    NOT_MAPPED,
                    out.as_json(),
                )
                .await
        {
            tracing::error!("{e}");
        }
        let running = attempt.state == TaskState::Running;
        let record = TaskInstanceRecord {
            dag_id: dag_id.to_owned(),
            run_id: run_id.to_owned(),
            task_id: self.task_ids[idx].to_string(),
            map_index: NOT_MAPPED,
            try_number: attempt.try_number,
            state: attempt.state.as_str().parse_record(),
            start: attempt.start,
            end: (!running).then(|| attempt.start + attempt.duration),
            duration: (!running).then_some(attempt.duration),
            hostname: hostname(),
            pid: Some(std::process::id()),
            log_path: (self.runner.attempt_logs && attempt.try_number > 0)
                .then(|| attempt.log_path.display().to_string()),
            error: attempt.error.clone(),
        };
        if let Err(e) = store.upsert_task_instance(&record).await {
            tracing::error!("{e}");
        }
    }

    async fn execute(&mut self) -> DagRunReport {
        let start = Utc::now();
        let clock = Instant::now();
        tracing::info!(
            dag_id = self.dag.id(),
            run_id = &*self.info.run_id,
            "starting DAG run ({} tasks)",
            self.dag.tasks().len()
        );
        if let Some(store) = self.runner.store.clone() {
            self.resume(&store).await;
            self.persist_run(RunStateRecord::Running, None).await;
            for &i in self.dag.topological_order() {
                if self.states[i].is_finished() {
                    self.finished(i);
                }
            }
        }
        // Roots, and tasks whose rule needs no upstream (`always`), may start right away.
        for &i in self.dag.topological_order() {
            if self.states[i] == TaskState::NoStatus && self.evaluate(i) {
                self.finished(i);
            }
        }
        let cancel = self.runner.cancel.clone();
        let max_active = self.dag.options().max_active_tasks.max(1);
        let mut interrupted = false;
        loop {
            while self.running < max_active && !cancel.is_cancelled() {
                let Some(idx) = self.ready.pop_front() else {
                    break;
                };
                self.start_attempt(idx).await;
            }
            if self.set.is_empty() {
                break;
            }
            tokio::select! {
                biased;
                _ = cancel.cancelled() => {
                    interrupted = true;
                    self.interrupt().await;
                    break;
                }
                Some(joined) = self.set.join_next() => match joined {
                    Ok(event) => self.handle(event, true).await,
                    // Attempts catch their own panics; a JoinError here means we aborted it.
                    Err(e) => tracing::error!("attempt task ended abnormally: {e}"),
                },
            }
        }
        let failed = self.states.iter().any(|s| {
            matches!(s, TaskState::Failed | TaskState::UpstreamFailed) || !s.is_finished()
        });
        let state = if failed || interrupted {
            RunState::Failed
        } else {
            RunState::Success
        };
        if self.runner.store.is_some() {
            // Tasks decided without running (upstream_failed, skipped by rule, never reached).
            let now = Utc::now();
            for i in 0..self.states.len() {
                if self.attempts[i].len() as u32 == self.base_tries[i]
                    && self.states[i] != TaskState::Success
                {
                    let decided = AttemptReport {
                        try_number: 0,
                        state: self.states[i],
                        start: now,
                        duration: Duration::ZERO,
                        error: self.reasons[i].clone(),
                        log_path: PathBuf::new(),
                    };
                    self.persist_try(i, &decided, None).await;
                }
            }
            let record_state = match state {
                RunState::Success => RunStateRecord::Success,
                RunState::Failed => RunStateRecord::Failed,
            };
            self.persist_run(record_state, Some(Utc::now())).await;
        }
        let report = DagRunReport {
            dag_id: self.dag.id().to_owned(),
            run_id: self.info.run_id.to_string(),
            logical_date: self.info.logical_date,
            data_interval: self.info.interval,
            state,
            interrupted,
            start,
            duration: clock.elapsed(),
            tasks: self
                .dag
                .topological_order()
                .iter()
                .map(|&i| TaskInstanceReport {
                    task_id: self.dag.tasks()[i].id().to_owned(),
                    state: self.states[i],
                    attempts: std::mem::take(&mut self.attempts[i]),
                    reason: self.reasons[i].take(),
                    output: self.outputs[i].take(),
                })
                .collect(),
        };
        crate::logging::flush().await;
        match state {
            RunState::Success => tracing::info!(
                dag_id = self.dag.id(),
                "DAG run {} succeeded in {:.3}s",
                report.run_id,
                report.duration.as_secs_f64()
            ),
            RunState::Failed => tracing::error!(
                dag_id = self.dag.id(),
                "DAG run {} failed{}",
                report.run_id,
                if interrupted { " (interrupted)" } else { "" }
            ),
        }
        report
    }

    /// Ctrl-C / SIGTERM. Every attempt's context is already cancelled (their tokens are children
    /// of the runner's); they get the grace period to finish on their own (an attempt that
    /// succeeds in it counts), then the rest are dropped and recorded as failed. Nothing new
    /// starts and waiting retries are dropped.
    async fn interrupt(&mut self) {
        let grace = tokio::time::sleep(self.runner.cancel_grace);
        tokio::pin!(grace);
        while self.running > 0 {
            tokio::select! {
                biased;
                Some(joined) = self.set.join_next() => {
                    if let Ok(event @ Event::Done { .. }) = joined {
                        self.handle(event, false).await;
                    }
                }
                _ = &mut grace => break,
            }
        }
        self.set.abort_all();
        while let Some(joined) = self.set.join_next().await {
            if let Ok(event @ Event::Done { .. }) = joined {
                self.handle(event, false).await;
            }
        }
        for i in 0..self.states.len() {
            match self.states[i] {
                TaskState::Running => {
                    let err = TaskError::cancelled("the run was interrupted");
                    let (start, clock) = self.started[i].unwrap_or((Utc::now(), Instant::now()));
                    let try_number = self.attempts[i].len() as u32 + 1;
                    let log_path = self.log_path(i, try_number);
                    if self.runner.attempt_logs {
                        crate::logging::append(
                            log_path.clone(),
                            format!(
                                "[{}] ERROR rocket_dag::runner: {err}",
                                Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ")
                            ),
                        );
                    }
                    let attempt = AttemptReport {
                        try_number,
                        state: TaskState::Failed,
                        start,
                        duration: clock.elapsed(),
                        error: Some(err.to_string()),
                        log_path,
                    };
                    self.persist_try(i, &attempt, None).await;
                    self.attempts[i].push(attempt);
                    self.fail(i, err.to_string());
                }
                TaskState::UpForRetry => self.fail(i, "interrupted while waiting to retry".into()),
                TaskState::Queued => {
                    self.states[i] = TaskState::NoStatus;
                    self.reasons[i] = Some("not started: the run was interrupted".into());
                }
                _ => {}
            }
        }
        self.ready.clear();
    }

    fn fail(&mut self, idx: usize, reason: String) {
        self.states[idx] = TaskState::Failed;
        self.reasons[idx] = Some(reason);
    }

    fn log_path(&self, idx: usize, try_number: u32) -> PathBuf {
        attempt_log_path(
            &self.runner.home,
            &self.info.dag_id,
            &self.info.run_id,
            &self.task_ids[idx],
            try_number,
        )
    }

    async fn start_attempt(&mut self, idx: usize) {
        let node = &self.dag.tasks()[idx];
        let opts = *node.options();
        let try_number = self.attempts[idx].len() as u32 + 1;
        let max_tries = self.base_tries[idx] + opts.max_tries();
        let inputs: Vec<XCom> = node
            .inputs()
            .iter()
            .map(|&u| {
                self.outputs[u]
                    .clone()
                    .expect("data inputs are checked before a task is queued")
            })
            .collect();
        let ctx = TaskContext {
            run: self.info.clone(),
            task_id: self.task_ids[idx].clone(),
            try_number,
            max_tries,
            cancel: self.runner.cancel.child_token(),
        };
        self.started[idx] = Some((Utc::now(), Instant::now()));
        // Durable before the attempt runs: a crash from here on is seen on the next start.
        let running = AttemptReport {
            try_number,
            state: TaskState::Running,
            start: Utc::now(),
            duration: Duration::ZERO,
            error: None,
            log_path: self.log_path(idx, try_number),
        };
        self.persist_try(idx, &running, None).await;
        let node = &self.dag.tasks()[idx];
        let log_field = if self.runner.attempt_logs {
            self.log_path(idx, try_number).display().to_string()
        } else {
            String::new()
        };
        // ERROR level so that no log filter can disable the span that routes events to the
        // attempt's file and tags console lines.
        let span = tracing::error_span!(
            target: "rocket_dag::task",
            "task",
            task_id = &*self.task_ids[idx],
            dag_id = &*self.info.dag_id,
            run_id = &*self.info.run_id,
            try_number,
            log = log_field,
        );
        let erased = node.erased.clone();
        let grace = self.runner.cancel_grace;
        self.states[idx] = TaskState::Running;
        self.running += 1;
        self.report_progress(idx);
        self.set.spawn(
            async move {
                let (start, elapsed, result) = attempt(ctx, erased, inputs, opts, grace).await;
                Event::Done {
                    idx,
                    start,
                    elapsed,
                    result,
                }
            }
            .instrument(span),
        );
    }

    /// Applies an event; `retry` is false while the run is being interrupted.
    async fn handle(&mut self, event: Event, retry: bool) {
        let (idx, start, elapsed, result) = match event {
            Event::RetryDue(idx) => {
                if self.states[idx] == TaskState::UpForRetry {
                    self.states[idx] = TaskState::Queued;
                    self.ready.push_back(idx);
                }
                return;
            }
            Event::Done {
                idx,
                start,
                elapsed,
                result,
            } => (idx, start, elapsed, result),
        };
        self.running -= 1;
        self.started[idx] = None;
        let try_number = self.attempts[idx].len() as u32 + 1;
        let opts = *self.dag.tasks()[idx].options();
        let task_id = self.task_ids[idx].clone();
        let mut attempt = AttemptReport {
            try_number,
            state: TaskState::Success,
            start,
            duration: elapsed,
            error: None,
            log_path: self.log_path(idx, try_number),
        };
        let error = match result {
            Ok(out) => {
                // The output and the success are durable before any downstream task starts.
                self.persist_try(idx, &attempt, Some(&out)).await;
                self.attempts[idx].push(attempt);
                self.outputs[idx] = Some(out);
                self.states[idx] = TaskState::Success;
                self.finished(idx);
                return;
            }
            Err(e) => e,
        };
        let msg = error.to_string();
        attempt.error = Some(msg.clone());
        let max_tries = self.base_tries[idx] + opts.max_tries();
        if error.is_skip() {
            attempt.state = TaskState::Skipped;
            self.persist_try(idx, &attempt, None).await;
            self.attempts[idx].push(attempt);
            self.states[idx] = TaskState::Skipped;
            self.reasons[idx] = Some(format!("skipped: {msg}"));
            self.finished(idx);
        } else if retry && error.is_retryable() && try_number < max_tries {
            let delay = retry::delay(
                &opts,
                &self.info.dag_id,
                &task_id,
                &self.info.run_id,
                try_number,
            );
            attempt.state = TaskState::UpForRetry;
            self.persist_try(idx, &attempt, None).await;
            self.attempts[idx].push(attempt);
            self.states[idx] = TaskState::UpForRetry;
            tracing::warn!(
                task_id = &*task_id,
                "attempt {try_number} of {max_tries} failed: {msg}; retrying in {}",
                crate::task::format_duration(delay)
            );
            self.set.spawn(async move {
                tokio::time::sleep(delay).await;
                Event::RetryDue(idx)
            });
        } else {
            attempt.state = TaskState::Failed;
            self.persist_try(idx, &attempt, None).await;
            self.attempts[idx].push(attempt);
            let reason = if !retry {
                format!("the run was interrupted; the attempt ended with: {msg}")
            } else if error.kind() == TaskErrorKind::FailNow || try_number == 1 {
                msg.clone()
            } else {
                format!("{msg} (after {try_number} attempts)")
            };
            tracing::error!(
                task_id = &*task_id,
                "task failed: DAG `{}`, task `{}`, attempt {try_number} of {max_tries}: {msg}",
                self.info.dag_id,
                task_id,
            );
            self.fail(idx, reason);
            // An interrupted run decides nothing more downstream: those tasks stay unstarted.
            if retry {
                self.finished(idx);
            }
        }
    }

    /// A task reached a final state: count it for its downstream tasks and decide those.
    fn finished(&mut self, idx: usize) {
        let mut stack = vec![idx];
        while let Some(i) = stack.pop() {
            let state = self.states[i];
            self.finished_count += 1;
            self.report_progress(i);
            for &d in self.dag.tasks()[i].downstream() {
                self.upstream[d].add(state);
                if self.dag.tasks()[d].inputs().contains(&i) {
                    self.inputs[d].add(state);
                }
                if self.states[d] == TaskState::NoStatus && self.evaluate(d) {
                    stack.push(d);
                }
            }
        }
    }

    /// Applies the trigger rule; returns `true` if the task reached a final state without
    /// running (so its own downstream must be evaluated).
    fn evaluate(&mut self, idx: usize) -> bool {
        match self.decide(idx) {
            Decision::Wait => false,
            Decision::Run => {
                self.states[idx] = TaskState::Queued;
                self.ready.push_back(idx);
                false
            }
            Decision::Skip(why) => {
                self.states[idx] = TaskState::Skipped;
                self.reasons[idx] = Some(why);
                true
            }
            Decision::UpstreamFailed(why) => {
                self.states[idx] = TaskState::UpstreamFailed;
                self.reasons[idx] = Some(why);
                true
            }
        }
    }

    fn decide(&self, idx: usize) -> Decision {
        let node = &self.dag.tasks()[idx];
        let rule = node.options().trigger_rule;
        // `always` ignores ordering-only upstream tasks; its data inputs still decide.
        let (c, total) = if rule == TriggerRule::Always {
            (self.inputs[idx], self.input_totals[idx])
        } else {
            (self.upstream[idx], node.upstream().len())
        };
        // A task without upstream tasks runs whatever its rule (as in Airflow).
        if total == 0 {
            return Decision::Run;
        }
        let (success, failed, skipped) = (c.success, c.failed, c.skipped);
        let all_done = c.done() == total;
        let rule_name = rule.as_str();
        let upstream_failed =
            || Decision::UpstreamFailed(format!("upstream failed (trigger rule {rule_name})"));
        let skip = || Decision::Skip(format!("skipped by trigger rule {rule_name}"));
        let run_when_done = || {
            if all_done {
                Decision::Run
            } else {
                Decision::Wait
            }
        };
        let verdict = match rule {
            TriggerRule::AllSuccess if failed > 0 => upstream_failed(),
            TriggerRule::AllSuccess if skipped > 0 => skip(),
            TriggerRule::AllFailed | TriggerRule::AllSkipped if success > 0 => skip(),
            TriggerRule::AllFailed if skipped > 0 => skip(),
            TriggerRule::AllSkipped if failed > 0 => skip(),
            TriggerRule::AllSuccess
            | TriggerRule::AllFailed
            | TriggerRule::AllSkipped
            | TriggerRule::AllDone
            | TriggerRule::Always => run_when_done(),
            TriggerRule::OneSuccess if success > 0 => Decision::Run,
            TriggerRule::OneSuccess if all_done && skipped == total => skip(),
            TriggerRule::OneSuccess if all_done => upstream_failed(),
            TriggerRule::OneFailed if failed > 0 => Decision::Run,
            TriggerRule::OneDone if success + failed > 0 => Decision::Run,
            TriggerRule::OneFailed | TriggerRule::OneDone if all_done => skip(),
            TriggerRule::NoneFailed | TriggerRule::NoneFailedMinOneSuccess if failed > 0 => {
                upstream_failed()
            }
            TriggerRule::NoneFailed => run_when_done(),
            TriggerRule::NoneFailedMinOneSuccess if all_done && success == 0 => skip(),
            TriggerRule::NoneFailedMinOneSuccess => run_when_done(),
            TriggerRule::NoneSkipped if skipped > 0 => skip(),
            TriggerRule::NoneSkipped => run_when_done(),
            _ => Decision::Wait,
        };
        match verdict {
            Decision::Run => self.inputs_available(idx),
            other => other,
        }
    }

    /// A task may run by its trigger rule, but it can only be called with every data input.
    fn inputs_available(&self, idx: usize) -> Decision {
        let c = self.inputs[idx];
        let total = self.input_totals[idx];
        if c.success == total {
            return Decision::Run;
        }
        let node = &self.dag.tasks()[idx];
        let name_of = |wanted: fn(TaskState) -> bool| {
            node.inputs()
                .iter()
                .find(|&&u| wanted(self.states[u]))
                .map(|&u| self.dag.tasks()[u].id().to_owned())
                .unwrap_or_default()
        };
        if c.failed > 0 {
            let from = name_of(|s| matches!(s, TaskState::Failed | TaskState::UpstreamFailed));
            Decision::UpstreamFailed(format!(
                "upstream failed: input from `{from}` is unavailable"
            ))
        } else if c.skipped > 0 {
            let from = name_of(|s| s == TaskState::Skipped);
            Decision::Skip(format!("skipped: input from `{from}` was skipped"))
        } else {
            Decision::Wait
        }
    }
}

trait ParseState {
    fn parse_state(self) -> TaskState;
    fn parse_record(self) -> TaskStateRecord;
}

impl ParseState for &str {
    /// The store and the runtime share Airflow's state names.
    fn parse_state(self) -> TaskState {
        match self {
            "queued" => TaskState::Queued,
            "running" => TaskState::Running,
            "success" => TaskState::Success,
            "failed" => TaskState::Failed,
            "up_for_retry" => TaskState::UpForRetry,
            "upstream_failed" => TaskState::UpstreamFailed,
            "skipped" => TaskState::Skipped,
            _ => TaskState::NoStatus,
        }
    }
    fn parse_record(self) -> TaskStateRecord {
        self.parse().unwrap_or(TaskStateRecord::NoStatus)
    }
}

fn hostname() -> String {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| "localhost".to_owned())
    })
    .clone()
}

/// One attempt: the task's future with its timeout (and grace), panics caught, outcome logged.
async fn attempt(
    ctx: TaskContext,
    erased: Arc<dyn crate::task::ErasedTask>,
    inputs: Vec<XCom>,
    opts: crate::task::ResolvedTaskOptions,
    grace: Duration,
) -> (DateTime<Utc>, Duration, Result<XCom, TaskError>) {
    let start = Utc::now();
    let clock = Instant::now();
    let try_number = ctx.try_number;
    tracing::info!(
        "starting attempt {try_number} of {} (task `{}` of DAG `{}`, run `{}`)",
        ctx.max_tries,
        ctx.task_id,
        ctx.run.dag_id,
        ctx.run.run_id
    );
    let work = AssertUnwindSafe(erased.run(&ctx, &inputs)).catch_unwind();
    tokio::pin!(work);
    let outcome = match opts.execution_timeout {
        Some(limit) => tokio::select! {
            r = &mut work => r,
            _ = tokio::time::sleep(limit) => {
                // Let the task see `ctx.cancelled()` and clean up, briefly.
                ctx.cancel.cancel();
                let _ = tokio::time::timeout(grace, &mut work).await;
                Ok(Err(TaskError::timeout(limit)))
            }
        },
        None => work.await,
    };
    let result = match outcome {
        Ok(r) => r,
        Err(payload) => Err(TaskError::panic(panic_message(&*payload))),
    };
    let elapsed = clock.elapsed();
    match &result {
        Ok(_) => tracing::info!(
            "marking task as SUCCESS after {:.3}s",
            elapsed.as_secs_f64()
        ),
        Err(e) if e.is_skip() => tracing::info!("marking task as SKIPPED: {e}"),
        Err(e) => tracing::error!("attempt {try_number} failed: {e}"),
    }
    (start, elapsed, result)
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

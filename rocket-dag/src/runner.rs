//! Runs one DAG run: starts each task as soon as its trigger rule allows, retries, times out,
//! isolates panics and stops cleanly when interrupted.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::FutureExt;
use serde_json::{Map, Value};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::context::{RunInfo, TaskContext};
use crate::dag::Dag;
use crate::error::{TaskError, TaskErrorKind};
pub use crate::report::{
    AttemptReport, DagRunReport, RunError, RunState, TaskInstanceReport, TaskState,
};
use crate::retry;
use crate::store::{
    Claim, DagRunRecord, NOT_MAPPED, RunOwner, RunStateRecord, RunType, Store, TaskInstanceRecord,
    TaskStateRecord,
};
use crate::task::{TriggerRule, XCom};

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

pub use crate::run::run_id;

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
    notify: crate::notify::Routes,
    default_params: Arc<Map<String, Value>>,
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
            notify: crate::notify::Routes::default(),
            default_params: Arc::default(),
        }
    }

    /// Params every run of this runner gets unless its request sets them: settings of the
    /// process (the command line's `--offline` server, say) that must reach every run it
    /// starts, the scheduler's included.
    pub fn default_params(mut self, params: Map<String, Value>) -> Self {
        self.default_params = Arc::new(params);
        self
    }

    /// Sends the events of every DAG's runs (task failed or retrying, run finished, what tasks
    /// raise with [`TaskContext::notify`]) to `notifiers`, unless the DAG has its own
    /// ([`Runner::with_dag_notifications`]). See [`crate::notify`].
    pub fn with_notifications(mut self, notifiers: crate::notify::Notifiers) -> Self {
        self.notify.set_default(notifiers);
        self
    }

    /// Sends the events of DAG `dag_id`'s runs to `notifiers` instead of the runner's default
    /// ones (an empty set silences the DAG).
    pub fn with_dag_notifications(
        mut self,
        dag_id: impl Into<String>,
        notifiers: crate::notify::Notifiers,
    ) -> Self {
        self.notify.set_dag(dag_id.into(), notifiers);
        self
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

    /// Path of an attempt's log: `<home>/logs/dag_id=…/run_id=…/task_id=…/attempt=N.log`, with
    /// `map_index=I/` before the file for an element of a mapped task (Airflow's layout); an
    /// error for ids that cannot become paths (see [`crate::home`]).
    pub fn log_path(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: &str,
        map_index: Option<u32>,
        try_number: u32,
    ) -> Result<PathBuf, crate::ids::InvalidId> {
        crate::home::attempt_log(&self.home, dag_id, run_id, task_id, map_index, try_number)
    }

    /// Runs one attempt of one task now, as `airflow tasks test` does: no dependency checks, no
    /// retries, no attempt log file (events go to the console). `inputs` are the upstream
    /// outputs in parameter order; for a mapped task, `map_index` picks the element to run
    /// (the lists it maps over are given whole, as their tasks returned them).
    pub async fn run_task(
        &self,
        dag: &Dag,
        task_id: &str,
        map_index: Option<u32>,
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
        let map_error = |message: String| crate::error::DagError::MapIndex {
            dag: dag.id().to_owned(),
            task: task_id.to_owned(),
            message,
        };
        let inputs = match (node.is_mapped(), map_index) {
            (false, None) => inputs,
            (false, Some(_)) => return Err(map_error("the task is not mapped".into())),
            (true, None) => {
                return Err(map_error(
                    "the task is mapped: choose the element to run with a map index".into(),
                ));
            }
            (true, Some(i)) => {
                let task = dag.task_index(task_id).expect("found above");
                let lists = Mapping::new(dag, task, inputs).map_err(map_error)?;
                if i as usize >= lists.len() {
                    return Err(map_error(format!(
                        "map index {i} is out of range: the task has {} element(s)",
                        lists.len()
                    )));
                }
                lists.element(i as usize)
            }
        };
        let label = match map_index {
            Some(i) => format!("{task_id}[{i}]"),
            None => task_id.to_owned(),
        };
        // One attempt, as `airflow tasks test`: no run to notify about.
        let info = self.run_info(dag, &request, None);
        let ctx = TaskContext {
            run: info.clone(),
            task_id: task_id.into(),
            map_index,
            try_number: 1,
            max_tries: 1,
            cancel: self.cancel.child_token(),
        };
        let span = tracing::error_span!(
            target: "rocket_dag::task",
            "task",
            task_id = label,
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
            map_index,
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
            mapped: Vec::new(),
        })
    }

    fn run_info(
        &self,
        dag: &Dag,
        request: &RunRequest,
        events: Option<Arc<crate::notify::RunQueue>>,
    ) -> Arc<RunInfo> {
        let logical = request.logical_date;
        let run_id = request_run_id(request);
        let interval = dag
            .options()
            .schedule
            .data_interval(logical, dag.options().timezone);
        // The DAG id was checked when the DAG was built.
        let data_dir = self.home.join("data").join(dag.id());
        if let Err(e) = std::fs::create_dir_all(&data_dir) {
            tracing::error!(path = %data_dir.display(), "cannot create the data directory: {e}");
        }
        // The process's defaults (`--offline`'s server, say), then the run's own params.
        let mut params = (*self.default_params).clone();
        params.extend(request.params.clone());
        Arc::new(RunInfo {
            dag_id: dag.id().into(),
            run_id: run_id.as_str().into(),
            run_type: request.run_type,
            logical_date: logical,
            interval,
            params,
            home: self.home.clone(),
            data_dir,
            http: self.http.clone(),
            events: events.map(|q| q as Arc<dyn crate::context::EventSink>),
        })
    }

    /// Runs the DAG once for the request and reports every task.
    ///
    /// With a store, the run is first claimed for this process (see [`crate::store::Claim`]):
    /// if another live process executes the same run, nothing runs and the report's
    /// [`DagRunReport::error`] says who ([`RunError::Busy`]). While it runs, the claim's
    /// heartbeat is refreshed; a run whose history cannot be written stops starting tasks and
    /// fails ([`RunError::History`]).
    pub async fn run(&self, dag: &Dag, request: RunRequest) -> DagRunReport {
        crate::logging::ensure_installed();
        let run_id = request_run_id(&request);
        if let Err(e) = crate::ids::run(&run_id) {
            let message = e.to_string();
            return DagRunReport::not_run(
                dag,
                request.logical_date,
                run_id,
                RunError::InvalidRunId { message },
            );
        }
        if self.cancel.is_cancelled() {
            let mut report =
                DagRunReport::not_run(dag, request.logical_date, run_id, RunError::NotStarted);
            report.interrupted = true;
            return report;
        }
        let me = RunOwner::this_process();
        let mut _executing = None;
        if let Some(store) = &self.store {
            _executing = Executing::claim(store.instance(), dag.id(), &run_id);
            if _executing.is_none() {
                let error = RunError::Busy {
                    dag_id: dag.id().to_owned(),
                    run_id: run_id.clone(),
                    owner: me,
                };
                return DagRunReport::not_run(dag, request.logical_date, run_id, error);
            }
            let (start, end) = dag
                .options()
                .schedule
                .data_interval(request.logical_date, dag.options().timezone);
            let record = DagRunRecord {
                dag_id: dag.id().to_owned(),
                run_id: run_id.clone(),
                run_type: request.run_type,
                logical_date: request.logical_date,
                data_interval_start: start,
                data_interval_end: end,
                state: RunStateRecord::Running,
                start: Utc::now(),
                end: None,
                conf: Value::Object(request.params.clone()),
            };
            let error = match store.claim_execution(&record, &me).await {
                Ok(Claim::Claimed) => None,
                Ok(Claim::Busy { owner, .. }) => Some(RunError::Busy {
                    dag_id: dag.id().to_owned(),
                    run_id: run_id.clone(),
                    owner,
                }),
                Err(e) => Some(RunError::History {
                    message: e.to_string(),
                }),
            };
            if let Some(error) = error {
                return DagRunReport::not_run(dag, request.logical_date, run_id, error);
            }
        }
        let queue = self.notify.start_run(dag.id());
        let info = self.run_info(dag, &request, queue.clone());
        // The scheduling loop runs as a tokio task of its own: attempts it spawns then start on
        // the same worker (tokio's LIFO slot) instead of waking another thread for every task.
        let dag = dag.clone();
        let runner = self.clone();
        let handle =
            tokio::spawn(async move { DagRun::new(&dag, info, queue, &runner).execute().await });
        let report = match handle.await {
            Ok(report) => report,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("the DAG run's scheduling task was cancelled: {e}"),
        };
        if let Some(store) = &self.store
            && let Err(e) = store.release(&report.dag_id, &report.run_id, &me).await
        {
            tracing::warn!("{e}");
        }
        report
    }
}

/// The run id a request asks for: its own, or `<run type>__<logical date>`.
fn request_run_id(request: &RunRequest) -> String {
    request
        .run_id
        .clone()
        .unwrap_or_else(|| run_id(request.run_type.as_str(), request.logical_date))
}

/// The runs this process executes, per store, so that two `Runner::run`s of one run in one
/// process do not both run it (the store's claim tells processes apart, not calls).
struct Executing(String, String, String);

static EXECUTING: std::sync::Mutex<Vec<(String, String, String)>> =
    std::sync::Mutex::new(Vec::new());

impl Executing {
    fn claim(store: String, dag: &str, run: &str) -> Option<Executing> {
        let key = (store, dag.to_owned(), run.to_owned());
        let mut all = EXECUTING.lock().unwrap_or_else(|e| e.into_inner());
        if all.contains(&key) {
            return None;
        }
        all.push(key.clone());
        Some(Executing(key.0, key.1, key.2))
    }
}

impl Drop for Executing {
    fn drop(&mut self) {
        let mut all = EXECUTING.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|(s, d, r)| !(*s == self.0 && *d == self.1 && *r == self.2));
    }
}

enum Event {
    Done {
        unit: usize,
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

/// What runs: a task, or one element of a mapped task. Units `0..n` are the DAG's tasks (for a
/// mapped task, the unit holds the state of the whole mapped task); elements follow.
#[derive(Debug)]
struct Unit {
    task: usize,
    map_index: Option<u32>,
    /// `task` or `task[3]`: how logs and messages name it.
    label: Arc<str>,
    state: TaskState,
    reason: Option<String>,
    attempts: Vec<AttemptReport>,
    /// Tries made before this execution (a resumed run continues their numbering).
    base_tries: u32,
    /// When the running attempt started.
    started: Option<(DateTime<Utc>, Instant)>,
    /// An element's own inputs; a task reads its upstream outputs when it starts.
    inputs: Option<Vec<XCom>>,
    output: Option<XCom>,
}

impl Unit {
    fn new(task: usize, map_index: Option<u32>, label: Arc<str>) -> Self {
        Unit {
            task,
            map_index,
            label,
            state: TaskState::NoStatus,
            reason: None,
            attempts: Vec::new(),
            base_tries: 0,
            started: None,
            inputs: None,
            output: None,
        }
    }

    fn report(&mut self, task_id: &str) -> TaskInstanceReport {
        TaskInstanceReport {
            task_id: task_id.to_owned(),
            map_index: self.map_index,
            state: self.state,
            attempts: std::mem::take(&mut self.attempts),
            reason: self.reason.take(),
            output: self.output.take(),
            mapped: Vec::new(),
        }
    }
}

/// The elements of a mapped task that has been expanded.
#[derive(Debug)]
struct Expanded {
    units: std::ops::Range<usize>,
    unfinished: usize,
}

/// What the store knew of one element of a mapped task when the run resumed.
#[derive(Debug)]
struct StoredElement {
    attempts: Vec<AttemptReport>,
    state: Option<TaskState>,
    reason: Option<String>,
    output: Option<XCom>,
}

struct DagRun<'a> {
    dag: &'a Dag,
    info: Arc<RunInfo>,
    /// Where this run's events go, if it sends any.
    queue: Option<Arc<crate::notify::RunQueue>>,
    runner: &'a Runner,
    units: Vec<Unit>,
    /// Per task: its elements, once a mapped task is expanded.
    expanded: Vec<Option<Expanded>>,
    /// Over every upstream task.
    upstream: Vec<Counts>,
    /// Over the distinct tasks whose outputs the task takes.
    inputs: Vec<Counts>,
    input_totals: Vec<usize>,
    ready: VecDeque<usize>,
    running: usize,
    set: JoinSet<Event>,
    finished_count: usize,
    /// Elements of mapped tasks recorded by an earlier execution of this run.
    stored_elements: HashMap<(usize, u32), StoredElement>,
    /// State changes not yet written to the store (see [`DagRun::record`]).
    pending: Vec<(TaskInstanceRecord, Option<XCom>)>,
    /// Attempts prepared in this scheduling step, started by [`DagRun::launch`].
    launches: Vec<Launch>,
    /// Stops this run: a child of the runner's signal (Ctrl-C), also fired when the run's
    /// history cannot be recorded.
    run_cancel: CancellationToken,
    /// Why the run failed as a whole (its history could not be recorded).
    error: Option<RunError>,
    /// This process, the run's owner in the store.
    me: RunOwner,
    /// Set by the heartbeat when another process took the run over.
    lost: Arc<OnceLock<RunError>>,
}

/// Aborts a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// An attempt ready to start.
struct Launch {
    unit: usize,
    ctx: TaskContext,
    erased: Arc<dyn crate::task::ErasedTask>,
    inputs: Vec<XCom>,
    opts: crate::task::ResolvedTaskOptions,
    grace: Duration,
    span: tracing::Span,
}

impl<'a> DagRun<'a> {
    fn report_progress(&self, unit: usize) {
        if let Some(hook) = &self.runner.progress {
            (hook.0)(&Progress {
                task_id: &self.units[unit].label,
                state: self.units[unit].state,
                finished: self.finished_count,
                total: self.dag.tasks().len(),
            });
        }
    }

    fn new(
        dag: &'a Dag,
        info: Arc<RunInfo>,
        queue: Option<Arc<crate::notify::RunQueue>>,
        runner: &'a Runner,
    ) -> Self {
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
            queue,
            runner,
            units: dag
                .tasks()
                .iter()
                .enumerate()
                .map(|(i, t)| Unit::new(i, None, t.id().into()))
                .collect(),
            expanded: (0..n).map(|_| None).collect(),
            upstream: vec![Counts::default(); n],
            inputs: vec![Counts::default(); n],
            input_totals,
            ready: VecDeque::new(),
            running: 0,
            set: JoinSet::new(),
            finished_count: 0,
            stored_elements: HashMap::new(),
            pending: Vec::new(),
            launches: Vec::new(),
            run_cancel: runner.cancel.child_token(),
            error: None,
            me: RunOwner::this_process(),
            lost: Arc::default(),
        }
    }

    fn task_id(&self, unit: usize) -> &str {
        self.dag.tasks()[self.units[unit].task].id()
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
                        ti.label(),
                        ti.try_number
                    );
                }
            }
            Err(e) => return self.store_failed(e),
        }
        // Without what the history says, a resumed run would redo what already succeeded.
        let tis = match store.task_instances(&dag_id, &run_id).await {
            Ok(t) => t,
            Err(e) => return self.store_failed(e),
        };
        let mut xcoms: HashMap<(String, i32), String> =
            match store.load_xcoms(&dag_id, &run_id).await {
                Ok(x) => x.into_iter().map(|(t, m, v)| ((t, m), v)).collect(),
                Err(e) => return self.store_failed(e),
            };
        let index: HashMap<&str, usize> = self
            .dag
            .tasks()
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id(), i))
            .collect();
        // Tries per (task, map index), in order.
        let mut tries: std::collections::BTreeMap<(usize, i32), Vec<&TaskInstanceRecord>> =
            Default::default();
        for t in tis.iter().filter(|t| t.try_number > 0) {
            if let Some(&i) = index.get(t.task_id.as_str()) {
                tries.entry((i, t.map_index)).or_default().push(t);
            }
        }
        let mut resumed = 0;
        for ((idx, map_index), mut tries) in tries {
            tries.sort_by_key(|t| t.try_number);
            let attempts: Vec<AttemptReport> = tries
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
            let last = tries.last().expect("grouped tries are not empty");
            let output = xcoms
                .remove(&(last.task_id.clone(), map_index))
                .map(|v| XCom(v.into()));
            let (state, output) = match (last.state, output) {
                (TaskStateRecord::Success, Some(out)) => (Some(TaskState::Success), Some(out)),
                // Marked success by hand (`tasks mark`): it produced nothing. Downstream tasks
                // read `null`; a mapped task's list leaves the element out.
                (TaskStateRecord::Success, None) => (
                    Some(TaskState::Success),
                    (map_index == NOT_MAPPED).then(|| XCom("null".into())),
                ),
                (TaskStateRecord::Skipped, _) => (Some(TaskState::Skipped), None),
                _ => (None, None),
            };
            resumed += usize::from(state.is_some());
            if map_index == NOT_MAPPED {
                let unit = &mut self.units[idx];
                unit.base_tries = last.try_number;
                unit.attempts = attempts;
                if let Some(state) = state {
                    unit.state = state;
                    unit.output = output;
                    unit.reason = (state == TaskState::Skipped)
                        .then(|| last.error.clone())
                        .flatten();
                }
            } else if let Ok(m) = u32::try_from(map_index) {
                self.stored_elements.insert(
                    (idx, m),
                    StoredElement {
                        attempts,
                        state,
                        reason: last.error.clone(),
                        output,
                    },
                );
            }
        }
        if resumed > 0 {
            tracing::info!(
                "resuming run {run_id}: {resumed} task instance(s) already finished are not run again"
            );
        }
    }

    async fn persist_run(&mut self, state: RunStateRecord, end: Option<DateTime<Utc>>) {
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
            self.store_failed(e);
        }
    }

    /// The history cannot be written or read: start nothing more, cancel what runs, fail.
    fn store_failed(&mut self, e: crate::store::StoreError) {
        if self.error.is_none() {
            tracing::error!(
                dag_id = &*self.info.dag_id,
                "run {}: the run history cannot be recorded, stopping: {e}",
                self.info.run_id
            );
            self.error = Some(RunError::History {
                message: e.to_string(),
            });
        }
        self.run_cancel.cancel();
    }

    /// Records one try of a unit (or, with try 0, one decided without running), with its
    /// output when it succeeded. Kept until [`DagRun::flush`], which writes everything one
    /// scheduling step produced in one transaction before any attempt of that step starts.
    fn record(&mut self, unit: usize, attempt: &AttemptReport, output: Option<&XCom>) {
        if self.runner.store.is_none() {
            return;
        }
        let u = &self.units[unit];
        let running = attempt.state == TaskState::Running;
        let record = TaskInstanceRecord {
            dag_id: self.info.dag_id.to_string(),
            run_id: self.info.run_id.to_string(),
            task_id: self.task_id(unit).to_owned(),
            map_index: u.map_index.map_or(NOT_MAPPED, |m| m as i32),
            try_number: attempt.try_number,
            state: attempt.state.as_str().parse_record(),
            start: attempt.start,
            end: (!running).then(|| attempt.start + attempt.duration),
            duration: (!running).then_some(attempt.duration),
            hostname: crate::process::hostname(),
            pid: Some(std::process::id()),
            log_path: (self.runner.attempt_logs && attempt.try_number > 0)
                .then(|| attempt.log_path.display().to_string()),
            error: attempt.error.clone(),
        };
        self.pending.push((record, output.cloned()));
    }

    /// Makes the recorded state changes durable, in one transaction.
    async fn flush(&mut self) {
        let Some(store) = &self.runner.store else {
            return;
        };
        if self.pending.is_empty() {
            return;
        }
        let batch: Vec<(TaskInstanceRecord, Option<&str>)> = self
            .pending
            .iter()
            .map(|(r, x)| (r.clone(), x.as_ref().map(XCom::as_json)))
            .collect();
        let result = store.record_tries(&batch).await;
        self.pending.clear();
        if let Err(e) = result {
            self.store_failed(e);
        }
    }

    /// Starts the attempts prepared in this step, once their `running` rows (and the outcomes
    /// that made them ready) are durable: a crash from here on is seen on the next start.
    async fn launch(&mut self) {
        self.flush().await;
        if self.run_cancel.is_cancelled() {
            // Their `running` rows may not be written: they never start.
            for l in std::mem::take(&mut self.launches) {
                let u = &mut self.units[l.unit];
                u.state = TaskState::NoStatus;
                u.started = None;
                u.reason = Some("not started: the run was stopped".into());
                self.running -= 1;
            }
            return;
        }
        for l in self.launches.drain(..) {
            let Launch {
                unit,
                ctx,
                erased,
                inputs,
                opts,
                grace,
                span,
            } = l;
            self.set.spawn(
                async move {
                    let (start, elapsed, result) = attempt(ctx, erased, inputs, opts, grace).await;
                    Event::Done {
                        unit,
                        start,
                        elapsed,
                        result,
                    }
                }
                .instrument(span),
            );
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
                if self.units[i].state.is_finished() {
                    self.finished(i);
                }
            }
        }
        // Roots, and tasks whose rule needs no upstream (`always`), may start right away.
        for &i in self.dag.topological_order() {
            if self.units[i].state == TaskState::NoStatus && self.evaluate(i) {
                self.finished(i);
            }
        }
        let cancel = self.run_cancel.clone();
        let max_active = self.dag.options().max_active_tasks.max(1);
        let heartbeat = self.runner.store.clone().map(|store| {
            let (dag, run) = (self.info.dag_id.clone(), self.info.run_id.clone());
            let (me, lost, cancel) = (self.me.clone(), self.lost.clone(), cancel.clone());
            AbortOnDrop(tokio::spawn(async move {
                loop {
                    tokio::time::sleep(crate::store::HEARTBEAT_EVERY).await;
                    match store.heartbeat(&dag, &run, &me).await {
                        Ok(true) => {}
                        Ok(false) => {
                            let _ = lost.set(RunError::History {
                                message: format!(
                                    "another process took run `{run}` over (this one was \
                                     silent for over {}s): stopping this execution",
                                    crate::store::STALE_AFTER.as_secs()
                                ),
                            });
                            cancel.cancel();
                            return;
                        }
                        // A missed heartbeat is not fatal: the next one may get through.
                        Err(e) => tracing::warn!("{e}"),
                    }
                }
            }))
        });
        let mut interrupted = false;
        loop {
            while self.running < max_active && !cancel.is_cancelled() {
                let Some(unit) = self.ready.pop_front() else {
                    break;
                };
                self.start_attempt(unit);
            }
            self.launch().await;
            if self.set.is_empty() {
                break;
            }
            tokio::select! {
                biased;
                _ = cancel.cancelled() => {
                    // Ctrl-C / SIGTERM cancel the runner; a run stops on its own when its
                    // history cannot be recorded.
                    interrupted = self.runner.cancel.is_cancelled();
                    let why = if interrupted {
                        "the run was interrupted"
                    } else {
                        "the run was stopped: its history cannot be recorded"
                    };
                    self.interrupt(why).await;
                    break;
                }
                Some(joined) = self.set.join_next() => {
                    self.joined(joined, true);
                    // Whatever else has finished joins this step (one transaction for all).
                    while let Some(joined) = self.set.try_join_next() {
                        self.joined(joined, true);
                    }
                }
            }
        }
        drop(heartbeat);
        let lost = self.lost.get().cloned();
        if let Some(e) = &lost {
            self.error = Some(e.clone());
        }
        let n = self.dag.tasks().len();
        let failed = self.units[..n].iter().any(|u| {
            matches!(u.state, TaskState::Failed | TaskState::UpstreamFailed)
                || !u.state.is_finished()
        });
        let state = if failed || interrupted || self.error.is_some() {
            RunState::Failed
        } else {
            RunState::Success
        };
        // A run another process took over is that process's to record.
        if self.runner.store.is_some() && lost.is_none() {
            // Units decided without running (upstream_failed, skipped by rule, never reached);
            // an expanded mapped task is recorded by its elements.
            let now = Utc::now();
            for u in 0..self.units.len() {
                let unit = &self.units[u];
                let expanded = u < n && self.expanded[u].is_some();
                if !expanded
                    && unit.attempts.len() as u32 == unit.base_tries
                    && unit.state != TaskState::Success
                {
                    let decided = AttemptReport {
                        try_number: 0,
                        state: unit.state,
                        start: now,
                        duration: Duration::ZERO,
                        error: unit.reason.clone(),
                        log_path: PathBuf::new(),
                    };
                    self.record(u, &decided, None);
                }
            }
            self.flush().await;
            let record_state = match state {
                RunState::Success => RunStateRecord::Success,
                RunState::Failed => RunStateRecord::Failed,
            };
            self.persist_run(record_state, Some(Utc::now())).await;
        }
        let tasks = self
            .dag
            .topological_order()
            .iter()
            .map(|&i| {
                let mut report = self.units[i].report(self.dag.tasks()[i].id());
                if let Some(e) = &self.expanded[i] {
                    let id = self.dag.tasks()[i].id();
                    report.mapped = e.units.clone().map(|u| self.units[u].report(id)).collect();
                }
                report
            })
            .collect();
        let report = DagRunReport {
            dag_id: self.dag.id().to_owned(),
            run_id: self.info.run_id.to_string(),
            logical_date: self.info.logical_date,
            data_interval: self.info.interval,
            state,
            interrupted,
            error: self.error.take(),
            start,
            duration: clock.elapsed(),
            tasks,
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
                match (&report.error, interrupted) {
                    (Some(e), _) => format!(": {e}"),
                    (None, true) => " (interrupted)".to_owned(),
                    (None, false) => String::new(),
                }
            ),
        }
        self.notify_finished(&report).await;
        report
    }

    /// Ctrl-C / SIGTERM. Every attempt's context is already cancelled (their tokens are children
    /// of the runner's); they get the grace period to finish on their own (an attempt that
    /// succeeds in it counts), then the rest are dropped and recorded as failed. Nothing new
    /// starts and waiting retries are dropped.
    async fn interrupt(&mut self, why: &str) {
        let grace = tokio::time::sleep(self.runner.cancel_grace);
        tokio::pin!(grace);
        while self.running > 0 {
            tokio::select! {
                biased;
                Some(joined) = self.set.join_next() => {
                    if let Ok(event @ Event::Done { .. }) = joined {
                        self.handle(event, false);
                    }
                }
                _ = &mut grace => break,
            }
        }
        self.set.abort_all();
        while let Some(joined) = self.set.join_next().await {
            if let Ok(event @ Event::Done { .. }) = joined {
                self.handle(event, false);
            }
        }
        let n = self.dag.tasks().len();
        for u in 0..self.units.len() {
            if u < n && self.expanded[u].is_some() {
                // Decided below, from its elements.
                continue;
            }
            match self.units[u].state {
                TaskState::Running => {
                    let err = TaskError::cancelled(why);
                    let (start, clock) = self.units[u]
                        .started
                        .unwrap_or((Utc::now(), Instant::now()));
                    let try_number = self.units[u].attempts.len() as u32 + 1;
                    let log_path = self.log_path(u, try_number);
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
                    self.record(u, &attempt, None);
                    self.units[u].attempts.push(attempt);
                    self.fail(u, err.to_string());
                }
                TaskState::UpForRetry => self.fail(u, "interrupted while waiting to retry".into()),
                TaskState::Queued => {
                    self.units[u].state = TaskState::NoStatus;
                    self.units[u].reason = Some("not started: the run was interrupted".into());
                }
                _ => {}
            }
        }
        for t in 0..n {
            if self.expanded[t].is_some() && !self.units[t].state.is_finished() {
                self.fail(
                    t,
                    "the run was interrupted while its mapped instances ran".into(),
                );
            }
        }
        self.ready.clear();
        self.flush().await;
    }

    fn fail(&mut self, unit: usize, reason: String) {
        self.units[unit].state = TaskState::Failed;
        self.units[unit].reason = Some(reason);
    }

    fn log_path(&self, unit: usize, try_number: u32) -> PathBuf {
        // Every id was checked before the run started: the DAG's and its tasks' when it was
        // built, the run's in `Runner::run`.
        crate::home::attempt_log(
            &self.runner.home,
            &self.info.dag_id,
            &self.info.run_id,
            self.task_id(unit),
            self.units[unit].map_index,
            try_number,
        )
        .unwrap_or_default()
    }

    /// Prepares an attempt; [`DagRun::launch`] starts it.
    fn start_attempt(&mut self, unit: usize) {
        let task = self.units[unit].task;
        let node = &self.dag.tasks()[task];
        let opts = *node.options();
        let try_number = self.units[unit].attempts.len() as u32 + 1;
        let max_tries = self.units[unit].base_tries + opts.max_tries();
        let inputs: Vec<XCom> = match &self.units[unit].inputs {
            Some(own) => own.clone(),
            None => node
                .inputs()
                .iter()
                .map(|&u| {
                    self.units[u]
                        .output
                        .clone()
                        .expect("data inputs are checked before a task is queued")
                })
                .collect(),
        };
        let ctx = TaskContext {
            run: self.info.clone(),
            task_id: node.id().into(),
            map_index: self.units[unit].map_index,
            try_number,
            max_tries,
            cancel: self.run_cancel.child_token(),
        };
        self.units[unit].started = Some((Utc::now(), Instant::now()));
        // Durable before the attempt runs: a crash from here on is seen on the next start.
        let running = AttemptReport {
            try_number,
            state: TaskState::Running,
            start: Utc::now(),
            duration: Duration::ZERO,
            error: None,
            log_path: self.log_path(unit, try_number),
        };
        self.record(unit, &running, None);
        let log_field = if self.runner.attempt_logs {
            running.log_path.display().to_string()
        } else {
            String::new()
        };
        // ERROR level so that no log filter can disable the span that routes events to the
        // attempt's file and tags console lines.
        let span = tracing::error_span!(
            target: "rocket_dag::task",
            "task",
            task_id = &*self.units[unit].label,
            dag_id = &*self.info.dag_id,
            run_id = &*self.info.run_id,
            try_number,
            log = log_field,
        );
        let erased = self.dag.tasks()[task].erased.clone();
        let grace = self.runner.cancel_grace;
        self.units[unit].state = TaskState::Running;
        self.running += 1;
        self.report_progress(unit);
        self.launches.push(Launch {
            unit,
            ctx,
            erased,
            inputs,
            opts,
            grace,
            span,
        });
    }

    /// Applies an event; `retry` is false while the run is being interrupted.
    fn handle(&mut self, event: Event, retry: bool) {
        let (unit, start, elapsed, result) = match event {
            Event::RetryDue(unit) => {
                if self.units[unit].state == TaskState::UpForRetry {
                    self.units[unit].state = TaskState::Queued;
                    self.ready.push_back(unit);
                }
                return;
            }
            Event::Done {
                unit,
                start,
                elapsed,
                result,
            } => (unit, start, elapsed, result),
        };
        self.running -= 1;
        self.units[unit].started = None;
        let try_number = self.units[unit].attempts.len() as u32 + 1;
        let opts = *self.dag.tasks()[self.units[unit].task].options();
        let label = self.units[unit].label.clone();
        let mut attempt = AttemptReport {
            try_number,
            state: TaskState::Success,
            start,
            duration: elapsed,
            error: None,
            log_path: self.log_path(unit, try_number),
        };
        let error = match result {
            Ok(out) => {
                // The output and the success are durable before any downstream task starts.
                self.record(unit, &attempt, Some(&out));
                let u = &mut self.units[unit];
                u.attempts.push(attempt);
                u.output = Some(out);
                u.state = TaskState::Success;
                self.unit_finished(unit);
                return;
            }
            Err(e) => e,
        };
        let msg = error.to_string();
        attempt.error = Some(msg.clone());
        let max_tries = self.units[unit].base_tries + opts.max_tries();
        if error.is_skip() {
            attempt.state = TaskState::Skipped;
            self.record(unit, &attempt, None);
            let u = &mut self.units[unit];
            u.attempts.push(attempt);
            u.state = TaskState::Skipped;
            u.reason = Some(format!("skipped: {msg}"));
            self.unit_finished(unit);
        } else if retry && error.is_retryable() && try_number < max_tries {
            let delay = retry::delay(
                &opts,
                &self.info.dag_id,
                &label,
                &self.info.run_id,
                try_number,
            );
            attempt.state = TaskState::UpForRetry;
            self.notify_try(unit, try_number, max_tries, &msg, Some(delay));
            self.record(unit, &attempt, None);
            self.units[unit].attempts.push(attempt);
            self.units[unit].state = TaskState::UpForRetry;
            tracing::warn!(
                task_id = &*label,
                "attempt {try_number} of {max_tries} failed: {msg}; retrying in {}",
                crate::duration::format(delay)
            );
            self.set.spawn(async move {
                tokio::time::sleep(delay).await;
                Event::RetryDue(unit)
            });
        } else {
            attempt.state = TaskState::Failed;
            self.record(unit, &attempt, None);
            self.units[unit].attempts.push(attempt);
            let reason = if !retry {
                format!("the run was interrupted; the attempt ended with: {msg}")
            } else if error.kind() == TaskErrorKind::Permanent && try_number < max_tries {
                format!("{msg} (not retried: retrying cannot cure this)")
            } else if error.kind() == TaskErrorKind::FailNow || try_number == 1 {
                msg.clone()
            } else {
                format!("{msg} (after {try_number} attempts)")
            };
            tracing::error!(
                task_id = &*label,
                "task failed: DAG `{}`, task `{}`, attempt {try_number} of {max_tries}: {msg}",
                self.info.dag_id,
                label,
            );
            self.fail(unit, reason);
            // An interrupted run decides nothing more downstream: those tasks stay unstarted.
            if retry {
                self.notify_try(unit, try_number, max_tries, &msg, None);
                self.unit_finished(unit);
            }
        }
    }

    fn joined(&mut self, joined: Result<Event, tokio::task::JoinError>, retry: bool) {
        match joined {
            Ok(event) => self.handle(event, retry),
            // Attempts catch their own panics; a JoinError here means we aborted it.
            Err(e) => tracing::error!("attempt task ended abnormally: {e}"),
        }
    }

    /// A unit reached a final state: a task is counted for its downstream tasks; the last
    /// element of a mapped task decides the mapped task.
    fn unit_finished(&mut self, unit: usize) {
        let task = self.units[unit].task;
        if unit != task {
            let e = self.expanded[task]
                .as_mut()
                .expect("an element belongs to an expanded task");
            e.unfinished -= 1;
            let done = e.unfinished == 0;
            self.report_progress(unit);
            if !done {
                return;
            }
            self.collect(task);
        }
        self.finished(task);
    }

    /// A task reached a final state: count it for its downstream tasks and decide those.
    fn finished(&mut self, idx: usize) {
        let mut stack = vec![idx];
        while let Some(i) = stack.pop() {
            let state = self.units[i].state;
            self.finished_count += 1;
            self.report_progress(i);
            for &d in self.dag.tasks()[i].downstream() {
                self.upstream[d].add(state);
                if self.dag.tasks()[d].inputs().contains(&i) {
                    self.inputs[d].add(state);
                }
                if self.units[d].state == TaskState::NoStatus && self.evaluate(d) {
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
            Decision::Run if self.dag.tasks()[idx].is_mapped() => self.expand(idx),
            Decision::Run => {
                self.units[idx].state = TaskState::Queued;
                self.ready.push_back(idx);
                false
            }
            Decision::Skip(why) => {
                self.units[idx].state = TaskState::Skipped;
                self.units[idx].reason = Some(why);
                true
            }
            Decision::UpstreamFailed(why) => {
                self.units[idx].state = TaskState::UpstreamFailed;
                self.units[idx].reason = Some(why);
                true
            }
        }
    }

    /// Creates one unit per element of a mapped task and queues those not finished by an
    /// earlier execution; returns `true` if the task is decided already (an empty list, a
    /// list that is not one, or every element resumed).
    fn expand(&mut self, task: usize) -> bool {
        let node = &self.dag.tasks()[task];
        let outputs: Vec<XCom> = node
            .inputs()
            .iter()
            .map(|&u| self.units[u].output.clone().expect("inputs are available"))
            .collect();
        let lists = match Mapping::new(self.dag, task, outputs) {
            Ok(m) => m,
            Err(why) => {
                tracing::error!(task_id = node.id(), "{why}");
                self.fail(task, why);
                return true;
            }
        };
        let total = lists.len();
        if total == 0 {
            self.units[task].state = TaskState::Skipped;
            self.units[task].reason = Some("skipped: mapped over an empty list".into());
            return true;
        }
        let first = self.units.len();
        let mut unfinished = 0;
        for i in 0..total {
            let m = i as u32;
            let mut unit = Unit::new(task, Some(m), format!("{}[{i}]", node.id()).into());
            unit.inputs = Some(lists.element(i));
            if let Some(stored) = self.stored_elements.remove(&(task, m)) {
                unit.base_tries = stored.attempts.last().map_or(0, |a| a.try_number);
                unit.attempts = stored.attempts;
                if let Some(state) = stored.state {
                    unit.state = state;
                    unit.output = stored.output;
                    unit.reason = (state == TaskState::Skipped)
                        .then_some(stored.reason)
                        .flatten();
                }
            }
            if !unit.state.is_finished() {
                unit.state = TaskState::Queued;
                self.ready.push_back(first + i);
                unfinished += 1;
            }
            self.units.push(unit);
        }
        tracing::info!(
            task_id = node.id(),
            "mapped over {total} element(s); {unfinished} to run"
        );
        self.expanded[task] = Some(Expanded {
            units: first..first + total,
            unfinished,
        });
        self.units[task].state = TaskState::Running;
        if unfinished == 0 {
            self.collect(task);
            return true;
        }
        false
    }

    /// Decides a mapped task from its elements: failed if one failed, success if one succeeded,
    /// else skipped. Its output lists the succeeded elements' outputs in map index order.
    fn collect(&mut self, task: usize) {
        let range = self.expanded[task]
            .as_ref()
            .expect("collect follows expand")
            .units
            .clone();
        let total = range.len();
        let elements = &self.units[range];
        let failed: Vec<&Unit> = elements
            .iter()
            .filter(|u| matches!(u.state, TaskState::Failed | TaskState::UpstreamFailed))
            .collect();
        let succeeded = elements
            .iter()
            .filter(|u| u.state == TaskState::Success)
            .count();
        let (state, reason) = if !failed.is_empty() {
            const SHOWN: usize = 3;
            let mut why = format!("{} of {total} mapped instance(s) failed: ", failed.len());
            let shown: Vec<String> = failed
                .iter()
                .take(SHOWN)
                .map(|u| {
                    format!(
                        "[{}] {}",
                        u.map_index.unwrap_or(0),
                        u.reason.as_deref().unwrap_or("")
                    )
                })
                .collect();
            why.push_str(&shown.join("; "));
            if failed.len() > SHOWN {
                why.push_str(&format!("; and {} more", failed.len() - SHOWN));
            }
            (TaskState::Failed, Some(why))
        } else if succeeded > 0 {
            (TaskState::Success, None)
        } else {
            (
                TaskState::Skipped,
                Some("skipped: every mapped instance was skipped".into()),
            )
        };
        // Failed or not, the outputs of the elements that succeeded (see `inputs_available`).
        let output = (succeeded > 0).then(|| {
            let mut json = String::from("[");
            for (k, out) in elements
                .iter()
                .filter_map(|u| u.output.as_ref())
                .enumerate()
            {
                if k > 0 {
                    json.push(',');
                }
                json.push_str(out.as_json());
            }
            json.push(']');
            XCom(json.into())
        });
        let t = &mut self.units[task];
        t.state = state;
        t.reason = reason;
        t.output = output;
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
        // A mapped task with failed elements still hands on what its other elements returned,
        // to a task whose rule runs it anyway (`all_done`, …), as Airflow does.
        if c.done() == total
            && node
                .inputs()
                .iter()
                .all(|&u| self.units[u].output.is_some())
        {
            return Decision::Run;
        }
        let name_of = |wanted: fn(TaskState) -> bool| {
            node.inputs()
                .iter()
                .find(|&&u| wanted(self.units[u].state))
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

// ---------------------------------------------------------------------------- notifications
// Only hands events to `crate::notify`, which delivers them off the scheduling loop, in order.

impl DagRun<'_> {
    /// A try that failed: `retry_in` set when a retry is scheduled, else the task (or element)
    /// failed for good. An interrupted run's attempts send nothing: `run_finished` says it.
    fn notify_try(
        &self,
        unit: usize,
        try_number: u32,
        max_tries: u32,
        cause: &str,
        retry_in: Option<Duration>,
    ) {
        let Some(queue) = &self.queue else {
            return;
        };
        let t = crate::notify::TaskTry {
            task_id: self.task_id(unit),
            map_index: self.units[unit].map_index,
            try_number,
            max_tries,
        };
        queue.emit(match retry_in {
            Some(delay) => crate::notify::Event::task_retrying(&self.info, t, cause, delay),
            None => crate::notify::Event::task_failed(&self.info, t, cause),
        });
    }

    /// Sends `run_finished` and waits (bounded) until the run's events are delivered.
    async fn notify_finished(&self, report: &DagRunReport) {
        if let Some(queue) = &self.queue {
            queue.emit(crate::notify::Event::run_finished(report));
            queue.finish().await;
        }
    }
}

/// The inputs of a mapped task's elements: each list it maps over split into its elements
/// (the cross product when there are several, the last list varying fastest, as Airflow),
/// the other inputs passed whole.
struct Mapping {
    inputs: Vec<MappedInput>,
    len: usize,
}

enum MappedInput {
    Whole(XCom),
    Each(Vec<XCom>),
}

impl Mapping {
    /// Splits the upstream outputs of task `task` (in parameter order).
    fn new(dag: &Dag, task: usize, outputs: Vec<XCom>) -> Result<Mapping, String> {
        let node = &dag.tasks()[task];
        let mut len = 1usize;
        let mut inputs = Vec::with_capacity(outputs.len());
        for ((out, &mapped), &from) in outputs
            .into_iter()
            .zip(node.mapped_inputs())
            .zip(node.inputs())
        {
            if !mapped {
                inputs.push(MappedInput::Whole(out));
                continue;
            }
            let items: Vec<&serde_json::value::RawValue> = serde_json::from_str(out.as_json())
                .map_err(|e| {
                    format!(
                        "cannot map `{}` over the output of `{}`: it is not a list ({e})",
                        node.id(),
                        dag.tasks()[from].id()
                    )
                })?;
            len = len.checked_mul(items.len()).ok_or_else(|| {
                format!(
                    "cannot map `{}`: the cross product of its lists is too large",
                    node.id()
                )
            })?;
            inputs.push(MappedInput::Each(
                items.into_iter().map(|r| XCom(r.get().into())).collect(),
            ));
        }
        Ok(Mapping { inputs, len })
    }

    fn len(&self) -> usize {
        self.len
    }

    /// The inputs of element `i`.
    fn element(&self, mut i: usize) -> Vec<XCom> {
        let mut out: Vec<XCom> = Vec::with_capacity(self.inputs.len());
        for input in self.inputs.iter().rev() {
            out.push(match input {
                MappedInput::Whole(x) => x.clone(),
                MappedInput::Each(items) => {
                    let x = items[i % items.len()].clone();
                    i /= items.len();
                    x
                }
            });
        }
        out.reverse();
        out
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

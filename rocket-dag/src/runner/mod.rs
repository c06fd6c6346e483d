//! Runs one DAG run: starts each task as soon as its trigger rule allows, retries, times out,
//! isolates panics and stops cleanly when interrupted.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

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

mod attempt;
mod claim;
mod dag_run;
mod events;
mod mapping;
mod observe;
mod one_task;
mod one_try;
mod resume;
mod rules;

use attempt::{attempt, record_of, state_of};
use claim::Executing;
use mapping::Mapping;
pub use observe::{RunObserver, RunStarted, SchedulerPass, TaskFinished};
pub use one_try::{TryError, TryOutcome, TryRequest};

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
    observer: Option<Arc<dyn RunObserver>>,
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
            observer: None,
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
            counts: self
                .observer
                .clone()
                .map(|o| Arc::new(observe::Counts(o)) as Arc<dyn crate::context::CountSink>),
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
        if self.attempt_logs {
            crate::logging::check_installed();
        }
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
        let _executing = match self.claim(dag, &request, &run_id, &me).await {
            Ok(executing) => executing,
            Err(error) => {
                return DagRunReport::not_run(dag, request.logical_date, run_id, error);
            }
        };
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

impl Runner {
    /// Claims the run for this process, with a store (see [`crate::store::Claim`]): once
    /// within the process (`Executing`, released when dropped), then in the store.
    async fn claim(
        &self,
        dag: &Dag,
        request: &RunRequest,
        run_id: &str,
        me: &RunOwner,
    ) -> Result<Option<Executing>, RunError> {
        let Some(store) = &self.store else {
            return Ok(None);
        };
        let busy = |owner: RunOwner| RunError::Busy {
            dag_id: dag.id().to_owned(),
            run_id: run_id.to_owned(),
            owner,
        };
        let executing =
            Executing::claim(store.instance(), dag.id(), run_id).ok_or_else(|| busy(me.clone()))?;
        let (start, end) = dag
            .options()
            .schedule
            .data_interval(request.logical_date, dag.options().timezone);
        let record = DagRunRecord {
            dag_id: dag.id().to_owned(),
            run_id: run_id.to_owned(),
            run_type: request.run_type,
            logical_date: request.logical_date,
            data_interval_start: start,
            data_interval_end: end,
            state: RunStateRecord::Running,
            start: Utc::now(),
            end: None,
            conf: Value::Object(request.params.clone()),
        };
        match store.claim_execution(&record, me).await {
            Ok(Claim::Claimed) => Ok(Some(executing)),
            Ok(Claim::Busy { owner, .. }) => Err(busy(owner)),
            Ok(Claim::External { executor }) => Err(RunError::External {
                dag_id: dag.id().to_owned(),
                run_id: run_id.to_owned(),
                executor,
            }),
            Err(e) => Err(RunError::History {
                message: e.to_string(),
            }),
        }
    }
}

/// The run id a request asks for: its own, or `<run type>__<logical date>`.
fn request_run_id(request: &RunRequest) -> String {
    request
        .run_id
        .clone()
        .unwrap_or_else(|| run_id(request.run_type.as_str(), request.logical_date))
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

// ---------------------------------------------------------------------------- notifications
// Only hands events to `crate::notify`, which delivers them off the scheduling loop, in order.

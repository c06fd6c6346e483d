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
    /// The run id (default `manual__<logical date>`).
    pub run_id: Option<String>,
}

impl RunRequest {
    /// A manual run at `logical_date`.
    pub fn new(logical_date: DateTime<Utc>) -> Self {
        RunRequest {
            logical_date,
            params: Map::new(),
            run_id: None,
        }
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
}

impl Runner {
    /// A runner whose logs and data live under `home`.
    pub fn new(home: impl Into<PathBuf>) -> Self {
        Runner {
            home: home.into(),
            cancel: CancellationToken::new(),
            http: Arc::new(OnceLock::new()),
            attempt_logs: true,
        }
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

    /// Interrupt this runner's runs when the process gets Ctrl-C or SIGTERM.
    pub fn cancel_on_signals(&self) {
        let token = self.cancel.clone();
        tokio::spawn(async move {
            let why = crate::signal::shutdown_signal().await;
            tracing::warn!("{why} received: starting nothing new, cancelling running tasks");
            token.cancel();
        });
    }

    /// Path of an attempt's log: `<home>/logs/dag_id=…/run_id=…/task_id=…/attempt=N.log`.
    pub fn log_path(&self, dag_id: &str, run_id: &str, task_id: &str, try_number: u32) -> PathBuf {
        attempt_log_path(&self.home, dag_id, run_id, task_id, try_number)
    }

    /// Runs the DAG once for the request and reports every task.
    pub async fn run(&self, dag: &Dag, request: RunRequest) -> DagRunReport {
        crate::logging::ensure_installed();
        let logical = request.logical_date;
        let run_id = request
            .run_id
            .clone()
            .unwrap_or_else(|| run_id("manual", logical));
        let interval = dag
            .options()
            .schedule
            .data_interval(logical, dag.options().timezone);
        let data_dir = self.home.join("data").join(dag.id());
        if let Err(e) = std::fs::create_dir_all(&data_dir) {
            tracing::error!(path = %data_dir.display(), "cannot create the data directory: {e}");
        }
        let info = Arc::new(RunInfo {
            dag_id: dag.id().into(),
            run_id: run_id.as_str().into(),
            logical_date: logical,
            interval,
            params: request.params,
            home: self.home.clone(),
            data_dir,
            http: self.http.clone(),
        });
        let mut run = DagRun::new(dag, info, self);
        run.execute().await
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

struct DagRun<'a> {
    dag: &'a Dag,
    info: Arc<RunInfo>,
    runner: &'a Runner,
    states: Vec<TaskState>,
    reasons: Vec<Option<String>>,
    attempts: Vec<Vec<AttemptReport>>,
    outputs: Vec<Option<XCom>>,
    ready: VecDeque<usize>,
    running: usize,
    attempt_tokens: Vec<Option<CancellationToken>>,
    /// When the running attempt of each task started.
    started: Vec<Option<(DateTime<Utc>, Instant)>>,
    set: JoinSet<Event>,
    task_ids: Vec<Arc<str>>,
}

impl<'a> DagRun<'a> {
    fn new(dag: &'a Dag, info: Arc<RunInfo>, runner: &'a Runner) -> Self {
        let n = dag.tasks().len();
        DagRun {
            dag,
            info,
            runner,
            states: vec![TaskState::NoStatus; n],
            reasons: vec![None; n],
            attempts: vec![Vec::new(); n],
            outputs: vec![None; n],
            ready: VecDeque::new(),
            running: 0,
            attempt_tokens: vec![None; n],
            started: vec![None; n],
            set: JoinSet::new(),
            task_ids: dag.tasks().iter().map(|t| Arc::from(t.id())).collect(),
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
        for &i in self.dag.topological_order() {
            if self.dag.tasks()[i].upstream().is_empty() {
                self.evaluate(i);
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
                self.start_attempt(idx);
            }
            if self.set.is_empty() {
                break;
            }
            tokio::select! {
                biased;
                _ = cancel.cancelled(), if !interrupted => {
                    interrupted = true;
                    self.interrupt().await;
                    break;
                }
                Some(joined) = self.set.join_next() => {
                    match joined {
                        Ok(event) => self.handle(event),
                        // Attempts catch their own panics; a JoinError here means we aborted it.
                        Err(e) => tracing::error!("attempt task ended abnormally: {e}"),
                    }
                }
            }
        }
        let interrupted = interrupted || cancel.is_cancelled();
        let failed = self.states.iter().any(|s| {
            matches!(s, TaskState::Failed | TaskState::UpstreamFailed) || !s.is_finished()
        });
        let state = if failed || interrupted {
            RunState::Failed
        } else {
            RunState::Success
        };
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

    /// Ctrl-C / SIGTERM: running attempts are cancelled and recorded as failed, nothing new
    /// starts, retries waiting are dropped.
    async fn interrupt(&mut self) {
        for token in self.attempt_tokens.iter().flatten() {
            token.cancel();
        }
        self.set.abort_all();
        while self.set.join_next().await.is_some() {}
        let now = Utc::now();
        for i in 0..self.states.len() {
            match self.states[i] {
                TaskState::Running => {
                    let try_number = self.attempts[i].len() as u32 + 1;
                    let log_path = self.log_path(i, try_number);
                    let err = TaskError::cancelled("the run was interrupted");
                    let (start, clock) = self.started[i].unwrap_or((now, Instant::now()));
                    crate::logging::append(
                        log_path.clone(),
                        format!(
                            "[{}] ERROR rocket_dag::runner: {err}",
                            now.format("%Y-%m-%dT%H:%M:%S%.3fZ")
                        ),
                    );
                    self.attempts[i].push(AttemptReport {
                        try_number,
                        state: TaskState::Failed,
                        start,
                        duration: clock.elapsed(),
                        error: Some(err.to_string()),
                        log_path,
                    });
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

    fn start_attempt(&mut self, idx: usize) {
        let node = &self.dag.tasks()[idx];
        let opts = *node.options();
        let try_number = self.attempts[idx].len() as u32 + 1;
        let inputs: Vec<XCom> = node
            .inputs()
            .iter()
            .map(|&u| {
                self.outputs[u]
                    .clone()
                    .expect("data inputs are checked before a task is queued")
            })
            .collect();
        let token = self.runner.cancel.child_token();
        self.attempt_tokens[idx] = Some(token.clone());
        self.started[idx] = Some((Utc::now(), Instant::now()));
        let ctx = TaskContext {
            run: self.info.clone(),
            task_id: self.task_ids[idx].clone(),
            try_number,
            max_tries: opts.max_tries(),
            cancel: token,
        };
        let log_path = self.log_path(idx, try_number);
        let log_field = if self.runner.attempt_logs {
            log_path.display().to_string()
        } else {
            String::new()
        };
        let span = tracing::info_span!(
            target: "rocket_dag::task",
            "task",
            task_id = &*self.task_ids[idx],
            dag_id = &*self.info.dag_id,
            run_id = &*self.info.run_id,
            try_number,
            log = log_field,
        );
        let erased = node.erased.clone();
        self.states[idx] = TaskState::Running;
        self.running += 1;
        self.set.spawn(
            async move {
                let start = Utc::now();
                let clock = Instant::now();
                tracing::info!(
                    "starting attempt {try_number} of {} (task `{}` of DAG `{}`, run `{}`)",
                    ctx.max_tries,
                    ctx.task_id,
                    ctx.run.dag_id,
                    ctx.run.run_id
                );
                let work = AssertUnwindSafe(erased.run(&ctx, &inputs)).catch_unwind();
                let outcome = match opts.execution_timeout {
                    Some(limit) => match tokio::time::timeout(limit, work).await {
                        Ok(r) => r,
                        Err(_) => {
                            ctx.cancel.cancel();
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

    fn handle(&mut self, event: Event) {
        match event {
            Event::RetryDue(idx) => {
                if self.states[idx] == TaskState::UpForRetry {
                    self.states[idx] = TaskState::Queued;
                    self.ready.push_back(idx);
                }
            }
            Event::Done {
                idx,
                start,
                elapsed,
                result,
            } => {
                self.running -= 1;
                self.attempt_tokens[idx] = None;
                let try_number = self.attempts[idx].len() as u32 + 1;
                let log_path = self.log_path(idx, try_number);
                let node = &self.dag.tasks()[idx];
                let opts = *node.options();
                let task_id = self.task_ids[idx].clone();
                match result {
                    Ok(out) => {
                        self.record(
                            idx,
                            try_number,
                            TaskState::Success,
                            start,
                            elapsed,
                            None,
                            log_path,
                        );
                        self.outputs[idx] = Some(out);
                        self.states[idx] = TaskState::Success;
                        self.finished(idx);
                    }
                    Err(e) if e.is_skip() => {
                        let msg = e.to_string();
                        self.record(
                            idx,
                            try_number,
                            TaskState::Skipped,
                            start,
                            elapsed,
                            Some(msg.clone()),
                            log_path,
                        );
                        self.states[idx] = TaskState::Skipped;
                        self.reasons[idx] = Some(format!("skipped: {msg}"));
                        self.finished(idx);
                    }
                    Err(e) => {
                        let msg = e.to_string();
                        let can_retry = e.is_retryable() && try_number < opts.max_tries();
                        if can_retry {
                            let delay = retry::delay(
                                &opts,
                                &self.info.dag_id,
                                &task_id,
                                &self.info.run_id,
                                try_number,
                            );
                            self.record(
                                idx,
                                try_number,
                                TaskState::UpForRetry,
                                start,
                                elapsed,
                                Some(msg.clone()),
                                log_path,
                            );
                            self.states[idx] = TaskState::UpForRetry;
                            tracing::warn!(
                                task_id = &*task_id,
                                "attempt {try_number} of {} failed: {msg}; retrying in {}",
                                opts.max_tries(),
                                crate::task::format_duration(delay)
                            );
                            self.set.spawn(async move {
                                tokio::time::sleep(delay).await;
                                Event::RetryDue(idx)
                            });
                        } else {
                            self.record(
                                idx,
                                try_number,
                                TaskState::Failed,
                                start,
                                elapsed,
                                Some(msg.clone()),
                                log_path,
                            );
                            let reason = if e.kind() == TaskErrorKind::FailNow || try_number == 1 {
                                msg.clone()
                            } else {
                                format!("{msg} (after {try_number} attempts)")
                            };
                            tracing::error!(
                                task_id = &*task_id,
                                "task failed: DAG `{}`, task `{}`, attempt {try_number} of {}: {msg}",
                                self.info.dag_id,
                                task_id,
                                opts.max_tries()
                            );
                            self.fail(idx, reason);
                            self.finished(idx);
                        }
                    }
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        idx: usize,
        try_number: u32,
        state: TaskState,
        start: DateTime<Utc>,
        duration: Duration,
        error: Option<String>,
        log_path: PathBuf,
    ) {
        self.attempts[idx].push(AttemptReport {
            try_number,
            state,
            start,
            duration,
            error,
            log_path,
        });
    }

    /// A task reached a final state: re-evaluate its downstream tasks.
    fn finished(&mut self, idx: usize) {
        let mut stack = vec![idx];
        while let Some(i) = stack.pop() {
            for &d in self.dag.tasks()[i].downstream() {
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
        let considered: &[usize] = if rule == TriggerRule::Always {
            node.inputs()
        } else {
            node.upstream()
        };
        let (mut success, mut failed, mut skipped, mut done) = (0, 0, 0, 0);
        for &u in considered {
            match self.states[u] {
                TaskState::Success => success += 1,
                TaskState::Failed | TaskState::UpstreamFailed => failed += 1,
                TaskState::Skipped => skipped += 1,
                _ => continue,
            }
            done += 1;
        }
        let total = considered.len();
        let all_done = done == total;
        let rule_name = rule.as_str();
        let upstream_failed =
            || Decision::UpstreamFailed(format!("upstream failed (trigger rule {rule_name})"));
        let skip = || Decision::Skip(format!("skipped by trigger rule {rule_name}"));
        let verdict = match rule {
            TriggerRule::AllSuccess => {
                if failed > 0 {
                    upstream_failed()
                } else if skipped > 0 {
                    skip()
                } else if all_done {
                    Decision::Run
                } else {
                    Decision::Wait
                }
            }
            TriggerRule::AllFailed => {
                if success > 0 || skipped > 0 {
                    skip()
                } else if all_done {
                    Decision::Run
                } else {
                    Decision::Wait
                }
            }
            TriggerRule::AllDone | TriggerRule::Always => {
                if all_done {
                    Decision::Run
                } else {
                    Decision::Wait
                }
            }
            TriggerRule::AllSkipped => {
                if success > 0 || failed > 0 {
                    skip()
                } else if all_done {
                    Decision::Run
                } else {
                    Decision::Wait
                }
            }
            TriggerRule::OneSuccess => {
                if success > 0 {
                    Decision::Run
                } else if all_done {
                    if skipped == total {
                        skip()
                    } else {
                        upstream_failed()
                    }
                } else {
                    Decision::Wait
                }
            }
            TriggerRule::OneFailed => {
                if failed > 0 {
                    Decision::Run
                } else if all_done {
                    skip()
                } else {
                    Decision::Wait
                }
            }
            TriggerRule::OneDone => {
                if success + failed > 0 {
                    Decision::Run
                } else if all_done {
                    skip()
                } else {
                    Decision::Wait
                }
            }
            TriggerRule::NoneFailed => {
                if failed > 0 {
                    upstream_failed()
                } else if all_done {
                    Decision::Run
                } else {
                    Decision::Wait
                }
            }
            TriggerRule::NoneFailedMinOneSuccess => {
                if failed > 0 {
                    upstream_failed()
                } else if all_done {
                    if success > 0 { Decision::Run } else { skip() }
                } else {
                    Decision::Wait
                }
            }
            TriggerRule::NoneSkipped => {
                if skipped > 0 {
                    skip()
                } else if all_done {
                    Decision::Run
                } else {
                    Decision::Wait
                }
            }
        };
        match verdict {
            Decision::Run => self.inputs_available(idx),
            other => other,
        }
    }

    /// A task may run by its trigger rule, but it can only be called with every data input.
    fn inputs_available(&self, idx: usize) -> Decision {
        let node = &self.dag.tasks()[idx];
        for &u in node.inputs() {
            let from = self.dag.tasks()[u].id();
            match self.states[u] {
                TaskState::Success => {}
                TaskState::Skipped => {
                    return Decision::Skip(format!("skipped: input from `{from}` was skipped"));
                }
                TaskState::Failed | TaskState::UpstreamFailed => {
                    return Decision::UpstreamFailed(format!(
                        "upstream failed: input from `{from}` is unavailable"
                    ));
                }
                _ => return Decision::Wait,
            }
        }
        Decision::Run
    }
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

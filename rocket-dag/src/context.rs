//! What a running task knows about itself and its run.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

/// Everything shared by the tasks of one DAG run.
#[derive(Debug)]
pub(crate) struct RunInfo {
    pub(crate) dag_id: Arc<str>,
    pub(crate) run_id: Arc<str>,
    pub(crate) run_type: crate::run::RunType,
    pub(crate) logical_date: DateTime<Utc>,
    pub(crate) interval: (DateTime<Utc>, DateTime<Utc>),
    pub(crate) params: Map<String, Value>,
    pub(crate) home: PathBuf,
    pub(crate) data_dir: PathBuf,
    pub(crate) http: Arc<OnceLock<reqwest::Client>>,
    /// Where the events tasks raise go; `None` when the run sends none (or outside a run).
    pub(crate) events: Option<Arc<dyn EventSink>>,
    /// Where the counts tasks add go; `None` when nobody observes the run.
    pub(crate) counts: Option<Arc<dyn CountSink>>,
}

/// The events the runner raises itself ([`crate::notify`]); a task may raise any other kind.
pub(crate) const TASK_FAILED: &str = "task_failed";
/// See [`TASK_FAILED`].
pub(crate) const TASK_RETRYING: &str = "task_retrying";
/// See [`TASK_FAILED`].
pub(crate) const RUN_FINISHED: &str = "run_finished";

/// Where the events a task raises ([`TaskContext::notify`]) go: the run's notifications
/// ([`crate::notify`] implements it).
pub(crate) trait EventSink: Send + Sync + std::fmt::Debug {
    /// Takes one event of the task `ctx` runs, already checked and logged; never waits.
    fn task_event(&self, ctx: &TaskContext, kind: &str, message: String, data: Value);
}

/// One count a task adds ([`TaskContext::count`], [`TaskContext::count_by`]), as its
/// observer gets it ([`RunObserver::count`](crate::runner::RunObserver::count)).
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Count<'a> {
    /// The DAG of the task that counted.
    pub dag_id: &'a str,
    /// The task that counted.
    pub task_id: &'a str,
    /// What is counted: lowercase letters, digits and `_`, starting with a letter
    /// (`images_downloaded`); a Prometheus exporter names it `<prefix>_<name>_total`.
    pub name: &'a str,
    /// A label of the count and its value (`("class", "timeout")`), when it has one.
    pub label: Option<(&'a str, &'a str)>,
    /// How many.
    pub n: u64,
}

/// Where the counts of a run's tasks go: the runner's observer.
pub(crate) trait CountSink: Send + Sync + std::fmt::Debug {
    /// Takes one count, already checked; never waits.
    fn count(&self, count: &Count<'_>);
}

/// Whether `name` may name a count or a label: `[a-z][a-z0-9_]*`, as Prometheus allows (and
/// lowercase, so that two spellings never make two series).
fn is_count_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The context of one task attempt: ids, dates, params, the run's data directory, a shared
/// HTTP client and a cancellation signal (Airflow's template context, typed).
///
/// Take it as `ctx: &TaskContext` in a `#[task]` fn; it is optional.
#[derive(Debug, Clone)]
pub struct TaskContext {
    pub(crate) run: Arc<RunInfo>,
    pub(crate) task_id: Arc<str>,
    pub(crate) map_index: Option<u32>,
    pub(crate) try_number: u32,
    pub(crate) max_tries: u32,
    pub(crate) cancel: CancellationToken,
}

impl TaskContext {
    /// The DAG id.
    pub fn dag_id(&self) -> &str {
        &self.run.dag_id
    }
    /// The task id.
    pub fn task_id(&self) -> &str {
        &self.task_id
    }
    /// For an element of a mapped task (`task.expand(list)`), its index in the list.
    pub fn map_index(&self) -> Option<u32> {
        self.map_index
    }
    /// The run id, e.g. `manual__2024-01-01T00:00:00+00:00`.
    pub fn run_id(&self) -> &str {
        &self.run.run_id
    }
    /// This attempt's number, from 1.
    pub fn try_number(&self) -> u32 {
        self.try_number
    }
    /// Attempts allowed in all (`retries + 1`).
    pub fn max_tries(&self) -> u32 {
        self.max_tries
    }
    /// The run's logical date.
    pub fn logical_date(&self) -> DateTime<Utc> {
        self.run.logical_date
    }
    /// Start of the run's data interval.
    pub fn data_interval_start(&self) -> DateTime<Utc> {
        self.run.interval.0
    }
    /// End of the run's data interval (exclusive).
    pub fn data_interval_end(&self) -> DateTime<Utc> {
        self.run.interval.1
    }
    /// The logical date as `YYYY-MM-DD`.
    pub fn ds(&self) -> String {
        self.run.logical_date.format("%Y-%m-%d").to_string()
    }
    /// The logical date as `YYYYMMDD`.
    pub fn ds_nodash(&self) -> String {
        self.run.logical_date.format("%Y%m%d").to_string()
    }
    /// The logical date as RFC 3339 (Airflow's `ts`).
    pub fn ts(&self) -> String {
        self.run.logical_date.to_rfc3339()
    }
    /// The run's params (`--param key=value` or `--conf JSON`).
    pub fn params(&self) -> &Map<String, Value> {
        &self.run.params
    }
    /// One param, deserialized; `None` if absent or of another type.
    pub fn param<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        self.run
            .params
            .get(name)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }
    /// The home directory (`--home` / `ROCKET_DAG_HOME`).
    pub fn home(&self) -> &Path {
        &self.run.home
    }
    /// The DAG's data directory, `<home>/data/<dag_id>/` (created before the run starts).
    pub fn data_dir(&self) -> &Path {
        &self.run.data_dir
    }
    /// A shared HTTP client (connection pool, rustls, gzip), built on first use.
    pub fn http(&self) -> &reqwest::Client {
        self.run.http.get_or_init(crate::http::client)
    }
    /// `true` once the run is being interrupted (Ctrl-C, SIGTERM) or the attempt timed out.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
    /// Resolves when the attempt is being cancelled: select on it to stop cleanly.
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        self.cancel.cancelled()
    }

    /// Raises a notification of a kind the task chooses (e.g. `image_failures`, `no_images`)
    /// with a readable `message` and any JSON `data`; the event also names the DAG, run, task,
    /// map index and try. It is logged here (so it is in the attempt's log) and queued for the
    /// run's notifiers ([`crate::notify`]); this returns at once and delivery never fails the
    /// task. The runner's own kinds (`task_failed`, `task_retrying`, `run_finished`) are
    /// refused with a warning. Outside a run with notifiers (`tasks test`, unit tests) the
    /// event is only logged.
    pub fn notify(&self, kind: &str, message: impl Into<String>, data: Value) {
        let message = message.into();
        if kind.trim().is_empty() || [TASK_FAILED, TASK_RETRYING, RUN_FINISHED].contains(&kind) {
            tracing::warn!(
                target: "rocket_dag::notify",
                "notification kind `{kind}` is not one a task may raise (empty, or the runner's own): not sent"
            );
            return;
        }
        // In the attempt's log, whether or not anything is configured to send it.
        tracing::info!(target: "rocket_dag::notify", kind, "notification: {message}");
        if let Some(events) = &self.run.events {
            events.task_event(self, kind, message, data);
        }
    }

    /// Adds `n` to the count `name` (`images_downloaded`) of this task's DAG, for whoever
    /// observes the run (`/metrics` of `standalone` shows it as
    /// `rocket_dag_images_downloaded_total{dag_id}`). Names are `[a-z][a-z0-9_]*`; a bad one
    /// is dropped with a warning. Nobody observing (`dags test`, `tasks test`, unit tests), it
    /// does nothing.
    pub fn count(&self, name: &str, n: u64) {
        self.add_count(name, None, n);
    }

    /// [`TaskContext::count`] with one label: `ctx.count_by("images_failed", "class",
    /// "timeout", 1)`. Keep the values few (error classes, not URLs or ids): each value is a
    /// series of its own, and an observer may stop taking new ones past a limit.
    pub fn count_by(&self, name: &str, label: &str, value: &str, n: u64) {
        self.add_count(name, Some((label, value)), n);
    }

    fn add_count(&self, name: &str, label: Option<(&str, &str)>, n: u64) {
        let Some(sink) = &self.run.counts else {
            return;
        };
        let key_ok = label.is_none_or(|(k, _)| is_count_name(k) && k != "dag_id");
        if !is_count_name(name) || name.ends_with("_total") || !key_ok {
            tracing::warn!(
                "count `{name}`{}: not counted (names and labels are [a-z][a-z0-9_]*, \
                 without `_total`; `dag_id` is added by the observer)",
                label.map(|(k, _)| format!(" by `{k}`")).unwrap_or_default()
            );
            return;
        }
        sink.count(&Count {
            dag_id: &self.run.dag_id,
            task_id: &self.task_id,
            name,
            label,
            n,
        });
    }

    /// A context for calling a task fn directly in a unit test: DAG `test_dag`, task
    /// `test_task`, try 1 of 1, logical date now, a fresh temporary home (left on disk for
    /// inspection under the system temp directory).
    pub fn for_test() -> TaskContext {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let home = std::env::temp_dir().join(format!(
            "rocket-dag-test-{}-{}-{n}",
            std::process::id(),
            Utc::now().timestamp_micros()
        ));
        TaskContext::builder("test_dag", "test_task")
            .home(home)
            .build()
    }

    /// Builds a context by hand (tests, tools).
    pub fn builder(dag_id: &str, task_id: &str) -> TaskContextBuilder {
        TaskContextBuilder {
            dag_id: dag_id.into(),
            task_id: task_id.into(),
            home: None,
            logical_date: None,
            params: Map::new(),
            try_number: 1,
            max_tries: 1,
            interval: None,
            map_index: None,
        }
    }
}

/// Builds a [`TaskContext`] outside a run.
#[derive(Debug)]
pub struct TaskContextBuilder {
    dag_id: String,
    task_id: String,
    home: Option<PathBuf>,
    logical_date: Option<DateTime<Utc>>,
    params: Map<String, Value>,
    try_number: u32,
    max_tries: u32,
    interval: Option<(DateTime<Utc>, DateTime<Utc>)>,
    map_index: Option<u32>,
}

impl TaskContextBuilder {
    /// Sets the home directory.
    pub fn home(mut self, home: impl Into<PathBuf>) -> Self {
        self.home = Some(home.into());
        self
    }
    /// Sets the logical date.
    pub fn logical_date(mut self, d: DateTime<Utc>) -> Self {
        self.logical_date = Some(d);
        self
    }
    /// Sets the data interval.
    pub fn data_interval(mut self, start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        self.interval = Some((start, end));
        self
    }
    /// Sets a param.
    pub fn param(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.params.insert(name.into(), value.into());
        self
    }
    /// Sets the try number and the number of tries.
    pub fn try_number(mut self, n: u32, max: u32) -> Self {
        self.try_number = n;
        self.max_tries = max;
        self
    }
    /// Sets the map index (an element of a mapped task).
    pub fn map_index(mut self, i: u32) -> Self {
        self.map_index = Some(i);
        self
    }
    /// Builds the context and creates its data directory.
    pub fn build(self) -> TaskContext {
        let home = self.home.unwrap_or_else(crate::home::default_home);
        let data_dir = home.join("data").join(&self.dag_id);
        // Best effort: a test that needs the directory will report the I/O error itself.
        let _ = std::fs::create_dir_all(&data_dir);
        let logical = self.logical_date.unwrap_or_else(Utc::now);
        TaskContext {
            run: Arc::new(RunInfo {
                dag_id: self.dag_id.into(),
                run_id: crate::run::run_id("manual", logical).into(),
                run_type: crate::run::RunType::Manual,
                logical_date: logical,
                interval: self.interval.unwrap_or((logical, logical)),
                params: self.params,
                home,
                data_dir,
                http: Arc::new(OnceLock::new()),
                events: None,
                counts: None,
            }),
            task_id: self.task_id.into(),
            map_index: self.map_index,
            try_number: self.try_number,
            max_tries: self.max_tries,
            cancel: CancellationToken::new(),
        }
    }
}

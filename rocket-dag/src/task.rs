//! Tasks: their options, trigger rules, and the trait `#[task]` implements.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::TaskContext;
use crate::error::TaskError;

/// When a task may run, given the states of its upstream tasks (Airflow's trigger rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TriggerRule {
    /// Every upstream task succeeded (the default).
    #[default]
    AllSuccess,
    /// Every upstream task failed or is `upstream_failed`.
    AllFailed,
    /// Every upstream task finished, whatever its state.
    AllDone,
    /// Every upstream task was skipped.
    AllSkipped,
    /// At least one upstream task succeeded (fires without waiting for the others).
    OneSuccess,
    /// At least one upstream task failed (fires without waiting for the others).
    OneFailed,
    /// At least one upstream task succeeded or failed.
    OneDone,
    /// No upstream task failed (skipped ones are fine).
    NoneFailed,
    /// No upstream task failed, and at least one succeeded.
    NoneFailedMinOneSuccess,
    /// No upstream task was skipped.
    NoneSkipped,
    /// Runs regardless of ordering-only upstream tasks (it still needs its data inputs).
    Always,
}

impl TriggerRule {
    /// Every rule with its Airflow name.
    pub const ALL: [(&'static str, TriggerRule); 11] = [
        ("all_success", TriggerRule::AllSuccess),
        ("all_failed", TriggerRule::AllFailed),
        ("all_done", TriggerRule::AllDone),
        ("all_skipped", TriggerRule::AllSkipped),
        ("one_success", TriggerRule::OneSuccess),
        ("one_failed", TriggerRule::OneFailed),
        ("one_done", TriggerRule::OneDone),
        ("none_failed", TriggerRule::NoneFailed),
        (
            "none_failed_min_one_success",
            TriggerRule::NoneFailedMinOneSuccess,
        ),
        ("none_skipped", TriggerRule::NoneSkipped),
        ("always", TriggerRule::Always),
    ];

    /// The Airflow name, e.g. `all_success`.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, r)| *r == self)
            .map(|(n, _)| *n)
            .unwrap_or("all_success")
    }
}

impl fmt::Display for TriggerRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The architecture layer a task belongs to (the course draws Source / Storage / Business).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// Talks to the outside world: APIs, downloads.
    Source,
    /// Stores data: files, databases.
    Storage,
    /// Uses the data: reports, notifications.
    Business,
}

impl Layer {
    /// `source`, `storage` or `business`.
    pub fn as_str(self) -> &'static str {
        match self {
            Layer::Source => "source",
            Layer::Storage => "storage",
            Layer::Business => "business",
        }
    }
}

/// Options of a task as written in `#[task(...)]` or as DAG-level defaults; `None` means "not
/// set here".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskOptions {
    /// How many times a failed attempt is retried.
    pub retries: Option<u32>,
    /// Delay before a retry.
    pub retry_delay: Option<Duration>,
    /// Double the delay on every retry (plus deterministic jitter).
    pub retry_exponential_backoff: Option<bool>,
    /// Upper bound of the retry delay.
    pub max_retry_delay: Option<Duration>,
    /// Cancel an attempt that runs longer than this.
    pub execution_timeout: Option<Duration>,
    /// When the task may run.
    pub trigger_rule: Option<TriggerRule>,
    /// Its architecture layer.
    pub layer: Option<Layer>,
}

impl TaskOptions {
    /// No option set.
    pub const fn new() -> Self {
        TaskOptions {
            retries: None,
            retry_delay: None,
            retry_exponential_backoff: None,
            max_retry_delay: None,
            execution_timeout: None,
            trigger_rule: None,
            layer: None,
        }
    }
    /// Sets `retries`.
    pub const fn retries(mut self, n: u32) -> Self {
        self.retries = Some(n);
        self
    }
    /// Sets `retry_delay`.
    pub const fn retry_delay(mut self, d: Duration) -> Self {
        self.retry_delay = Some(d);
        self
    }
    /// Sets `retry_exponential_backoff`.
    pub const fn retry_exponential_backoff(mut self, on: bool) -> Self {
        self.retry_exponential_backoff = Some(on);
        self
    }
    /// Sets `max_retry_delay`.
    pub const fn max_retry_delay(mut self, d: Duration) -> Self {
        self.max_retry_delay = Some(d);
        self
    }
    /// Sets `execution_timeout`.
    pub const fn execution_timeout(mut self, d: Duration) -> Self {
        self.execution_timeout = Some(d);
        self
    }
    /// Sets `trigger_rule`.
    pub const fn trigger_rule(mut self, r: TriggerRule) -> Self {
        self.trigger_rule = Some(r);
        self
    }
    /// Sets `layer`.
    pub const fn layer(mut self, l: Layer) -> Self {
        self.layer = Some(l);
        self
    }

    /// Fills every option not set here from `defaults`.
    pub fn or(self, defaults: TaskOptions) -> TaskOptions {
        TaskOptions {
            retries: self.retries.or(defaults.retries),
            retry_delay: self.retry_delay.or(defaults.retry_delay),
            retry_exponential_backoff: self
                .retry_exponential_backoff
                .or(defaults.retry_exponential_backoff),
            max_retry_delay: self.max_retry_delay.or(defaults.max_retry_delay),
            execution_timeout: self.execution_timeout.or(defaults.execution_timeout),
            trigger_rule: self.trigger_rule.or(defaults.trigger_rule),
            layer: self.layer.or(defaults.layer),
        }
    }

    /// The options actually in force, with built-in defaults for what nobody set
    /// (no retries, 300 s retry delay as Airflow, no backoff, no timeout, `all_success`).
    pub fn resolve(self) -> ResolvedTaskOptions {
        ResolvedTaskOptions {
            retries: self.retries.unwrap_or(0),
            retry_delay: self.retry_delay.unwrap_or(Duration::from_secs(300)),
            retry_exponential_backoff: self.retry_exponential_backoff.unwrap_or(false),
            max_retry_delay: self.max_retry_delay,
            execution_timeout: self.execution_timeout,
            trigger_rule: self.trigger_rule.unwrap_or_default(),
            layer: self.layer,
        }
    }
}

/// The options in force for one task of a DAG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResolvedTaskOptions {
    /// Retries after the first attempt.
    pub retries: u32,
    /// Base delay before a retry.
    pub retry_delay: Duration,
    /// Whether the delay doubles on every retry.
    pub retry_exponential_backoff: bool,
    /// Upper bound of the delay.
    pub max_retry_delay: Option<Duration>,
    /// Attempt time limit.
    pub execution_timeout: Option<Duration>,
    /// When the task may run.
    pub trigger_rule: TriggerRule,
    /// Architecture layer.
    pub layer: Option<Layer>,
}

impl ResolvedTaskOptions {
    /// Attempts in all: `retries + 1`.
    pub fn max_tries(&self) -> u32 {
        self.retries.saturating_add(1)
    }
}

/// What a task runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskKind {
    /// An `async fn`.
    Rust,
    /// A shell command (`#[task(shell)]`), Airflow's `BashOperator`.
    Shell,
}

/// Static description of a task, generated by `#[task]`.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct TaskSpec {
    /// Default task id (the fn name unless `id = "…"` was given).
    pub id: &'static str,
    /// The doc comment.
    pub doc: &'static str,
    /// Options from the attribute.
    pub options: TaskOptions,
    /// Names of the parameters that receive upstream outputs, in order.
    pub inputs: &'static [&'static str],
    /// Rust or shell.
    pub kind: TaskKind,
    /// The fn's source as written (for reports).
    pub source: &'static str,
    /// Name of the output type.
    pub output_type: &'static str,
    /// Assets it reads (`#[task(reads = […])]`).
    pub reads: &'static [crate::Asset],
    /// Assets it writes (`#[task(writes = […])]`).
    pub writes: &'static [crate::Asset],
}

impl TaskSpec {
    /// A spec with only an id, for hand-written [`Task`] impls.
    pub const fn new(id: &'static str) -> Self {
        TaskSpec {
            id,
            doc: "",
            options: TaskOptions::new(),
            inputs: &[],
            kind: TaskKind::Rust,
            source: "",
            output_type: "()",
            reads: &[],
            writes: &[],
        }
    }
}

/// A task output as stored between tasks: its JSON form (Airflow's XCom).
///
/// Outputs are serialized once and deserialized for every consumer and every attempt, so a
/// task output need not be `Clone`, and the same bytes can later be persisted.
#[derive(Clone, PartialEq, Eq)]
pub struct XCom(pub(crate) Arc<str>);

impl XCom {
    /// Serializes a task output.
    pub fn encode<T: Serialize>(value: &T) -> Result<XCom, TaskError> {
        // Not retryable: the task's work is done and running it again would not help.
        serde_json::to_string(value)
            .map(|s| XCom(s.into()))
            .map_err(|e| TaskError::fail_now(format!("cannot serialize the task's output: {e}")))
    }
    /// Reads the value back.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.0)
    }
    /// The JSON text.
    pub fn as_json(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for XCom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 120;
        match self.0.char_indices().nth(MAX) {
            Some((cut, _)) => write!(f, "XCom({}…)", &self.0[..cut]),
            None => write!(f, "XCom({})", self.0),
        }
    }
}

/// A task: what `#[task]` implements for the marker type it emits next to the fn.
///
/// You rarely implement this by hand; it is public so that DAGs can be built programmatically
/// with [`crate::DagBuilder`].
pub trait Task: Send + Sync + 'static {
    /// The task's output, passed to downstream tasks.
    type Output: Serialize + DeserializeOwned + Send + 'static;
    /// The default task id.
    const ID: &'static str;
    /// Static description.
    fn spec() -> TaskSpec;
    /// Runs one attempt with the upstream outputs in parameter order.
    fn call<'a>(
        ctx: &'a TaskContext,
        inputs: &'a [XCom],
    ) -> BoxFuture<'a, Result<Self::Output, TaskError>>;
}

/// Object-safe form of [`Task`], used by the runtime.
pub(crate) trait ErasedTask: Send + Sync {
    fn run<'a>(
        &self,
        ctx: &'a TaskContext,
        inputs: &'a [XCom],
    ) -> BoxFuture<'a, Result<XCom, TaskError>>;
}

pub(crate) struct Erased<T>(std::marker::PhantomData<fn() -> T>);

impl<T> Erased<T> {
    pub(crate) fn new() -> Self {
        Erased(std::marker::PhantomData)
    }
}

impl<T: Task> ErasedTask for Erased<T> {
    fn run<'a>(
        &self,
        ctx: &'a TaskContext,
        inputs: &'a [XCom],
    ) -> BoxFuture<'a, Result<XCom, TaskError>> {
        Box::pin(async move {
            let out = T::call(ctx, inputs).await?;
            XCom::encode(&out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The macros accept the names in `rocket_dag_core::names` and emit the variant whose name
    /// is the CamelCase of each; the enums here must have exactly those.
    #[test]
    fn names_the_macros_accept_are_the_variants_here() {
        let camel = |name: &str| -> String {
            name.split('_')
                .map(|w| w[..1].to_uppercase() + &w[1..])
                .collect()
        };
        let rules: Vec<&str> = TriggerRule::ALL.iter().map(|(n, _)| *n).collect();
        assert_eq!(rules, rocket_dag_core::names::TRIGGER_RULES);
        for (name, rule) in TriggerRule::ALL {
            assert_eq!(rule.as_str(), name);
            assert_eq!(format!("{rule:?}"), camel(name));
        }
        let layers = [Layer::Source, Layer::Storage, Layer::Business];
        assert_eq!(layers.map(Layer::as_str), rocket_dag_core::names::LAYERS);
        for layer in layers {
            assert_eq!(format!("{layer:?}"), camel(layer.as_str()));
        }
    }

    #[test]
    fn options_fill_from_defaults() {
        let task = TaskOptions::new().retries(3);
        let dag = TaskOptions::new()
            .retries(1)
            .retry_delay(Duration::from_secs(2));
        let r = task.or(dag).resolve();
        assert_eq!(r.retries, 3);
        assert_eq!(r.retry_delay, Duration::from_secs(2));
        assert_eq!(r.trigger_rule, TriggerRule::AllSuccess);
        assert_eq!(r.max_tries(), 4);
    }
}

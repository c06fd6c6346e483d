//! Notifications: tell someone when a task fails or is retried, when a run finishes, or when a
//! task has something to report (Airflow's `on_failure_callback` / `on_retry_callback` /
//! `on_success_callback`, as configuration instead of code).
//!
//! # Events
//!
//! | kind | raised by | carries |
//! |---|---|---|
//! | `task_retrying` | the runner, when an attempt fails and a retry is scheduled | task, map index, try, max tries, cause, `data.retry_in_secs` |
//! | `task_failed` | the runner, when a task (or one element of a mapped task) fails for good | task, map index, try, max tries, cause |
//! | `run_finished` | the runner, at the end of every run, success or not | `data`: `state`, `interrupted`, `duration_secs`, `summary` (the summary table), `failed_tasks` |
//! | any other name | a task, through [`TaskContext::notify`] | task, map index, try, the task's message and `data` |
//!
//! Tasks choose their own kinds: for example `image_failures` (more image downloads failed than
//! a threshold) or `no_images` (the run found nothing to download):
//!
//! ```no_run
//! # use rocket_dag::prelude::*;
//! # async fn f(ctx: &TaskContext, failed: usize, total: usize) {
//! if failed * 10 > total {
//!     ctx.notify(
//!         "image_failures",
//!         format!("{failed} of {total} images could not be downloaded"),
//!         serde_json::json!({ "failed": failed, "total": total }),
//!     );
//! }
//! # }
//! ```
//!
//! Every event is one JSON object ([`Event`]):
//!
//! ```json
//! {"kind": "task_failed", "dag_id": "listing_2_10", "run_id": "manual__2024-01-01T00:00:00+00:00",
//!  "logical_date": "2024-01-01T00:00:00Z", "task_id": "download_launches", "try_number": 4,
//!  "max_tries": 4, "cause": "HTTP status server error (503 Service Unavailable)",
//!  "message": "task `download_launches` of DAG `listing_2_10` failed on try 4 of 4 (run …): …",
//!  "time": "2024-01-01T00:00:41.250Z"}
//! ```
//!
//! (`map_index` is there for an element of a mapped task; `data` when the event has any.)
//!
//! # Notifiers
//!
//! - **log** ([`LogNotifier`]): one `tracing` line per event (target `rocket_dag::notify`).
//! - **webhook** ([`WebhookNotifier`]): a JSON POST of `{"text": …, "event": {…}}`, which a
//!   Slack incoming webhook (or anything Slack-compatible) shows as a message: `text` is a
//!   readable line (with the summary table for `run_finished`), `event` the event above. Each
//!   request has a timeout; connection errors, timeouts, 5xx and 429 are retried with
//!   exponential backoff (from 250 ms, at most 4 s apart), other answers are not. Once a
//!   delivery has failed for good, the next ones get a single try until one succeeds, so a
//!   webhook that is down costs the run little.
//! - **command** ([`CommandNotifier`]): runs a program (no shell) with the event's JSON on stdin
//!   and `ROCKET_DAG_EVENT_KIND` / `ROCKET_DAG_EVENT_TEXT` in its environment; stdout is
//!   discarded, a non-zero exit is logged with the end of stderr, and a program that outlives
//!   its timeout is killed (its whole process group).
//!
//! Delivery never fails a task or a run: a notifier that fails logs a warning and that is all.
//!
//! # Delivery
//!
//! Raising an event never waits: the runner and [`TaskContext::notify`] queue it and go on. Each
//! run has one queue, delivered in order (each event to every notifier at once), so a channel
//! reads `task_retrying`, `task_failed`, …, `run_finished` in the order they happened.
//! [`Runner::run`](crate::Runner::run) returns once its `run_finished` event has been delivered,
//! waiting at most as long as one delivery may take (a webhook's tries × timeout plus backoff,
//! a command's timeout) plus 5 s; what is still queued then is dropped with a warning.
//! `tasks test` (one attempt, [`Runner::run_task`](crate::Runner::run_task)) sends nothing:
//! there, and in unit tests, `ctx.notify` only logs the event.
//!
//! # Configuration
//!
//! A program sets notifiers in code with [`Runner::with_notifications`](crate::Runner::with_notifications)
//! (every DAG) or [`Runner::with_dag_notifications`](crate::Runner::with_dag_notifications) (one
//! DAG). The CLI (`dags test`, `dags backfill`, `scheduler`) reads them for each DAG with
//! [`NotifyConfig::load`] from `<home>/notifications.json`:
//!
//! ```json
//! {
//!   "default": {
//!     "log": true,
//!     "webhooks": [{"url": "https://hooks.slack.com/services/T000/B000/XXXX", "timeout": "10s", "retries": 3}],
//!     "commands": [{"program": "/usr/local/bin/page-oncall", "args": ["--team", "data"], "timeout": "30s"}],
//!     "events": ["task_failed", "run_finished", "image_failures", "no_images"]
//!   },
//!   "dags": {
//!     "listing_2_10_mapped": {"events": ["task_failed", "run_finished"]}
//!   }
//! }
//! ```
//!
//! - `default` applies to every DAG; a section under `dags` replaces, for that DAG, the fields
//!   it sets (`"webhooks": []` turns the default webhooks off for it).
//! - `log` (default `false`), `webhooks`, `commands`, `events` (the kinds to send; absent, or a
//!   list containing `"*"`, sends every kind).
//! - Durations are written `"500ms"`, `"10s"`, `"2m"` (or a number of seconds). Webhook
//!   defaults: `timeout` 10 s, `retries` 3 (at most 10). Command default: `timeout` 30 s.
//!
//! Environment variables override the file (for every DAG):
//!
//! | variable | effect |
//! |---|---|
//! | `ROCKET_DAG_NOTIFY_WEBHOOK` | a URL: replaces the webhooks with this one (defaults for timeout and retries); empty: no webhook |
//! | `ROCKET_DAG_NOTIFY_COMMAND` | a command line, split on whitespace (no shell, no quoting): replaces the commands with it; empty: no command |
//! | `ROCKET_DAG_NOTIFY_EVENTS` | a comma-separated list of kinds: replaces `events`; empty or `*`: every kind |
//!
//! # Secrets
//!
//! A webhook URL's path and query are its secret (Slack's are): [`SecretUrl`] shows only
//! `scheme://host[:port]/…` in `Display`, `Debug`, error messages and logs, and configuration
//! errors never quote the URL. A command's arguments (which may hold an API key) are not shown
//! either, only the program.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::context::{EventSink, RUN_FINISHED, RunInfo, TASK_FAILED, TASK_RETRYING, TaskContext};
use crate::duration::format as format_duration;
use crate::process::GroupGuard;
use crate::report::{DagRunReport, TaskState};

/// The configuration file's name, in the home directory.
pub const CONFIG_FILE: &str = "notifications.json";
/// Replaces the configured webhooks with one URL (empty: none).
pub const WEBHOOK_ENV: &str = "ROCKET_DAG_NOTIFY_WEBHOOK";
/// Replaces the configured commands with one command line, split on whitespace (empty: none).
pub const COMMAND_ENV: &str = "ROCKET_DAG_NOTIFY_COMMAND";
/// Replaces the event filter with a comma-separated list of kinds (empty or `*`: every kind).
pub const EVENTS_ENV: &str = "ROCKET_DAG_NOTIFY_EVENTS";

const DEFAULT_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_WEBHOOK_RETRIES: u32 = 3;
/// More than this would make the end-of-run wait unreasonable.
const MAX_WEBHOOK_RETRIES: u32 = 10;
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(4);
const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Added to the longest delivery when waiting for a run's queue to drain.
const DRAIN_SLACK: Duration = Duration::from_secs(5);
/// How much of a failed webhook's answer or a command's stderr goes into the warning.
const EXCERPT: usize = 300;

// ------------------------------------------------------------------------------ events

/// What an event is about.
///
/// Serialized as its name: `task_failed`, `task_retrying`, `run_finished`, or the name a task
/// gave a custom event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum EventKind {
    /// A task, or an element of a mapped task, failed with no tries left.
    TaskFailed,
    /// An attempt failed and a retry is scheduled.
    TaskRetrying,
    /// A run ended, successfully or not.
    RunFinished,
    /// Raised by a task with [`TaskContext::notify`], e.g. `image_failures`, `no_images`.
    Custom(String),
}

impl EventKind {
    /// The kind's name, as in the configuration and the JSON.
    pub fn as_str(&self) -> &str {
        match self {
            EventKind::TaskFailed => TASK_FAILED,
            EventKind::TaskRetrying => TASK_RETRYING,
            EventKind::RunFinished => RUN_FINISHED,
            EventKind::Custom(name) => name,
        }
    }
}

impl From<&str> for EventKind {
    fn from(name: &str) -> Self {
        match name {
            TASK_FAILED => EventKind::TaskFailed,
            TASK_RETRYING => EventKind::TaskRetrying,
            RUN_FINISHED => EventKind::RunFinished,
            other => EventKind::Custom(other.to_owned()),
        }
    }
}

impl From<String> for EventKind {
    fn from(name: String) -> Self {
        match EventKind::from(name.as_str()) {
            EventKind::Custom(_) => EventKind::Custom(name),
            builtin => builtin,
        }
    }
}

impl From<EventKind> for String {
    fn from(kind: EventKind) -> String {
        match kind {
            EventKind::Custom(name) => name,
            builtin => builtin.as_str().to_owned(),
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One notification: what happened, in which DAG, run and task, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The DAG.
    pub dag_id: String,
    /// The run.
    pub run_id: String,
    /// The run's logical date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logical_date: Option<DateTime<Utc>>,
    /// The task, for a task's event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// The element, for an element of a mapped task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub map_index: Option<u32>,
    /// The attempt, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub try_number: Option<u32>,
    /// Attempts allowed in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tries: Option<u32>,
    /// Why the attempt failed, causes included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// One readable line (a custom event's: the task's own words).
    pub message: String,
    /// When the event was raised.
    pub time: DateTime<Utc>,
    /// Details: `retry_in_secs` for `task_retrying`, the summary for `run_finished`, what the
    /// task gave for a custom event.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub data: Value,
}

/// One try of a task, as the runner names it in an event.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TaskTry<'a> {
    pub(crate) task_id: &'a str,
    pub(crate) map_index: Option<u32>,
    pub(crate) try_number: u32,
    pub(crate) max_tries: u32,
}

impl Event {
    /// An event with only a kind, a DAG, a run and a message (for custom notifiers and tests;
    /// set the other fields as needed).
    pub fn new(
        kind: EventKind,
        dag_id: impl Into<String>,
        run_id: impl Into<String>,
        message: impl Into<String>,
    ) -> Event {
        Event {
            kind,
            dag_id: dag_id.into(),
            run_id: run_id.into(),
            logical_date: None,
            task_id: None,
            map_index: None,
            try_number: None,
            max_tries: None,
            cause: None,
            message: message.into(),
            time: Utc::now(),
            data: Value::Null,
        }
    }

    fn for_try(info: &RunInfo, kind: EventKind, t: TaskTry<'_>, message: String) -> Event {
        let mut e = Event::new(kind, &*info.dag_id, &*info.run_id, message);
        e.logical_date = Some(info.logical_date);
        e.task_id = Some(t.task_id.to_owned());
        e.map_index = t.map_index;
        e.try_number = Some(t.try_number);
        e.max_tries = Some(t.max_tries);
        e
    }

    pub(crate) fn task_failed(info: &RunInfo, t: TaskTry<'_>, cause: &str) -> Event {
        let message = format!(
            "task `{}` of DAG `{}` failed on try {} of {} (run `{}`): {cause}",
            label(t.task_id, t.map_index),
            info.dag_id,
            t.try_number,
            t.max_tries,
            info.run_id,
        );
        let mut e = Event::for_try(info, EventKind::TaskFailed, t, message);
        e.cause = Some(cause.to_owned());
        e
    }

    pub(crate) fn task_retrying(
        info: &RunInfo,
        t: TaskTry<'_>,
        cause: &str,
        retry_in: Duration,
    ) -> Event {
        let message = format!(
            "task `{}` of DAG `{}` failed on try {} of {} (run `{}`), retrying in {}: {cause}",
            label(t.task_id, t.map_index),
            info.dag_id,
            t.try_number,
            t.max_tries,
            info.run_id,
            format_duration(retry_in),
        );
        let mut e = Event::for_try(info, EventKind::TaskRetrying, t, message);
        e.cause = Some(cause.to_owned());
        e.data = serde_json::json!({ "retry_in_secs": retry_in.as_secs_f64() });
        e
    }

    pub(crate) fn run_finished(report: &DagRunReport) -> Event {
        let failed: Vec<&str> = report
            .tasks
            .iter()
            .filter(|t| t.state == TaskState::Failed)
            .map(|t| t.task_id.as_str())
            .collect();
        let mut message = format!(
            "DAG run `{}` of `{}` {} in {:.3}s",
            report.run_id,
            report.dag_id,
            match report.state {
                crate::RunState::Success => "succeeded",
                _ => "failed",
            },
            report.duration.as_secs_f64(),
        );
        if report.interrupted {
            message.push_str(" (interrupted)");
        }
        if !failed.is_empty() {
            message.push_str(&format!("; failed tasks: {}", failed.join(", ")));
        }
        let mut e = Event::new(
            EventKind::RunFinished,
            &report.dag_id,
            &report.run_id,
            message,
        );
        e.logical_date = Some(report.logical_date);
        e.data = serde_json::json!({
            "state": report.state,
            "interrupted": report.interrupted,
            "duration_secs": report.duration.as_secs_f64(),
            "summary": report.summary_table(),
            "failed_tasks": failed,
        });
        e
    }

    /// The task as logs name it: `task`, or `task[3]` for an element of a mapped task.
    pub fn task_label(&self) -> Option<String> {
        self.task_id.as_deref().map(|t| label(t, self.map_index))
    }

    /// The readable form a chat shows (the webhook's `text`): the message, with the summary
    /// table for `run_finished`, and the DAG, run and task for a custom event.
    pub fn text(&self) -> String {
        match &self.kind {
            EventKind::Custom(kind) => format!(
                "{} (DAG `{}`, run `{}`) reports `{kind}`: {}",
                self.task_label()
                    .map_or_else(|| "a task".to_owned(), |t| format!("task `{t}`")),
                self.dag_id,
                self.run_id,
                self.message
            ),
            EventKind::RunFinished => match self.data.get("summary").and_then(Value::as_str) {
                Some(table) => format!("{}\n```\n{}```", self.message, table),
                None => self.message.clone(),
            },
            _ => self.message.clone(),
        }
    }
}

fn label(task_id: &str, map_index: Option<u32>) -> String {
    match map_index {
        Some(i) => format!("{task_id}[{i}]"),
        None => task_id.to_owned(),
    }
}

// ------------------------------------------------------------------------------ errors

/// A notification that could not be delivered. Logged as a warning; never fails a run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The webhook did not accept the event.
    #[error("webhook {url}: {cause} ({attempts} attempt(s))")]
    Webhook {
        /// The webhook (shown without its secret path).
        url: SecretUrl,
        /// Requests made.
        attempts: u32,
        /// The last failure: an HTTP status and the start of the answer, or a connection error.
        cause: String,
    },
    /// The command failed, timed out or could not start.
    #[error("command `{program}`: {cause}")]
    Command {
        /// The program (its arguments are not shown: they may hold secrets).
        program: String,
        /// What went wrong.
        cause: String,
    },
    /// A notifier took longer than it said it could.
    #[error("{notifier}: gave up after {}", format_duration(*after))]
    TimedOut {
        /// The notifier's name.
        notifier: String,
        /// How long it was given.
        after: Duration,
    },
    /// A failure of another [`Notifier`].
    #[error("{0}")]
    Other(String),
}

/// A notification configuration that cannot be used. Messages never quote a webhook URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration file exists but cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The configuration file is not valid.
    #[error("invalid notification configuration {}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line and column.
        message: String,
    },
    /// An environment variable has an invalid value.
    #[error("invalid {var}: {message}")]
    Env {
        /// The variable.
        var: &'static str,
        /// What is wrong (the value is not shown).
        message: String,
    },
    /// A webhook URL that is not an absolute http(s) URL.
    #[error("invalid webhook URL: {0}")]
    InvalidUrl(String),
    /// A command without a program.
    #[error("a notification command needs a program")]
    EmptyCommand,
    /// The HTTP client cannot be built.
    #[error("cannot build the webhook HTTP client: {0}")]
    Client(String),
}

// ------------------------------------------------------------------------------ secrets

/// A webhook URL, whose path and query are a secret: `Display` and `Debug` show only
/// `scheme://host[:port]/…`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(reqwest::Url);

impl SecretUrl {
    /// Parses an absolute `http` or `https` URL. The error never quotes it.
    pub fn parse(url: &str) -> Result<SecretUrl, ConfigError> {
        let parsed =
            reqwest::Url::parse(url.trim()).map_err(|e| ConfigError::InvalidUrl(e.to_string()))?;
        match parsed.scheme() {
            "http" | "https" if parsed.host_str().is_some() => Ok(SecretUrl(parsed)),
            "http" | "https" => Err(ConfigError::InvalidUrl("it has no host".into())),
            other => Err(ConfigError::InvalidUrl(format!(
                "the scheme must be http or https, not `{other}`"
            ))),
        }
    }

    /// The whole URL, secret included: for making the request, never for a message.
    pub fn expose(&self) -> &reqwest::Url {
        &self.0
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No user info, path or query: only where it goes.
        write!(
            f,
            "{}://{}",
            self.0.scheme(),
            self.0.host_str().unwrap_or("?")
        )?;
        if let Some(port) = self.0.port() {
            write!(f, ":{port}")?;
        }
        f.write_str("/…")
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({self})")
    }
}

impl<'de> Deserialize<'de> for SecretUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SecretUrl::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Replaces every `scheme://…` in `text` with its redacted form: messages from libraries
/// (serde quoting a misplaced value, an HTTP error) may carry a webhook URL.
fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(sep) = rest.find("://") {
        // The scheme: the ASCII letters, digits, `+`, `-` and `.` just before `://`.
        let start = rest[..sep]
            .char_indices()
            .rev()
            .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let end = rest[sep + 3..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>' | ')'))
            .map_or(rest.len(), |i| sep + 3 + i);
        out.push_str(&rest[..start]);
        match reqwest::Url::parse(&rest[start..end]) {
            Ok(url) if url.host_str().is_some() => out.push_str(&SecretUrl(url).to_string()),
            _ => {
                out.push_str(&rest[start..sep]);
                out.push_str("://…");
            }
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(EXCERPT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

// ------------------------------------------------------------------------------ configuration

/// Which notifiers a DAG's runs use and which events they send. Read it with
/// [`NotifyConfig::load`]; turn it into [`Notifiers`] with [`Notifiers::from_config`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct NotifyConfig {
    /// Log every event ([`LogNotifier`]).
    #[serde(default)]
    pub log: bool,
    /// Webhooks to POST every event to.
    #[serde(default)]
    pub webhooks: Vec<WebhookConfig>,
    /// Programs to run with every event on stdin.
    #[serde(default)]
    pub commands: Vec<CommandConfig>,
    /// The kinds to send; `None` sends every kind.
    #[serde(default)]
    pub events: Option<Vec<EventKind>>,
}

/// One webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct WebhookConfig {
    /// Where to POST (a secret: never shown whole).
    pub url: SecretUrl,
    /// Time limit of one request (default 10 s).
    #[serde(default = "default_webhook_timeout", with = "duration")]
    pub timeout: Duration,
    /// Requests after the first one fails with a connection error, a timeout, 5xx or 429
    /// (default 3, at most 10).
    #[serde(default = "default_webhook_retries")]
    pub retries: u32,
}

fn default_webhook_timeout() -> Duration {
    DEFAULT_WEBHOOK_TIMEOUT
}

fn default_webhook_retries() -> u32 {
    DEFAULT_WEBHOOK_RETRIES
}

impl WebhookConfig {
    /// A webhook with the default timeout and retries.
    pub fn new(url: &str) -> Result<WebhookConfig, ConfigError> {
        Ok(WebhookConfig {
            url: SecretUrl::parse(url)?,
            timeout: DEFAULT_WEBHOOK_TIMEOUT,
            retries: DEFAULT_WEBHOOK_RETRIES,
        })
    }
    /// Sets the time limit of one request.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// Sets the number of retries.
    pub fn retries(mut self, retries: u32) -> Self {
        self.retries = retries;
        self
    }
}

/// One command: a program and its arguments, run without a shell.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CommandConfig {
    /// The program (a path, or a name looked up in `PATH`).
    pub program: String,
    /// Its arguments (not shown in logs: they may hold an API key).
    #[serde(default)]
    pub args: Vec<String>,
    /// Killed if it runs longer (default 30 s).
    #[serde(default = "default_command_timeout", with = "duration")]
    pub timeout: Duration,
}

fn default_command_timeout() -> Duration {
    DEFAULT_COMMAND_TIMEOUT
}

impl CommandConfig {
    /// A command with the default timeout.
    pub fn new<I, S>(program: impl Into<String>, args: I) -> CommandConfig
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        CommandConfig {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            timeout: DEFAULT_COMMAND_TIMEOUT,
        }
    }
    /// Sets the time limit.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl fmt::Debug for CommandConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandConfig")
            .field("program", &self.program)
            .field("args", &format_args!("<{} hidden>", self.args.len()))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// `<home>/notifications.json`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    default: Section,
    #[serde(default)]
    dags: HashMap<String, Section>,
}

/// A section of the file: what it sets replaces what a broader one set.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Section {
    log: Option<bool>,
    webhooks: Option<Vec<WebhookConfig>>,
    commands: Option<Vec<CommandConfig>>,
    events: Option<Vec<EventKind>>,
}

impl NotifyConfig {
    /// The configuration of DAG `dag_id`: `<home>/notifications.json` (its `default` section,
    /// then the DAG's own under `dags`), then the `ROCKET_DAG_NOTIFY_*` variables read through
    /// `env` (pass `|k| std::env::var(k).ok()` for the process environment). A missing file is
    /// an empty configuration.
    pub fn load(
        home: &Path,
        dag_id: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<NotifyConfig, ConfigError> {
        let path = home.join(CONFIG_FILE);
        let mut config = match std::fs::read_to_string(&path) {
            Ok(text) => NotifyConfig::from_json(&text, dag_id)
                .map_err(|message| ConfigError::Parse { path, message })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => NotifyConfig::default(),
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        config.apply_env(env)?;
        Ok(config)
    }

    /// Reads the file's text for one DAG.
    fn from_json(text: &str, dag_id: &str) -> Result<NotifyConfig, String> {
        let mut file: ConfigFile =
            serde_json::from_str(text).map_err(|e| redact_urls(&e.to_string()))?;
        let mut config = NotifyConfig::default();
        let own = file.dags.remove(dag_id);
        for section in std::iter::once(file.default).chain(own) {
            if let Some(log) = section.log {
                config.log = log;
            }
            if let Some(w) = section.webhooks {
                config.webhooks = w;
            }
            if let Some(c) = section.commands {
                config.commands = c;
            }
            if let Some(e) = section.events {
                config.events = Some(e);
            }
        }
        config.normalize_events();
        for c in &config.commands {
            if c.program.trim().is_empty() {
                return Err(ConfigError::EmptyCommand.to_string());
            }
        }
        Ok(config)
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(url) = env(WEBHOOK_ENV) {
            self.webhooks = if url.trim().is_empty() {
                Vec::new()
            } else {
                let hook = WebhookConfig::new(&url).map_err(|e| ConfigError::Env {
                    var: WEBHOOK_ENV,
                    message: e.to_string(),
                })?;
                vec![hook]
            };
        }
        if let Some(line) = env(COMMAND_ENV) {
            let mut words = line.split_whitespace();
            self.commands = match words.next() {
                None => Vec::new(),
                Some(program) => vec![CommandConfig::new(program, words)],
            };
        }
        if let Some(list) = env(EVENTS_ENV) {
            let kinds: Vec<EventKind> = list
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(EventKind::from)
                .collect();
            self.events = (!kinds.is_empty()).then_some(kinds);
            self.normalize_events();
        }
        Ok(())
    }

    /// `"*"` in the filter means every kind.
    fn normalize_events(&mut self) {
        if let Some(kinds) = &self.events
            && kinds.iter().any(|k| k.as_str() == "*")
        {
            self.events = None;
        }
    }

    /// `true` when nothing would be notified.
    pub fn is_empty(&self) -> bool {
        !self.log && self.webhooks.is_empty() && self.commands.is_empty()
    }
}

/// Durations in the file: `"500ms"`, `"10s"`, `"1h30m"`, or a number of seconds.
mod duration {
    use std::time::Duration;

    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(f64),
        Text(String),
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Duration, D::Error> {
        let d = match Raw::deserialize(d)? {
            Raw::Secs(s) if s.is_finite() && s > 0.0 && s < 1e9 => Duration::from_secs_f64(s),
            Raw::Secs(s) => {
                return Err(serde::de::Error::custom(format!(
                    "invalid duration {s}: give a positive number of seconds"
                )));
            }
            Raw::Text(t) => parse(&t).map_err(serde::de::Error::custom)?,
        };
        Ok(d)
    }

    /// The duration notation of DAG options ([`crate::duration`]), more than zero.
    pub(super) fn parse(s: &str) -> Result<Duration, String> {
        match crate::duration::parse(s.trim()) {
            Ok(d) if d.is_zero() => Err(format!("invalid duration `{s}`: it must be more than 0")),
            Ok(d) => Ok(d),
            Err(e) => Err(e.to_string()),
        }
    }
}

// ------------------------------------------------------------------------------ notifiers

/// Somewhere events go. Implement it to add a destination; the runtime calls it off the
/// scheduling loop, one event at a time per run, and only logs what it returns.
pub trait Notifier: fmt::Debug + Send + Sync {
    /// How logs name it; never contains a secret.
    fn name(&self) -> String;
    /// Delivers one event.
    fn notify<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), NotifyError>>;
    /// The longest one delivery may take; it is cut off a second later.
    fn max_duration(&self) -> Duration {
        Duration::from_secs(30)
    }
}

/// Logs every event (target `rocket_dag::notify`): failures as warnings, the rest as info.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogNotifier;

impl Notifier for LogNotifier {
    fn name(&self) -> String {
        "log".into()
    }

    fn notify<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), NotifyError>> {
        let failure = match event.kind {
            EventKind::TaskFailed => true,
            EventKind::RunFinished => {
                event.data.get("state").and_then(Value::as_str) != Some("success")
            }
            _ => false,
        };
        let kind = event.kind.as_str();
        // A custom event's message is the task's own words: add who raised it.
        let line = match event.kind {
            EventKind::Custom(_) => event.text(),
            _ => event.message.clone(),
        };
        if failure {
            tracing::warn!(target: "rocket_dag::notify", kind, "{line}");
        } else {
            tracing::info!(target: "rocket_dag::notify", kind, "{line}");
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn max_duration(&self) -> Duration {
        Duration::from_secs(1)
    }
}

/// POSTs `{"text": event.text(), "event": event}` to a URL (Slack-compatible), with a timeout
/// per request and retries with backoff on connection errors, timeouts, 5xx and 429.
pub struct WebhookNotifier {
    url: SecretUrl,
    timeout: Duration,
    retries: u32,
    first_backoff: Duration,
    client: reqwest::Client,
    /// Set once a delivery failed for good: the next deliveries get a single request until
    /// one succeeds, so a webhook that is down does not hold every event for its whole
    /// retry budget.
    degraded: AtomicBool,
}

impl WebhookNotifier {
    /// A webhook notifier for `config`.
    pub fn new(config: &WebhookConfig) -> Result<WebhookNotifier, ConfigError> {
        let timeout = if config.timeout.is_zero() {
            DEFAULT_WEBHOOK_TIMEOUT
        } else {
            config.timeout
        };
        let client = crate::http::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            // A redirect would turn the POST into a GET elsewhere; a webhook answers itself.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConfigError::Client(e.without_url().to_string()))?;
        Ok(WebhookNotifier {
            url: config.url.clone(),
            timeout,
            retries: config.retries.min(MAX_WEBHOOK_RETRIES),
            first_backoff: FIRST_BACKOFF,
            client,
            degraded: AtomicBool::new(false),
        })
    }

    /// Where it posts (shown without its secret).
    pub fn url(&self) -> &SecretUrl {
        &self.url
    }

    #[cfg(test)]
    fn with_backoff(mut self, first: Duration) -> Self {
        self.first_backoff = first;
        self
    }

    fn backoff(&self, retry: u32) -> Duration {
        crate::retry::Backoff::exponential(self.first_backoff)
            .max(MAX_BACKOFF)
            .delay(retry)
    }

    async fn deliver(&self, event: &Event) -> Result<(), NotifyError> {
        let body = serde_json::json!({ "text": slack_escape(&event.text()), "event": event });
        let tries = if self.degraded.load(Ordering::Relaxed) {
            1
        } else {
            self.retries + 1
        };
        let mut cause = String::new();
        for attempt in 1..=tries {
            if attempt > 1 {
                let delay = self.backoff(attempt - 1);
                tracing::debug!(
                    target: "rocket_dag::notify",
                    "webhook {}: {cause}; retrying in {}",
                    self.url,
                    format_duration(delay)
                );
                tokio::time::sleep(delay).await;
            }
            let retryable = match self
                .client
                .post(self.url.expose().clone())
                .json(&body)
                .send()
                .await
            {
                Ok(resp) if resp.status().is_success() => {
                    self.degraded.store(false, Ordering::Relaxed);
                    return Ok(());
                }
                Ok(resp) => {
                    let status = resp.status();
                    let answer = resp.text().await.unwrap_or_default();
                    cause = format!("HTTP {status}");
                    if !answer.trim().is_empty() {
                        cause.push_str(&format!(": {}", redact_urls(&excerpt(&answer))));
                    }
                    status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                }
                Err(e) => {
                    let builder = e.is_builder();
                    cause = describe(e, self.timeout);
                    !builder
                }
            };
            if !retryable {
                return Err(NotifyError::Webhook {
                    url: self.url.clone(),
                    attempts: attempt,
                    cause,
                });
            }
        }
        self.degraded.store(true, Ordering::Relaxed);
        Err(NotifyError::Webhook {
            url: self.url.clone(),
            attempts: tries,
            cause,
        })
    }
}

/// Slack reads `<…>` in `text` as a link or a mention (`<!channel>`): a cause quoting an HTML
/// page or a hostile answer must not ping anyone. Slack asks for these three escapes only.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A request error without its URL (reqwest puts the whole URL in its message), causes
/// included.
fn describe(e: reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {}", format_duration(timeout));
    }
    let e = e.without_url();
    let mut parts = vec![e.to_string()];
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    redact_urls(&parts.join(": "))
}

impl fmt::Debug for WebhookNotifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookNotifier")
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

impl Notifier for WebhookNotifier {
    fn name(&self) -> String {
        format!("webhook {}", self.url)
    }

    fn notify<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.deliver(event))
    }

    fn max_duration(&self) -> Duration {
        let tries = self.retries + 1;
        let backoff: Duration = (1..tries).map(|r| self.backoff(r)).sum();
        self.timeout * tries + backoff
    }
}

/// Runs a program with the event's JSON on stdin (and `ROCKET_DAG_EVENT_KIND`,
/// `ROCKET_DAG_EVENT_TEXT` in its environment); kills its process group at the timeout.
#[derive(Debug, Clone)]
pub struct CommandNotifier {
    config: CommandConfig,
}

impl CommandNotifier {
    /// A command notifier for `config`.
    pub fn new(config: &CommandConfig) -> Result<CommandNotifier, ConfigError> {
        if config.program.trim().is_empty() {
            return Err(ConfigError::EmptyCommand);
        }
        Ok(CommandNotifier {
            config: config.clone(),
        })
    }

    async fn deliver(&self, event: &Event) -> Result<(), NotifyError> {
        let fail = |cause: String| NotifyError::Command {
            program: self.config.program.clone(),
            cause,
        };
        let json = serde_json::to_vec(event).map_err(|e| fail(e.to_string()))?;
        let mut child = tokio::process::Command::new(&self.config.program)
            .args(&self.config.args)
            .env("ROCKET_DAG_EVENT_KIND", event.kind.as_str())
            .env("ROCKET_DAG_EVENT_TEXT", event.text())
            .stdin(std::process::Stdio::piped())
            // stdout may be the CLI's JSON document: keep it clean.
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| fail(format!("cannot start it: {e}")))?;
        // The whole group (a shell's children with it) is killed at the timeout, or when the
        // delivery itself is abandoned.
        let mut group = GroupGuard::new(child.id());
        let stdin = child.stdin.take();
        let stderr = child.stderr.take();
        let run = async {
            let write = async {
                if let Some(mut stdin) = stdin {
                    // A program that does not read its input is not a failure.
                    let _ = stdin.write_all(&json).await;
                    let _ = stdin.shutdown().await;
                }
            };
            let read = async {
                let mut tail = Vec::new();
                if let Some(mut stderr) = stderr {
                    let mut buf = [0u8; 4096];
                    // Read everything (a full pipe would block the program), keep the end.
                    while let Ok(n) = stderr.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        tail.extend_from_slice(&buf[..n]);
                        if tail.len() > 4 * EXCERPT {
                            tail.drain(..tail.len() - 2 * EXCERPT);
                        }
                    }
                }
                String::from_utf8_lossy(&tail).into_owned()
            };
            let ((), stderr) = tokio::join!(write, read);
            (child.wait().await, stderr)
        };
        let outcome = tokio::time::timeout(self.config.timeout, run).await;
        if outcome.is_ok() {
            group.disarm();
        }
        match outcome {
            Ok((Ok(status), _)) if status.success() => Ok(()),
            Ok((Ok(status), stderr)) => {
                let stderr = stderr_tail(&stderr);
                Err(fail(if stderr.is_empty() {
                    format!("{status}")
                } else {
                    format!("{status}: {stderr}")
                }))
            }
            Ok((Err(e), _)) => Err(fail(format!("cannot wait for it: {e}"))),
            Err(_) => {
                drop(group);
                let _ = child.kill().await;
                Err(fail(format!(
                    "killed after its timeout of {}",
                    format_duration(self.config.timeout)
                )))
            }
        }
    }
}

/// The last lines a program wrote on stderr, on one line.
fn stderr_tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tail = &lines[lines.len().saturating_sub(3)..];
    excerpt(&tail.join(" / "))
}

impl Notifier for CommandNotifier {
    fn name(&self) -> String {
        format!("command `{}`", self.config.program)
    }

    fn notify<'a>(&'a self, event: &'a Event) -> BoxFuture<'a, Result<(), NotifyError>> {
        Box::pin(self.deliver(event))
    }

    fn max_duration(&self) -> Duration {
        self.config.timeout + Duration::from_secs(1)
    }
}

/// The notifiers of a DAG's runs and the kinds they send. Cheap to clone.
#[derive(Clone, Default)]
pub struct Notifiers {
    list: Vec<Arc<dyn Notifier>>,
    events: Option<Arc<[EventKind]>>,
}

impl Notifiers {
    /// No notifier.
    pub fn new() -> Self {
        Notifiers::default()
    }

    /// The notifiers `config` describes.
    pub fn from_config(config: &NotifyConfig) -> Result<Notifiers, ConfigError> {
        let mut n = Notifiers::new();
        if config.log {
            n = n.with(LogNotifier);
        }
        for w in &config.webhooks {
            n = n.with(WebhookNotifier::new(w)?);
        }
        for c in &config.commands {
            n = n.with(CommandNotifier::new(c)?);
        }
        if let Some(kinds) = &config.events {
            n = n.only(kinds.iter().cloned());
        }
        Ok(n)
    }

    /// Adds a notifier.
    pub fn with(mut self, notifier: impl Notifier + 'static) -> Self {
        self.list.push(Arc::new(notifier));
        self
    }

    /// Sends only these kinds (default: every kind).
    pub fn only(mut self, kinds: impl IntoIterator<Item = EventKind>) -> Self {
        self.events = Some(kinds.into_iter().collect());
        self
    }

    /// `true` without any notifier.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Whether events of this kind are sent.
    pub fn accepts(&self, kind: &EventKind) -> bool {
        self.events.as_ref().is_none_or(|k| k.contains(kind))
    }

    /// Delivers `event` to every notifier at once (if its kind is sent) and returns when they
    /// are done; failures are logged as warnings, never returned.
    pub async fn send(&self, event: &Event) {
        if !self.accepts(&event.kind) {
            return;
        }
        let deliveries = self.list.iter().map(|n| async move {
            let limit = n.max_duration() + Duration::from_secs(1);
            let result = match tokio::time::timeout(limit, n.notify(event)).await {
                Ok(r) => r,
                Err(_) => Err(NotifyError::TimedOut {
                    notifier: n.name(),
                    after: limit,
                }),
            };
            match result {
                Ok(()) => tracing::debug!(
                    target: "rocket_dag::notify",
                    "notification {} sent to {}",
                    event.kind,
                    n.name()
                ),
                Err(e) => tracing::warn!(
                    target: "rocket_dag::notify",
                    kind = event.kind.as_str(),
                    dag_id = %event.dag_id,
                    run_id = %event.run_id,
                    "notification not delivered: {e}"
                ),
            }
        });
        futures::future::join_all(deliveries).await;
    }

    /// The longest one event's delivery may take.
    fn max_duration(&self) -> Duration {
        self.list
            .iter()
            .map(|n| n.max_duration())
            .max()
            .unwrap_or_default()
    }
}

impl fmt::Debug for Notifiers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.list.iter().map(|n| n.name()).collect();
        f.debug_struct("Notifiers")
            .field("notifiers", &names)
            .field("events", &self.events)
            .finish()
    }
}

// ------------------------------------------------------------------------------ delivery

/// The notifiers a [`crate::Runner`] uses: one set for every DAG, and sets for single DAGs.
#[derive(Debug, Clone, Default)]
pub(crate) struct Routes {
    default: Option<Notifiers>,
    dags: HashMap<String, Notifiers>,
}

impl Routes {
    pub(crate) fn set_default(&mut self, notifiers: Notifiers) {
        self.default = Some(notifiers);
    }

    pub(crate) fn set_dag(&mut self, dag_id: String, notifiers: Notifiers) {
        self.dags.insert(dag_id, notifiers);
    }

    /// The queue of one run of `dag_id`, or `None` when it notifies nothing.
    pub(crate) fn start_run(&self, dag_id: &str) -> Option<Arc<RunQueue>> {
        let n = self.dags.get(dag_id).or(self.default.as_ref())?;
        (!n.is_empty()).then(|| RunQueue::start(n.clone()))
    }
}

/// One run's events, delivered in order by a tokio task of their own, so that raising one
/// never waits for a notifier.
#[derive(Debug)]
pub(crate) struct RunQueue {
    notifiers: Notifiers,
    sender: Mutex<Option<mpsc::UnboundedSender<Event>>>,
    worker: Mutex<Option<tokio::task::JoinHandle<()>>>,
    pending: Arc<AtomicUsize>,
}

impl EventSink for RunQueue {
    fn task_event(&self, ctx: &TaskContext, kind: &str, message: String, data: Value) {
        let t = TaskTry {
            task_id: ctx.task_id(),
            map_index: ctx.map_index(),
            try_number: ctx.try_number(),
            max_tries: ctx.max_tries(),
        };
        let mut event = Event::for_try(&ctx.run, EventKind::from(kind), t, message);
        event.data = data;
        self.emit(event);
    }
}

impl RunQueue {
    fn start(notifiers: Notifiers) -> Arc<RunQueue> {
        let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
        let pending = Arc::new(AtomicUsize::new(0));
        let worker = {
            let (notifiers, pending) = (notifiers.clone(), pending.clone());
            tokio::spawn(async move {
                while let Some(event) = rx.recv().await {
                    notifiers.send(&event).await;
                    pending.fetch_sub(1, Ordering::Relaxed);
                }
            })
        };
        Arc::new(RunQueue {
            notifiers,
            sender: Mutex::new(Some(tx)),
            worker: Mutex::new(Some(worker)),
            pending,
        })
    }

    /// Queues `event` (if its kind is sent) and returns at once.
    pub(crate) fn emit(&self, event: Event) {
        if !self.notifiers.accepts(&event.kind) {
            return;
        }
        let sender = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        let event = match sender.as_ref() {
            Some(tx) => {
                self.pending.fetch_add(1, Ordering::Relaxed);
                match tx.send(event) {
                    Ok(()) => return,
                    Err(mpsc::error::SendError(event)) => {
                        self.pending.fetch_sub(1, Ordering::Relaxed);
                        event
                    }
                }
            }
            None => event,
        };
        // The run is over (a task's own tokio task raising late): deliver it on its own.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let notifiers = self.notifiers.clone();
            rt.spawn(async move { notifiers.send(&event).await });
        }
    }

    /// Closes the queue and waits until what it holds is delivered, at most as long as one
    /// delivery may take plus 5 s.
    pub(crate) async fn finish(&self) {
        drop(
            self.sender
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let worker = self
            .worker
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(worker) = worker else {
            return;
        };
        let bound = self.notifiers.max_duration() + DRAIN_SLACK;
        let abort = worker.abort_handle();
        if tokio::time::timeout(bound, worker).await.is_err() {
            abort.abort();
            tracing::warn!(
                target: "rocket_dag::notify",
                "gave up waiting for notifications after {}: {} not delivered",
                format_duration(bound),
                self.pending.load(Ordering::Relaxed)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::net::SocketAddr;
    use std::time::Instant;

    use futures::future::BoxFuture;
    use serde_json::json;

    use super::*;
    use crate::dag::DagBuilder;
    use crate::error::TaskError;
    use crate::runner::{RunRequest, RunState, Runner};
    use crate::task::{Task, TaskOptions, TaskSpec, TriggerRule, XCom};

    const SECRET: &str = "T0000/B0000/s3cr3t-t0k3n";

    /// A local webhook: records every request (path, JSON body) and answers with the queued
    /// status codes, then 200.
    #[derive(Clone, Default)]
    struct Hook {
        received: Arc<Mutex<Vec<(String, Value)>>>,
        statuses: Arc<Mutex<VecDeque<u16>>>,
    }

    impl Hook {
        fn answering(statuses: &[u16]) -> Hook {
            let hook = Hook::default();
            hook.statuses.lock().unwrap().extend(statuses);
            hook
        }

        async fn serve(&self) -> SocketAddr {
            let hook = self.clone();
            let app = axum::Router::new().fallback(
                move |uri: axum::http::Uri, body: axum::body::Bytes| {
                    let hook = hook.clone();
                    async move {
                        let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        hook.received
                            .lock()
                            .unwrap()
                            .push((uri.path().to_owned(), json));
                        let code = hook.statuses.lock().unwrap().pop_front().unwrap_or(200);
                        (
                            axum::http::StatusCode::from_u16(code).unwrap(),
                            "answer from the hook",
                        )
                    }
                },
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            addr
        }

        fn bodies(&self) -> Vec<Value> {
            self.received
                .lock()
                .unwrap()
                .iter()
                .map(|(_, b)| b.clone())
                .collect()
        }

        fn kinds(&self) -> Vec<String> {
            self.bodies()
                .iter()
                .map(|b| b["event"]["kind"].as_str().unwrap_or("?").to_owned())
                .collect()
        }
    }

    fn secret_url(addr: SocketAddr) -> String {
        format!("http://{addr}/services/{SECRET}?token=k3y")
    }

    fn webhook(url: &str, retries: u32, timeout: Duration) -> WebhookNotifier {
        let config = WebhookConfig::new(url)
            .unwrap()
            .retries(retries)
            .timeout(timeout);
        WebhookNotifier::new(&config)
            .unwrap()
            .with_backoff(Duration::from_millis(20))
    }

    /// A port nothing listens on: connections are refused.
    async fn closed_port() -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    }

    fn failed_event() -> Event {
        let ctx = TaskContext::builder("listing_2_10", "get_picture")
            .map_index(3)
            .try_number(2, 2)
            .build();
        let t = TaskTry {
            task_id: "get_picture",
            map_index: Some(3),
            try_number: 2,
            max_tries: 2,
        };
        Event::task_failed(&ctx.run, t, "HTTP status server error (503)")
    }

    #[test]
    fn events_name_the_dag_run_task_element_try_and_cause() {
        let e = failed_event();
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["kind"], "task_failed");
        assert_eq!(v["dag_id"], "listing_2_10");
        assert!(v["run_id"].as_str().unwrap().starts_with("manual__"));
        assert_eq!(v["task_id"], "get_picture");
        assert_eq!(v["map_index"], 3);
        assert_eq!(v["try_number"], 2);
        assert_eq!(v["max_tries"], 2);
        assert_eq!(v["cause"], "HTTP status server error (503)");
        assert!(v.get("data").is_none());
        assert!(
            e.text()
                .contains("task `get_picture[3]` of DAG `listing_2_10` failed on try 2 of 2")
        );
        assert_eq!(serde_json::from_value::<Event>(v).unwrap(), e);

        assert_eq!(EventKind::from("run_finished"), EventKind::RunFinished);
        assert_eq!(
            EventKind::from("no_images".to_owned()),
            EventKind::Custom("no_images".into())
        );
        assert_eq!(String::from(EventKind::TaskRetrying), "task_retrying");
        let only = Notifiers::new()
            .with(LogNotifier)
            .only([EventKind::TaskFailed]);
        assert!(only.accepts(&EventKind::TaskFailed));
        assert!(!only.accepts(&EventKind::Custom("no_images".into())));
        assert!(Notifiers::new().accepts(&EventKind::RunFinished));
    }

    #[tokio::test]
    async fn a_webhook_receives_the_slack_text_and_the_event() {
        let hook = Hook::default();
        let addr = hook.serve().await;
        let n = webhook(&secret_url(addr), 3, Duration::from_secs(5));
        let event = failed_event();
        n.notify(&event).await.unwrap();
        let received = hook.received.lock().unwrap().clone();
        assert_eq!(received.len(), 1);
        let (path, body) = &received[0];
        assert_eq!(path, &format!("/services/{SECRET}"));
        assert_eq!(body["text"], event.text());
        assert_eq!(body["event"], serde_json::to_value(&event).unwrap());

        // Nothing in a cause can ping a channel.
        let mut hostile = failed_event();
        hostile.message = "<!channel> 5 > 4 & <html>".into();
        n.notify(&hostile).await.unwrap();
        assert_eq!(
            hook.bodies()[1]["text"],
            "&lt;!channel&gt; 5 &gt; 4 &amp; &lt;html&gt;"
        );
        assert_eq!(
            hook.bodies()[1]["event"]["message"],
            "<!channel> 5 > 4 & <html>"
        );
    }

    #[tokio::test]
    async fn a_webhook_answering_500_twice_is_retried_until_it_accepts() {
        let hook = Hook::answering(&[500, 503]);
        let addr = hook.serve().await;
        let n = webhook(&secret_url(addr), 3, Duration::from_secs(5));
        n.notify(&failed_event()).await.unwrap();
        assert_eq!(hook.bodies().len(), 3);

        // 429 is retried too; the budget is retries + 1 requests.
        let hook = Hook::answering(&[429, 429, 429]);
        let addr = hook.serve().await;
        let n = webhook(&secret_url(addr), 1, Duration::from_secs(5));
        let err = n.notify(&failed_event()).await.unwrap_err();
        assert!(
            matches!(&err, NotifyError::Webhook { attempts: 2, cause, .. } if cause.starts_with("HTTP 429")),
            "{err}"
        );
        assert_eq!(hook.bodies().len(), 2);
    }

    #[tokio::test]
    async fn a_404_is_not_retried() {
        let hook = Hook::answering(&[404]);
        let addr = hook.serve().await;
        let n = webhook(&secret_url(addr), 3, Duration::from_secs(5));
        let err = n.notify(&failed_event()).await.unwrap_err();
        assert!(
            matches!(&err, NotifyError::Webhook { attempts: 1, cause, .. }
                if cause.contains("404") && cause.contains("answer from the hook")),
            "{err}"
        );
        assert_eq!(hook.bodies().len(), 1);
    }

    #[tokio::test]
    async fn a_webhook_that_is_down_fails_nothing_and_returns_within_its_bound() {
        let addr = closed_port().await;
        let n = webhook(&secret_url(addr), 2, Duration::from_secs(2));
        let bound = n.max_duration();
        let clock = Instant::now();
        let err = n.notify(&failed_event()).await.unwrap_err();
        assert!(
            clock.elapsed() < bound,
            "{:?} >= {bound:?}",
            clock.elapsed()
        );
        assert!(
            matches!(err, NotifyError::Webhook { attempts: 3, .. }),
            "{err}"
        );
        // Down for good: the next delivery makes a single request.
        let err = n.notify(&failed_event()).await.unwrap_err();
        assert!(
            matches!(err, NotifyError::Webhook { attempts: 1, .. }),
            "{err}"
        );

        // A whole run notifying it succeeds, and is not held up.
        let home = tempfile::tempdir().unwrap();
        let mut b = DagBuilder::new("calm");
        b.add::<Fine>();
        let dag = b.build().unwrap();
        let runner = Runner::new(home.path())
            .attempt_logs(false)
            .with_notifications(Notifiers::new().with(webhook(
                &secret_url(addr),
                2,
                Duration::from_secs(2),
            )));
        let clock = Instant::now();
        let report = runner.run(&dag, RunRequest::new(Utc::now())).await;
        assert_eq!(report.state, RunState::Success);
        assert!(clock.elapsed() < bound, "{:?}", clock.elapsed());
    }

    #[tokio::test]
    async fn a_command_gets_the_event_on_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("event.json");
        let config = CommandConfig::new(
            "sh",
            [
                "-c",
                r#"cat > "$1"; printf '%s' "$ROCKET_DAG_EVENT_KIND" > "$1.kind""#,
                "sh",
                file.to_str().unwrap(),
            ],
        );
        let n = CommandNotifier::new(&config).unwrap();
        let event = failed_event();
        n.notify(&event).await.unwrap();
        let got: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(got, serde_json::to_value(&event).unwrap());
        let kind = std::fs::read_to_string(dir.path().join("event.json.kind")).unwrap();
        assert_eq!(kind, "task_failed");
    }

    #[tokio::test]
    async fn a_failing_or_hanging_command_is_reported_and_killed() {
        let fails = CommandConfig::new("sh", ["-c", "echo 'no route to pager' >&2; exit 3"]);
        let err = CommandNotifier::new(&fails)
            .unwrap()
            .notify(&failed_event())
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("command `sh`") && text.contains("3"),
            "{text}"
        );
        assert!(text.contains("no route to pager"), "{text}");
        assert!(!text.contains("exit 3"), "arguments are not shown: {text}");

        let hangs =
            CommandConfig::new("sh", ["-c", "sleep 30 & wait"]).timeout(Duration::from_millis(300));
        let clock = Instant::now();
        let err = CommandNotifier::new(&hangs)
            .unwrap()
            .notify(&failed_event())
            .await
            .unwrap_err();
        assert!(clock.elapsed() < Duration::from_secs(5));
        assert!(
            err.to_string()
                .contains("killed after its timeout of 300ms"),
            "{err}"
        );

        let missing = CommandConfig::new("/no/such/notifier", Vec::<String>::new());
        let err = CommandNotifier::new(&missing)
            .unwrap()
            .notify(&failed_event())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("cannot start it"), "{err}");
    }

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| vars.get(k).cloned()
    }

    #[test]
    fn the_file_then_the_dag_section_then_the_environment() {
        let home = tempfile::tempdir().unwrap();
        let none = env(&[]);
        // No file: nothing.
        assert!(
            NotifyConfig::load(home.path(), "any", &none)
                .unwrap()
                .is_empty()
        );

        std::fs::write(
            home.path().join(CONFIG_FILE),
            r#"{
              "default": {
                "log": true,
                "webhooks": [{"url": "https://hooks.example.com/services/T0/B0/XXXX", "timeout": "5s", "retries": 2}],
                "events": ["task_failed", "run_finished"]
              },
              "dags": {
                "quiet": {"log": false, "webhooks": []},
                "paged": {"commands": [{"program": "page", "args": ["--key", "k3y"], "timeout": 2}], "events": ["*"]}
              }
            }"#,
        )
        .unwrap();
        let c = NotifyConfig::load(home.path(), "other", &none).unwrap();
        assert!(c.log);
        assert_eq!(c.webhooks.len(), 1);
        assert_eq!(c.webhooks[0].timeout, Duration::from_secs(5));
        assert_eq!(c.webhooks[0].retries, 2);
        assert_eq!(c.webhooks[0].url.expose().path(), "/services/T0/B0/XXXX");
        assert!(c.commands.is_empty());
        assert_eq!(
            c.events,
            Some(vec![EventKind::TaskFailed, EventKind::RunFinished])
        );

        assert!(
            NotifyConfig::load(home.path(), "quiet", &none)
                .unwrap()
                .is_empty()
        );

        let c = NotifyConfig::load(home.path(), "paged", &none).unwrap();
        assert_eq!(c.webhooks.len(), 1, "inherited from default");
        assert_eq!(c.commands[0].program, "page");
        assert_eq!(c.commands[0].args, ["--key", "k3y"]);
        assert_eq!(c.commands[0].timeout, Duration::from_secs(2));
        assert_eq!(c.events, None, "\"*\" sends every kind");

        // The environment replaces what the file says.
        let vars = env(&[
            (WEBHOOK_ENV, "https://chat.example.org/hooks/abc"),
            (COMMAND_ENV, "  notify-send  -u critical "),
            (EVENTS_ENV, "task_failed, no_images,"),
        ]);
        let c = NotifyConfig::load(home.path(), "quiet", &vars).unwrap();
        assert!(!c.log);
        assert_eq!(c.webhooks.len(), 1);
        assert_eq!(
            c.webhooks[0].url.expose().host_str(),
            Some("chat.example.org")
        );
        assert_eq!(c.webhooks[0].timeout, DEFAULT_WEBHOOK_TIMEOUT);
        assert_eq!(c.webhooks[0].retries, DEFAULT_WEBHOOK_RETRIES);
        assert_eq!(c.commands[0].program, "notify-send");
        assert_eq!(c.commands[0].args, ["-u", "critical"]);
        assert_eq!(
            c.events,
            Some(vec![
                EventKind::TaskFailed,
                EventKind::Custom("no_images".into())
            ])
        );
        let n = Notifiers::from_config(&c).unwrap();
        assert_eq!(n.list.len(), 2);
        assert!(!n.accepts(&EventKind::RunFinished));

        // Empty values turn things off; `*` lifts the filter.
        let vars = env(&[(WEBHOOK_ENV, ""), (COMMAND_ENV, " "), (EVENTS_ENV, "*")]);
        let c = NotifyConfig::load(home.path(), "paged", &vars).unwrap();
        assert!(c.webhooks.is_empty() && c.commands.is_empty() && c.log);
        assert_eq!(c.events, None);

        // Mistakes are errors.
        let err = NotifyConfig::load(
            home.path(),
            "x",
            env(&[(WEBHOOK_ENV, "ftp://h/secretpath")]),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Env {
                    var: WEBHOOK_ENV,
                    ..
                }
            ),
            "{err}"
        );
        assert!(!err.to_string().contains("secretpath"), "{err}");
        for (bad, says) in [
            (r#"{"default": {"webhook": []}}"#, "unknown field `webhook`"),
            (
                r#"{"default": {"commands": [{"program": "p", "timeout": "5 minutes"}]}}"#,
                "invalid duration `5 minutes`",
            ),
            (
                r#"{"default": {"commands": [{"program": " "}]}}"#,
                "needs a program",
            ),
            (
                r#"{"default": {"webhooks": [{"url": "not a url"}]}}"#,
                "invalid webhook URL",
            ),
        ] {
            std::fs::write(home.path().join(CONFIG_FILE), bad).unwrap();
            let err = NotifyConfig::load(home.path(), "x", &none).unwrap_err();
            assert!(matches!(err, ConfigError::Parse { .. }), "{err}");
            assert!(err.to_string().contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn urls_in_messages_are_redacted() {
        assert_eq!(
            redact_urls("error for url (https://hooks.slack.com/services/T/B/X?k=1): refused"),
            "error for url (https://hooks.slack.com/…): refused"
        );
        assert_eq!(
            redact_urls("…https://h.example:8443/s3cret and «ftp://x/y» and a://"),
            "…https://h.example:8443/… and «ftp://x/… and a://…"
        );
        assert_eq!(redact_urls("no url here"), "no url here");
    }

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn webhook_secrets_never_show_in_messages_logs_or_debug() {
        let hook = Hook::answering(&[404]);
        let up = hook.serve().await;
        let down = closed_port().await;
        let (url_up, url_down) = (secret_url(up), secret_url(down));

        let shown = SecretUrl::parse(&url_up).unwrap();
        assert_eq!(shown.to_string(), format!("http://{up}/…"));
        let with_user = SecretUrl::parse("https://user:pa55@hooks.slack.com/services/x").unwrap();
        assert_eq!(with_user.to_string(), "https://hooks.slack.com/…");

        let config = NotifyConfig {
            log: true,
            webhooks: vec![WebhookConfig::new(&url_up).unwrap()],
            commands: vec![CommandConfig::new("page", ["--api-key", "k3y-pa55"])],
            events: None,
        };
        let notifiers = Notifiers::from_config(&config).unwrap().with(webhook(
            &url_down,
            1,
            Duration::from_secs(2),
        ));
        let debug = format!(
            "{config:?} {notifiers:?} {:?}",
            webhook(&url_up, 0, Duration::from_secs(1))
        );
        for secret in [SECRET, "k3y", "services", "pa55"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(debug.contains(&format!("http://{up}/…")), "{debug}");

        // A serde message that would quote a misplaced URL.
        let err = NotifyConfig::from_json(
            &format!(r#"{{"default": {{"webhooks": "{url_up}"}}}}"#),
            "x",
        )
        .unwrap_err();
        assert!(
            !err.contains(SECRET) && err.contains(&format!("http://{up}/…")),
            "{err}"
        );

        // Failed deliveries (a 404, a refused connection) log a warning without the secret.
        let logs = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer({
                let logs = logs.clone();
                move || logs.clone()
            })
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .finish();
        {
            let _guard = tracing::subscriber::set_default(subscriber);
            let only_hooks = Notifiers::new()
                .with(webhook(&url_up, 2, Duration::from_secs(2)))
                .with(webhook(&url_down, 1, Duration::from_secs(2)));
            only_hooks.send(&failed_event()).await;
        }
        let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        let warnings: Vec<&str> = logs.lines().filter(|l| l.contains("WARN")).collect();
        assert_eq!(warnings.len(), 2, "{logs}");
        assert!(warnings.iter().any(|w| w.contains("HTTP 404")), "{logs}");
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(&format!("http://{down}/…"))),
            "{logs}"
        );
        for secret in [SECRET, "services", "token", "k3y"] {
            assert!(!logs.contains(secret), "{secret} in {logs}");
        }
    }

    struct Fine;

    impl Task for Fine {
        type Output = ();
        const ID: &'static str = "fine";
        fn spec() -> TaskSpec {
            TaskSpec::new("fine")
        }
        fn call<'a>(_: &'a TaskContext, _: &'a [XCom]) -> BoxFuture<'a, Result<(), TaskError>> {
            Box::pin(async { Ok(()) })
        }
    }

    struct Boom;

    impl Task for Boom {
        type Output = ();
        const ID: &'static str = "boom";
        fn spec() -> TaskSpec {
            let mut s = TaskSpec::new("boom");
            s.options = TaskOptions::new()
                .retries(1)
                .retry_delay(Duration::from_millis(10));
            s
        }
        fn call<'a>(_: &'a TaskContext, _: &'a [XCom]) -> BoxFuture<'a, Result<(), TaskError>> {
            Box::pin(async { Err(TaskError::msg("the API answered 503")) })
        }
    }

    /// Runs anyway and reports, as the Rocket DAG's `notify` does.
    struct Report;

    impl Task for Report {
        type Output = ();
        const ID: &'static str = "report";
        fn spec() -> TaskSpec {
            let mut s = TaskSpec::new("report");
            s.options = TaskOptions::new().trigger_rule(TriggerRule::AllDone);
            s
        }
        fn call<'a>(ctx: &'a TaskContext, _: &'a [XCom]) -> BoxFuture<'a, Result<(), TaskError>> {
            Box::pin(async move {
                ctx.notify(
                    "task_failed",
                    "tasks cannot pose as the runner",
                    Value::Null,
                );
                ctx.notify("no_images", "no images in this run", json!({ "images": 0 }));
                Ok(())
            })
        }
    }

    #[tokio::test]
    async fn a_failing_task_notifies_retrying_failed_then_the_run_finished() {
        let hook = Hook::default();
        let addr = hook.serve().await;
        let mut b = DagBuilder::new("notified");
        let boom = b.add::<Boom>();
        let report = b.add::<Report>();
        b.edge(boom, report);
        let dag = b.build().unwrap();
        let home = tempfile::tempdir().unwrap();
        let runner = Runner::new(home.path())
            .attempt_logs(false)
            .with_notifications(Notifiers::new().with(LogNotifier))
            .with_dag_notifications(
                "notified",
                Notifiers::new().with(webhook(&secret_url(addr), 1, Duration::from_secs(5))),
            );
        let r = runner.run(&dag, RunRequest::new(Utc::now())).await;
        assert_eq!(r.state, RunState::Failed);

        // Delivered, in order, before `run` returned.
        assert_eq!(
            hook.kinds(),
            ["task_retrying", "task_failed", "no_images", "run_finished"]
        );
        let events: Vec<Value> = hook
            .bodies()
            .into_iter()
            .map(|b| b["event"].clone())
            .collect();
        let (retrying, failed, custom, finished) = (&events[0], &events[1], &events[2], &events[3]);
        for e in &events {
            assert_eq!(e["dag_id"], "notified");
            assert_eq!(e["run_id"], r.run_id.as_str());
        }
        assert_eq!(retrying["task_id"], "boom");
        assert_eq!(retrying["try_number"], 1);
        assert_eq!(retrying["max_tries"], 2);
        assert_eq!(retrying["data"]["retry_in_secs"], 0.01);
        assert!(retrying["cause"].as_str().unwrap().contains("503"));
        assert_eq!(failed["try_number"], 2);
        assert!(failed["cause"].as_str().unwrap().contains("503"));
        assert!(failed.get("map_index").is_none());
        assert_eq!(custom["task_id"], "report");
        assert_eq!(custom["message"], "no images in this run");
        assert_eq!(custom["data"], json!({ "images": 0 }));
        assert_eq!(finished["data"]["state"], "failed");
        assert_eq!(finished["data"]["failed_tasks"], json!(["boom"]));
        assert_eq!(finished["data"]["summary"], r.summary_table());
        let text = hook.bodies()[3]["text"].as_str().unwrap().to_owned();
        assert!(
            text.contains("; failed tasks: boom") && text.contains("```"),
            "{text}"
        );

        // Another DAG on the same runner uses the default notifiers: the webhook hears nothing.
        let mut b = DagBuilder::new("other");
        b.add::<Boom>();
        runner
            .run(&b.build().unwrap(), RunRequest::new(Utc::now()))
            .await;
        assert_eq!(hook.bodies().len(), 4);
    }
}

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
//! - **email** (`EmailNotifier`, the crate's `email` feature, on by default): one plain-text
//!   email per event over SMTP (Airflow's `email_on_failure`), subject
//!   `[rocket-dag] <kind>: <dag>/<task>` on one line (control characters in ids become spaces:
//!   nothing can add a header), body the event's text then its JSON. `starttls` (the default)
//!   requires the server's `STARTTLS` with no fallback to plain text, `tls` is implicit TLS,
//!   `none` is only allowed to a loopback host. Each attempt has a timeout; connection errors,
//!   timeouts and 4xx replies are retried with the webhook's backoff, 5xx replies are not; after
//!   a failure for good, one try until one succeeds, as for webhooks.
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
//!     "email": {"host": "smtp.example.com", "security": "starttls", "from": "rocket-dag <dags@example.com>",
//!               "to": ["oncall@example.com"], "timeout": "10s", "retries": 3},
//!     "events": ["task_failed", "run_finished", "image_failures", "no_images"]
//!   },
//!   "dags": {
//!     "listing_2_10_mapped": {"events": ["task_failed", "run_finished"], "email": null}
//!   }
//! }
//! ```
//!
//! - `default` applies to every DAG; a section under `dags` replaces, for that DAG, the fields
//!   it sets (`"webhooks": []` turns the default webhooks off for it, `"email": null` the
//!   email).
//! - `log` (default `false`), `webhooks`, `commands`, `email` ([`EmailConfig`]: `host`, `port`
//!   (default 587, 465 or 25 from `security`), `security` (`starttls`, `tls`, `none`), `from`,
//!   `to` (an address or a list), `timeout`, `retries`), `events` (the kinds to send; absent, or
//!   a list containing `"*"`, sends every kind).
//! - Durations are written `"500ms"`, `"10s"`, `"2m"` (or a number of seconds). Webhook and
//!   email defaults: `timeout` 10 s, `retries` 3 (at most 10). Command default: `timeout` 30 s.
//!
//! Environment variables override the file (for every DAG):
//!
//! | variable | effect |
//! |---|---|
//! | `ROCKET_DAG_NOTIFY_WEBHOOK` | a URL: replaces the webhooks with this one (defaults for timeout and retries); empty: no webhook |
//! | `ROCKET_DAG_NOTIFY_COMMAND` | a command line, split on whitespace (no shell, no quoting): replaces the commands with it; empty: no command |
//! | `ROCKET_DAG_NOTIFY_EVENTS` | a comma-separated list of kinds: replaces `events`; empty or `*`: every kind |
//! | `ROCKET_DAG_SMTP_HOST` | the SMTP host: turns email on for every DAG, over the file's other email settings if any; empty: no email |
//! | `ROCKET_DAG_SMTP_PORT`, `ROCKET_DAG_SMTP_SECURITY`, `ROCKET_DAG_SMTP_FROM`, `ROCKET_DAG_SMTP_TO` (comma-separated) | replace that email setting; without a host (file or variable) an error, unless the DAG's section says `"email": null` |
//! | `ROCKET_DAG_SMTP_USERNAME`, `ROCKET_DAG_SMTP_PASSWORD` | the SMTP login, both or neither; only from the environment, never from the file |
//!
//! # Secrets
//!
//! A webhook URL's path and query are its secret (Slack's are): [`SecretUrl`] shows only
//! `scheme://host[:port]/…` in `Display`, `Debug`, error messages and logs, and configuration
//! errors never quote the URL. A command's arguments (which may hold an API key) are not shown
//! either, only the program. The SMTP password ([`SmtpCredentials`]) is never in a message, a
//! log line or `Debug` (lettre is built without its `tracing` feature, which logs `AUTH`).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;

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
/// The email notifier's SMTP host: turns email on for every DAG (empty: off).
pub const SMTP_HOST_ENV: &str = "ROCKET_DAG_SMTP_HOST";
/// The SMTP port (default: 587, 465 or 25 from the security).
pub const SMTP_PORT_ENV: &str = "ROCKET_DAG_SMTP_PORT";
/// `starttls` (default), `tls` or `none` (loopback hosts only).
pub const SMTP_SECURITY_ENV: &str = "ROCKET_DAG_SMTP_SECURITY";
/// The sender's address.
pub const SMTP_FROM_ENV: &str = "ROCKET_DAG_SMTP_FROM";
/// The recipients, comma-separated.
pub const SMTP_TO_ENV: &str = "ROCKET_DAG_SMTP_TO";
/// The SMTP login's user name (with [`SMTP_PASSWORD_ENV`]).
pub const SMTP_USERNAME_ENV: &str = "ROCKET_DAG_SMTP_USERNAME";
/// The SMTP login's password: never logged or shown.
pub const SMTP_PASSWORD_ENV: &str = "ROCKET_DAG_SMTP_PASSWORD";

const DEFAULT_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_WEBHOOK_RETRIES: u32 = 3;
/// More than this would make the end-of-run wait unreasonable.
const MAX_WEBHOOK_RETRIES: u32 = 10;
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(4);
const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_EMAIL_TIMEOUT: Duration = Duration::from_secs(10);
/// Added to the longest delivery when waiting for a run's queue to drain.
const DRAIN_SLACK: Duration = Duration::from_secs(5);
/// How much of a failed webhook's answer or a command's stderr goes into the warning.
const EXCERPT: usize = 300;

mod command;
mod config;
mod delivery;
#[cfg(feature = "email")]
mod email;
mod event;
mod queue;
mod secret;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_email;
mod webhook;

pub use command::CommandNotifier;
pub use config::{CommandConfig, EmailConfig, NotifyConfig, SmtpSecurity, WebhookConfig};
#[cfg(feature = "email")]
pub use email::EmailNotifier;
pub(crate) use event::TaskTry;
pub use event::{Event, EventKind};
pub(crate) use queue::{Routes, RunQueue};
pub use secret::{SecretUrl, SmtpCredentials};
pub use webhook::WebhookNotifier;

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
    /// The SMTP server did not take the email.
    #[error("email via {server}: {cause} ({attempts} attempt(s))")]
    Email {
        /// The SMTP server, `host:port`.
        server: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure: the server's reply, or a connection or TLS error (never the
        /// password).
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
    /// Email settings that cannot be used (an address that does not parse, `none` security to
    /// a host that is not the loopback, a build without the `email` feature).
    #[error("invalid email notification settings: {0}")]
    Email(String),
}

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
        if let Some(e) = &config.email {
            #[cfg(feature = "email")]
            {
                n = n.with(EmailNotifier::new(e)?);
            }
            #[cfg(not(feature = "email"))]
            {
                let _ = e;
                return Err(ConfigError::Email(
                    "this build of rocket-dag has no email support (its `email` feature is off)"
                        .into(),
                ));
            }
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

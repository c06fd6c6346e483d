//! What a notification carries: its kind and the run, task and try it is about.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::*;

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

    pub(super) fn for_try(
        info: &RunInfo,
        kind: EventKind,
        t: TaskTry<'_>,
        message: String,
    ) -> Event {
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

pub(super) fn label(task_id: &str, map_index: Option<u32>) -> String {
    match map_index {
        Some(i) => format!("{task_id}[{i}]"),
        None => task_id.to_owned(),
    }
}

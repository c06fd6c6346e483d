//! Errors: what a task returns when it fails, and what building or running a DAG can report.

use std::fmt;

/// The error a task returns.
///
/// Any `std::error::Error` converts into it with `?` (I/O, `reqwest`, `serde_json`, …), as with
/// `anyhow`. Add context with [`ResultExt::context`]. A task can also ask to be skipped
/// ([`TaskError::skip`], Airflow's `AirflowSkipException`) or to fail without retries
/// ([`TaskError::fail_now`], Airflow's `AirflowFailException`).
///
/// Like `anyhow::Error`, it does not implement `std::error::Error` itself (that would conflict
/// with the blanket `From`); [`TaskError::chain`] walks the causes.
pub struct TaskError {
    kind: TaskErrorKind,
    /// Context messages, outermost first.
    context: Vec<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    message: Option<String>,
}

/// What kind of outcome a [`TaskError`] stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskErrorKind {
    /// An ordinary failure: retried while tries are left.
    Failed,
    /// The task asked not to be retried.
    FailNow,
    /// The task asked to be skipped.
    Skip,
    /// The attempt ran longer than `execution_timeout`.
    Timeout,
    /// The attempt panicked.
    Panic,
    /// The run was interrupted (Ctrl-C / SIGTERM) while the attempt ran.
    Cancelled,
    /// An upstream output could not be read back as the type this task takes.
    Input,
    /// A failure retrying cannot cure, found in the error's causes: a host name that does not
    /// exist, a URL that is not http(s), permission denied, a full disk or a read-only file
    /// system. Not retried.
    Permanent,
}

impl TaskError {
    fn with_kind(kind: TaskErrorKind, message: impl Into<String>) -> Self {
        TaskError {
            kind,
            context: Vec::new(),
            source: None,
            message: Some(message.into()),
        }
    }

    /// A failure with a message.
    pub fn msg(message: impl fmt::Display) -> Self {
        Self::with_kind(TaskErrorKind::Failed, message.to_string())
    }

    /// Ask the runtime to mark this task `skipped` (downstream tasks follow their trigger rules).
    pub fn skip(reason: impl fmt::Display) -> Self {
        Self::with_kind(TaskErrorKind::Skip, reason.to_string())
    }

    /// Fail the task now, without using its remaining retries.
    pub fn fail_now(reason: impl fmt::Display) -> Self {
        Self::with_kind(TaskErrorKind::FailNow, reason.to_string())
    }

    pub(crate) fn timeout(after: std::time::Duration) -> Self {
        Self::with_kind(
            TaskErrorKind::Timeout,
            format!(
                "attempt exceeded its execution_timeout of {}",
                crate::duration::format(after)
            ),
        )
    }

    pub(crate) fn panic(message: String) -> Self {
        Self::with_kind(TaskErrorKind::Panic, format!("task panicked: {message}"))
    }

    pub(crate) fn cancelled(why: &str) -> Self {
        Self::with_kind(
            TaskErrorKind::Cancelled,
            format!("attempt cancelled: {why}"),
        )
    }

    pub(crate) fn input(message: String) -> Self {
        Self::with_kind(TaskErrorKind::Input, message)
    }

    /// Wraps this error in one more line of context (shown first).
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.context.insert(0, context.to_string());
        self
    }

    /// What kind of outcome this error stands for.
    pub fn kind(&self) -> TaskErrorKind {
        self.kind
    }

    /// `true` if the task asked to be skipped.
    pub fn is_skip(&self) -> bool {
        self.kind == TaskErrorKind::Skip
    }

    /// `true` if the runtime may retry the task after this error.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            TaskErrorKind::Failed | TaskErrorKind::Timeout | TaskErrorKind::Panic
        )
    }

    /// The underlying error, if this was converted from one.
    pub fn source(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.source.as_deref()
    }

    /// Every message from the outermost context down to the root cause.
    pub fn chain(&self) -> Vec<String> {
        let mut out = self.context.clone();
        if let Some(m) = &self.message {
            out.push(m.clone());
        }
        let mut cause: Option<&(dyn std::error::Error + 'static)> = match &self.source {
            Some(s) => Some(s.as_ref()),
            None => None,
        };
        while let Some(e) = cause {
            let text = e.to_string();
            // reqwest and friends repeat their cause in Display; keep the chain readable.
            if out.last() != Some(&text) {
                out.push(text);
            }
            cause = e.source();
        }
        out
    }
}

impl<E> From<E> for TaskError
where
    E: std::error::Error + Send + Sync + 'static,
{
    /// Keeps `error` as the cause; an error that retrying cannot cure (see
    /// [`TaskErrorKind::Permanent`]) fails the task without using its retries.
    fn from(error: E) -> Self {
        let kind = if cannot_heal(&error).is_some() {
            TaskErrorKind::Permanent
        } else {
            TaskErrorKind::Failed
        };
        TaskError {
            kind,
            context: Vec::new(),
            source: Some(Box::new(error)),
            message: None,
        }
    }
}

/// Why retrying cannot cure `err`, looking through its causes, if that is so.
pub(crate) fn cannot_heal(err: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    use std::io::ErrorKind as K;
    let mut cause = Some(err);
    while let Some(e) = cause {
        if let Some(r) = e.downcast_ref::<reqwest::Error>()
            && let Some(why) = crate::http::permanent_failure(r)
        {
            return Some(why);
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            let why = match io.kind() {
                K::PermissionDenied => Some("permission denied"),
                K::StorageFull => Some("no space left on the device"),
                K::ReadOnlyFilesystem => Some("read-only file system"),
                K::QuotaExceeded => Some("disk quota exceeded"),
                K::FileTooLarge => Some("file too large"),
                _ => None,
            };
            if why.is_some() {
                return why;
            }
        }
        cause = e.source();
    }
    None
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.chain().join(": "))
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskError")
            .field("kind", &self.kind)
            .field("chain", &self.chain())
            .finish()
    }
}

/// Adds context to a failing `Result` or an empty `Option`, anyhow-style.
///
/// ```
/// use rocket_dag::prelude::*;
///
/// fn read(path: &str) -> Result<String, TaskError> {
///     std::fs::read_to_string(path).context(format!("reading {path}"))
/// }
/// assert!(read("/no/such/file").unwrap_err().to_string().starts_with("reading /no/such/file: "));
/// ```
pub trait ResultExt<T> {
    /// Turns the error into a [`TaskError`] with `context` in front of it.
    fn context(self, context: impl fmt::Display) -> Result<T, TaskError>;
    /// Like [`ResultExt::context`], computing the context only on error.
    fn with_context<C: fmt::Display>(self, context: impl FnOnce() -> C) -> Result<T, TaskError>;
}

impl<T, E: Into<TaskError>> ResultExt<T> for Result<T, E> {
    fn context(self, context: impl fmt::Display) -> Result<T, TaskError> {
        self.map_err(|e| e.into().context(context))
    }
    fn with_context<C: fmt::Display>(self, context: impl FnOnce() -> C) -> Result<T, TaskError> {
        self.map_err(|e| e.into().context(context()))
    }
}

impl<T> ResultExt<T> for Option<T> {
    fn context(self, context: impl fmt::Display) -> Result<T, TaskError> {
        self.ok_or_else(|| TaskError::msg(context))
    }
    fn with_context<C: fmt::Display>(self, context: impl FnOnce() -> C) -> Result<T, TaskError> {
        self.ok_or_else(|| TaskError::msg(context()))
    }
}

/// A DAG that cannot be built (only possible through [`crate::DagBuilder`]; the `#[dag]` macro
/// rejects these at compile time).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DagError {
    /// Two tasks have the same id.
    #[error("DAG `{dag}` has two tasks with the id `{task}`")]
    DuplicateTask {
        /// The DAG.
        dag: String,
        /// The id used twice.
        task: String,
    },
    /// A DAG id that is not letters, digits, `_`, `-` and `.` (ids become directory names).
    #[error("{0}")]
    InvalidDagId(crate::ids::InvalidId),
    /// A task id that is not letters, digits, `_`, `-` and `.` (ids become directory names).
    #[error("DAG `{dag}`: invalid task id `{task}`: use letters, digits, `_`, `-` and `.`")]
    InvalidTaskId {
        /// The DAG.
        dag: String,
        /// The id.
        task: String,
    },
    /// A task added without the upstream outputs its parameters need.
    #[error("DAG `{dag}`: task `{task}` takes {expected} upstream output(s) but was given {given}")]
    MissingInputs {
        /// The DAG.
        dag: String,
        /// The task.
        task: String,
        /// Parameters that take upstream outputs.
        expected: usize,
        /// Upstream handles given.
        given: usize,
    },
    /// An edge names a handle from another builder.
    #[error("DAG `{dag}`: an edge uses handle #{index}, which belongs to another DAG")]
    ForeignHandle {
        /// The DAG.
        dag: String,
        /// The handle's index.
        index: usize,
    },
    /// No task has this id.
    #[error("DAG `{dag}` has no task `{task}`")]
    UnknownTask {
        /// The DAG.
        dag: String,
        /// The id looked for.
        task: String,
    },
    /// A map index that does not fit the task: given for a task that is not mapped, missing
    /// for one that is, or past the end of its lists.
    #[error("DAG `{dag}`, task `{task}`: {message}")]
    MapIndex {
        /// The DAG.
        dag: String,
        /// The task.
        task: String,
        /// What is wrong.
        message: String,
    },
    /// Edges form a cycle; the path names every task on it.
    #[error("DAG `{dag}` has a cycle: {}", path.join(" -> "))]
    Cycle {
        /// The DAG.
        dag: String,
        /// The task ids on the cycle, the first repeated at the end.
        path: Vec<String>,
    },
    /// An invalid option value (schedule, time zone, date).
    #[error("DAG `{dag}`: invalid {option}: {message}")]
    InvalidOption {
        /// The DAG.
        dag: String,
        /// The option's name.
        option: &'static str,
        /// What is wrong with it.
        message: String,
    },
}

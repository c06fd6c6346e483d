//! Logging through `tracing`: every attempt's events go to its own file (Airflow's layout) and
//! the console shows concise lines tagged with the task id.
//!
//! The runtime runs each attempt inside a `task` span; [`attempt_log_layer`] routes the events
//! of that span (and of spans nested in it; a task that spawns tokio tasks of its own passes the
//! span on with `tracing::Instrument::in_current_span`) to
//! `<home>/logs/dag_id=<dag>/run_id=<run>/task_id=<task>/attempt=<n>.log`.
//! [`init`] installs it with the console layer; if your program installs its own subscriber,
//! add [`attempt_log_layer`] to it.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

static FILE_LAYER_BUILT: AtomicBool = AtomicBool::new(false);
#[cfg(feature = "cli")]
static PROGRESS_BAR: std::sync::Mutex<Option<indicatif::ProgressBar>> = std::sync::Mutex::new(None);

/// Shows console log lines above `bar` while it is drawn (`None` when it is done).
#[cfg(feature = "cli")]
pub fn set_progress_bar(bar: Option<indicatif::ProgressBar>) {
    if let Ok(mut b) = PROGRESS_BAR.lock() {
        *b = bar;
    }
}

static CONSOLE_ON_STDOUT: AtomicBool = AtomicBool::new(false);

/// Sends console lines to standard output instead of standard error: a worker of another
/// engine (`tasks run` under Airflow) prints its attempt's log where that engine reads it.
pub fn console_on_stdout(on: bool) {
    CONSOLE_ON_STDOUT.store(on, Ordering::Relaxed);
}

/// Writes a console line, around the command line's progress bar if one is drawn.
fn console_line(line: &str) {
    if CONSOLE_ON_STDOUT.load(Ordering::Relaxed) {
        println!("{line}");
        return;
    }
    // eprintln! (not a raw stderr handle) so the test harness captures it.
    #[cfg(feature = "cli")]
    if let Some(bar) = PROGRESS_BAR.lock().ok().and_then(|b| b.clone()) {
        bar.suspend(|| eprintln!("{line}"));
        return;
    }
    eprintln!("{line}");
}
static NEXT_FILE: AtomicU64 = AtomicU64::new(0);

/// Environment variable for the level of the attempt log files (default `info`); `RUST_LOG`
/// filters the console.
pub const FILE_LOG_ENV: &str = "ROCKET_DAG_LOG";

/// Installs the global subscriber: console lines filtered by `RUST_LOG` (default `info`) and the
/// attempt log files. Returns `false` if a global subscriber was already set.
pub fn init() -> bool {
    let console_filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::registry()
        .with(ConsoleLayer::new().with_filter(console_filter))
        .with(attempt_log_layer())
        .try_init()
        .is_ok()
}

/// Says once, when a run wants attempt log files and no [`attempt_log_layer`] was built, how to
/// get them. Nothing is installed behind the program's back: the command line calls [`init`],
/// a program calls it (or adds the layer to its own subscriber) itself.
pub(crate) fn check_installed() {
    if FILE_LAYER_BUILT.load(Ordering::Relaxed) {
        return;
    }
    static SAID: AtomicBool = AtomicBool::new(false);
    if !SAID.swap(true, Ordering::Relaxed) {
        // To stderr: without a subscriber, a tracing event would go nowhere.
        eprintln!(
            "rocket-dag: attempt log files are not written: call rocket_dag::logging::init() at \
             start, or add rocket_dag::logging::attempt_log_layer() to your tracing subscriber"
        );
    }
}

/// The layer that writes each attempt's events to its log file, filtered by `ROCKET_DAG_LOG`
/// (default `info`).
pub fn attempt_log_layer<S>() -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    FILE_LAYER_BUILT.store(true, Ordering::Relaxed);
    let filter = EnvFilter::try_from_env(FILE_LOG_ENV).unwrap_or_else(|_| EnvFilter::new("info"));
    AttemptFileLayer.with_filter(filter)
}

/// Stored in the extensions of an attempt's span.
struct AttemptLog {
    task_id: Arc<str>,
    /// Key of its file in the writer thread; `None` when the run keeps no log files.
    file: Option<u64>,
}

#[derive(Default)]
struct SpanFields {
    task_id: Option<String>,
    log: Option<String>,
}

impl Visit for SpanFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "task_id" => self.task_id = Some(value.to_owned()),
            "log" => self.log = Some(value.to_owned()),
            _ => {}
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "task_id" => self.task_id = Some(format!("{value:?}")),
            "log" => self.log = Some(format!("{value:?}")),
            _ => {}
        }
    }
}

fn is_attempt_span(attrs: &Attributes<'_>) -> bool {
    let m = attrs.metadata();
    m.name() == "task" && m.target() == "rocket_dag::task"
}

struct AttemptFileLayer;

impl<S> Layer<S> for AttemptFileLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if !is_attempt_span(attrs) {
            return;
        }
        let mut fields = SpanFields::default();
        attrs.record(&mut fields);
        let file = fields.log.filter(|p| !p.is_empty()).map(|path| {
            let key = NEXT_FILE.fetch_add(1, Ordering::Relaxed);
            writer::send(writer::Msg::Open(key, path.into()));
            key
        });
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(AttemptLog {
                task_id: fields.task_id.unwrap_or_default().into(),
                file,
            });
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        for span in scope {
            let ext = span.extensions();
            if let Some(log) = ext.get::<AttemptLog>() {
                if let Some(key) = log.file {
                    let mut line = String::with_capacity(128);
                    let _ = write!(
                        line,
                        "[{}] {:<5} {}: ",
                        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ"),
                        event.metadata().level(),
                        event.metadata().target()
                    );
                    format_fields(event, &mut line);
                    line.push('\n');
                    writer::send(writer::Msg::Line(key, line));
                }
                return;
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id)
            && let Some(log) = span.extensions().get::<AttemptLog>()
            && let Some(key) = log.file
        {
            writer::send(writer::Msg::Close(key));
        }
    }
}

/// Writes `message key=value …` for an event, control characters written out
/// ([`crate::escape::control`]): what a task logs often carries data (an API's error body, a
/// launch name), and a line break or an escape sequence in it would forge log lines or drive
/// the terminal.
fn format_fields(event: &Event<'_>, out: &mut String) {
    struct V<'a> {
        out: &'a mut String,
        message: Option<String>,
        rest: String,
    }
    impl Visit for V<'_> {
        fn record_str(&mut self, field: &Field, value: &str) {
            if field.name() == "message" {
                self.message = Some(value.to_owned());
            } else {
                let _ = write!(self.rest, " {}={}", field.name(), value);
            }
        }
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            if field.name() == "message" {
                self.message = Some(format!("{value:?}"));
            } else {
                let _ = write!(self.rest, " {}={:?}", field.name(), value);
            }
        }
    }
    let mut v = V {
        out,
        message: None,
        rest: String::new(),
    };
    event.record(&mut v);
    if let Some(m) = v.message.take() {
        v.out.push_str(&crate::escape::control(&m));
    }
    let rest = std::mem::take(&mut v.rest);
    v.out.push_str(&crate::escape::control(&rest));
}

/// Concise console lines: `12:00:01 INFO  [download_launches] message`.
struct ConsoleLayer {
    color: bool,
}

impl ConsoleLayer {
    fn new() -> Self {
        ConsoleLayer {
            color: std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }
}

impl<S> Layer<S> for ConsoleLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        // The file layer may be filtered out at this level; keep the task id for the console.
        if !is_attempt_span(attrs) {
            return;
        }
        let mut fields = SpanFields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut()
                .insert(ConsoleTag(fields.task_id.unwrap_or_default().into()));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut task: Option<Arc<str>> = None;
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                if let Some(tag) = span.extensions().get::<ConsoleTag>() {
                    task = Some(tag.0.clone());
                    break;
                }
                if let Some(log) = span.extensions().get::<AttemptLog>() {
                    task = Some(log.task_id.clone());
                    break;
                }
            }
        }
        let mut line = String::with_capacity(128);
        let level = *meta.level();
        let (pre, post) = if self.color {
            let c = match level {
                Level::ERROR => "\x1b[31m",
                Level::WARN => "\x1b[33m",
                Level::INFO => "\x1b[32m",
                _ => "\x1b[2m",
            };
            (c, "\x1b[0m")
        } else {
            ("", "")
        };
        let _ = write!(
            line,
            "{} {pre}{:<5}{post} ",
            chrono::Local::now().format("%H:%M:%S%.3f"),
            level
        );
        match &task {
            Some(t) => {
                let _ = write!(line, "[{t}] ");
            }
            None if !meta.target().starts_with("rocket_dag") => {
                let _ = write!(line, "{}: ", meta.target());
            }
            None => {}
        }
        format_fields(event, &mut line);
        console_line(&line);
    }
}

struct ConsoleTag(Arc<str>);

/// Waits until every log line emitted so far is written to its file (the runner calls it at
/// the end of a run, so a finished run's logs are complete on disk).
pub async fn flush() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    if writer::send(writer::Msg::Flush(tx)) {
        let _ = rx.await;
    }
}

/// Appends a line to a log file through the writer, after everything sent before it.
pub(crate) fn append(path: std::path::PathBuf, line: String) {
    writer::send(writer::Msg::Append(path, line));
}

/// File I/O happens on one dedicated thread, so a task never waits on the disk for its logs
/// (creating a file costs tens of microseconds here, more than the runtime's own work per task).
mod writer {
    use std::collections::HashMap;
    use std::fs::File;
    use std::io::{BufWriter, Write};
    use std::path::{Path, PathBuf};
    use std::sync::OnceLock;
    use std::sync::mpsc;

    pub(super) enum Msg {
        Open(u64, PathBuf),
        Line(u64, String),
        Close(u64),
        Append(PathBuf, String),
        Flush(tokio::sync::oneshot::Sender<()>),
    }

    static SENDER: OnceLock<Option<mpsc::Sender<Msg>>> = OnceLock::new();

    /// Queues a message; `false` if the writer thread could not be started.
    pub(super) fn send(msg: Msg) -> bool {
        let sender = SENDER.get_or_init(|| {
            let (tx, rx) = mpsc::channel();
            std::thread::Builder::new()
                .name("rocket-dag-logs".into())
                .spawn(move || run(rx))
                .map_err(|e| eprintln!("rocket-dag: cannot start the log writer thread: {e}"))
                .ok()
                .map(|_| tx)
        });
        sender.as_ref().is_some_and(|tx| tx.send(msg).is_ok())
    }

    fn open(path: &Path) -> Option<BufWriter<File>> {
        let result = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| File::create(path));
        match result {
            Ok(f) => Some(BufWriter::new(f)),
            Err(e) => {
                eprintln!("rocket-dag: cannot open log file {}: {e}", path.display());
                None
            }
        }
    }

    /// Writes what arrives; whenever the queue is empty, flushes every file written since, so a
    /// line is on disk (in the page cache: a `kill -9` keeps it) as soon as the writer has
    /// caught up, and a burst of lines still costs one write per file.
    fn run(rx: mpsc::Receiver<Msg>) {
        let mut files: HashMap<u64, Option<BufWriter<File>>> = HashMap::new();
        let mut dirty: std::collections::HashSet<u64> = std::collections::HashSet::new();
        loop {
            let msg = match rx.try_recv() {
                Ok(msg) => msg,
                Err(mpsc::TryRecvError::Empty) => {
                    for key in dirty.drain() {
                        if let Some(Some(f)) = files.get_mut(&key) {
                            let _ = f.flush();
                        }
                    }
                    match rx.recv() {
                        Ok(msg) => msg,
                        Err(_) => return,
                    }
                }
                Err(mpsc::TryRecvError::Disconnected) => return,
            };
            match msg {
                Msg::Open(key, path) => {
                    files.insert(key, open(&path));
                }
                Msg::Line(key, line) => {
                    if let Some(Some(f)) = files.get_mut(&key) {
                        let _ = f.write_all(line.as_bytes());
                        dirty.insert(key);
                    }
                }
                Msg::Close(key) => {
                    if let Some(Some(mut f)) = files.remove(&key) {
                        let _ = f.flush();
                    }
                }
                Msg::Append(path, line) => {
                    let file = File::options().create(true).append(true).open(&path);
                    if let Ok(mut f) = file.map(BufWriter::new) {
                        let _ = writeln!(f, "{line}");
                        let _ = f.flush();
                    }
                }
                Msg::Flush(done) => {
                    for f in files.values_mut().flatten() {
                        let _ = f.flush();
                    }
                    let _ = done.send(());
                }
            }
        }
    }
}

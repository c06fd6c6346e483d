//! Logging through `tracing`: every attempt's events go to its own file (Airflow's layout) and
//! the console shows concise lines tagged with the task id.
//!
//! The runtime runs each attempt inside a `task` span; [`attempt_log_layer`] routes the events
//! of that span (and of spans and tasks nested in it) to
//! `<home>/logs/dag_id=<dag>/run_id=<run>/task_id=<task>/attempt=<n>.log`.
//! [`init`] installs it with the console layer; if your program installs its own subscriber,
//! add [`attempt_log_layer`] to it.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

static FILE_LAYER_BUILT: AtomicBool = AtomicBool::new(false);

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

/// Makes sure attempt logs are written: installs [`init`]'s subscriber unless one exists; if a
/// foreign subscriber without [`attempt_log_layer`] is installed, warns once.
pub(crate) fn ensure_installed() {
    if FILE_LAYER_BUILT.load(Ordering::Relaxed) {
        return;
    }
    if !init() {
        static WARNED: AtomicBool = AtomicBool::new(false);
        if !WARNED.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "attempt log files are off: add rocket_dag::logging::attempt_log_layer() to your tracing subscriber"
            );
        }
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
    file: Option<Arc<Mutex<BufWriter<File>>>>,
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
        let file = fields.log.and_then(|path| {
            let path = std::path::PathBuf::from(path);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).ok()?;
            }
            match File::options().create(true).append(true).open(&path) {
                Ok(f) => Some(Arc::new(Mutex::new(BufWriter::new(f)))),
                Err(e) => {
                    eprintln!("rocket-dag: cannot open log file {}: {e}", path.display());
                    None
                }
            }
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
                if let Some(file) = &log.file {
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
                    if let Ok(mut f) = file.lock() {
                        let _ = f.write_all(line.as_bytes());
                    }
                }
                return;
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(&id)
            && let Some(log) = span.extensions().get::<AttemptLog>()
            && let Some(file) = &log.file
            && let Ok(mut f) = file.lock()
        {
            let _ = f.flush();
        }
    }
}

/// Writes `message key=value …` for an event.
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
        v.out.push_str(&m);
    }
    let rest = std::mem::take(&mut v.rest);
    v.out.push_str(&rest);
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
        // eprintln! (not a raw stderr handle) so the test harness captures it.
        eprintln!("{line}");
    }
}

struct ConsoleTag(Arc<str>);

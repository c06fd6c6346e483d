//! The command line: [`main`] turns any binary that builds DAGs into an Airflow-style CLI
//! (`dags list|show|next-execution|test`, `tasks list|test`, `logs`), with human-readable output
//! by default and `--output json` for scripts.
//!
//! Exit codes: 0 success, 1 a run or task failed (or its history could not be recorded), 2 a
//! usage error (unknown DAG or task, bad argument, unusable notification configuration), 75 the
//! run is being executed by another process ([`BUSY`]), 130 interrupted by Ctrl-C or SIGTERM.
//!
//! Everything printed from data (errors, log lines) is escaped for the terminal
//! ([`crate::escape::control`]); ids given on the command line are checked by [`crate::ids`]
//! before they reach a path or the store.
//!
//! `dags test`, `dags backfill` and `scheduler` send each DAG's notifications as configured in
//! `<home>/notifications.json` and the `ROCKET_DAG_NOTIFY_WEBHOOK`, `ROCKET_DAG_NOTIFY_COMMAND`
//! and `ROCKET_DAG_NOTIFY_EVENTS` variables (format and precedence: [`crate::notify`]).

mod pictures;

use crate::store::{latest_tries, mapped_state};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use serde_json::{Map, Value};

use crate::dag::Dag;
use crate::runner::{DagRunReport, RunRequest, RunState, Runner};

/// The exit code when the run asked for is being executed by another process (`EX_TEMPFAIL`:
/// try again later, or wait with `--wait`).
pub const BUSY: u8 = 75;

/// Arguments of a one-off run (`dags test DAG [DATE]`, `tasks test DAG TASK [DATE]`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RunArgs {
    /// Logical date: YYYY-MM-DD or RFC 3339 [default: now]
    #[arg(value_name = "DATE")]
    pub logical_date: Option<String>,
    /// A param for the tasks, repeatable: -p key=value (value parsed as JSON if it can be)
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Params as one JSON object (Airflow's --conf)
    #[arg(long, value_name = "JSON")]
    pub conf: Option<String>,
}

/// A map index: from 0 to 2,147,483,647 (the store keeps it as a signed 32-bit number, -1
/// meaning "not mapped").
fn map_index(s: &str) -> Result<u32, String> {
    let n: u32 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a map index (a number from 0)"))?;
    if n > i32::MAX as u32 {
        return Err(format!(
            "map index {n} is out of range: at most {}",
            i32::MAX
        ));
    }
    Ok(n)
}

/// A bad command-line value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ArgError(String);

impl RunArgs {
    /// The run request these arguments describe. Without a date, the logical date is now, to
    /// the microsecond (Airflow's precision), so every run "now" is a run of its own.
    pub fn request(&self) -> Result<RunRequest, ArgError> {
        let date = match &self.logical_date {
            None => {
                let now = Utc::now();
                now.with_nanosecond(now.nanosecond() / 1_000 * 1_000)
                    .unwrap_or(now)
            }
            Some(s) => parse_date(s)?,
        };
        let mut params = match &self.conf {
            None => Map::new(),
            Some(json) => match serde_json::from_str::<Value>(json) {
                Ok(Value::Object(m)) => m,
                Ok(_) => return Err(ArgError("--conf must be a JSON object".into())),
                Err(e) => return Err(ArgError(format!("--conf is not valid JSON: {e}"))),
            },
        };
        for p in &self.params {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| ArgError(format!("--param `{p}`: expected KEY=VALUE")))?;
            let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_owned()));
            params.insert(k.to_owned(), value);
        }
        Ok(RunRequest::new(date).params(params))
    }
}

/// The earliest logical date accepted.
pub const MIN_DATE: &str = "1000-01-01";
/// The latest logical date accepted: schedules are computed up to the year 5000.
pub const MAX_DATE: &str = "4999-01-01";

/// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS` (UTC) or RFC 3339, between [`MIN_DATE`] and
/// [`MAX_DATE`] (a date outside cannot be scheduled: it is refused, not miscomputed).
pub fn parse_date(s: &str) -> Result<DateTime<Utc>, ArgError> {
    let date = if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        d.with_timezone(&Utc)
    } else if let Ok(d) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S") {
        Utc.from_utc_datetime(&d)
    } else if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight exists"))
    } else {
        return Err(ArgError(format!(
            "invalid date `{}`: expected YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS or RFC 3339",
            crate::escape::control(s)
        )));
    };
    let bound = |d: &str| {
        let day = NaiveDate::parse_from_str(d, "%Y-%m-%d").expect("a valid bound");
        Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).expect("midnight exists"))
    };
    if date < bound(MIN_DATE) || date > bound(MAX_DATE) {
        return Err(ArgError(format!(
            "date `{}` is out of the supported range {MIN_DATE} to {MAX_DATE}",
            crate::escape::control(s)
        )));
    }
    Ok(date)
}

/// Runs `dag` once as `airflow dags test` does: console logs, Ctrl-C/SIGTERM handling, the
/// summary table on stdout. Exit code 0 on success, 1 on failure, 130 when interrupted,
/// [`BUSY`] when another process executes the run (unless `wait`: then it waits for it).
pub async fn test_dag(
    dag: &Dag,
    global: &GlobalArgs,
    args: &RunArgs,
    wait: bool,
) -> (ExitCode, Option<DagRunReport>) {
    crate::logging::init();
    let output = global.output;
    let mut request = match args.request() {
        Ok(r) => r,
        Err(e) => return (usage(e), None),
    };
    let store = match open_store(global).await {
        Ok(s) => s,
        Err(code) => return (code, None),
    };
    if args.logical_date.is_none() {
        // "Now" is a new run each time, even within one microsecond of the last.
        loop {
            let id = crate::runner::run_id(request.run_type.as_str(), request.logical_date);
            match store.get_run(dag.id(), &id).await {
                Ok(None) => break,
                Ok(Some(_)) => request.logical_date += chrono::Duration::microseconds(1),
                Err(e) => return (fail(e), None),
            }
        }
    }
    let mut runner = match global.runner([dag]) {
        Ok(r) => r.with_store(store),
        Err(code) => return (code, None),
    };
    // A progress bar when a person watches; plain log lines otherwise (pipes, CI, JSON).
    let bar = (output == Output::Text && std::io::stdout().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(dag.tasks().len() as u64).with_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{bar:30}] {pos}/{len} tasks  {elapsed}  {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        crate::logging::set_progress_bar(Some(bar.clone()));
        let hook = bar.clone();
        runner = runner.clone().on_progress(move |p| {
            hook.set_position(p.finished as u64);
            hook.set_message(format!("{}: {}", p.task_id, p.state));
        });
        bar
    });
    runner.cancel_on_signals();
    let mut said = false;
    let report = loop {
        let report = runner.run(dag, request.clone()).await;
        match &report.error {
            Some(e @ crate::RunError::Busy { .. })
                if wait && !runner.cancellation_token().is_cancelled() =>
            {
                if !said {
                    eprintln!(
                        "{}; waiting for it to finish (Ctrl-C stops waiting)",
                        escaped(e)
                    );
                    said = true;
                }
                let stop = runner.cancellation_token();
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
                    _ = stop.cancelled() => {}
                }
            }
            _ => break report,
        }
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
        crate::logging::set_progress_bar(None);
    }
    if let Some(
        e @ (crate::RunError::Busy { .. }
        | crate::RunError::InvalidRunId { .. }
        | crate::RunError::NotStarted),
    ) = &report.error
    {
        let code = match e {
            crate::RunError::NotStarted => ExitCode::from(130),
            crate::RunError::Busy { .. } if runner.cancellation_token().is_cancelled() => {
                ExitCode::from(130)
            }
            crate::RunError::Busy { .. } => {
                eprintln!(
                    "error: {}; try again once it has finished, or add --wait",
                    escaped(e)
                );
                return (ExitCode::from(BUSY), Some(report));
            }
            _ => usage(e),
        };
        return (code, Some(report));
    }
    match output {
        Output::Text => println!("\n{}", report.summary_table()),
        Output::Json => print_json(&report),
    }
    let code = match (report.state, report.interrupted) {
        (RunState::Success, _) => ExitCode::SUCCESS,
        (_, true) => ExitCode::from(130),
        _ => ExitCode::FAILURE,
    };
    (code, Some(report))
}

/// What `dags show` prints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ShowFormat {
    /// Options, tasks, edges, next run (or JSON with `--output json`).
    #[default]
    Text,
    /// A Mermaid flowchart.
    Mermaid,
    /// Graphviz DOT.
    Dot,
    /// SVG: left to right, coloured by layer, or by task state with `--run`.
    Svg,
    /// draw.io: the tasks in Source / Storage / Business swimlanes.
    Drawio,
}

/// Output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// For people.
    #[default]
    Text,
    /// For scripts: one JSON document on stdout.
    Json,
}

/// Options every subcommand takes.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct GlobalArgs {
    /// Home directory for logs/ and data/ [default: ./.rocket-dag]
    #[arg(long, global = true, env = crate::home::HOME_ENV, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Params every run this process starts gets (a binary's own options, such as the
    /// example's `--launches-url` and `--offline`, set them): `dags test`, `tasks test`,
    /// backfills and every run the scheduler starts, triggered ones included. A run's own
    /// `-p`/`--conf` override them.
    #[arg(skip)]
    pub params: Map<String, Value>,
}

impl GlobalArgs {
    /// The home directory: `--home`, `$ROCKET_DAG_HOME`, or `./.rocket-dag`.
    pub fn home(&self) -> PathBuf {
        self.home.clone().unwrap_or_else(crate::home::default_home)
    }

    /// The runner of the runs this command starts: the home, the process's params
    /// ([`GlobalArgs::params`]) and each DAG's notifications (`<home>/notifications.json`, the
    /// `ROCKET_DAG_NOTIFY_*` variables); a notification configuration that cannot be used is a
    /// usage error, rather than runs that silently notify nobody.
    pub fn runner<'a>(&self, dags: impl IntoIterator<Item = &'a Dag>) -> Result<Runner, ExitCode> {
        let home = self.home();
        let runner = Runner::new(&home).default_params(self.params.clone());
        with_notifications(runner, &home, dags)
    }
}

/// The command line of a binary that registers DAGs.
#[derive(Debug, clap::Parser)]
#[command(
    version,
    about = "Run and inspect rocket-dag DAGs (Airflow's CLI, for Rust DAGs)"
)]
pub struct Cli {
    /// Options every subcommand takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// A subcommand.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Inspect and run DAGs
    #[command(subcommand)]
    Dags(DagsCommand),
    /// Inspect and run single tasks
    #[command(subcommand)]
    Tasks(TasksCommand),
    /// Print the log of a task attempt
    Logs(LogsArgs),
    /// Inspect recorded runs
    #[command(subcommand)]
    Runs(RunsCommand),
    /// Run the DAGs on their schedules until Ctrl-C or SIGTERM (one scheduler per home)
    Scheduler,
    /// Draw a run as a Gantt chart: one row per task instance, one bar per attempt
    Gantt {
        /// DAG id
        #[arg(value_parser = crate::ids::parse_dag)]
        dag: String,
        /// Run id, or `latest` [default: the run that started last]
        #[arg(long, value_name = "RUN_ID", value_parser = crate::ids::parse_run)]
        run: Option<String>,
        /// The file to write: .svg, or .html (self-contained) [default:
        /// HOME/exports/DAG/gantt-RUN.html]
        #[arg(long, value_name = "FILE.svg|FILE.html")]
        out: Option<PathBuf>,
    },
    /// Chart each task's duration across the last runs of a DAG (which task to optimise)
    Durations {
        /// DAG id
        #[arg(value_parser = crate::ids::parse_dag)]
        dag: String,
        /// How many runs, newest first
        #[arg(long, default_value_t = 20)]
        last: u32,
        /// The file to write: .svg, or .html (chart and table) [default:
        /// HOME/exports/DAG/durations.html]
        #[arg(long, value_name = "FILE.svg|FILE.html")]
        out: Option<PathBuf>,
    },
    /// Draw the solution's architecture from the assets tasks read and write (Source /
    /// Storage / Business)
    Architecture {
        /// Only these DAGs [default: every DAG]
        #[arg(value_parser = crate::ids::parse_dag)]
        dags: Vec<String>,
        /// The file to write: .drawio (opens in diagrams.net) or .svg [default:
        /// HOME/exports/architecture.drawio]
        #[arg(long, value_name = "FILE.drawio|FILE.svg")]
        out: Option<PathBuf>,
    },
    /// Write a run's report: statement, code, graph, architecture, Gantt chart, logs, results
    Report {
        /// DAG id
        #[arg(value_parser = crate::ids::parse_dag)]
        dag: String,
        /// Run id, or `latest` [default: the run that started last]
        #[arg(long, value_name = "RUN_ID", value_parser = crate::ids::parse_run)]
        run: Option<String>,
        /// The HTML file to write (self-contained; prints to PDF from a browser) [default:
        /// HOME/exports/DAG/report-RUN.html]
        #[arg(long, value_name = "FILE.html")]
        out: Option<PathBuf>,
        /// Also print it to this PDF through headless Chromium
        #[arg(long, value_name = "FILE.pdf")]
        pdf: Option<PathBuf>,
    },
    /// Write a DAG's runs (records as JSON), logs and data into one .tar.gz
    Export {
        /// DAG id
        #[arg(value_parser = crate::ids::parse_dag)]
        dag: String,
        /// Only this run [default: every recorded run]
        #[arg(long, value_parser = crate::ids::parse_run)]
        run: Option<String>,
        /// The archive to write [default: HOME/exports/DAG-TIME.tar.gz]; never inside the
        /// home's database, data or logs
        #[arg(long, value_name = "FILE.tar.gz")]
        out: Option<PathBuf>,
        /// Replace the archive if it exists
        #[arg(long)]
        force: bool,
    },
}

/// `runs …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum RunsCommand {
    /// List recorded runs, newest logical date first
    List {
        /// Only this DAG
        dag: Option<String>,
        /// Only runs in this state: queued, running, success, failed
        #[arg(long)]
        state: Option<String>,
        /// At most this many
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Set the state of a recorded run (Airflow's "mark run as success/failed")
    Mark {
        /// DAG id
        #[arg(value_parser = crate::ids::parse_dag)]
        dag: String,
        /// Run id
        #[arg(long, value_parser = crate::ids::parse_run)]
        run: String,
        /// success or failed
        #[arg(long, value_parser = ["success", "failed"])]
        state: String,
    },
}

/// `dags …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum DagsCommand {
    /// List the DAGs
    List,
    /// Show a DAG: options, tasks, edges, next run; or its graph as Mermaid, DOT, SVG or
    /// draw.io
    Show {
        /// DAG id
        #[arg(value_parser = crate::ids::parse_dag)]
        dag: String,
        /// text (options, tasks, edges, next run), mermaid, dot (Graphviz), svg, or drawio
        /// (swimlanes by layer)
        #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
        format: ShowFormat,
        /// With --format svg: colour the tasks by their state in this run (`latest`: the run
        /// that started last)
        #[arg(long, value_name = "RUN_ID", value_parser = crate::ids::parse_run)]
        run: Option<String>,
        /// Write to this file instead of stdout
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// The next run the schedule asks for (its data interval)
    NextExecution {
        /// DAG id
        #[arg(value_parser = crate::ids::parse_dag)]
        dag: String,
    },
    /// Run every schedule interval whose logical date is in [--start, --end], in order, up to
    /// max_active_runs at once; runs that already succeeded are skipped unless --reset
    Backfill {
        /// DAG id
        #[arg(value_parser = crate::ids::parse_dag)]
        dag: String,
        /// First logical date: YYYY-MM-DD or RFC 3339
        #[arg(long)]
        start: String,
        /// Last logical date (inclusive)
        #[arg(long)]
        end: String,
        /// Run again the runs that already succeeded (all their tasks)
        #[arg(long)]
        reset: bool,
        /// A param for the tasks, repeatable: -p key=value
        #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
        /// Params as one JSON object
        #[arg(long, value_name = "JSON")]
        conf: Option<String>,
    },
    /// Queue a manual run now; a running `scheduler` on this home starts it at once
    Trigger {
        /// DAG id
        #[arg(value_parser = crate::ids::parse_dag)]
        dag: String,
        /// Params as one JSON object (Airflow's --conf)
        #[arg(long, value_name = "JSON")]
        conf: Option<String>,
        /// A param, repeatable: -p key=value
        #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
    },
    /// Pause a DAG: the scheduler starts no new run of it
    Pause {
        /// DAG id
        #[arg(value_parser = crate::ids::parse_dag)]
        dag: String,
    },
    /// Unpause a DAG
    Unpause {
        /// DAG id
        #[arg(value_parser = crate::ids::parse_dag)]
        dag: String,
    },
    /// Run the DAG once now, for a logical date (recorded; running it again for the same date
    /// resumes it: tasks that succeeded are not run again)
    Test {
        /// DAG id
        #[arg(value_parser = crate::ids::parse_dag)]
        dag: String,
        /// The run's date and params.
        #[command(flatten)]
        run: RunArgs,
        /// If another process is executing this run, wait for it to finish (then resume what
        /// is left) instead of exiting with code 75
        #[arg(long)]
        wait: bool,
    },
}

/// `tasks …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum TasksCommand {
    /// List a DAG's tasks in topological order
    List {
        /// DAG id
        #[arg(value_parser = crate::ids::parse_dag)]
        dag: String,
    },
    /// The state of a task in a recorded run (its latest try; for a mapped task, the state
    /// its elements add up to, or one element's with --map-index)
    State {
        /// DAG id
        #[arg(value_parser = crate::ids::parse_dag)]
        dag: String,
        /// Run id
        #[arg(long, value_parser = crate::ids::parse_run)]
        run: String,
        /// Task id
        #[arg(value_parser = crate::ids::parse_task)]
        task: String,
        /// One element of a mapped task
        #[arg(long, value_parser = map_index)]
        map_index: Option<u32>,
    },
    /// Clear a task of a recorded run (and with --downstream everything after it) so that the
    /// next `dags test` of that run runs it again
    Clear {
        /// DAG id
        #[arg(value_parser = crate::ids::parse_dag)]
        dag: String,
        /// Run id
        #[arg(long, value_parser = crate::ids::parse_run)]
        run: String,
        /// Task id
        #[arg(value_parser = crate::ids::parse_task)]
        task: String,
        /// Clear every task downstream of it too
        #[arg(long)]
        downstream: bool,
    },
    /// Run one task once, without dependency checks or retries (its log goes to the console)
    Test {
        /// DAG id
        #[arg(value_parser = crate::ids::parse_dag)]
        dag: String,
        /// Task id
        #[arg(value_parser = crate::ids::parse_task)]
        task: String,
        /// For a mapped task: which element to run
        #[arg(long, value_parser = map_index)]
        map_index: Option<u32>,
        /// The run's date and params.
        #[command(flatten)]
        run: RunArgs,
    },
    /// Set the state of a task of a recorded run (Airflow's "mark success/failed"): marked
    /// success, it is not run again when the run resumes; marked failed, it is
    Mark {
        /// DAG id
        #[arg(value_parser = crate::ids::parse_dag)]
        dag: String,
        /// Run id
        #[arg(long, value_parser = crate::ids::parse_run)]
        run: String,
        /// Task id
        #[arg(value_parser = crate::ids::parse_task)]
        task: String,
        /// success or failed
        #[arg(long, value_parser = ["success", "failed"])]
        state: String,
        /// Only this element of a mapped task [default: every element]
        #[arg(long, value_parser = map_index)]
        map_index: Option<u32>,
        /// Mark every task downstream of it too
        #[arg(long)]
        downstream: bool,
    },
}

/// `logs DAG --run RUN TASK [--attempt N]`
#[derive(Debug, Clone, clap::Args)]
pub struct LogsArgs {
    /// DAG id
    #[arg(value_parser = crate::ids::parse_dag)]
    pub dag: String,
    /// Run id, e.g. manual__2024-01-01T00:00:00+00:00
    #[arg(long, value_parser = crate::ids::parse_run)]
    pub run: String,
    /// Task id
    #[arg(value_parser = crate::ids::parse_task)]
    pub task: String,
    /// Attempt number [default: the latest]
    #[arg(long)]
    pub attempt: Option<u32>,
    /// For a mapped task: the element's log
    #[arg(long, value_parser = map_index)]
    pub map_index: Option<u32>,
    /// Keep printing what is appended to the log until the attempt ends (Ctrl-C stops)
    #[arg(long, short = 'f')]
    pub follow: bool,
}

/// Parses the process's arguments and runs the command over `dags` on a new tokio runtime:
/// the whole `main` of a DAG binary.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     rocket_dag::cli::main(vec![/* my_dag(), … */])
/// }
/// ```
pub fn main(dags: Vec<Dag>) -> ExitCode {
    let cli = <Cli as clap::Parser>::parse();
    match tokio::runtime::Runtime::new() {
        Ok(rt) => rt.block_on(execute(&dags, cli.command, &cli.global)),
        Err(e) => {
            eprintln!("error: cannot start the tokio runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Gives each DAG the notifications configured for it in `home` (`<home>/notifications.json`
/// and the `ROCKET_DAG_NOTIFY_*` variables, see [`crate::notify`]); a configuration that
/// cannot be used is a usage error, rather than a run that silently notifies nobody.
fn with_notifications<'a>(
    mut runner: Runner,
    home: &Path,
    dags: impl IntoIterator<Item = &'a Dag>,
) -> Result<Runner, ExitCode> {
    use crate::notify::{Notifiers, NotifyConfig};
    for dag in dags {
        let notifiers = NotifyConfig::load(home, dag.id(), |k| std::env::var(k).ok())
            .and_then(|c| Notifiers::from_config(&c))
            .map_err(|e| usage(format!("DAG `{}`: {e}", dag.id())))?;
        if !notifiers.is_empty() {
            tracing::debug!("DAG `{}` notifies {notifiers:?}", dag.id());
            runner = runner.with_dag_notifications(dag.id(), notifiers);
        }
    }
    Ok(runner)
}

fn usage(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {}", escaped(e));
    ExitCode::from(2)
}

/// `e` as text for the terminal: control characters written out.
fn escaped(e: impl std::fmt::Display) -> String {
    crate::escape::control(&e.to_string()).into_owned()
}

fn print_json(value: &impl serde::Serialize) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: cannot write JSON: {e}"),
    }
}

fn find<'a>(dags: &'a [Dag], id: &str) -> Result<&'a Dag, ExitCode> {
    dags.iter().find(|d| d.id() == id).ok_or_else(|| {
        let known: Vec<&str> = dags.iter().map(Dag::id).collect();
        usage(format!("no DAG `{id}`; known DAGs: {}", known.join(", ")))
    })
}

/// The last scheduled run recorded in the home, if any: where the schedule goes on from.
async fn last_scheduled(dag: &Dag, global: &GlobalArgs) -> Option<crate::timetable::DataInterval> {
    let store = crate::store::Store::open_home(&global.home()).await.ok()?;
    let run = store
        .last_run(dag.id(), Some(crate::store::RunType::Scheduled))
        .await
        .ok()??;
    Some(crate::timetable::DataInterval {
        start: run.data_interval_start,
        end: run.data_interval_end,
    })
}

fn describe(dag: &Dag, now: DateTime<Utc>, last: Option<crate::timetable::DataInterval>) -> Value {
    let o = dag.options();
    let next = crate::timetable::next_interval(o, last.as_ref(), now);
    serde_json::json!({
        "dag_id": dag.id(),
        "description": o.description,
        "schedule": o.schedule.as_str(),
        "timezone": o.timezone.name(),
        "start_date": o.start_date,
        "end_date": o.end_date,
        "catchup": o.catchup,
        "max_active_tasks": o.max_active_tasks,
        "max_active_runs": o.max_active_runs,
        "tags": o.tags,
        "next_run": next.map(|i| serde_json::json!({
            "logical_date": i.start, "data_interval_start": i.start, "data_interval_end": i.end,
            "due": i.end <= now,
        })),
        "tasks": dag.topological_order().iter().map(|&i| {
            let t = &dag.tasks()[i];
            let opts = t.options();
            serde_json::json!({
                "task_id": t.id(),
                "doc": t.doc(),
                "upstream": t.upstream().iter().map(|&u| dag.tasks()[u].id()).collect::<Vec<_>>(),
                "retries": opts.retries,
                "retry_delay_secs": opts.retry_delay.as_secs_f64(),
                "retry_exponential_backoff": opts.retry_exponential_backoff,
                "execution_timeout_secs": opts.execution_timeout.map(|d| d.as_secs_f64()),
                "trigger_rule": opts.trigger_rule.as_str(),
                "layer": opts.layer.map(crate::task::Layer::as_str),
                "mapped_over": t.inputs().iter().zip(t.mapped_inputs())
                    .filter(|(_, m)| **m)
                    .map(|(&u, _)| dag.tasks()[u].id())
                    .collect::<Vec<_>>(),
                "reads": t.spec().reads,
                "writes": t.spec().writes,
            })
        }).collect::<Vec<_>>(),
        "edges": dag.edges().iter().map(|e| serde_json::json!({
            "from": dag.tasks()[e.from].id(), "to": dag.tasks()[e.to].id(),
            "kind": match e.kind { crate::dag::EdgeKind::Data => "data", crate::dag::EdgeKind::Order => "order" },
        })).collect::<Vec<_>>(),
    })
}

/// Runs one command over `dags`.
pub async fn execute(dags: &[Dag], command: Command, global: &GlobalArgs) -> ExitCode {
    let now = Utc::now();
    let json = global.output == Output::Json;
    match command {
        Command::Dags(DagsCommand::List) => {
            if json {
                let mut all = Vec::with_capacity(dags.len());
                for d in dags {
                    all.push(describe(d, now, last_scheduled(d, global).await));
                }
                print_json(&all);
            } else {
                println!(
                    "{:<24} {:<14} {:>5}  description",
                    "dag_id", "schedule", "tasks"
                );
                for d in dags {
                    let desc = d.options().description.lines().next().unwrap_or("");
                    println!(
                        "{:<24} {:<14} {:>5}  {desc}",
                        d.id(),
                        d.options().schedule.as_str(),
                        d.tasks().len()
                    );
                }
            }
            ExitCode::SUCCESS
        }
        Command::Dags(DagsCommand::Show {
            dag,
            format,
            run,
            out,
        }) => match find(dags, &dag) {
            Err(code) => code,
            Ok(d) if format != ShowFormat::Text => {
                pictures::show(d, format, run.as_deref(), out.as_deref(), global).await
            }
            Ok(d) => {
                let v = describe(d, now, last_scheduled(d, global).await);
                if json {
                    print_json(&v);
                } else {
                    print_show(d, &v);
                }
                ExitCode::SUCCESS
            }
        },
        Command::Dags(DagsCommand::NextExecution { dag }) => match find(dags, &dag) {
            Err(code) => code,
            Ok(d) => {
                // After the last scheduled run recorded in this home, if any.
                let last = last_scheduled(d, global).await;
                let next = crate::timetable::next_interval(d.options(), last.as_ref(), now);
                if json {
                    print_json(&serde_json::json!({ "dag_id": d.id(), "next": next }));
                } else {
                    match next {
                        Some(i) => println!("{}", i.start.to_rfc3339()),
                        None => println!("None"),
                    }
                }
                ExitCode::SUCCESS
            }
        },
        Command::Dags(DagsCommand::Test { dag, run, wait }) => match find(dags, &dag) {
            Err(code) => code,
            Ok(d) => test_dag(d, global, &run, wait).await.0,
        },
        Command::Tasks(TasksCommand::List { dag }) => match find(dags, &dag) {
            Err(code) => code,
            Ok(d) => {
                if json {
                    print_json(&describe(d, now, None)["tasks"]);
                } else {
                    for id in d.topological_ids() {
                        println!("{id}");
                    }
                }
                ExitCode::SUCCESS
            }
        },
        Command::Tasks(TasksCommand::Test {
            dag,
            task,
            map_index,
            run,
        }) => {
            let d = match find(dags, &dag) {
                Ok(d) => d,
                Err(code) => return code,
            };
            let Some(node) = d.task(&task) else {
                return usage(format!(
                    "DAG `{dag}` has no task `{task}`; its tasks: {}",
                    d.topological_ids().join(", ")
                ));
            };
            let request = match run.request() {
                Ok(r) => r,
                Err(e) => return usage(e),
            };
            // Upstream outputs come from the recorded run of that logical date, as Airflow's
            // `tasks test` pulls XComs.
            let inputs = if node.inputs().is_empty() {
                Vec::new()
            } else {
                match recorded_inputs(d, node, global, &request).await {
                    Ok(i) => i,
                    Err(code) => return code,
                }
            };
            crate::logging::init();
            let runner = Runner::new(global.home()).default_params(global.params.clone());
            runner.cancel_on_signals();
            match runner.run_task(d, &task, map_index, request, inputs).await {
                Err(e) => usage(e),
                Ok(report) => {
                    if json {
                        print_json(&serde_json::json!({
                            "task_id": report.task_id,
                            "map_index": report.map_index,
                            "state": report.state,
                            "duration_secs": report.duration().as_secs_f64(),
                            "error": report.reason,
                            "output": report.output.as_ref().and_then(|x| serde_json::from_str::<Value>(x.as_json()).ok()),
                        }));
                    } else {
                        println!(
                            "{}: {} in {:.3}s{}",
                            report.label(),
                            report.state,
                            report.duration().as_secs_f64(),
                            report
                                .reason
                                .as_deref()
                                .map(|r| format!(": {r}"))
                                .unwrap_or_default()
                        );
                        if let Some(out) = &report.output {
                            println!("output: {}", out.as_json());
                        }
                    }
                    match report.state {
                        crate::runner::TaskState::Success | crate::runner::TaskState::Skipped => {
                            ExitCode::SUCCESS
                        }
                        _ => ExitCode::FAILURE,
                    }
                }
            }
        }
        Command::Logs(args) => print_logs(global, &args, json).await,
        Command::Runs(RunsCommand::Mark { dag, run, state }) => {
            let store = match open_store(global).await {
                Ok(s) => s,
                Err(code) => return code,
            };
            let state: crate::store::RunStateRecord = match state.parse() {
                Ok(s) => s,
                Err(e) => return usage(e),
            };
            match store
                .set_run_state(&dag, &run, state, Some(Utc::now()))
                .await
            {
                Err(e) => fail(e),
                Ok(false) => usage(format!("no run `{run}` of DAG `{dag}` is recorded")),
                Ok(true) => {
                    if json {
                        print_json(
                            &serde_json::json!({"dag_id": dag, "run_id": run, "state": state}),
                        );
                    } else {
                        println!("run {run} of {dag} marked {}", state.as_str());
                    }
                    ExitCode::SUCCESS
                }
            }
        }
        Command::Tasks(TasksCommand::Mark {
            dag,
            run,
            task,
            state,
            map_index,
            downstream,
        }) => {
            let d = match find(dags, &dag) {
                Ok(d) => d,
                Err(code) => return code,
            };
            let Some(start) = d.task_index(&task) else {
                return usage(format!("DAG `{dag}` has no task `{task}`"));
            };
            let state: crate::store::TaskStateRecord = match state.parse() {
                Ok(s) => s,
                Err(e) => return usage(e),
            };
            let store = match open_store(global).await {
                Ok(s) => s,
                Err(code) => return code,
            };
            match store.get_run(&dag, &run).await {
                Err(e) => return fail(e),
                Ok(None) => return usage(format!("no run `{run}` of DAG `{dag}` is recorded")),
                Ok(Some(_)) => {}
            }
            if let Some(m) = map_index
                && let Err(e) = check_map_index(&store, d, &run, &task, m).await
            {
                return e;
            }
            let tasks = with_downstream(d, start, downstream);
            let ids: Vec<&str> = tasks.iter().map(|&i| d.tasks()[i].id()).collect();
            let only = map_index.map(|m| (ids[0], m as i32));
            match mark_tasks(&store, &dag, &run, &ids, only, state).await {
                Err(e) => fail(e),
                Ok(marked) => {
                    if json {
                        print_json(&serde_json::json!({"marked": marked, "state": state}));
                    } else {
                        println!("marked {}: {}", state.as_str(), marked.join(", "));
                    }
                    ExitCode::SUCCESS
                }
            }
        }
        Command::Scheduler => {
            let store = match open_store(global).await {
                Ok(s) => s,
                Err(code) => return code,
            };
            crate::logging::init();
            let runner = match global.runner(dags) {
                Ok(r) => r.with_store(store.clone()),
                Err(code) => return code,
            };
            runner.cancel_on_signals();
            let stop = runner.cancellation_token();
            match crate::scheduler::run(dags, runner, store, stop).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e @ crate::scheduler::SchedulerError::AlreadyRunning { .. }) => usage(e),
                Err(e) => fail(e),
            }
        }
        Command::Gantt { dag, run, out } => match find(dags, &dag) {
            Err(code) => code,
            Ok(d) => pictures::gantt(d, run.as_deref(), out.as_deref(), global).await,
        },
        Command::Durations { dag, last, out } => match find(dags, &dag) {
            Err(code) => code,
            Ok(d) => pictures::durations(d, last, out.as_deref(), global).await,
        },
        Command::Architecture { dags: only, out } => {
            let mut chosen = Vec::new();
            for id in &only {
                match find(dags, id) {
                    Ok(d) => chosen.push(d),
                    Err(code) => return code,
                }
            }
            if chosen.is_empty() {
                chosen = dags.iter().collect();
            }
            pictures::architecture(&chosen, out.as_deref(), global)
        }
        Command::Report { dag, run, out, pdf } => match find(dags, &dag) {
            Err(code) => code,
            Ok(d) => {
                pictures::report(d, run.as_deref(), out.as_deref(), pdf.as_deref(), global).await
            }
        },
        Command::Export {
            dag,
            run,
            out,
            force,
        } => {
            let home = global.home();
            let out = out.unwrap_or_else(|| {
                crate::home::exports_dir(&home).join(format!(
                    "{dag}-{}.tar.gz",
                    Utc::now().format("%Y%m%dT%H%M%SZ")
                ))
            });
            if crate::home::is_kept(&home, &out) {
                return usage(format_args!(
                    "refusing to write the archive to {}: it is inside the home's database, data or \
                     logs, which the archive is made from; choose a path outside them (default: \
                     {})",
                    out.display(),
                    crate::home::exports_dir(&home).display()
                ));
            }
            if !force && out.exists() {
                return usage(format_args!(
                    "{} exists: choose another --out, or add --force to replace it",
                    out.display()
                ));
            }
            let store = match open_store(global).await {
                Ok(s) => s,
                Err(code) => return code,
            };
            match crate::export::export(&store, &home, &dag, run.as_deref(), &out).await {
                Err(e @ crate::export::ExportError::NoRun { .. }) => usage(e),
                Err(e) => fail(e),
                Ok(summary) if json => {
                    print_json(&summary);
                    ExitCode::SUCCESS
                }
                Ok(summary) => {
                    println!(
                        "wrote {}: {} run(s), {} file(s) of logs and data",
                        summary.path.display(),
                        summary.runs,
                        summary.files
                    );
                    ExitCode::SUCCESS
                }
            }
        }
        Command::Runs(RunsCommand::List { dag, state, limit }) => {
            let state = match state
                .as_deref()
                .map(str::parse::<crate::store::RunStateRecord>)
            {
                None => None,
                Some(Ok(s)) => Some(s),
                Some(Err(e)) => return usage(e),
            };
            let store = match open_store(global).await {
                Ok(s) => s,
                Err(code) => return code,
            };
            let runs = store.list_runs(dag.as_deref(), state, limit).await;
            if let (Some(id), Ok(runs)) = (&dag, &runs)
                && runs.is_empty()
                && !dags.iter().any(|d| d.id() == id)
            {
                // Not a DAG of this binary and nothing recorded: most likely a typo.
                return match find(dags, id) {
                    Err(code) => code,
                    Ok(_) => unreachable!("checked above"),
                };
            }
            match runs {
                Err(e) => fail(e),
                Ok(runs) if json => {
                    print_json(&runs);
                    ExitCode::SUCCESS
                }
                Ok(runs) => {
                    println!(
                        "{:<20} {:<45} {:<10} {:<9} logical date",
                        "dag_id", "run_id", "type", "state"
                    );
                    for r in runs {
                        println!(
                            "{:<20} {:<45} {:<10} {:<9} {}",
                            r.dag_id,
                            r.run_id,
                            r.run_type.as_str(),
                            r.state.as_str(),
                            r.logical_date.to_rfc3339()
                        );
                    }
                    ExitCode::SUCCESS
                }
            }
        }
        Command::Dags(DagsCommand::Backfill {
            dag,
            start,
            end,
            reset,
            params,
            conf,
        }) => {
            let d = match find(dags, &dag) {
                Ok(d) => d,
                Err(code) => return code,
            };
            let args = RunArgs {
                logical_date: None,
                params,
                conf,
            };
            match (parse_date(&start), parse_date(&end), args.request()) {
                (Ok(from), Ok(to), Ok(request)) => {
                    backfill(d, global, from, to, reset, request).await
                }
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => usage(e),
            }
        }
        Command::Dags(DagsCommand::Trigger { dag, conf, params }) => {
            let d = match find(dags, &dag) {
                Ok(d) => d,
                Err(code) => return code,
            };
            let request = match (RunArgs {
                logical_date: None,
                params,
                conf,
            })
            .request()
            {
                Ok(r) => r,
                Err(e) => return usage(e),
            };
            let store = match open_store(global).await {
                Ok(s) => s,
                Err(code) => return code,
            };
            // Milliseconds: two triggers in one second are two runs (Airflow uses microseconds).
            let now = Utc::now();
            let logical = now
                .with_nanosecond(now.nanosecond() / 1_000_000 * 1_000_000)
                .unwrap_or(now);
            let run_id = crate::runner::run_id("manual", logical);
            match store.get_run(d.id(), &run_id).await {
                Err(e) => return fail(e),
                Ok(Some(_)) => {
                    return usage(format!(
                        "a run `{run_id}` of DAG `{}` already exists",
                        d.id()
                    ));
                }
                Ok(None) => {}
            }
            let (start, end) = d
                .options()
                .schedule
                .data_interval(logical, d.options().timezone);
            let record = crate::store::DagRunRecord {
                dag_id: d.id().to_owned(),
                run_id,
                run_type: crate::store::RunType::Manual,
                logical_date: logical,
                data_interval_start: start,
                data_interval_end: end,
                state: crate::store::RunStateRecord::Queued,
                start: Utc::now(),
                end: None,
                conf: Value::Object(request.params),
            };
            match store.upsert_run(&record).await {
                Err(e) => fail(e),
                Ok(()) => {
                    crate::scheduler::wake(&global.home());
                    if json {
                        print_json(&record);
                    } else {
                        println!(
                            "queued {} (a running `scheduler` on this home starts it)",
                            record.run_id
                        );
                    }
                    ExitCode::SUCCESS
                }
            }
        }
        Command::Dags(DagsCommand::Pause { dag }) => set_paused(dags, global, &dag, true).await,
        Command::Dags(DagsCommand::Unpause { dag }) => set_paused(dags, global, &dag, false).await,
        Command::Tasks(TasksCommand::State {
            dag,
            run,
            task,
            map_index,
        }) => {
            let store = match open_store(global).await {
                Ok(s) => s,
                Err(code) => return code,
            };
            let tis = match store.task_instances(&dag, &run).await {
                Err(e) => return fail(e),
                Ok(tis) => tis,
            };
            let latest = latest_tries(&tis, &task);
            let elements: Vec<&crate::store::TaskInstanceRecord> = latest
                .iter()
                .filter(|t| t.map_index >= 0)
                .copied()
                .collect();
            let wanted = match map_index {
                Some(m) => latest.iter().find(|t| t.map_index == m as i32).copied(),
                None if elements.is_empty() => latest.first().copied(),
                None => {
                    // A mapped task: the state its elements add up to, as the runner decides it.
                    let state = mapped_state(&elements);
                    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
                    for t in &elements {
                        *counts.entry(t.state.as_str()).or_default() += 1;
                    }
                    if json {
                        print_json(&serde_json::json!({
                            "task_id": task, "state": state, "map_indexes": elements.len(),
                            "states": counts,
                        }));
                    } else {
                        let counts: Vec<String> =
                            counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
                        println!(
                            "{} ({} mapped: {})",
                            state.as_str(),
                            elements.len(),
                            counts.join(", ")
                        );
                    }
                    return ExitCode::SUCCESS;
                }
            };
            match wanted {
                None => usage(format!(
                    "no task `{task}`{} recorded in run `{run}` of DAG `{dag}`",
                    map_index
                        .map(|m| format!(" map index {m}"))
                        .unwrap_or_default()
                )),
                Some(t) if json => {
                    print_json(t);
                    ExitCode::SUCCESS
                }
                Some(t) => {
                    println!("{}", t.state.as_str());
                    ExitCode::SUCCESS
                }
            }
        }
        Command::Tasks(TasksCommand::Clear {
            dag,
            run,
            task,
            downstream,
        }) => {
            let d = match find(dags, &dag) {
                Ok(d) => d,
                Err(code) => return code,
            };
            let Some(start) = d.task_index(&task) else {
                return usage(format!("DAG `{dag}` has no task `{task}`"));
            };
            let clear = with_downstream(d, start, downstream);
            let store = match open_store(global).await {
                Ok(s) => s,
                Err(code) => return code,
            };
            let ids: Vec<&str> = clear.iter().map(|&i| d.tasks()[i].id()).collect();
            match clear_tasks(&store, &dag, &run, &ids).await {
                Err(e) => fail(e),
                Ok(()) => {
                    if json {
                        print_json(&serde_json::json!({"cleared": ids}));
                    } else {
                        println!("cleared: {}", ids.join(", "));
                    }
                    ExitCode::SUCCESS
                }
            }
        }
    }
}

/// Runs the intervals in order, at most `max_active_runs` at once, skipping runs that already
/// succeeded (idempotent) unless `reset`. As in Airflow, only intervals the DAG's schedule
/// allows are created: none after its `end_date`. Ctrl-C stops starting runs (those never
/// started are not recorded) and exits with 130.
async fn backfill(
    dag: &Dag,
    global: &GlobalArgs,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    reset: bool,
    request: RunRequest,
) -> ExitCode {
    use crate::store::{RunStateRecord, RunType};
    use futures::StreamExt;
    // As Airflow, no run for a logical date in the future or after the DAG's end_date.
    let now = Utc::now();
    let end_date = dag
        .options()
        .end_date
        .map(|d| crate::timetable::resolve_local(d, dag.options().timezone))
        .filter(|end| to > *end);
    let future = (to > now).then_some(now);
    let intervals = match crate::timetable::intervals_between(dag.options(), from, to.min(now)) {
        Ok(i) => i,
        Err(e) => return usage(format_args!("DAG `{}`: {e}", dag.id())),
    };
    let mut notes = Vec::new();
    if let Some(end) = end_date {
        notes.push(format!(
            "DAG `{}` ends at its end_date {end}: no run is created for the intervals after it",
            dag.id()
        ));
    }
    if let Some(now) = future.filter(|now| end_date.is_none_or(|e| e > *now)) {
        notes.push(format!(
            "no run is created for a logical date in the future (after {now})"
        ));
    }
    if intervals.is_empty() {
        return usage(format!(
            "no interval of DAG `{}` (schedule {}) starts between {from} and {to}{}",
            dag.id(),
            dag.options().schedule,
            notes.iter().map(|n| format!("; {n}")).collect::<String>()
        ));
    }
    for n in &notes {
        eprintln!("note: {n}");
    }
    let store = match open_store(global).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    crate::logging::init();
    let runner = match global.runner([dag]) {
        Ok(r) => r.with_store(store.clone()),
        Err(code) => return code,
    };
    runner.cancel_on_signals();
    let cancel = runner.cancellation_token();
    let bar = (global.output == Output::Text && std::io::stdout().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(intervals.len() as u64).with_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{bar:30}] {pos}/{len} runs  {elapsed}  {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        crate::logging::set_progress_bar(Some(bar.clone()));
        bar
    });
    let task_ids: Vec<&str> = dag.tasks().iter().map(|t| t.id()).collect();
    let results: Vec<(String, Outcome)> = futures::stream::iter(intervals)
        .map(|interval| {
            let (runner, store, request, bar, cancel) = (
                runner.clone(),
                store.clone(),
                request.clone(),
                bar.clone(),
                cancel.clone(),
            );
            let task_ids = &task_ids;
            async move {
                let run_id = crate::runner::run_id(RunType::Backfill.as_str(), interval.start);
                // After Ctrl-C nothing new starts, and what never started is not recorded.
                if cancel.is_cancelled() {
                    return (run_id, Outcome::NotStarted);
                }
                let existing = match store.get_run(dag.id(), &run_id).await {
                    Ok(r) => r,
                    Err(e) => return (run_id, Outcome::Failed(e.to_string())),
                };
                let outcome = match existing {
                    Some(r) if r.state == RunStateRecord::Success && !reset => Outcome::Skipped,
                    existing => {
                        if existing.is_some()
                            && reset
                            && let Err(e) = clear_tasks(&store, dag.id(), &run_id, task_ids).await
                        {
                            return (run_id, Outcome::Failed(e.to_string()));
                        }
                        let mut req = request
                            .clone()
                            .run_type(RunType::Backfill)
                            .run_id(run_id.clone());
                        req.logical_date = interval.start;
                        let report = runner.run(dag, req).await;
                        match (&report.error, report.state) {
                            (Some(crate::RunError::NotStarted), _) => Outcome::NotStarted,
                            (Some(e @ crate::RunError::Busy { .. }), _) => {
                                Outcome::Busy(e.to_string())
                            }
                            (Some(e), _) => Outcome::Failed(e.to_string()),
                            (None, RunState::Success) => Outcome::Success,
                            (None, _) if report.interrupted => Outcome::Interrupted,
                            (None, _) => Outcome::Failed("failed".into()),
                        }
                    }
                };
                if let Some(bar) = &bar {
                    bar.inc(1);
                    bar.set_message(format!("{run_id}: {outcome}"));
                } else {
                    tracing::info!("backfill {run_id}: {outcome}");
                }
                (run_id, outcome)
            }
        })
        .buffered(dag.options().max_active_runs.max(1))
        .collect()
        .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
        crate::logging::set_progress_bar(None);
    }
    let not_started = results
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::NotStarted))
        .count();
    let shown: Vec<&(String, Outcome)> = results
        .iter()
        .filter(|(_, o)| !matches!(o, Outcome::NotStarted))
        .collect();
    if global.output == Output::Json {
        // The runs started or skipped; the exit code says whether it was interrupted.
        print_json(
            &shown
                .iter()
                .map(|(r, o)| serde_json::json!({"run_id": r, "outcome": o.to_string()}))
                .collect::<Vec<_>>(),
        );
    } else {
        for (r, o) in &shown {
            println!("{r}  {}", escaped(o));
        }
        if not_started > 0 {
            println!(
                "{not_started} interval(s) not started (interrupted): nothing recorded for them"
            );
        }
    }
    if cancel.is_cancelled() {
        ExitCode::from(130)
    } else if results.iter().any(|(_, o)| matches!(o, Outcome::Failed(_))) {
        ExitCode::FAILURE
    } else if results.iter().any(|(_, o)| matches!(o, Outcome::Busy(_))) {
        ExitCode::from(BUSY)
    } else {
        ExitCode::SUCCESS
    }
}

/// What became of one interval of a backfill.
enum Outcome {
    Success,
    /// It had succeeded before (and no `--reset`).
    Skipped,
    Failed(String),
    Interrupted,
    /// Another process executes it.
    Busy(String),
    /// Ctrl-C came first.
    NotStarted,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Success => f.write_str("success"),
            Outcome::Skipped => f.write_str("skipped (already succeeded)"),
            Outcome::Failed(why) if why == "failed" => f.write_str("failed"),
            Outcome::Failed(why) => write!(f, "failed: {why}"),
            Outcome::Interrupted => f.write_str("failed (interrupted)"),
            Outcome::Busy(why) => write!(f, "not run: {why}"),
            Outcome::NotStarted => f.write_str("not started"),
        }
    }
}

/// The outputs a task's parameters take, read from a recorded run of the request's logical
/// date (manual, scheduled or backfill).
async fn recorded_inputs(
    dag: &Dag,
    node: &crate::dag::TaskNode,
    global: &GlobalArgs,
    request: &RunRequest,
) -> Result<Vec<crate::task::XCom>, ExitCode> {
    let store = open_store(global).await?;
    let mut last_err = String::new();
    for kind in ["manual", "scheduled", "backfill"] {
        let run_id = crate::runner::run_id(kind, request.logical_date);
        let xcoms = store.load_xcoms(dag.id(), &run_id).await.map_err(fail)?;
        let mut inputs = Vec::new();
        for &u in node.inputs() {
            let up = dag.tasks()[u].id();
            let value = if dag.tasks()[u].is_mapped() {
                // A mapped task's output is the list of its elements' outputs.
                let items: Vec<&str> = xcoms
                    .iter()
                    .filter(|(t, m, _)| t == up && *m >= 0)
                    .map(|(_, _, v)| v.as_str())
                    .collect();
                (!items.is_empty()).then(|| format!("[{}]", items.join(",")))
            } else {
                xcoms
                    .iter()
                    .find(|(t, m, _)| t == up && *m == crate::store::NOT_MAPPED)
                    .map(|(_, _, v)| v.clone())
            };
            match value {
                Some(v) => inputs.push(crate::task::XCom(v.into())),
                None => {
                    last_err = format!("no recorded output of `{up}`");
                    break;
                }
            }
        }
        if inputs.len() == node.inputs().len() {
            tracing::info!("upstream outputs read from run {run_id}");
            return Ok(inputs);
        }
    }
    Err(usage(format!(
        "task `{}` takes upstream outputs, and there is {last_err} for logical date {}; run `dags test {} {}` first",
        node.id(),
        request.logical_date.to_rfc3339(),
        dag.id(),
        request.logical_date.format("%Y-%m-%d")
    )))
}

async fn set_paused(dags: &[Dag], global: &GlobalArgs, dag: &str, pause: bool) -> ExitCode {
    let d = match find(dags, dag) {
        Ok(d) => d,
        Err(code) => return code,
    };
    let store = match open_store(global).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    match store.set_paused(d.id(), pause).await {
        Err(e) => fail(e),
        Ok(()) => {
            crate::scheduler::wake(&global.home());
            if global.output == Output::Json {
                print_json(&serde_json::json!({"dag_id": d.id(), "is_paused": pause}));
            } else {
                println!(
                    "{} is {}",
                    d.id(),
                    if pause { "paused" } else { "unpaused" }
                );
            }
            ExitCode::SUCCESS
        }
    }
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {}", escaped(e));
    ExitCode::FAILURE
}

/// `tasks mark --map-index M`: the task must be mapped and M one of the elements the run
/// recorded (as `tasks test` checks against the list it maps over).
async fn check_map_index(
    store: &crate::store::Store,
    dag: &Dag,
    run: &str,
    task: &str,
    m: u32,
) -> Result<(), ExitCode> {
    let node = dag.task(task).expect("the task was found");
    if !node.is_mapped() {
        return Err(usage(format_args!(
            "task `{task}` of DAG `{}` is not mapped: leave out --map-index",
            dag.id()
        )));
    }
    let tis = store.task_instances(dag.id(), run).await.map_err(fail)?;
    let elements = latest_tries(&tis, task)
        .iter()
        .filter(|t| t.map_index >= 0)
        .count();
    if m as usize >= elements {
        return Err(usage(format_args!(
            "map index {m} is out of range: task `{task}` has {elements} element(s) in run `{run}`{}",
            if elements == 0 {
                " (it was not expanded yet)"
            } else {
                ""
            }
        )));
    }
    Ok(())
}

async fn open_store(global: &GlobalArgs) -> Result<crate::store::Store, ExitCode> {
    crate::store::Store::open_home(&global.home())
        .await
        .map_err(fail)
}

/// Clearing forgets a task's outcome (its output and the state of its latest try) so that the
/// next run of that run id runs it again; its tries stay in the history.
async fn clear_tasks(
    store: &crate::store::Store,
    dag: &str,
    run: &str,
    tasks: &[&str],
) -> Result<(), crate::store::StoreError> {
    let tis = store.task_instances(dag, run).await?;
    for task in tasks {
        store.delete_xcom(dag, run, task).await?;
        // Every element of a mapped task too.
        for t in latest_tries(&tis, task) {
            if t.state != crate::store::TaskStateRecord::NoStatus {
                let mut cleared = t.clone();
                cleared.state = crate::store::TaskStateRecord::NoStatus;
                cleared.error = Some("cleared by `tasks clear`".into());
                store.upsert_task_instance(&cleared).await?;
            }
        }
    }
    Ok(())
}

/// `start` and, with `downstream`, every task after it (breadth first).
fn with_downstream(dag: &Dag, start: usize, downstream: bool) -> Vec<usize> {
    let mut out = vec![start];
    if downstream {
        let mut i = 0;
        while i < out.len() {
            for &n in dag.tasks()[out[i]].downstream() {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
            i += 1;
        }
    }
    out
}

/// Sets the latest try of each instance of `tasks` to `state` (only map index `only.1` of
/// task `only.0` when given); a task never tried gets a try-0 row. Returns the instances marked.
async fn mark_tasks(
    store: &crate::store::Store,
    dag: &str,
    run: &str,
    tasks: &[&str],
    only: Option<(&str, i32)>,
    state: crate::store::TaskStateRecord,
) -> Result<Vec<String>, crate::store::StoreError> {
    let tis = store.task_instances(dag, run).await?;
    let mut marked = Vec::new();
    for task in tasks {
        let mut rows: Vec<crate::store::TaskInstanceRecord> = latest_tries(&tis, task)
            .into_iter()
            .filter(|t| only.is_none_or(|(id, m)| id != *task || t.map_index == m))
            .cloned()
            .collect();
        if rows.is_empty() {
            rows.push(crate::store::TaskInstanceRecord {
                dag_id: dag.to_owned(),
                run_id: run.to_owned(),
                task_id: (*task).to_owned(),
                map_index: only
                    .filter(|(id, _)| id == task)
                    .map_or(crate::store::NOT_MAPPED, |(_, m)| m),
                try_number: 0,
                state,
                start: Utc::now(),
                end: None,
                duration: None,
                hostname: crate::process::hostname(),
                pid: None,
                log_path: None,
                error: None,
            });
        }
        for mut t in rows {
            t.state = state;
            t.end = t.end.or(Some(Utc::now()));
            t.error = Some(format!("marked {} by `tasks mark`", state.as_str()));
            store.upsert_task_instance(&t).await?;
            marked.push(t.label());
        }
    }
    Ok(marked)
}

fn print_show(d: &Dag, v: &Value) {
    let o = d.options();
    println!("DAG {}", d.id());
    if !o.description.is_empty() {
        println!("  {}", o.description.replace('\n', "\n  "));
    }
    println!(
        "  schedule: {} ({}), start_date: {}, end_date: {}, catchup: {}",
        o.schedule.as_str(),
        o.timezone.name(),
        o.start_date
            .map(|d| d.to_string())
            .unwrap_or_else(|| "none".into()),
        o.end_date
            .map(|d| d.to_string())
            .unwrap_or_else(|| "none".into()),
        o.catchup
    );
    match &v["next_run"] {
        Value::Null => println!("  next run: none"),
        n => println!(
            "  next run: {} (data interval {} to {}{})",
            n["logical_date"].as_str().unwrap_or(""),
            n["data_interval_start"].as_str().unwrap_or(""),
            n["data_interval_end"].as_str().unwrap_or(""),
            if n["due"] == Value::Bool(true) {
                ", due now"
            } else {
                ""
            }
        ),
    }
    println!("  tasks:");
    for &i in d.topological_order() {
        let t = &d.tasks()[i];
        let opts = t.options();
        let over: Vec<&str> = t
            .inputs()
            .iter()
            .zip(t.mapped_inputs())
            .filter(|(_, m)| **m)
            .map(|(&u, _)| d.tasks()[u].id())
            .collect();
        println!(
            "    {:<24} retries={} trigger_rule={}{}{}",
            t.id(),
            opts.retries,
            opts.trigger_rule,
            opts.layer
                .map(|l| format!(" layer={}", l.as_str()))
                .unwrap_or_default(),
            if over.is_empty() {
                String::new()
            } else {
                format!(" mapped over {}", over.join(" × "))
            }
        );
        let ids =
            |assets: &[crate::Asset]| assets.iter().map(|a| a.id).collect::<Vec<_>>().join(", ");
        let spec = t.spec();
        if !spec.reads.is_empty() || !spec.writes.is_empty() {
            println!(
                "    {:<24} reads [{}] writes [{}]",
                "",
                ids(spec.reads),
                ids(spec.writes)
            );
        }
    }
    println!("  edges:");
    for e in d.edges() {
        let arrow = match e.kind {
            crate::dag::EdgeKind::Data => "->",
            crate::dag::EdgeKind::Order => ">>",
        };
        println!(
            "    {} {arrow} {}",
            d.tasks()[e.from].id(),
            d.tasks()[e.to].id()
        );
    }
}

async fn print_logs(global: &GlobalArgs, args: &LogsArgs, json: bool) -> ExitCode {
    let home = global.home();
    let dir = match crate::home::task_logs(&home, &args.dag, &args.run, &args.task, args.map_index)
    {
        Ok(d) => d,
        Err(e) => return usage(e),
    };
    let attempt = match args.attempt {
        Some(n) => n,
        None => {
            let latest = std::fs::read_dir(&dir).ok().and_then(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| {
                        let name = e.file_name().into_string().ok()?;
                        name.strip_prefix("attempt=")?
                            .strip_suffix(".log")?
                            .parse::<u32>()
                            .ok()
                    })
                    .max()
            });
            match latest {
                Some(n) => n,
                None if args.follow => 1,
                None => return usage(format!("no logs in {}", dir.display())),
            }
        }
    };
    let path = dir.join(format!("attempt={attempt}.log"));
    // The ids cannot leave the home; a symbolic link inside it could.
    if let (Ok(real), Ok(base)) = (path.canonicalize(), home.canonicalize())
        && !real.starts_with(&base)
    {
        return usage(format_args!(
            "{} leads outside the home ({}): not reading it",
            path.display(),
            real.display()
        ));
    }
    if args.follow {
        return follow_log(global, args, attempt, &path).await;
    }
    match std::fs::read_to_string(&path) {
        Ok(text) if json => {
            print_json(&serde_json::json!({"path": path, "attempt": attempt, "log": text}));
            ExitCode::SUCCESS
        }
        Ok(text) => {
            // Lines are escaped when written; a file written some other way is escaped here.
            print!("{}", escape_lines(&text));
            ExitCode::SUCCESS
        }
        Err(e) => usage(format!("cannot read {}: {e}", path.display())),
    }
}

/// `text` with each line's control characters written out, its line breaks kept.
fn escape_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, newline) = line
            .strip_suffix('\n')
            .map_or((line, ""), |body| (body, "\n"));
        out.push_str(&crate::escape::control(body));
        out.push_str(newline);
    }
    out
}

/// Whether the process running try `t` is gone: its pid no longer exists on this host, or the
/// run's owner stopped its heartbeat (or another process owns the run now).
fn attempt_owner_gone(
    t: &crate::store::TaskInstanceRecord,
    run_owner: Option<(Option<crate::store::RunOwner>, Option<DateTime<Utc>>)>,
) -> bool {
    let ran_by = t.pid.map(|pid| crate::store::RunOwner {
        hostname: t.hostname.clone(),
        pid,
    });
    if ran_by.as_ref().and_then(crate::store::RunOwner::alive) == Some(false) {
        return true;
    }
    match run_owner {
        Some((owner, heartbeat)) => {
            owner != ran_by || crate::store::owner_gone(owner.as_ref(), heartbeat, Utc::now())
        }
        None => true,
    }
}

/// `logs --follow`: prints the log as it grows until the store says the attempt has ended
/// (and everything written before that is printed), as `tail -f` that knows when to stop.
async fn follow_log(global: &GlobalArgs, args: &LogsArgs, attempt: u32, path: &Path) -> ExitCode {
    use std::io::{Read, Seek, Write};
    const POLL: std::time::Duration = std::time::Duration::from_millis(200);
    let store = match open_store(global).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let map_index = args
        .map_index
        .map_or(crate::store::NOT_MAPPED, |m| m as i32);
    let mut offset = 0u64;
    let mut waiting_said = false;
    let mut ended_seen = false;
    loop {
        // Read the state first: once the attempt has ended, a last read one poll later gets
        // the rest (the log writer thread may still be writing the attempt's last lines). An
        // attempt still `running` whose process is gone (killed) has ended too.
        let ended = ended_seen
            || match store.task_instances(&args.dag, &args.run).await {
                Ok(tis) => match tis.iter().find(|t| {
                    t.task_id == args.task && t.map_index == map_index && t.try_number == attempt
                }) {
                    Some(t) if t.state != crate::store::TaskStateRecord::Running => true,
                    Some(t) => {
                        let owner = store.run_owner(&args.dag, &args.run).await.ok().flatten();
                        let gone = attempt_owner_gone(t, owner);
                        if gone {
                            eprintln!(
                                "the process that ran this attempt (pid {} on host {}) is gone: \
                                 the attempt will not write more",
                                t.pid.map_or_else(|| "?".to_owned(), |p| p.to_string()),
                                t.hostname
                            );
                        }
                        gone
                    }
                    None => false,
                },
                Err(e) => return fail(e),
            };
        match std::fs::File::open(path) {
            Ok(mut f) => {
                let mut buf = Vec::new();
                if f.seek(std::io::SeekFrom::Start(offset)).is_ok()
                    && f.read_to_end(&mut buf).is_ok()
                {
                    // Whole lines only (escaped as `logs` prints them), unless this is the
                    // last read.
                    let last = ended && ended_seen;
                    let take = match buf.iter().rposition(|&b| b == b'\n') {
                        _ if last => buf.len(),
                        Some(i) => i + 1,
                        None => 0,
                    };
                    offset += take as u64;
                    let text = escape_lines(&String::from_utf8_lossy(&buf[..take]));
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
                }
            }
            Err(_) if !waiting_said => {
                eprintln!("waiting for {} …", path.display());
                waiting_said = true;
            }
            Err(_) => {}
        }
        if ended && ended_seen {
            return ExitCode::SUCCESS;
        }
        ended_seen = ended;
        tokio::time::sleep(POLL).await;
    }
}

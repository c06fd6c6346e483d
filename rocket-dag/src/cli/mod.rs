//! The command line: [`main`] turns any binary that builds DAGs into an Airflow-style CLI
//! (`dags list|show|next-execution|test`, `tasks list|test`, `logs`), with human-readable output
//! by default and `--output json` for scripts.
//!
//! Exit codes: 0 success, 1 a run or task failed, 2 a usage error (unknown DAG or task, bad
//! argument, unusable notification configuration), 130 interrupted by Ctrl-C or SIGTERM.
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

/// A bad command-line value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ArgError(String);

impl RunArgs {
    /// The run request these arguments describe.
    pub fn request(&self) -> Result<RunRequest, ArgError> {
        let date = match &self.logical_date {
            // Whole seconds keep the run id readable: manual__2024-05-01T10:00:00+00:00.
            None => Utc::now().with_nanosecond(0).unwrap_or_else(Utc::now),
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

/// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS` (UTC) or RFC 3339.
pub fn parse_date(s: &str) -> Result<DateTime<Utc>, ArgError> {
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Ok(d.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S") {
        return Ok(Utc.from_utc_datetime(&d));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight exists")));
    }
    Err(ArgError(format!(
        "invalid date `{s}`: expected YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS or RFC 3339"
    )))
}

/// Runs `dag` once as `airflow dags test` does: console logs, Ctrl-C/SIGTERM handling, the
/// summary table on stdout. Exit code 0 on success, 1 on failure, 130 when interrupted.
pub async fn test_dag(
    dag: &Dag,
    home: PathBuf,
    args: &RunArgs,
    output: Output,
) -> (ExitCode, Option<DagRunReport>) {
    crate::logging::init();
    let request = match args.request() {
        Ok(r) => r,
        Err(e) => return (usage(e), None),
    };
    let store = match crate::store::Store::open_home(&home).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return (ExitCode::FAILURE, None);
        }
    };
    let mut runner = match with_notifications(Runner::new(&home), &home, [dag]) {
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
    let report = runner.run(dag, request).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
        crate::logging::set_progress_bar(None);
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
}

impl GlobalArgs {
    /// The home directory: `--home`, `$ROCKET_DAG_HOME`, or `./.rocket-dag`.
    pub fn home(&self) -> PathBuf {
        self.home.clone().unwrap_or_else(crate::home::default_home)
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
        dag: String,
        /// Run id [default: the newest run]
        #[arg(long, value_name = "RUN_ID")]
        run: Option<String>,
        /// The file to write: .svg, or .html (self-contained)
        #[arg(long, value_name = "FILE.svg|FILE.html")]
        out: PathBuf,
    },
    /// Chart each task's duration across the last runs of a DAG (which task to optimise)
    Durations {
        /// DAG id
        dag: String,
        /// How many runs, newest first
        #[arg(long, default_value_t = 20)]
        last: u32,
        /// The file to write: .svg, or .html (chart and table)
        #[arg(long, value_name = "FILE.svg|FILE.html")]
        out: PathBuf,
    },
    /// Draw the solution's architecture from the assets tasks read and write (Source /
    /// Storage / Business)
    Architecture {
        /// Only these DAGs [default: every DAG]
        dags: Vec<String>,
        /// The file to write: .drawio (opens in diagrams.net) or .svg
        #[arg(long, value_name = "FILE.drawio|FILE.svg")]
        out: PathBuf,
    },
    /// Write a run's report: statement, code, graph, architecture, Gantt chart, logs, results
    Report {
        /// DAG id
        dag: String,
        /// Run id [default: the newest run]
        #[arg(long, value_name = "RUN_ID")]
        run: Option<String>,
        /// The HTML file to write (self-contained; prints to PDF from a browser)
        #[arg(long, value_name = "FILE.html")]
        out: PathBuf,
        /// Also print it to this PDF through headless Chromium
        #[arg(long, value_name = "FILE.pdf")]
        pdf: Option<PathBuf>,
    },
    /// Write a DAG's runs (records as JSON), logs and data into one .tar.gz
    Export {
        /// DAG id
        dag: String,
        /// Only this run [default: every recorded run]
        #[arg(long)]
        run: Option<String>,
        /// The archive to write
        #[arg(long, value_name = "FILE.tar.gz")]
        out: PathBuf,
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
        dag: String,
        /// Run id
        #[arg(long)]
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
        dag: String,
        /// text (options, tasks, edges, next run), mermaid, dot (Graphviz), svg, or drawio
        /// (swimlanes by layer)
        #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
        format: ShowFormat,
        /// With --format svg: colour the tasks by their state in this run (`latest`: the
        /// newest run)
        #[arg(long, value_name = "RUN_ID")]
        run: Option<String>,
        /// Write to this file instead of stdout
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// The next run the schedule asks for (its data interval)
    NextExecution {
        /// DAG id
        dag: String,
    },
    /// Run every schedule interval whose logical date is in [--start, --end], in order, up to
    /// max_active_runs at once; runs that already succeeded are skipped unless --reset
    Backfill {
        /// DAG id
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
        dag: String,
    },
    /// Unpause a DAG
    Unpause {
        /// DAG id
        dag: String,
    },
    /// Run the DAG once now, for a logical date (recorded; running it again for the same date
    /// resumes it: tasks that succeeded are not run again)
    Test {
        /// DAG id
        dag: String,
        /// The run's date and params.
        #[command(flatten)]
        run: RunArgs,
    },
}

/// `tasks …`
#[derive(Debug, Clone, clap::Subcommand)]
pub enum TasksCommand {
    /// List a DAG's tasks in topological order
    List {
        /// DAG id
        dag: String,
    },
    /// The state of a task in a recorded run (its latest try; for a mapped task, the state
    /// its elements add up to, or one element's with --map-index)
    State {
        /// DAG id
        dag: String,
        /// Run id
        #[arg(long)]
        run: String,
        /// Task id
        task: String,
        /// One element of a mapped task
        #[arg(long)]
        map_index: Option<u32>,
    },
    /// Clear a task of a recorded run (and with --downstream everything after it) so that the
    /// next `dags test` of that run runs it again
    Clear {
        /// DAG id
        dag: String,
        /// Run id
        #[arg(long)]
        run: String,
        /// Task id
        task: String,
        /// Clear every task downstream of it too
        #[arg(long)]
        downstream: bool,
    },
    /// Run one task once, without dependency checks or retries (its log goes to the console)
    Test {
        /// DAG id
        dag: String,
        /// Task id
        task: String,
        /// For a mapped task: which element to run
        #[arg(long)]
        map_index: Option<u32>,
        /// The run's date and params.
        #[command(flatten)]
        run: RunArgs,
    },
    /// Set the state of a task of a recorded run (Airflow's "mark success/failed"): marked
    /// success, it is not run again when the run resumes; marked failed, it is
    Mark {
        /// DAG id
        dag: String,
        /// Run id
        #[arg(long)]
        run: String,
        /// Task id
        task: String,
        /// success or failed
        #[arg(long, value_parser = ["success", "failed"])]
        state: String,
        /// Only this element of a mapped task [default: every element]
        #[arg(long)]
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
    pub dag: String,
    /// Run id, e.g. manual__2024-01-01T00:00:00+00:00
    #[arg(long)]
    pub run: String,
    /// Task id
    pub task: String,
    /// Attempt number [default: the latest]
    #[arg(long)]
    pub attempt: Option<u32>,
    /// For a mapped task: the element's log
    #[arg(long)]
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
    eprintln!("error: {e}");
    ExitCode::from(2)
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
        Command::Dags(DagsCommand::Test { dag, run }) => match find(dags, &dag) {
            Err(code) => code,
            Ok(d) => test_dag(d, global.home(), &run, global.output).await.0,
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
            let runner = Runner::new(global.home());
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
            let home = global.home();
            let runner = match with_notifications(Runner::new(&home), &home, dags) {
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
            Ok(d) => pictures::gantt(d, run.as_deref(), &out, global).await,
        },
        Command::Durations { dag, last, out } => match find(dags, &dag) {
            Err(code) => code,
            Ok(d) => pictures::durations(d, last, &out, global).await,
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
            pictures::architecture(&chosen, &out, global)
        }
        Command::Report { dag, run, out, pdf } => match find(dags, &dag) {
            Err(code) => code,
            Ok(d) => pictures::report(d, run.as_deref(), &out, pdf.as_deref(), global).await,
        },
        Command::Export { dag, run, out } => {
            let store = match open_store(global).await {
                Ok(s) => s,
                Err(code) => return code,
            };
            match crate::export::export(&store, &global.home(), &dag, run.as_deref(), &out).await {
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
            match store.list_runs(dag.as_deref(), state, limit).await {
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
/// succeeded (idempotent) unless `reset`.
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
    let intervals = crate::timetable::intervals_between(dag.options(), from, to);
    if intervals.is_empty() {
        return usage(format!(
            "no interval of DAG `{}` (schedule {}) starts between {from} and {to}",
            dag.id(),
            dag.options().schedule
        ));
    }
    let store = match open_store(global).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    crate::logging::init();
    let home = global.home();
    let runner = match with_notifications(Runner::new(&home), &home, [dag]) {
        Ok(r) => r.with_store(store.clone()),
        Err(code) => return code,
    };
    runner.cancel_on_signals();
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
    let results: Vec<(String, String)> = futures::stream::iter(intervals)
        .map(|interval| {
            let (runner, store, request, bar) =
                (runner.clone(), store.clone(), request.clone(), bar.clone());
            let task_ids = &task_ids;
            async move {
                let run_id = crate::runner::run_id(RunType::Backfill.as_str(), interval.start);
                let existing = store.get_run(dag.id(), &run_id).await.ok().flatten();
                let outcome = match existing {
                    Some(r) if r.state == RunStateRecord::Success && !reset => {
                        "skipped (already succeeded)".to_owned()
                    }
                    existing => {
                        if existing.is_some()
                            && reset
                            && let Err(e) = clear_tasks(&store, dag.id(), &run_id, task_ids).await
                        {
                            tracing::error!("{e}");
                        }
                        let mut req = request
                            .clone()
                            .run_type(RunType::Backfill)
                            .run_id(run_id.clone());
                        req.logical_date = interval.start;
                        let report = runner.run(dag, req).await;
                        report.state.to_string()
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
    let ok = results
        .iter()
        .all(|(_, o)| o == "success" || o.starts_with("skipped"));
    if global.output == Output::Json {
        print_json(
            &results
                .iter()
                .map(|(r, o)| serde_json::json!({"run_id": r, "outcome": o}))
                .collect::<Vec<_>>(),
        );
    } else {
        for (r, o) in &results {
            println!("{r}  {o}");
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
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
    eprintln!("error: {e}");
    ExitCode::FAILURE
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
                hostname: crate::runner::hostname(),
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
    let mut dir = global
        .home()
        .join("logs")
        .join(format!("dag_id={}", args.dag))
        .join(format!("run_id={}", args.run))
        .join(format!("task_id={}", args.task));
    if let Some(m) = args.map_index {
        dir.push(format!("map_index={m}"));
    }
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
    if args.follow {
        return follow_log(global, args, attempt, &path).await;
    }
    match std::fs::read_to_string(&path) {
        Ok(text) if json => {
            print_json(&serde_json::json!({"path": path, "attempt": attempt, "log": text}));
            ExitCode::SUCCESS
        }
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => usage(format!("cannot read {}: {e}", path.display())),
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
        // the rest (the log writer thread may still be writing the attempt's last lines).
        let ended = ended_seen
            || match store.task_instances(&args.dag, &args.run).await {
                Ok(tis) => tis.iter().any(|t| {
                    t.task_id == args.task
                        && t.map_index == map_index
                        && t.try_number == attempt
                        && t.state != crate::store::TaskStateRecord::Running
                }),
                Err(e) => return fail(e),
            };
        match std::fs::File::open(path) {
            Ok(mut f) => {
                let mut buf = Vec::new();
                if f.seek(std::io::SeekFrom::Start(offset)).is_ok()
                    && f.read_to_end(&mut buf).is_ok()
                {
                    offset += buf.len() as u64;
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(&buf).and_then(|_| out.flush());
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

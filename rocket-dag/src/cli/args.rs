//! The command line's arguments (clap): subcommands, their options, dates, map indexes.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use serde_json::{Map, Value};

use super::*;
use crate::dag::Dag;
use crate::runner::{RunRequest, Runner};

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
    /// Course guides `handin` reads the variants' tasks from (a binary embeds its course's
    /// guides, one per language).
    #[arg(skip)]
    pub guides: Vec<Guide>,
}

/// A course guide in Markdown whose entries are headed `#### N.K Title`
/// ([`crate::viz::handin::guide_entries`]).
#[derive(Debug, Clone)]
pub struct Guide {
    /// Its language.
    pub lang: crate::viz::handin::Lang,
    /// The guide.
    pub markdown: std::borrow::Cow<'static, str>,
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
    /// Run the DAGs on Apache Airflow: write them as Airflow DAG files
    #[command(subcommand)]
    Airflow(AirflowCommand),
    /// Run the DAGs on their schedules until Ctrl-C or SIGTERM (one scheduler per home)
    Scheduler,
    /// Serve the web UI, Airflow's REST API (/api/v1) and Prometheus metrics (/metrics)
    #[cfg(feature = "web")]
    Webserver(WebArgs),
    /// The scheduler and the web server in one process: the one command to run
    #[cfg(feature = "web")]
    Standalone(WebArgs),
    /// Manage the web server's users (a users file of argon2 password hashes)
    #[cfg(feature = "web")]
    #[command(subcommand)]
    Users(UsersCommand),
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
        /// HOME/exports/architecture.drawio; for one DAG, HOME/exports/DAG/architecture.drawio]
        #[arg(long, value_name = "FILE.drawio|FILE.svg")]
        out: Option<PathBuf>,
    },
    /// Write the course hand-in: one PDF (AUTHOR-05.pdf) with the statement, the variant's
    /// tasks and their outputs, the architecture, and each DAG's code, graph, logs and Gantt chart
    Handin(HandinArgs),
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
        /// Only this run, or `latest` (the run that started last) [default: every recorded run]
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

/// `handin --author NAME [--variant N] [--dags DAG,…] --out DIR`.
#[derive(Debug, Clone, clap::Args)]
pub struct HandinArgs {
    /// Your full name, as the PDF's name and title page show it ("Иванов И.И.")
    #[arg(long)]
    pub author: String,
    /// Your variant (1–30 in the course): its three tasks, the guide's answer to each and what
    /// your runs wrote
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=99))]
    pub variant: Option<u32>,
    /// The DAGs whose latest runs go in [default: those the variant's commands name, and the
    /// first DAG of the binary, that have a run]
    #[arg(long, value_delimiter = ',', value_parser = crate::ids::parse_dag)]
    pub dags: Vec<String>,
    /// The folder to write the PDF, the HTML, the .drawio files and the archives to
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The language of the page and of the variant's tasks
    #[arg(long, value_enum, default_value_t = HandinLang::Ru)]
    pub lang: HandinLang,
}

/// The hand-in's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HandinLang {
    /// Russian
    Ru,
    /// English
    En,
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
        /// Run id, or `latest` (the run that started last)
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
    Backfill(BackfillArgs),
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
        /// Run id, or `latest` (the run that started last)
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
        /// Run id, or `latest` (the run that started last)
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
    /// One try of one task instance, as Airflow's worker runs it (see `airflow export`): its
    /// inputs read from the history, its state and output recorded there, its log on stdout;
    /// exit 0 success, 99 skipped, 98 failed for good (no retry), 1 failed
    Run(TaskRunArgs),
    /// Set the state of a task of a recorded run (Airflow's "mark success/failed"): marked
    /// success, it is not run again when the run resumes; marked failed, it is
    Mark(MarkArgs),
}

/// `airflow …`: the DAGs on Apache Airflow.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum AirflowCommand {
    /// Write each DAG as a plain Airflow DAG file (`<out>/<dag_id>.py`, Airflow 2.7 or newer)
    /// whose tasks run their tries with this binary's `tasks run`
    Export {
        /// DAG ids [default: every DAG]
        #[arg(value_parser = crate::ids::parse_dag)]
        dags: Vec<String>,
        /// The folder to write to (Airflow's dags folder)
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The binary the workers run: an absolute path, or one relative to the DAG file's
        /// folder (`./rocket-dag` beside the file, as in Airflow's Docker setup) [default: this
        /// binary]
        #[arg(long, value_name = "PATH")]
        binary: Option<PathBuf>,
        /// Overwrite files that rocket-dag did not generate
        #[arg(long)]
        force: bool,
    },
}

/// `tasks run DAG TASK --run-id ID --logical-date TS [--map-index I] [--try N]`: one try, as
/// Airflow's worker calls it.
#[derive(Debug, Clone, clap::Args)]
pub struct TaskRunArgs {
    /// DAG id
    #[arg(value_parser = crate::ids::parse_dag)]
    pub dag: String,
    /// Task id
    #[arg(value_parser = crate::ids::parse_task)]
    pub task: String,
    /// The run, as Airflow names it
    #[arg(long, value_parser = crate::ids::parse_run)]
    pub run_id: String,
    /// The run's logical date (RFC 3339)
    #[arg(long, value_parser = parse_date_arg)]
    pub logical_date: DateTime<Utc>,
    /// The element of a mapped task (Airflow's map index; -1 means not mapped)
    #[arg(long, value_parser = airflow_map_index, allow_negative_numbers = true)]
    pub map_index: Option<MapIndexArg>,
    /// The try, from 1 (Airflow's try number)
    #[arg(long = "try", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub try_number: u32,
    /// Tries allowed in all (Airflow's `max_tries + 1`) [default: the task's retries + 1]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_tries: Option<u32>,
    /// Start of the run's data interval [default: from the DAG's schedule]
    #[arg(long, value_parser = parse_date_arg, requires = "data_interval_end")]
    pub data_interval_start: Option<DateTime<Utc>>,
    /// End of the run's data interval
    #[arg(long, value_parser = parse_date_arg, requires = "data_interval_start")]
    pub data_interval_end: Option<DateTime<Utc>>,
    /// The run's params as one JSON object (Airflow's `dag_run.conf`; `null` is none)
    #[arg(long, value_name = "JSON")]
    pub conf: Option<String>,
}

/// A map index as Airflow passes it: `-1` for a task that is not mapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapIndexArg(pub Option<u32>);

fn airflow_map_index(s: &str) -> Result<MapIndexArg, String> {
    if s == "-1" {
        return Ok(MapIndexArg(None));
    }
    map_index(s).map(|i| MapIndexArg(Some(i)))
}

fn parse_date_arg(s: &str) -> Result<DateTime<Utc>, String> {
    parse_date(s).map_err(|e| e.to_string())
}

/// `logs DAG --run RUN TASK [--attempt N]`
#[derive(Debug, Clone, clap::Args)]
pub struct LogsArgs {
    /// DAG id
    #[arg(value_parser = crate::ids::parse_dag)]
    pub dag: String,
    /// Run id, e.g. manual__2024-01-01T00:00:00+00:00, or `latest` (the run that started last)
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

/// `dags backfill DAG --start DATE --end DATE [--reset]`
#[derive(Debug, Clone, clap::Args)]
pub struct BackfillArgs {
    /// DAG id
    #[arg(value_parser = crate::ids::parse_dag)]
    pub dag: String,
    /// First logical date: YYYY-MM-DD or RFC 3339
    #[arg(long)]
    pub start: String,
    /// Last logical date (inclusive)
    #[arg(long)]
    pub end: String,
    /// Run again the runs that already succeeded (all their tasks)
    #[arg(long)]
    pub reset: bool,
    /// A param for the tasks, repeatable: -p key=value
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Params as one JSON object
    #[arg(long, value_name = "JSON")]
    pub conf: Option<String>,
}

/// `tasks mark DAG --run RUN TASK --state success|failed [--map-index I] [--downstream]`
#[derive(Debug, Clone, clap::Args)]
pub struct MarkArgs {
    /// DAG id
    #[arg(value_parser = crate::ids::parse_dag)]
    pub dag: String,
    /// Run id, or `latest` (the run that started last)
    #[arg(long, value_parser = crate::ids::parse_run)]
    pub run: String,
    /// Task id
    #[arg(value_parser = crate::ids::parse_task)]
    pub task: String,
    /// success or failed
    #[arg(long, value_parser = ["success", "failed"])]
    pub state: String,
    /// Only this element of a mapped task [default: every element]
    #[arg(long, value_parser = map_index)]
    pub map_index: Option<u32>,
    /// Mark every task downstream of it too
    #[arg(long)]
    pub downstream: bool,
}

/// `webserver` and `standalone`: where to listen and who may use it.
#[cfg(feature = "web")]
#[derive(Debug, Clone, clap::Args)]
pub struct WebArgs {
    /// The address to listen on; anything but loopback needs users or a token
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// The port (0: any free port)
    #[arg(long, short = 'p', default_value_t = crate::web::DEFAULT_PORT)]
    pub port: u16,
    /// The users file (`name:<argon2 hash>` lines, see `users add`) [default: HOME/web-users
    /// if it exists]. The API also takes the bearer token of $ROCKET_DAG_API_TOKEN
    #[arg(long, value_name = "FILE")]
    pub users: Option<PathBuf>,
}

/// `users …`
#[cfg(feature = "web")]
#[derive(Debug, Clone, clap::Subcommand)]
pub enum UsersCommand {
    /// Add a user (or set their password), reading the password from standard input
    Add {
        /// The user name
        name: String,
        /// The users file [default: HOME/web-users]
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

//! Command-line building blocks for binaries that run DAGs (the examples use them).

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};
use serde_json::{Map, Value};

use crate::dag::Dag;
use crate::runner::{DagRunReport, RunRequest, RunState, Runner};

/// Arguments of a one-off run (`dags test DAG [DATE]`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RunArgs {
    /// Logical date: YYYY-MM-DD or RFC 3339 [default: now]
    #[arg(value_name = "DATE")]
    pub logical_date: Option<String>,
    /// Home directory for logs/ and data/ [default: ./.rocket-dag]
    #[arg(long, env = crate::home::HOME_ENV, value_name = "DIR")]
    pub home: Option<PathBuf>,
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
    /// The home directory these arguments select.
    pub fn home(&self) -> PathBuf {
        self.home.clone().unwrap_or_else(crate::home::default_home)
    }

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
pub async fn test_dag(dag: &Dag, args: &RunArgs) -> (ExitCode, Option<DagRunReport>) {
    crate::logging::init();
    let request = match args.request() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return (ExitCode::from(2), None);
        }
    };
    let runner = Runner::new(args.home());
    runner.cancel_on_signals();
    let report = runner.run(dag, request).await;
    println!("\n{}", report.summary_table());
    let code = match (report.state, report.interrupted) {
        (RunState::Success, _) => ExitCode::SUCCESS,
        (_, true) => ExitCode::from(130),
        _ => ExitCode::FAILURE,
    };
    (code, Some(report))
}

//! `dags backfill`: every interval of a range, in order, at most `max_active_runs` at once.

use std::process::ExitCode;

use chrono::{DateTime, Utc};

use super::*;
use crate::dag::Dag;
use crate::runner::{RunRequest, RunState};

pub(super) async fn command(dags: &[Dag], global: &GlobalArgs, args: BackfillArgs) -> ExitCode {
    let BackfillArgs {
        dag,
        start,
        end,
        reset,
        params,
        conf,
    } = args;
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
        (Ok(from), Ok(to), Ok(request)) => backfill(d, global, from, to, reset, request).await,
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => usage(e),
    }
}

/// Runs the intervals in order, at most `max_active_runs` at once, skipping runs that already
/// succeeded (idempotent) unless `reset`. As in Airflow, only intervals the DAG's schedule
/// allows are created: none after its `end_date`. Ctrl-C stops starting runs (those never
/// started are not recorded) and exits with 130.
pub(super) async fn backfill(
    dag: &Dag,
    global: &GlobalArgs,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    reset: bool,
    request: RunRequest,
) -> ExitCode {
    use futures::StreamExt;
    let intervals = match plan(dag, from, to) {
        Ok(i) => i,
        Err(code) => return code,
    };
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
    let bar = progress_bar(global, intervals.len(), "runs");
    let backfill = Backfill {
        dag,
        runner: &runner,
        store: &store,
        request: &request,
        reset,
        bar: bar.as_ref(),
    };
    let results: Vec<(String, Outcome)> = futures::stream::iter(intervals)
        .map(|interval| backfill.interval(interval))
        .buffered(dag.options().max_active_runs.max(1))
        .collect()
        .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
        crate::logging::set_progress_bar(None);
    }
    print_results(global, &results);
    let cancelled = runner.cancellation_token().is_cancelled();
    if cancelled {
        ExitCode::from(130)
    } else if results.iter().any(|(_, o)| matches!(o, Outcome::Failed(_))) {
        ExitCode::FAILURE
    } else if results.iter().any(|(_, o)| matches!(o, Outcome::Busy(_))) {
        ExitCode::from(BUSY)
    } else {
        ExitCode::SUCCESS
    }
}

/// The intervals to run: none with a logical date in the future or after the DAG's end_date
/// (as Airflow), each left out said in a note; a usage error when nothing is left.
fn plan(
    dag: &Dag,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<crate::timetable::DataInterval>, ExitCode> {
    let now = Utc::now();
    let end_date = dag
        .options()
        .end_date
        .map(|d| crate::timetable::resolve_local(d, dag.options().timezone))
        .filter(|end| to > *end);
    let intervals = crate::timetable::intervals_between(dag.options(), from, to.min(now))
        .map_err(|e| usage(format_args!("DAG `{}`: {e}", dag.id())))?;
    let mut notes = Vec::new();
    if let Some(end) = end_date {
        notes.push(format!(
            "DAG `{}` ends at its end_date {end}: no run is created for the intervals after it",
            dag.id()
        ));
    }
    if to > now && end_date.is_none_or(|e| e > now) {
        notes.push(format!(
            "no run is created for a logical date in the future (after {now})"
        ));
    }
    if intervals.is_empty() {
        return Err(usage(format!(
            "no interval of DAG `{}` (schedule {}) starts between {from} and {to}{}",
            dag.id(),
            dag.options().schedule,
            notes.iter().map(|n| format!("; {n}")).collect::<String>()
        )));
    }
    for n in &notes {
        eprintln!("note: {n}");
    }
    Ok(intervals)
}

/// What every interval of one backfill shares.
struct Backfill<'a> {
    dag: &'a Dag,
    runner: &'a crate::runner::Runner,
    store: &'a crate::store::Store,
    request: &'a RunRequest,
    reset: bool,
    bar: Option<&'a indicatif::ProgressBar>,
}

impl Backfill<'_> {
    /// Runs one interval (unless it succeeded before, or Ctrl-C came first) and says so.
    async fn interval(&self, interval: crate::timetable::DataInterval) -> (String, Outcome) {
        use crate::store::RunType;
        let run_id = crate::run::run_id(RunType::Backfill.as_str(), interval.start);
        let outcome = self.outcome(&run_id, interval).await;
        match self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(format!("{run_id}: {outcome}"));
            }
            None if !matches!(outcome, Outcome::NotStarted) => {
                tracing::info!("backfill {run_id}: {outcome}")
            }
            None => {}
        }
        (run_id, outcome)
    }

    async fn outcome(&self, run_id: &str, interval: crate::timetable::DataInterval) -> Outcome {
        use crate::store::{RunStateRecord, RunType};
        // After Ctrl-C nothing new starts, and what never started is not recorded.
        if self.runner.cancellation_token().is_cancelled() {
            return Outcome::NotStarted;
        }
        let dag_id = self.dag.id();
        match self.store.get_run(dag_id, run_id).await {
            Err(e) => return Outcome::Failed(e.to_string()),
            Ok(Some(r)) if r.state == RunStateRecord::Success && !self.reset => {
                return Outcome::Skipped;
            }
            Ok(Some(_)) if self.reset => {
                let ids: Vec<&str> = self.dag.tasks().iter().map(|t| t.id()).collect();
                if let Err(e) = crate::control::forget(
                    self.store,
                    dag_id,
                    run_id,
                    &ids,
                    "`dags backfill --reset-dagruns`",
                )
                .await
                {
                    return Outcome::Failed(e.to_string());
                }
            }
            Ok(_) => {}
        }
        let mut req = self
            .request
            .clone()
            .run_type(RunType::Backfill)
            .run_id(run_id);
        req.logical_date = interval.start;
        let report = self.runner.run(self.dag, req).await;
        match (&report.error, report.state) {
            (Some(crate::RunError::NotStarted), _) => Outcome::NotStarted,
            (Some(e @ crate::RunError::Busy { .. }), _) => Outcome::Busy(e.to_string()),
            (Some(e), _) => Outcome::Failed(e.to_string()),
            (None, RunState::Success) => Outcome::Success,
            (None, _) if report.interrupted => Outcome::Interrupted,
            (None, _) => Outcome::Failed("failed".into()),
        }
    }
}

/// The runs started or skipped, one line each (or JSON), and how many never started.
fn print_results(global: &GlobalArgs, results: &[(String, Outcome)]) {
    let not_started = results
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::NotStarted))
        .count();
    let shown = results
        .iter()
        .filter(|(_, o)| !matches!(o, Outcome::NotStarted));
    if global.output == Output::Json {
        // The exit code says whether it was interrupted.
        print_json(
            &shown
                .map(|(r, o)| serde_json::json!({"run_id": r, "outcome": o.to_string()}))
                .collect::<Vec<_>>(),
        );
        return;
    }
    for (r, o) in shown {
        println!("{r}  {}", escaped(o));
    }
    if not_started > 0 {
        println!("{not_started} interval(s) not started (interrupted): nothing recorded for them");
    }
}

/// What became of one interval of a backfill.
pub(super) enum Outcome {
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

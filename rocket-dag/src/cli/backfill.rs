//! `dags backfill`: every interval of a range, in order, at most `max_active_runs` at once.

use std::io::IsTerminal;
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
                            && let Err(e) =
                                super::tasks::clear_tasks(&store, dag.id(), &run_id, task_ids).await
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

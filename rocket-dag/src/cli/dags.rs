//! `dags …`: list, show, next-execution, test, trigger, pause, unpause; and `scheduler`.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::*;
use crate::dag::Dag;
use crate::runner::{DagRunReport, RunRequest, RunState, Runner};

pub(super) async fn list(dags: &[Dag], global: &GlobalArgs) -> ExitCode {
    let json = global.output == Output::Json;
    let now = Utc::now();
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

pub(super) async fn show(
    dags: &[Dag],
    global: &GlobalArgs,
    dag: String,
    format: ShowFormat,
    run: Option<String>,
    out: Option<PathBuf>,
) -> ExitCode {
    let json = global.output == Output::Json;
    let now = Utc::now();
    match find(dags, &dag) {
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
    }
}

pub(super) async fn next_execution(dags: &[Dag], global: &GlobalArgs, dag: String) -> ExitCode {
    let json = global.output == Output::Json;
    let now = Utc::now();
    match find(dags, &dag) {
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
    }
}

pub(super) async fn trigger(
    dags: &[Dag],
    global: &GlobalArgs,
    dag: String,
    conf: Option<String>,
    params: Vec<String>,
) -> ExitCode {
    let json = global.output == Output::Json;
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
    let trigger = crate::control::Trigger {
        conf: request.params,
        ..Default::default()
    };
    match crate::control::trigger(&store, &global.home(), d, trigger).await {
        Err(
            e @ (crate::control::ControlError::RunExists { .. }
            | crate::control::ControlError::LogicalDateTaken { .. }),
        ) => usage(e),
        Err(e) => fail(e),
        Ok(record) => {
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

pub(super) async fn scheduler(dags: &[Dag], global: &GlobalArgs) -> ExitCode {
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
    let mut request = match args.request() {
        Ok(r) => r,
        Err(e) => return (usage(e), None),
    };
    let store = match open_store(global).await {
        Ok(s) => s,
        Err(code) => return (code, None),
    };
    if args.logical_date.is_none()
        && let Err(code) = fresh_run(dag, &store, &mut request).await
    {
        return (code, None);
    }
    let mut runner = match global.runner([dag]) {
        Ok(r) => r.with_store(store),
        Err(code) => return (code, None),
    };
    let bar = progress_bar(global, dag.tasks().len(), "tasks");
    if let Some(bar) = &bar {
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        let hook = bar.clone();
        runner = runner.on_progress(move |p| {
            hook.set_position(p.finished as u64);
            hook.set_message(format!("{}: {}", p.task_id, p.state));
        });
    }
    runner.cancel_on_signals();
    let report = run_or_wait(&runner, dag, request, wait).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
        crate::logging::set_progress_bar(None);
    }
    let code = outcome(global, &runner, &report);
    (code, Some(report))
}

/// "Now" is a new run each time, even within one microsecond of the last.
async fn fresh_run(
    dag: &Dag,
    store: &crate::store::Store,
    request: &mut RunRequest,
) -> Result<(), ExitCode> {
    loop {
        let id = crate::run::run_id(request.run_type.as_str(), request.logical_date);
        match store.get_run(dag.id(), &id).await {
            Ok(None) => return Ok(()),
            Ok(Some(_)) => request.logical_date += chrono::Duration::microseconds(1),
            Err(e) => return Err(fail(e)),
        }
    }
}

/// Runs the request; with `wait`, while another process executes that run, waits for it
/// (Ctrl-C stops waiting).
async fn run_or_wait(runner: &Runner, dag: &Dag, request: RunRequest, wait: bool) -> DagRunReport {
    let stop = runner.cancellation_token();
    let mut said = false;
    loop {
        let report = runner.run(dag, request.clone()).await;
        match &report.error {
            Some(e @ crate::RunError::Busy { .. }) if wait && !stop.is_cancelled() => {
                if !said {
                    eprintln!(
                        "{}; waiting for it to finish (Ctrl-C stops waiting)",
                        escaped(e)
                    );
                    said = true;
                }
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
                    _ = stop.cancelled() => {}
                }
            }
            _ => return report,
        }
    }
}

/// Prints the summary (or the reason nothing ran) and picks the exit code.
fn outcome(global: &GlobalArgs, runner: &Runner, report: &DagRunReport) -> ExitCode {
    let interrupted = runner.cancellation_token().is_cancelled();
    match &report.error {
        Some(crate::RunError::NotStarted) => return ExitCode::from(130),
        Some(crate::RunError::Busy { .. }) if interrupted => return ExitCode::from(130),
        Some(e @ crate::RunError::Busy { .. }) => {
            eprintln!(
                "error: {}; try again once it has finished, or add --wait",
                escaped(e)
            );
            return ExitCode::from(BUSY);
        }
        Some(e @ crate::RunError::InvalidRunId { .. }) => return usage(e),
        _ => {}
    }
    match global.output {
        Output::Text => println!("\n{}", report.summary_table()),
        Output::Json => print_json(report),
    }
    match (report.state, report.interrupted) {
        (RunState::Success, _) => ExitCode::SUCCESS,
        (_, true) => ExitCode::from(130),
        _ => ExitCode::FAILURE,
    }
}

pub(super) async fn set_paused(
    dags: &[Dag],
    global: &GlobalArgs,
    dag: &str,
    pause: bool,
) -> ExitCode {
    let d = match find(dags, dag) {
        Ok(d) => d,
        Err(code) => return code,
    };
    let store = match open_store(global).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    match crate::control::set_paused(&store, &global.home(), d.id(), pause).await {
        Err(e) => fail(e),
        Ok(()) => {
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

/// The last scheduled run recorded in the home, if any: where the schedule goes on from.
pub(super) async fn last_scheduled(
    dag: &Dag,
    global: &GlobalArgs,
) -> Option<crate::timetable::DataInterval> {
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

pub(super) fn describe(
    dag: &Dag,
    now: DateTime<Utc>,
    last: Option<crate::timetable::DataInterval>,
) -> Value {
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

pub(super) fn print_show(d: &Dag, v: &Value) {
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
        print_task(d, &d.tasks()[i]);
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

/// One task's line of `dags show`: its options, what it is mapped over, what it reads and writes.
fn print_task(d: &Dag, t: &crate::dag::TaskNode) {
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
    let ids = |assets: &[crate::Asset]| assets.iter().map(|a| a.id).collect::<Vec<_>>().join(", ");
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

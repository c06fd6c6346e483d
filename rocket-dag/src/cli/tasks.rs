//! `tasks …`: list, test, state, mark, clear.

use std::process::ExitCode;

use chrono::Utc;
use serde_json::Value;

use super::*;
use crate::dag::Dag;
use crate::runner::{RunRequest, Runner};
use crate::store::{latest_tries, mapped_state};

pub(super) async fn list(dags: &[Dag], global: &GlobalArgs, dag: String) -> ExitCode {
    let json = global.output == Output::Json;
    let now = Utc::now();
    match find(dags, &dag) {
        Err(code) => code,
        Ok(d) => {
            if json {
                print_json(&super::dags::describe(d, now, None)["tasks"]);
            } else {
                for id in d.topological_ids() {
                    println!("{id}");
                }
            }
            ExitCode::SUCCESS
        }
    }
}

pub(super) async fn test(
    dags: &[Dag],
    global: &GlobalArgs,
    dag: String,
    task: String,
    map_index: Option<u32>,
    run: RunArgs,
) -> ExitCode {
    let json = global.output == Output::Json;
    let (d, index) = match find_task(dags, &dag, &task) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let node = &d.tasks()[index];
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

pub(super) async fn mark(dags: &[Dag], global: &GlobalArgs, args: MarkArgs) -> ExitCode {
    let MarkArgs {
        dag,
        run,
        task,
        state,
        map_index,
        downstream,
    } = args;
    let json = global.output == Output::Json;
    let (d, start) = match find_task(dags, &dag, &task) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let state: crate::store::TaskStateRecord = match state.parse() {
        Ok(s) => s,
        Err(e) => return usage(e),
    };
    let (store, run) = match open_run(global, &dag, &run).await {
        Ok(found) => found,
        Err(code) => return code,
    };
    use crate::control::{self, ControlError};
    if let Err(e) = control::recorded_run(&store, &dag, &run).await {
        return control_error(e);
    }
    if let Some(m) = map_index
        && let Err(e) = control::check_map_index(&store, d, &run, &task, i64::from(m)).await
    {
        return control_error(e);
    }
    let tasks = control::with_downstream(d, start, downstream);
    let ids: Vec<&str> = tasks.iter().map(|&i| d.tasks()[i].id()).collect();
    let only = map_index.map(|m| (ids[0], m as i32));
    match control::mark_tasks(&store, &dag, &run, &ids, only, state, "`tasks mark`").await {
        Err(e @ ControlError::Store(_)) => fail(e),
        Err(e) => usage(e),
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

pub(super) async fn state(
    global: &GlobalArgs,
    dag: String,
    run: String,
    task: String,
    map_index: Option<u32>,
) -> ExitCode {
    let json = global.output == Output::Json;
    let (store, run) = match open_run(global, &dag, &run).await {
        Ok(found) => found,
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
                let counts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
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

pub(super) async fn clear(
    dags: &[Dag],
    global: &GlobalArgs,
    dag: String,
    run: String,
    task: String,
    downstream: bool,
) -> ExitCode {
    let json = global.output == Output::Json;
    let (d, start) = match find_task(dags, &dag, &task) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let clear = crate::control::with_downstream(d, start, downstream);
    let (store, run) = match open_run(global, &dag, &run).await {
        Ok(found) => found,
        Err(code) => return code,
    };
    let ids: Vec<&str> = clear.iter().map(|&i| d.tasks()[i].id()).collect();
    match crate::control::clear(&store, &global.home(), &dag, &run, &ids, "`tasks clear`").await {
        Err(e) => control_error(e),
        Ok(_) => {
            if json {
                print_json(&serde_json::json!({"cleared": ids}));
            } else {
                println!("cleared: {}", ids.join(", "));
            }
            ExitCode::SUCCESS
        }
    }
}

/// The outputs a task's parameters take, read from a recorded run of the request's logical
/// date (manual, scheduled or backfill).
pub(super) async fn recorded_inputs(
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

/// A refused action is a usage error (exit 2); a failing history is a failure (exit 1).
fn control_error(e: crate::control::ControlError) -> ExitCode {
    match e {
        crate::control::ControlError::Store(_) => fail(e),
        e => usage(e),
    }
}

/// `tasks run`: one try for Airflow's worker (see [`crate::airflow`]). Its log goes to stdout
/// (Airflow shows the BashOperator's output as the try's log) and to the usual attempt file;
/// the exit code says how it ended ([`crate::airflow::worker::exit_code`]); a task that a
/// downstream task maps over prints the indexes of its output as the last line.
pub(super) async fn run(dags: &[Dag], global: &GlobalArgs, args: TaskRunArgs) -> ExitCode {
    use crate::airflow::worker;
    use crate::runner::{TryError, TryRequest};
    let (d, index) = match find_task(dags, &args.dag, &args.task) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let params = match args.conf.as_deref().map(str::trim) {
        None | Some("" | "null") => serde_json::Map::new(),
        Some(json) => match serde_json::from_str::<Value>(json) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return usage("--conf must be a JSON object"),
            Err(e) => return usage(format!("--conf is not valid JSON: {e}")),
        },
    };
    crate::logging::console_on_stdout(true);
    crate::logging::init();
    let store = match open_store(global).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let runner = Runner::new(global.home())
        .default_params(global.params.clone())
        .with_store(store.clone());
    runner.cancel_on_signals();
    let mut request = TryRequest::new(&args.run_id, args.logical_date, args.try_number, "airflow")
        .params(params)
        .max_tries(args.max_tries)
        .map_index(args.map_index.and_then(|m| m.0));
    if let (Some(start), Some(end)) = (args.data_interval_start, args.data_interval_end) {
        request = request.data_interval(start, end);
    }
    let result = runner.run_try(d, &args.task, request).await;
    crate::logging::flush().await;
    store.close().await;
    match result {
        Err(e @ TryError::Dag(_)) => usage(e),
        Err(e) => fail(e),
        Ok(outcome) => {
            println!(
                "{}: try {} {} in {:.3}s{}",
                args.task,
                args.try_number,
                outcome.state,
                outcome.duration.as_secs_f64(),
                outcome
                    .error
                    .as_deref()
                    .map(|r| format!(": {}", escaped(r)))
                    .unwrap_or_default()
            );
            if let Some(line) = worker::published_indexes(d, index, &outcome) {
                println!("{line}");
            }
            ExitCode::from(worker::exit_code(&outcome))
        }
    }
}

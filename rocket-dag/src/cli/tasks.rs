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

pub(super) async fn state(
    global: &GlobalArgs,
    dag: String,
    run: String,
    task: String,
    map_index: Option<u32>,
) -> ExitCode {
    let json = global.output == Output::Json;
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

/// `tasks mark --map-index M`: the task must be mapped and M one of the elements the run
/// recorded (as `tasks test` checks against the list it maps over).
pub(super) async fn check_map_index(
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

/// Clearing forgets a task's outcome (its output and the state of its latest try) so that the
/// next run of that run id runs it again; its tries stay in the history.
pub(super) async fn clear_tasks(
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
pub(super) fn with_downstream(dag: &Dag, start: usize, downstream: bool) -> Vec<usize> {
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
pub(super) async fn mark_tasks(
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

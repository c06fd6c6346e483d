//! `runs …`: list and mark recorded runs.

use std::process::ExitCode;

use chrono::Utc;

use super::*;
use crate::dag::Dag;

pub(super) async fn mark(global: &GlobalArgs, dag: String, run: String, state: String) -> ExitCode {
    let json = global.output == Output::Json;
    let (store, run) = match open_run(global, &dag, &run).await {
        Ok(found) => found,
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
                print_json(&serde_json::json!({"dag_id": dag, "run_id": run, "state": state}));
            } else {
                println!("run {run} of {dag} marked {}", state.as_str());
            }
            ExitCode::SUCCESS
        }
    }
}

pub(super) async fn list(
    dags: &[Dag],
    global: &GlobalArgs,
    dag: Option<String>,
    state: Option<String>,
    limit: u32,
) -> ExitCode {
    let json = global.output == Output::Json;
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

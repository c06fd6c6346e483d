//! Every `#[dag]` option and every `#[task]` option, once.
use rocket_dag::prelude::*;

#[task(
    id = "fetch_data",
    retries = 3,
    retry_delay = "30s",
    retry_exponential_backoff = true,
    max_retry_delay = "1h30m",
    execution_timeout = "10m",
    trigger_rule = "all_done",
    layer = "source"
)]
async fn fetch() -> Result<u32, TaskError> {
    Ok(1)
}

#[task(layer = "business", trigger_rule = "none_failed_min_one_success")]
async fn report(n: u32) -> Result<(), TaskError> {
    println!("{n}");
    Ok(())
}

#[task(shell, retries = 1, execution_timeout = "250ms")]
fn echo() -> String {
    "echo {{ ds }}".into()
}

#[dag(
    id = "all_options",
    schedule = "30 6 * * 1-5",
    start_date = "2024-01-01",
    end_date = "2024-12-31T23:59:59",
    catchup = true,
    timezone = "Europe/Berlin",
    max_active_tasks = 4,
    max_active_runs = 1,
    tags = ["example", "options"],
    description = "Every option once",
    retries = 2,
    retry_delay = "5m",
    retry_exponential_backoff = false,
    max_retry_delay = "1d",
    execution_timeout = "2h",
    trigger_rule = "all_success",
    layer = "storage"
)]
fn options() {
    let n = fetch();
    report(n);
    echo();
}

/// Runs by hand only.
#[dag(schedule = None)]
fn manual() {
    fetch();
}

#[dag(schedule = "@hourly", start_date = "2024-01-01T06:30:00")]
fn hourly() {
    fetch();
}

#[dag(schedule = "*/15 0-23 1,15 * MON-FRI")]
fn cron() {
    fetch();
}

fn main() {
    let dag = options();
    assert_eq!(dag.id(), "all_options");
    assert_eq!(dag.options().tags, ["example", "options"]);
    assert_eq!(dag.topological_ids()[0], "fetch_data");
    assert_eq!(manual().options().description, "Runs by hand only.");
    let _ = (hourly(), cron());
}

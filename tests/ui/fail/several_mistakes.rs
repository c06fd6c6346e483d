//! Every bad option is reported in one build, and the DAG body is still checked.
use rocket_dag::prelude::*;

#[task(retries = 3, retry_delay = "2 secs", layer = "sorce")]
async fn fetch() -> Result<String, TaskError> {
    Ok(String::new())
}

#[dag(
    schedul = "@daily",
    start_date = "2024-13-01",
    timezone = "europe/berlin"
)]
fn invalid() {
    let a = fetch();
    a >> a;
}

fn main() {
    let _ = invalid();
}

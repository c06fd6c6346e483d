//! The listing 2.10 shape: download launches, get pictures, notify; plus a shell task.
use rocket_dag::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Launch {
    name: String,
    image: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Launches {
    results: Vec<Launch>,
}

/// Download the next launches.
#[task(retries = 3, retry_delay = "2s")]
async fn download_launches(ctx: &TaskContext) -> Result<Launches, TaskError> {
    let _ = ctx.ds();
    Ok(Launches {
        results: Vec::new(),
    })
}

/// Download every launch's picture; returns how many.
#[task]
async fn get_pictures(launches: Launches) -> Result<usize, TaskError> {
    Ok(launches.results.len())
}

/// Say how many pictures there are (a plain return value, no `Result`).
#[task]
async fn notify(ctx: &TaskContext, count: usize) -> String {
    format!("{}: there are now {count} images", ctx.ds())
}

/// List the pictures.
#[task(shell)]
fn list_pictures() -> String {
    "ls /tmp/images".into()
}

#[dag(schedule = "@daily", start_date = "2024-01-01", catchup = false)]
fn download_rocket_launches() {
    let launches = download_launches();
    let pictures = get_pictures(launches);
    let note = notify(pictures);
    let listing = list_pictures();
    note >> listing;
}

fn main() {
    let dag = download_rocket_launches();
    assert_eq!(
        dag.topological_ids(),
        [
            "download_launches",
            "get_pictures",
            "notify",
            "list_pictures"
        ]
    );
}

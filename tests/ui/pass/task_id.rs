//! The same task twice, told apart with `.task_id("…")`, also inline as an argument.
use rocket_dag::prelude::*;

#[task]
async fn fetch() -> Result<u32, TaskError> {
    Ok(1)
}

#[task]
async fn add(x: u32, y: u32) -> Result<u32, TaskError> {
    Ok(x + y)
}

#[dag]
fn two_fetches() {
    let first = fetch();
    let second = fetch().task_id("fetch_again");
    let sum = add(first, second);
    let total = add(sum, fetch().task_id("fetch_third")).task_id("total");
    first >> total;
}

fn main() {
    let dag = two_fetches();
    assert_eq!(dag.tasks().len(), 5);
    assert!(dag.task("fetch_again").is_some());
    assert!(dag.task("total").is_some());
}

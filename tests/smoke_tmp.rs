use rocket_dag::prelude::*;

/// Fetch.
#[task(retries = 3, retry_delay = "2s", retry_exponential_backoff = true)]
async fn download(ctx: &TaskContext) -> Result<Vec<String>, TaskError> {
    Ok(vec![ctx.ds()])
}

#[task(execution_timeout = "10m")]
async fn pictures(_ctx: &TaskContext, l: Vec<String>) -> Result<usize, TaskError> {
    Ok(l.len())
}

#[task]
async fn notify(n: usize) -> Result<(), TaskError> {
    println!("There are now {n} images.");
    Ok(())
}

#[task(shell)]
fn echo() -> String {
    "echo {{ ds }}".into()
}

#[dag(schedule = "@daily", start_date = "2024-01-01", catchup = false)]
fn listing() {
    let launches = download();
    let pics = pictures(launches);
    notify(pics);
    let e = echo();
    launches >> e;
}

#[tokio::test]
async fn smoke() {
    let dag = listing();
    println!("{}", dag.to_mermaid());
    let home = tempfile::tempdir().unwrap();
    let r = Runner::new(home.path()).run(&dag, RunRequest::new(rocket_dag::cli::parse_date("2024-01-01").unwrap())).await;
    println!("{}", r.summary_table());
    assert_eq!(r.state, RunState::Success);
    assert_eq!(r.task("echo").unwrap().output::<String>().unwrap(), "2024-01-01");
    for e in walk(home.path()) { println!("{e}"); }
}
fn walk(p: &std::path::Path) -> Vec<String> { let mut v = vec![]; for e in std::fs::read_dir(p).unwrap() { let e = e.unwrap(); if e.path().is_dir() { v.extend(walk(&e.path())) } else { v.push(format!("{} {}", e.path().display(), std::fs::read_to_string(e.path()).unwrap_or_default())) } } v }

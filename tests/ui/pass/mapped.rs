//! Dynamic task mapping: `.expand`, `.partial(..).expand`, several lists, a renamed mapped
//! call, and a mapped task's collected output feeding another mapped task.
use rocket_dag::prelude::*;

#[task]
async fn urls() -> Vec<String> {
    vec!["a".into(), "b".into()]
}

#[task]
async fn sizes() -> Result<Vec<u64>, TaskError> {
    Ok(vec![1, 2])
}

#[task]
async fn fetch(url: String) -> Result<u64, TaskError> {
    Ok(url.len() as u64)
}

#[task]
async fn scale(factor: u64, size: u64) -> u64 {
    factor * size
}

#[task]
async fn factor() -> u64 {
    3
}

#[task]
async fn label(url: String, size: u64) -> String {
    format!("{url}:{size}")
}

#[task]
async fn report(fetched: Vec<u64>, labels: Vec<String>) -> usize {
    fetched.len() + labels.len()
}

#[dag]
fn mapped() {
    let u = urls();
    let fetched = fetch.expand(u);
    let f = factor();
    let scaled = scale.partial(f).expand(fetched).task_id("scale_fetched");
    let labels = label.expand(u, sizes());
    report(scaled, labels);
}

fn main() {
    let dag = mapped();
    assert_eq!(dag.tasks().len(), 7);
    assert!(dag.task("scale_fetched").unwrap().is_mapped());
    assert!(!dag.task("report").unwrap().is_mapped());
}

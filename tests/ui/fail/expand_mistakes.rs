use rocket_dag::prelude::*;

#[task]
async fn urls() -> Vec<String> {
    vec![]
}

#[task]
async fn fetch(url: String) -> usize {
    url.len()
}

#[dag]
fn mistakes() {
    let u = urls();
    fetch.expand();
    fetch.partial(u).task_id("x");
    fetch.map(u);
}

fn main() {
    let _ = mistakes();
}

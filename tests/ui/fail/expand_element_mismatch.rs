use rocket_dag::prelude::*;

#[task]
async fn numbers() -> Vec<u32> {
    vec![1, 2]
}

#[task]
async fn fetch(url: String) -> usize {
    url.len()
}

#[dag]
fn mismatch() {
    let n = numbers();
    fetch.expand(n);
}

fn main() {
    let _ = mismatch();
}

use rocket_dag::prelude::*;

#[task]
fn fetch() -> Result<String, TaskError> {
    Ok(String::new())
}

#[task]
async fn count(text: String) -> Result<usize, TaskError> {
    Ok(text.len())
}

#[dag]
fn sync_task() {
    let text = fetch();
    count(text);
}

fn main() {
    let _ = sync_task();
}

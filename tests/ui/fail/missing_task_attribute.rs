use rocket_dag::prelude::*;

#[task]
async fn fetch() -> Result<String, TaskError> {
    Ok(String::new())
}

async fn count(text: String) -> Result<usize, TaskError> {
    Ok(text.len())
}

#[dag]
fn invalid() {
    let text = fetch();
    count(text);
}

fn main() {
    let _ = invalid();
}

use rocket_dag::prelude::*;

#[task(retires = 3)]
async fn fetch() -> Result<String, TaskError> {
    Ok(String::new())
}

#[task]
async fn count(text: String) -> Result<usize, TaskError> {
    Ok(text.len())
}

#[dag]
fn typo() {
    let text = fetch();
    count(text);
}

fn main() {
    let _ = typo();
}

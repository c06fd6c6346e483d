use rocket_dag::prelude::*;

#[task]
async fn fetch() -> Result<String, TaskError> {
    Ok(String::new())
}

#[dag]
fn invalid() {
    let n = 5;
    fetch();
}

fn main() {
    let _ = invalid();
}

use rocket_dag::prelude::*;

#[task]
async fn fetch() -> Result<String, TaskError> {
    Ok(String::new())
}

#[dag(schedule = "0 25 * * *")]
fn invalid() {
    fetch();
}

fn main() {
    let _ = invalid();
}

use rocket_dag::prelude::*;

#[task]
async fn fetch() -> Result<String, TaskError> {
    Ok(String::new())
}

#[dag(retry_delay = "5 minutes")]
fn invalid() {
    fetch();
}

fn main() {
    let _ = invalid();
}

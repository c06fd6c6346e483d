use rocket_dag::prelude::*;

#[task]
async fn fetch() -> Result<String, TaskError> {
    Ok(String::new())
}

#[dag(start_date = "2024-13-01")]
fn invalid() {
    fetch();
}

fn main() {
    let _ = invalid();
}

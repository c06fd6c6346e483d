use rocket_dag::prelude::*;

#[task]
async fn fetch() -> Result<String, TaskError> {
    Ok(String::new())
}

#[dag(schedule = "@daily", start_date = "2024-02-30")]
fn invalid() {
    fetch();
}

fn main() {
    let _ = invalid();
}

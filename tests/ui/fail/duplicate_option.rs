use rocket_dag::prelude::*;

#[task(retries = 3, retries = 4)]
async fn fetch() -> Result<String, TaskError> {
    Ok(String::new())
}

#[dag(schedule = "@daily", start_date = "2024-01-01", schedule = "@hourly")]
fn twice() {
    fetch();
}

fn main() {
    let _ = twice();
}

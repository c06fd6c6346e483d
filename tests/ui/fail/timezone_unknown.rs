use rocket_dag::prelude::*;

#[task]
async fn fetch() -> Result<String, TaskError> {
    Ok(String::new())
}

#[dag(timezone = "Europe/Berln")]
fn invalid() {
    fetch();
}

fn main() {
    let _ = invalid();
}

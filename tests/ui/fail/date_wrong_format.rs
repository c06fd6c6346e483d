use rocket_dag::prelude::*;

#[task]
async fn fetch() -> Result<String, TaskError> {
    Ok(String::new())
}

#[dag(start_date = "01/02/2024")]
fn invalid() {
    fetch();
}

fn main() {
    let _ = invalid();
}

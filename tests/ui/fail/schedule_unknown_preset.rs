use rocket_dag::prelude::*;

#[task]
async fn fetch() -> Result<String, TaskError> {
    Ok(String::new())
}

#[dag(schedule = "@dialy")]
fn invalid() {
    fetch();
}

fn main() {
    let _ = invalid();
}

use rocket_dag::prelude::*;

#[task]
async fn fetch() -> Result<String, TaskError> {
    Ok(String::new())
}

#[dag]
fn invalid() {
    for i in 0..3 {
        fetch().task_id("fetch");
    }
}

fn main() {
    let _ = invalid();
}

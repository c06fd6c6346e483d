use rocket_dag::prelude::*;

#[task]
async fn fetch() -> Result<String, TaskError> {
    Ok(String::new())
}

#[task(trigger_rule = "all_sucess")]
async fn cleanup() -> Result<(), TaskError> {
    Ok(())
}

#[dag]
fn invalid() {
    let f = fetch();
    let c = cleanup();
    f >> c;
}

fn main() {
    let _ = invalid();
}

use rocket_dag::prelude::*;

#[task]
async fn ping() -> Result<(), TaskError> {
    Ok(())
}

#[dag]
fn twice() {
    ping().task_id("ping_a");
    ping().task_id("ping_a");
}

fn main() {
    let _ = twice();
}

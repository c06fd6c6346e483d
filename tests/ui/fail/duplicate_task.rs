use rocket_dag::prelude::*;

#[task]
async fn ping() -> Result<(), TaskError> {
    Ok(())
}

#[dag]
fn twice() {
    ping();
    ping();
}

fn main() {
    let _ = twice();
}

use rocket_dag::prelude::*;

#[task]
async fn extract() -> Result<(), TaskError> {
    Ok(())
}

#[dag]
fn loops() {
    let a = extract();
    a >> a;
}

fn main() {
    let _ = loops();
}

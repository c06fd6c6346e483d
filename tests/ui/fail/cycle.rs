use rocket_dag::prelude::*;

#[task]
async fn extract() -> Result<(), TaskError> {
    Ok(())
}

#[task]
async fn load() -> Result<(), TaskError> {
    Ok(())
}

#[dag]
fn etl() {
    let a = extract();
    let b = load();
    a >> b;
    b >> a;
}

fn main() {
    let _ = etl();
}

use rocket_dag::prelude::*;

#[task]
async fn fetch() -> Result<(), TaskError> {
    Ok(())
}

#[task]
async fn report() -> Result<(), TaskError> {
    Ok(())
}

#[dag]
fn invalid() {
    let a = fetch();
    let b = report();
    a > b;
}

fn main() {
    let _ = invalid();
}

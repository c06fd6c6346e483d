use rocket_dag::prelude::*;

#[task(id = "same")]
async fn first() -> Result<(), TaskError> {
    Ok(())
}

#[task(id = "same")]
async fn second() -> Result<(), TaskError> {
    Ok(())
}

#[dag]
fn collide() {
    let a = first();
    let b = second();
    a >> b;
}

fn main() {
    let _ = collide();
}

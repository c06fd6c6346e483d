use rocket_dag::prelude::*;

#[task]
async fn a() -> Result<u32, TaskError> {
    Ok(1)
}

#[task]
async fn b(n: u32) -> Result<(), TaskError> {
    println!("{n}");
    Ok(())
}

#[dag]
fn many() {
    let x = a().task_id("x");
    let y = a().task_id("y");
    b(x, y);
}

fn main() {
    let _ = many();
}

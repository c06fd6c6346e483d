use rocket_dag::prelude::*;

#[task]
async fn a() -> Result<String, TaskError> {
    Ok(String::new())
}

#[task]
async fn b(n: u32) -> Result<(), TaskError> {
    println!("{n}");
    Ok(())
}

#[dag]
fn mismatch() {
    let x = a();
    b(x);
}

fn main() {
    let _ = mismatch();
}

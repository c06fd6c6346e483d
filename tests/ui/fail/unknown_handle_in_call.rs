//! A mistake in one task call is reported once: later uses of its handle are not errors.
use rocket_dag::prelude::*;

#[task]
async fn fetch() -> Result<String, TaskError> {
    Ok(String::new())
}

#[task]
async fn parse(text: String) -> Result<usize, TaskError> {
    Ok(text.len())
}

#[task]
async fn report(count: usize) -> Result<(), TaskError> {
    println!("{count}");
    Ok(())
}

#[dag]
fn pipeline() {
    let text = fetch();
    let count = parse(txt);
    let done = report(count);
    text >> done;
}

fn main() {
    let _ = pipeline();
}

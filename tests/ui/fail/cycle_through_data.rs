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
    let a = fetch();
    let b = parse(a);
    let c = report(b);
    c >> a;
}

fn main() {
    let _ = pipeline();
}

//! Every edge form: fan-out, fan-in, chains and `<<`.
use rocket_dag::prelude::*;

#[task]
async fn a() -> Result<(), TaskError> {
    Ok(())
}

#[task]
async fn b() -> Result<(), TaskError> {
    Ok(())
}

#[task]
async fn c() -> Result<(), TaskError> {
    Ok(())
}

#[task]
async fn d() -> Result<(), TaskError> {
    Ok(())
}

#[dag]
fn fan_out() {
    let a = a();
    let b = b();
    let c = c();
    a >> [b, c];
}

#[dag]
fn fan_in() {
    let a = a();
    let b = b();
    let c = c();
    [a, b] >> c;
}

#[dag]
fn chain() {
    let a = a();
    let b = b();
    let c = c();
    let d = d();
    a >> b >> c;
    d << c;
}

#[dag]
fn diamond() {
    let a = a();
    let b = b();
    let c = c();
    let d = d();
    a >> [b, c] >> d;
}

fn main() {
    assert_eq!(fan_out().topological_ids(), ["a", "b", "c"]);
    assert_eq!(fan_in().topological_ids(), ["a", "b", "c"]);
    assert_eq!(chain().topological_ids(), ["a", "b", "c", "d"]);
    assert_eq!(diamond().edges().len(), 4);
}

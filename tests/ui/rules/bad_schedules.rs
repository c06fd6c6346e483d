//! Generated from table.txt by tests/ui.rs (`UPDATE_RULES=1`); do not edit.
#![allow(dead_code)]
use rocket_dag::prelude::*;

#[task]
async fn work() -> Result<(), TaskError> {
    Ok(())
}

#[dag(schedule = "@dialy", start_date = "2024-01-01")]
fn dag_0() {
    work();
}

#[dag(schedule = "None", start_date = "2024-01-01")]
fn dag_1() {
    work();
}

#[dag(schedule = "", start_date = "2024-01-01")]
fn dag_2() {
    work();
}

#[dag(schedule = "0 12 *", start_date = "2024-01-01")]
fn dag_3() {
    work();
}

#[dag(schedule = "* * * * * *", start_date = "2024-01-01")]
fn dag_4() {
    work();
}

#[dag(schedule = "0 25 * * *", start_date = "2024-01-01")]
fn dag_5() {
    work();
}

#[dag(schedule = "60 * * * *", start_date = "2024-01-01")]
fn dag_6() {
    work();
}

#[dag(schedule = "0 0 32 * *", start_date = "2024-01-01")]
fn dag_7() {
    work();
}

#[dag(schedule = "0 0 * 13 *", start_date = "2024-01-01")]
fn dag_8() {
    work();
}

#[dag(schedule = "0 0 * * 8", start_date = "2024-01-01")]
fn dag_9() {
    work();
}

#[dag(schedule = "0 9-25 * * *", start_date = "2024-01-01")]
fn dag_10() {
    work();
}

#[dag(schedule = "every day", start_date = "2024-01-01")]
fn dag_11() {
    work();
}

#[dag(schedule = "0 0 * * FOO", start_date = "2024-01-01")]
fn dag_12() {
    work();
}

fn main() {
}

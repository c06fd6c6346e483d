//! Generated from table.txt by tests/ui.rs (`UPDATE_RULES=1`); do not edit.
#![allow(dead_code)]
use rocket_dag::prelude::*;

#[task]
async fn work() -> Result<(), TaskError> {
    Ok(())
}

#[dag(schedule = "@once", start_date = "2024-01-01")]
fn dag_0() {
    work();
}

#[dag(schedule = "@hourly", start_date = "2024-01-01")]
fn dag_1() {
    work();
}

#[dag(schedule = "@daily", start_date = "2024-01-01")]
fn dag_2() {
    work();
}

#[dag(schedule = "@weekly", start_date = "2024-01-01")]
fn dag_3() {
    work();
}

#[dag(schedule = "@monthly", start_date = "2024-01-01")]
fn dag_4() {
    work();
}

#[dag(schedule = "@quarterly", start_date = "2024-01-01")]
fn dag_5() {
    work();
}

#[dag(schedule = "@yearly", start_date = "2024-01-01")]
fn dag_6() {
    work();
}

#[dag(schedule = "@annually", start_date = "2024-01-01")]
fn dag_7() {
    work();
}

#[dag(schedule = "@midnight", start_date = "2024-01-01")]
fn dag_8() {
    work();
}

#[dag(schedule = "0 6 * * *", start_date = "2024-01-01")]
fn dag_9() {
    work();
}

#[dag(schedule = "*/15 * * * *", start_date = "2024-01-01")]
fn dag_10() {
    work();
}

#[dag(schedule = "30 6 * * 1-5", start_date = "2024-01-01")]
fn dag_11() {
    work();
}

#[dag(schedule = "0 0 1 */3 *", start_date = "2024-01-01")]
fn dag_12() {
    work();
}

#[dag(schedule = "0 12 * * MON", start_date = "2024-01-01")]
fn dag_13() {
    work();
}

#[dag(schedule = "0 0 * * 7", start_date = "2024-01-01")]
fn dag_14() {
    work();
}

#[dag(schedule = "5,35 9-17 * JAN-MAR *", start_date = "2024-01-01")]
fn dag_15() {
    work();
}

fn main() {
    let _ = dag_0();
    let _ = dag_1();
    let _ = dag_2();
    let _ = dag_3();
    let _ = dag_4();
    let _ = dag_5();
    let _ = dag_6();
    let _ = dag_7();
    let _ = dag_8();
    let _ = dag_9();
    let _ = dag_10();
    let _ = dag_11();
    let _ = dag_12();
    let _ = dag_13();
    let _ = dag_14();
    let _ = dag_15();
}

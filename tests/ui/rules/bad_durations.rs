//! Generated from table.txt by tests/ui.rs (`UPDATE_RULES=1`); do not edit.
#![allow(dead_code)]
use rocket_dag::prelude::*;

#[task(retries = 1, retry_delay = "5 minutes")]
async fn task_0() -> Result<(), TaskError> {
    Ok(())
}

#[task(retries = 1, retry_delay = "5")]
async fn task_1() -> Result<(), TaskError> {
    Ok(())
}

#[task(retries = 1, retry_delay = "1.5h")]
async fn task_2() -> Result<(), TaskError> {
    Ok(())
}

#[task(retries = 1, retry_delay = "-5s")]
async fn task_3() -> Result<(), TaskError> {
    Ok(())
}

#[task(retries = 1, retry_delay = "1h 30m")]
async fn task_4() -> Result<(), TaskError> {
    Ok(())
}

#[task(retries = 1, retry_delay = "")]
async fn task_5() -> Result<(), TaskError> {
    Ok(())
}

#[task(retries = 1, retry_delay = "5w")]
async fn task_6() -> Result<(), TaskError> {
    Ok(())
}

#[task(retries = 1, retry_delay = "99999999999999999999d")]
async fn task_7() -> Result<(), TaskError> {
    Ok(())
}

#[task(retries = 1, retry_delay = "m")]
async fn task_8() -> Result<(), TaskError> {
    Ok(())
}

fn main() {
}

//! Generated from table.txt by tests/ui.rs (`UPDATE_RULES=1`); do not edit.
#![allow(dead_code)]
use rocket_dag::prelude::*;

#[task(retries = 1, retry_delay = "500ms")]
async fn task_0() -> Result<(), TaskError> {
    Ok(())
}

#[task(retries = 1, retry_delay = "30s")]
async fn task_1() -> Result<(), TaskError> {
    Ok(())
}

#[task(retries = 1, retry_delay = "10m")]
async fn task_2() -> Result<(), TaskError> {
    Ok(())
}

#[task(retries = 1, retry_delay = "1h30m")]
async fn task_3() -> Result<(), TaskError> {
    Ok(())
}

#[task(retries = 1, retry_delay = "2h")]
async fn task_4() -> Result<(), TaskError> {
    Ok(())
}

#[task(retries = 1, retry_delay = "1d")]
async fn task_5() -> Result<(), TaskError> {
    Ok(())
}

#[task(retries = 1, retry_delay = "0s")]
async fn task_6() -> Result<(), TaskError> {
    Ok(())
}

#[task(retries = 1, retry_delay = "1d2h3m4s5ms")]
async fn task_7() -> Result<(), TaskError> {
    Ok(())
}

fn main() {
}

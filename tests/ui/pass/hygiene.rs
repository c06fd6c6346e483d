//! The expansion names everything through `::rocket_dag::__private`: shadowing common names
//! breaks nothing, and it is warning-free under strict lints.
#![deny(warnings, unused_qualifications)]

use rocket_dag::prelude::*;
use std as tokio;

type Result<T> = ::core::result::Result<T, TaskError>;

#[allow(dead_code)]
struct Box;
#[allow(dead_code)]
struct Vec;
#[allow(dead_code)]
struct String;
#[allow(dead_code)]
struct Option;
#[allow(dead_code)]
struct Some;
#[allow(dead_code)]
struct None;
#[allow(dead_code)]
struct Ok;
#[allow(dead_code)]
struct Err;
#[allow(dead_code)]
struct Send;
#[allow(dead_code)]
struct Sync;
#[allow(dead_code)]
trait Into {}
#[allow(dead_code)]
trait Future {}
#[allow(dead_code)]
mod core {}
#[allow(dead_code)]
mod serde {}
#[allow(dead_code)]
mod futures {}

#[derive(::serde::Serialize, ::serde::Deserialize)]
struct Page {
    body: ::std::string::String,
}

/// Fetch a page.
#[task(retries = 1)]
async fn fetch(ctx: &TaskContext) -> Result<Page> {
    let _ = tokio::env::args();
    ::core::result::Result::Ok(Page { body: ctx.ds() })
}

#[task]
async fn measure(page: Page) -> usize {
    page.body.len()
}

#[task(shell)]
fn echo() -> ::std::string::String {
    ::std::string::String::from("echo hi")
}

#[dag(schedule = "@daily", start_date = "2024-01-01", tags = ["hygiene"])]
fn hygienic() {
    let page = fetch();
    let n = measure(page);
    let e = echo();
    n >> e;
}

/// The task fn stays a plain fn: it can be called directly.
async fn call_directly(ctx: &TaskContext) -> usize {
    match fetch(ctx).await {
        ::core::result::Result::Ok(page) => measure(page).await,
        ::core::result::Result::Err(_) => 0,
    }
}

fn main() {
    let _ = call_directly;
    let _ = hygienic();
}

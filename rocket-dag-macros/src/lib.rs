//! The `#[task]` and `#[dag]` attributes of rocket-dag. Use them through the `rocket-dag`
//! crate (`use rocket_dag::prelude::*;`), which documents them with examples.
//!
//! One module per phase, as serde_derive and thiserror do: `options` parses and validates
//! option values, `task` and `dag` read their item and expand it. Graph analysis (unknown
//! handles, duplicates, cycles) happens in `dag` on the body's syntax, before any type is known.

mod dag;
mod options;
mod task;

use proc_macro::TokenStream;

/// Marks an `async fn` as a task. See `rocket_dag::task`.
#[proc_macro_attribute]
pub fn task(args: TokenStream, item: TokenStream) -> TokenStream {
    task::expand(args.into(), item.into()).into()
}

/// Declares a DAG from a fn whose body wires tasks. See `rocket_dag::dag`.
#[proc_macro_attribute]
pub fn dag(args: TokenStream, item: TokenStream) -> TokenStream {
    dag::expand(args.into(), item.into()).into()
}

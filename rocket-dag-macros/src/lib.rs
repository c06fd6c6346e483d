//! The `#[task]` and `#[dag]` attributes of rocket-dag. Use them through the `rocket-dag`
//! crate (`use rocket_dag::prelude::*;`); their documentation and examples are on the two
//! functions below.

// One module per phase, as serde_derive and thiserror do: `options` parses and validates
// option values, `item` reads the annotated fn, `task` and `dag` expand it. Graph analysis
// (unknown handles, duplicates, cycles) happens in `dag::graph` on the body's syntax, before
// any type is known.
mod dag;
mod item;
mod options;
mod task;
#[cfg(test)]
mod tests;

use proc_macro::TokenStream;
use quote::quote_spanned;

/// `::rocket_dag::__private` with the given span, for tokens whose errors should point at the
/// user's code (an expression's span starts at its first token).
fn private(span: proc_macro2::Span) -> proc_macro2::TokenStream {
    quote_spanned!(span=> ::rocket_dag::__private)
}

/// Marks an `async fn` as a task of a DAG.
///
/// The fn stays exactly as written and callable; next to it, the macro adds a hidden type of
/// the same name (in the type namespace) that implements `rocket_dag::Task`, so a `#[dag]` body
/// can call it and the runtime can run it. (So the fn's name cannot also name a type or module
/// in the same scope.)
///
/// # Parameters and output
///
/// - An optional `&TaskContext` parameter, anywhere: ids, dates, params, the data directory,
///   the shared HTTP client, cancellation.
/// - Every other parameter receives an upstream task's output, of exactly the type that task
///   returns.
/// - The return type is `Result<T, E>` with `E: Into<TaskError>` (any `std::error::Error`
///   converts), or a plain `T`. `T` must be `Serialize + DeserializeOwned + Send + 'static`:
///   outputs travel between tasks as JSON.
///
/// ```
/// use rocket_dag::prelude::*;
///
/// /// The doc comment becomes the task's doc.
/// #[task(retries = 3, retry_delay = "2s", retry_exponential_backoff = true)]
/// async fn download(ctx: &TaskContext) -> Result<Vec<String>, TaskError> {
///     Ok(vec![format!("launches of {}", ctx.ds())])
/// }
///
/// #[task(execution_timeout = "10m", layer = "storage")]
/// async fn count(launches: Vec<String>) -> usize {
///     launches.len()
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), TaskError> {
/// // Still an ordinary fn: call it in a unit test.
/// let ctx = TaskContext::for_test();
/// let launches = download(&ctx).await?;
/// assert_eq!(count(launches).await, 1);
/// # Ok(())
/// # }
/// ```
///
/// # Options
///
/// | option | value | default |
/// |---|---|---|
/// | `id` | `"task_id"` (letters, digits, `_ - .`) | the fn name |
/// | `retries` | integer | 0 (or the DAG's default) |
/// | `retry_delay` | duration, e.g. `"30s"` | `"5m"` |
/// | `retry_exponential_backoff` | `true`/`false` | `false` |
/// | `max_retry_delay` | duration | none |
/// | `execution_timeout` | duration | none |
/// | `trigger_rule` | `"all_success"`, `"all_failed"`, `"all_done"`, `"all_skipped"`, `"one_success"`, `"one_failed"`, `"one_done"`, `"none_failed"`, `"none_failed_min_one_success"`, `"none_skipped"`, `"always"` | `"all_success"` |
/// | `layer` | `"source"`, `"storage"`, `"business"` | none |
/// | `shell` | flag: the fn returns a shell command template | off |
///
/// Durations are numbers with units `ms`, `s`, `m`, `h`, `d`: `"500ms"`, `"1h30m"`.
///
/// # Shell tasks
///
/// With `shell`, the fn (async or not) returns a command template that runs with `bash`;
/// `{{ ds }}`, `{{ run_id }}`, `{{ params.NAME }}` and the other context values are passed as
/// environment variables, never pasted into the script. The task's output is the last line of
/// stdout.
///
/// ```
/// use rocket_dag::prelude::*;
///
/// #[task(shell, execution_timeout = "1m")]
/// fn archive() -> String {
///     "tar czf images-{{ ds }}.tgz images".into()
/// }
/// ```
///
/// # Compile errors
///
/// A non-async fn (without `shell`), a generic fn, a method, an unknown option (the error lists
/// the accepted ones and suggests the closest) or an option given twice, and an invalid
/// duration, trigger rule or layer are rejected at the offending token.
#[proc_macro_attribute]
pub fn task(args: TokenStream, item: TokenStream) -> TokenStream {
    task::expand(args.into(), item.into()).into()
}

/// Declares a DAG: the fn body wires tasks, the fn returns the `rocket_dag::Dag`.
///
/// Inside the body:
///
/// - `let x = task(a, b);` adds `task`, fed by the outputs of the tasks bound to `a` and `b`;
///   `task(..);` adds one whose output nobody takes. Calls nest: `c(b(a()))`.
/// - `a >> b;`, `a >> [b, c];`, `[a, b] >> c;`, `a >> b >> c;` and `b << a;` order tasks
///   without passing data (Airflow's bit-shift operators).
/// - `task(..).task_id("other_id")` adds the same task a second time under another id.
///
/// ```
/// use rocket_dag::prelude::*;
///
/// #[task]
/// async fn extract() -> Result<Vec<u32>, TaskError> { Ok(vec![1, 2, 3]) }
/// #[task]
/// async fn total(xs: Vec<u32>) -> Result<u32, TaskError> { Ok(xs.iter().sum()) }
/// #[task(trigger_rule = "all_done")]
/// async fn cleanup() -> Result<(), TaskError> { Ok(()) }
///
/// /// Sum the numbers every morning at 06:30 Berlin time.
/// #[dag(schedule = "30 6 * * *", timezone = "Europe/Berlin", start_date = "2024-01-01",
///       retries = 2, retry_delay = "1m", tags = ["example"])]
/// fn numbers() {
///     let xs = extract();
///     let sum = total(xs);
///     let again = total(xs).task_id("total_again");
///     let done = cleanup();
///     [sum, again] >> done;
/// }
///
/// let dag = numbers();
/// assert_eq!(dag.id(), "numbers");
/// assert_eq!(dag.options().description, "Sum the numbers every morning at 06:30 Berlin time.");
/// assert_eq!(dag.topological_ids(), ["extract", "total", "total_again", "cleanup"]);
/// assert_eq!(dag.task("total").unwrap().options().retries, 2);
/// ```
///
/// # Options
///
/// | option | value | default |
/// |---|---|---|
/// | `id` | `"dag_id"` | the fn name |
/// | `schedule` | `"@once"`, `"@hourly"`, `"@daily"`, `"@weekly"`, `"@monthly"`, `"@quarterly"`, `"@yearly"`, a 5-field cron, or `None` | `None` |
/// | `start_date`, `end_date` | `"2024-01-01"` or `"2024-01-01T06:00:00"`, in the DAG's time zone | none |
/// | `catchup` | `true`/`false` | `false` |
/// | `timezone` | IANA name, e.g. `"Europe/Berlin"` | `"UTC"` |
/// | `max_active_tasks` | integer ≥ 1 | 16 |
/// | `max_active_runs` | integer ≥ 1 | 16 |
/// | `tags` | `["a", "b"]` | none |
/// | `description` | string | the doc comment |
/// | any `#[task]` option except `id` and `shell` | default for every task (Airflow's `default_args`) | |
///
/// # Compile errors
///
/// Rejected at your own tokens: a cycle (the message names the whole path and points at the
/// edge that closes it), a self-edge, an unknown task or handle, the same task id twice, an
/// output passed where a task takes another type, the wrong number of arguments, a statement
/// that is not a task call or an edge, an unknown or repeated option, an invalid schedule
/// (naming the bad field, suggesting the preset meant), date, time zone or duration.
#[proc_macro_attribute]
pub fn dag(args: TokenStream, item: TokenStream) -> TokenStream {
    dag::expand(args.into(), item.into()).into()
}

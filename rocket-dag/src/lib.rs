//! rocket-dag: Apache Airflow's TaskFlow, done in Rust.
//!
//! Tasks are plain `async fn`s marked [`#[task]`](macro@task); a [`#[dag]`](macro@dag) function wires them by calling them
//! with each other's outputs. The macros check the graph at compile time (cycles, unknown or
//! duplicate tasks, type mismatches between tasks, bad schedules, dates and durations), and a
//! small tokio runtime ([`Runner`]) runs it with retries, timeouts, trigger rules and
//! per-attempt logs.
//!
//! ```
//! use rocket_dag::prelude::*;
//!
//! /// Say hello.
//! #[task(retries = 2, retry_delay = "1s")]
//! async fn hello(ctx: &TaskContext) -> Result<String, TaskError> {
//!     Ok(format!("hello for {}", ctx.ds()))
//! }
//!
//! #[task]
//! async fn shout(text: String) -> Result<usize, TaskError> {
//!     println!("{}", text.to_uppercase());
//!     Ok(text.len())
//! }
//!
//! #[dag(schedule = "@daily", start_date = "2024-01-01")]
//! fn greet() {
//!     let text = hello();
//!     shout(text);
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let dag = greet();
//! assert_eq!(dag.topological_ids(), ["hello", "shout"]);
//! let home = std::env::temp_dir().join("rocket-dag-doc-greet");
//! let date = "2024-01-01T00:00:00Z".parse().unwrap();
//! let report = Runner::new(home).run(&dag, RunRequest::new(date)).await;
//! assert_eq!(report.state, RunState::Success);
//! assert_eq!(report.task("shout").unwrap().output::<usize>(), Some(20));
//! # }
//! ```
//!
//! Modules, one per concept: [`task`](mod@task) (options, trigger rules, the [`Task`] trait),
//! [`dag`](mod@dag) (the graph as a value), [`schedule`], [`context`] ([`TaskContext`]), [`runner`] (one DAG
//! run), [`store`] (the run history: SQLite by default, PostgreSQL by URL), [`timetable`] (which
//! runs a schedule asks for), [`retry`], [`logging`], [`http`], [`home`]; with the default
//! features, [`cli`] (the command line) and [`viz`] (pictures and the run report).
//!
//! Cargo features: `cli`, `viz` and `postgres` (the run history on PostgreSQL) are on by
//! default; `default-features = false` leaves the DSL, the runtime and the SQLite history.
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]
#![forbid(unsafe_code)]

#[cfg(feature = "cli")]
pub mod airflow;
pub mod asset;
#[cfg(feature = "cli")]
pub mod cli;
pub mod context;
pub mod control;
pub mod dag;
pub mod error;
pub use rocket_dag_core::{duration, escape, ids};
#[cfg(feature = "cli")]
pub mod export;
pub mod fs;
pub mod home;
pub mod http;
pub mod logging;
pub mod notify;
mod process;
pub mod report;
pub mod retry;
pub mod run;
pub mod runner;
pub mod schedule;
pub mod scheduler;
mod shell;
mod signal;
pub mod store;
pub mod task;
pub mod timetable;
#[cfg(feature = "viz")]
pub mod viz;
#[cfg(feature = "web")]
pub mod web;

pub use asset::{Asset, AssetKind};
pub use context::TaskContext;
pub use dag::{Dag, DagBuilder, DagOptions, Edge, EdgeKind, Handle, TaskNode};
pub use error::{DagError, ResultExt, TaskError, TaskErrorKind};
pub use report::{DagRunReport, RunError, RunState, TaskInstanceReport, TaskState};
pub use rocket_dag_macros::{dag, task};
pub use runner::{RunRequest, Runner};
pub use schedule::Schedule;
pub use task::{Layer, Task, TaskOptions, TriggerRule, XCom};

/// Everything a DAG file needs: `use rocket_dag::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Dag, DagRunReport, ResultExt, RunRequest, RunState, Runner, TaskContext, TaskError,
        TaskState, dag, task,
    };
}

/// Support for the macros' generated code. Not public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use crate::asset::Asset;
    pub use crate::context::TaskContext;
    pub use crate::dag::{Call, Dag, DagBuilder, DagOptions, Handle, Input};
    pub use crate::error::TaskError;
    pub use crate::schedule::Schedule;
    pub use crate::task::{Layer, Task, TaskKind, TaskOptions, TaskSpec, TriggerRule, XCom};
    pub use core::time::Duration;
    pub use futures::future::BoxFuture;

    /// Reads upstream output number `index` as the parameter's type.
    pub fn input<T: serde::de::DeserializeOwned>(
        inputs: &[XCom],
        index: usize,
        param: &str,
    ) -> Result<T, TaskError> {
        let x = inputs.get(index).ok_or_else(|| {
            TaskError::input(format!("missing input #{index} for parameter `{param}`"))
        })?;
        x.decode().map_err(|e| {
            TaskError::input(format!(
                "input for parameter `{param}` cannot be read as `{}`: {e}",
                std::any::type_name::<T>()
            ))
        })
    }

    /// The `Ok` type of a task fn's `Result` return type (whatever its error type, so a bad
    /// error type is reported once, by [`into_task_result`]).
    pub trait TaskReturn {
        /// The output.
        type Output;
    }

    impl<T, E> TaskReturn for Result<T, E> {
        type Output = T;
    }

    /// Converts a task fn's `Result` into the runtime's.
    pub fn into_task_result<T, E: IntoTaskError>(r: Result<T, E>) -> Result<T, TaskError> {
        r.map_err(IntoTaskError::into_task_error)
    }

    /// A task fn's error type; its message is what a user sees for one that does not convert.
    #[diagnostic::on_unimplemented(
        message = "a task's error type must convert into `TaskError`, but `{Self}` does not",
        label = "this error type does not convert into `TaskError`",
        note = "return `Result<_, TaskError>` (make one with `TaskError::msg(..)`) or an error type that implements `std::error::Error + Send + Sync + 'static`"
    )]
    pub trait IntoTaskError {
        /// The conversion.
        fn into_task_error(self) -> TaskError;
    }

    impl<E: Into<TaskError>> IntoTaskError for E {
        fn into_task_error(self) -> TaskError {
            self.into()
        }
    }

    /// Builds a macro-generated DAG; only fails if `#[task(id = …)]` made two ids equal.
    pub fn build(b: DagBuilder) -> Dag {
        match b.build() {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        }
    }

    /// Runs a `#[task(shell)]` command template.
    pub async fn shell(
        ctx: &TaskContext,
        template: impl Into<String>,
    ) -> Result<String, TaskError> {
        crate::shell::run(ctx, &template.into()).await
    }

    pub use core::result::Result::{self, Err};
    pub use std::string::String;

    /// Boxes a task attempt's future.
    pub fn boxed<'a, T>(f: impl core::future::Future<Output = T> + Send + 'a) -> BoxFuture<'a, T> {
        Box::pin(f)
    }

    /// A task fn's plain (non-`Result`) return value.
    pub fn ok<T>(value: T) -> Result<T, TaskError> {
        Ok(value)
    }

    /// The spec `#[task]` generates.
    pub const fn spec(
        id: &'static str,
        doc: &'static str,
        options: TaskOptions,
        inputs: &'static [&'static str],
        kind: TaskKind,
        source: &'static str,
        output_type: &'static str,
    ) -> TaskSpec {
        let mut s = TaskSpec::new(id);
        s.doc = doc;
        s.options = options;
        s.inputs = inputs;
        s.kind = kind;
        s.source = source;
        s.output_type = output_type;
        s
    }

    /// A list an upstream task returns, which `.expand(…)` maps a task over; its message is
    /// what a user sees for `.expand(x)` where `x` is not a list.
    #[diagnostic::on_unimplemented(
        message = "`.expand(…)` maps a task over a list, but this upstream task returns `{Self}`",
        label = "returns `{Self}`, not a `Vec<_>`",
        note = "the upstream task must return `Vec<T>` (or `Result<Vec<T>, _>`); the mapped task then takes one `T`"
    )]
    pub trait Expandable {
        /// One element.
        type Item;
    }

    impl<T> Expandable for Vec<T> {
        type Item = T;
    }

    /// `.expand(list)`: the list's task, seen one element at a time.
    pub fn each<L: Expandable>(list: Handle<L>) -> Handle<L::Item> {
        list.each()
    }

    /// Adds a mapped task call (`task.expand(list)`) under its default id.
    pub fn add_mapped<T>(b: &mut DagBuilder, call: Call<T>) -> Handle<Vec<T>> {
        b.add_mapped_call(call, None)
    }

    /// Adds a mapped task call under the id given with `.task_id("…")`.
    pub fn add_mapped_as<T>(b: &mut DagBuilder, call: Call<T>, id: &'static str) -> Handle<Vec<T>> {
        b.add_mapped_call(call, Some(id.to_owned()))
    }

    /// Adds a task call under its default id.
    pub fn add<T>(b: &mut DagBuilder, call: Call<T>) -> Handle<T> {
        b.add_call(call, None)
    }

    /// Adds a task call under the id given with `.task_id("…")`.
    pub fn add_as<T>(b: &mut DagBuilder, call: Call<T>, id: &'static str) -> Handle<T> {
        b.add_call(call, Some(id.to_owned()))
    }

    /// Adds `reads`/`writes` to a spec.
    pub const fn with_assets(
        mut s: TaskSpec,
        reads: &'static [crate::Asset],
        writes: &'static [crate::Asset],
    ) -> TaskSpec {
        s.reads = reads;
        s.writes = writes;
        s
    }

    /// Attaches the DAG fn's source to its options.
    pub fn with_source(mut o: DagOptions, source: &'static str) -> DagOptions {
        o.source = source;
        o
    }

    /// Fails compilation (in const evaluation) when task `name` has the id of a task declared
    /// before it in its DAG (`earlier` holds their ids and names); this catches ids set with
    /// `#[task(id = "…")]`, which the `#[dag]` macro cannot see.
    pub const fn assert_unique_id(id: &str, name: &str, earlier: &[(&str, &str)]) {
        let mut i = 0;
        while i < earlier.len() {
            if str_eq(id, earlier[i].0) {
                let (msg, len) = concat(&[
                    "tasks `",
                    earlier[i].1,
                    "` and `",
                    name,
                    "` have the same id `",
                    id,
                    "`; give this one another id with `.task_id(\"…\")`",
                ]);
                match core::str::from_utf8(msg.split_at(len).0) {
                    Ok(msg) => panic!("{}", msg),
                    Err(_) => panic!("two tasks of this DAG have the same id"),
                }
            }
            i += 1;
        }
    }

    /// Joins `parts` in a buffer (const fns cannot format), truncating at its size.
    const fn concat(parts: &[&str]) -> ([u8; 1024], usize) {
        let mut buf = [0u8; 1024];
        let mut n = 0;
        let mut p = 0;
        while p < parts.len() {
            let bytes = parts[p].as_bytes();
            let mut k = 0;
            while k < bytes.len() && n < buf.len() {
                buf[n] = bytes[k];
                n += 1;
                k += 1;
            }
            p += 1;
        }
        (buf, n)
    }

    /// An upstream task's output (`Self`) passed to a parameter of type `P` of task `D`; only
    /// equal types fit. Its message is what a user sees for a type mismatch between tasks.
    #[diagnostic::on_unimplemented(
        message = "task `{D}` takes `{P}` here, but this upstream task returns `{Self}`",
        label = "returns `{Self}`, not `{P}`",
        note = "a task parameter has exactly the type its upstream task returns (the `Ok` type of a `Result`)"
    )]
    pub trait Feeds<P, D> {}
    impl<T, D> Feeds<T, D> for T {}

    const fn str_eq(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut i = 0;
        while i < a.len() {
            if a[i] != b[i] {
                return false;
            }
            i += 1;
        }
        true
    }
}

//! One attempt of a task: its future under its timeout, panics caught, the outcome logged.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::FutureExt;
use tokio::time::Instant;

use super::*;

/// One attempt: the task's future with its timeout (and grace), panics caught, outcome logged.
pub(super) async fn attempt(
    ctx: TaskContext,
    erased: Arc<dyn crate::task::ErasedTask>,
    inputs: Vec<XCom>,
    opts: crate::task::ResolvedTaskOptions,
    grace: Duration,
) -> (DateTime<Utc>, Duration, Result<XCom, TaskError>) {
    let start = Utc::now();
    let clock = Instant::now();
    let try_number = ctx.try_number;
    tracing::info!(
        "starting attempt {try_number} of {} (task `{}` of DAG `{}`, run `{}`)",
        ctx.max_tries,
        ctx.task_id,
        ctx.run.dag_id,
        ctx.run.run_id
    );
    let work = AssertUnwindSafe(erased.run(&ctx, &inputs)).catch_unwind();
    tokio::pin!(work);
    let outcome = match opts.execution_timeout {
        Some(limit) => tokio::select! {
            r = &mut work => r,
            _ = tokio::time::sleep(limit) => {
                // Let the task see `ctx.cancelled()` and clean up, briefly.
                ctx.cancel.cancel();
                let _ = tokio::time::timeout(grace, &mut work).await;
                Ok(Err(TaskError::timeout(limit)))
            }
        },
        None => work.await,
    };
    let result = match outcome {
        Ok(r) => r,
        Err(payload) => Err(TaskError::panic(panic_message(&*payload))),
    };
    let elapsed = clock.elapsed();
    match &result {
        Ok(_) => tracing::info!(
            "marking task as SUCCESS after {:.3}s",
            elapsed.as_secs_f64()
        ),
        Err(e) if e.is_skip() => tracing::info!("marking task as SKIPPED: {e}"),
        Err(e) => tracing::error!("attempt {try_number} failed: {e}"),
    }
    (start, elapsed, result)
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

pub(super) trait ParseState {
    fn parse_state(self) -> TaskState;
    fn parse_record(self) -> TaskStateRecord;
}

impl ParseState for &str {
    /// The store and the runtime share Airflow's state names.
    fn parse_state(self) -> TaskState {
        match self {
            "queued" => TaskState::Queued,
            "running" => TaskState::Running,
            "success" => TaskState::Success,
            "failed" => TaskState::Failed,
            "up_for_retry" => TaskState::UpForRetry,
            "upstream_failed" => TaskState::UpstreamFailed,
            "skipped" => TaskState::Skipped,
            _ => TaskState::NoStatus,
        }
    }
    fn parse_record(self) -> TaskStateRecord {
        self.parse().unwrap_or(TaskStateRecord::NoStatus)
    }
}

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

/// The run report's state of a try as the store records it: the same set of Airflow states,
/// matched variant by variant so that a state added to one and not the other does not compile.
pub(super) fn record_of(state: TaskState) -> TaskStateRecord {
    use TaskStateRecord as R;
    match state {
        TaskState::NoStatus => R::NoStatus,
        TaskState::Queued => R::Queued,
        TaskState::Running => R::Running,
        TaskState::Success => R::Success,
        TaskState::Failed => R::Failed,
        TaskState::UpForRetry => R::UpForRetry,
        TaskState::UpstreamFailed => R::UpstreamFailed,
        TaskState::Skipped => R::Skipped,
    }
}

/// The store's record of a try's state as the run report's state.
pub(super) fn state_of(record: TaskStateRecord) -> TaskState {
    use TaskStateRecord as R;
    match record {
        R::NoStatus => TaskState::NoStatus,
        R::Queued => TaskState::Queued,
        R::Running => TaskState::Running,
        R::Success => TaskState::Success,
        R::Failed => TaskState::Failed,
        R::UpForRetry => TaskState::UpForRetry,
        R::UpstreamFailed => TaskState::UpstreamFailed,
        R::Skipped => TaskState::Skipped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_and_store_states_are_the_same_set_by_name() {
        for &record in TaskStateRecord::ALL {
            let state = state_of(record);
            assert_eq!(state.as_str(), record.as_str());
            assert_eq!(record_of(state), record);
        }
    }

    #[test]
    fn a_panic_says_what_it_said() {
        let text = std::panic::catch_unwind(|| panic!("boom {}", 1)).unwrap_err();
        assert_eq!(panic_message(&*text), "boom 1");
        let literal = std::panic::catch_unwind(|| panic!("plain")).unwrap_err();
        assert_eq!(panic_message(&*literal), "plain");
        let other = std::panic::catch_unwind(|| std::panic::panic_any(7_u8)).unwrap_err();
        assert_eq!(panic_message(&*other), "non-string panic payload");
    }
}

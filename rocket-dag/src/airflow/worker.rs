//! The worker side: what a try's outcome means to Airflow (`tasks run`'s exit code and the
//! XCom it publishes). The try itself is [`crate::Runner::run_try`].

use crate::dag::Dag;
use crate::runner::{TaskState, TryOutcome};

use super::{FAIL_NOW_EXIT_CODE, SKIP_EXIT_CODE};

/// The exit code that tells Airflow how a try ended: 0 success, [`SKIP_EXIT_CODE`] skipped,
/// 1 failed with tries left (Airflow retries it), [`FAIL_NOW_EXIT_CODE`] failed for good (no
/// retry can heal it, or none is left), so that Airflow fails it whatever it counted.
pub fn exit_code(outcome: &TryOutcome) -> u8 {
    match outcome.state {
        TaskState::Success => 0,
        TaskState::Skipped => SKIP_EXIT_CODE,
        TaskState::UpForRetry => 1,
        _ => FAIL_NOW_EXIT_CODE,
    }
}

/// What a successful try of task `task` publishes for Airflow to expand a downstream task
/// over: the indexes of its output list as a JSON list (`[0,1,2]`), when a downstream task
/// maps over it. Only indexes: the data stays in the history.
pub fn published_indexes(dag: &Dag, task: usize, outcome: &TryOutcome) -> Option<String> {
    if outcome.state != TaskState::Success || !super::mapped_over(dag, task) {
        return None;
    }
    let out = outcome.output.as_ref()?;
    let len = serde_json::from_str::<Vec<&serde_json::value::RawValue>>(out.as_json())
        .map_or(0, |items| items.len());
    let mut line = String::with_capacity(2 + len * 4);
    line.push('[');
    for i in 0..len {
        if i > 0 {
            line.push(',');
        }
        line.push_str(&i.to_string());
    }
    line.push(']');
    Some(line)
}

//! Resuming a run: what the history says already happened is not done again.

use std::collections::HashMap;
use std::path::PathBuf;

use super::*;

impl DagRun<'_> {
    /// Loads what the store knows of this run: finished tasks keep their state and output,
    /// attempts of a dead process become failed ones, try numbers continue.
    pub(super) async fn resume(&mut self, store: &Store) {
        let (dag_id, run_id) = (self.info.dag_id.clone(), self.info.run_id.clone());
        match store
            .mark_running_as_failed(
                &dag_id,
                &run_id,
                "the process running this attempt stopped before it finished (crash or kill -9)",
            )
            .await
        {
            Ok(dead) => {
                for ti in dead {
                    tracing::warn!(
                        "task `{}` try {} was left running by a process that died: recorded as failed",
                        ti.label(),
                        ti.try_number
                    );
                }
            }
            Err(e) => return self.store_failed(e),
        }
        // Without what the history says, a resumed run would redo what already succeeded.
        let tis = match store.task_instances(&dag_id, &run_id).await {
            Ok(t) => t,
            Err(e) => return self.store_failed(e),
        };
        let mut xcoms: HashMap<(String, i32), String> =
            match store.load_xcoms(&dag_id, &run_id).await {
                Ok(x) => x.into_iter().map(|(t, m, v)| ((t, m), v)).collect(),
                Err(e) => return self.store_failed(e),
            };
        let mut resumed = 0;
        for ((idx, map_index), mut tries) in self.tries_by_instance(&tis) {
            tries.sort_by_key(|t| t.try_number);
            let last = tries.last().expect("grouped tries are not empty");
            let output = xcoms
                .remove(&(last.task_id.clone(), map_index))
                .map(|v| XCom(v.into()));
            let (state, output) = finished_state(last.state, output, map_index);
            resumed += usize::from(state.is_some());
            let attempts = tries.iter().map(|t| attempt_of(t)).collect();
            self.restore(idx, map_index, last, attempts, state, output);
        }
        if resumed > 0 {
            tracing::info!(
                "resuming run {run_id}: {resumed} task instance(s) already finished are not run again"
            );
        }
    }

    /// Each instance's tries (by task index and map index), tasks this DAG no longer has left
    /// out; not yet in order.
    fn tries_by_instance<'t>(
        &self,
        tis: &'t [TaskInstanceRecord],
    ) -> std::collections::BTreeMap<(usize, i32), Vec<&'t TaskInstanceRecord>> {
        let index: HashMap<&str, usize> = self
            .dag
            .tasks()
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id(), i))
            .collect();
        let mut tries: std::collections::BTreeMap<(usize, i32), Vec<&TaskInstanceRecord>> =
            Default::default();
        for t in tis.iter().filter(|t| t.try_number > 0) {
            if let Some(&i) = index.get(t.task_id.as_str()) {
                tries.entry((i, t.map_index)).or_default().push(t);
            }
        }
        tries
    }

    /// Puts what the history says of one instance back: a task's own unit, or an element of a
    /// mapped task kept until the task is expanded again.
    fn restore(
        &mut self,
        idx: usize,
        map_index: i32,
        last: &TaskInstanceRecord,
        attempts: Vec<AttemptReport>,
        state: Option<TaskState>,
        output: Option<XCom>,
    ) {
        if map_index == NOT_MAPPED {
            let unit = &mut self.units[idx];
            unit.base_tries = last.try_number;
            unit.attempts = attempts;
            if let Some(state) = state {
                unit.state = state;
                unit.output = output;
                unit.reason = (state == TaskState::Skipped)
                    .then(|| last.error.clone())
                    .flatten();
            }
        } else if let Ok(m) = u32::try_from(map_index) {
            self.stored_elements.insert(
                (idx, m),
                StoredElement {
                    attempts,
                    state,
                    reason: last.error.clone(),
                    output,
                },
            );
        }
    }
}

/// A recorded try as an attempt of the report.
fn attempt_of(t: &TaskInstanceRecord) -> AttemptReport {
    AttemptReport {
        try_number: t.try_number,
        state: state_of(t.state),
        start: t.start,
        duration: t.duration.unwrap_or_default(),
        error: t.error.clone(),
        log_path: t.log_path.clone().map(PathBuf::from).unwrap_or_default(),
    }
}

/// What a resumed run keeps of an instance whose latest try is in `state`: success with its
/// output, skipped; anything else runs again (`None`).
fn finished_state(
    state: TaskStateRecord,
    output: Option<XCom>,
    map_index: i32,
) -> (Option<TaskState>, Option<XCom>) {
    match (state, output) {
        (TaskStateRecord::Success, Some(out)) => (Some(TaskState::Success), Some(out)),
        // Marked success by hand (`tasks mark`): it produced nothing. Downstream tasks read
        // `null`; a mapped task's list leaves the element out.
        (TaskStateRecord::Success, None) => (
            Some(TaskState::Success),
            (map_index == NOT_MAPPED).then(|| XCom("null".into())),
        ),
        (TaskStateRecord::Skipped, _) => (Some(TaskState::Skipped), None),
        _ => (None, None),
    }
}

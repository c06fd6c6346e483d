//! One attempt of one task, as `airflow tasks test` runs it.

use std::path::PathBuf;

use tracing::Instrument;

use super::*;

impl Runner {
    /// Runs one attempt of one task now, as `airflow tasks test` does: no dependency checks, no
    /// retries, no attempt log file (events go to the console). `inputs` are the upstream
    /// outputs in parameter order; for a mapped task, `map_index` picks the element to run
    /// (the lists it maps over are given whole, as their tasks returned them).
    pub async fn run_task(
        &self,
        dag: &Dag,
        task_id: &str,
        map_index: Option<u32>,
        request: RunRequest,
        inputs: Vec<XCom>,
    ) -> Result<TaskInstanceReport, crate::error::DagError> {
        let node = dag
            .task(task_id)
            .ok_or_else(|| crate::error::DagError::UnknownTask {
                dag: dag.id().to_owned(),
                task: task_id.to_owned(),
            })?;
        if inputs.len() != node.inputs().len() {
            return Err(crate::error::DagError::MissingInputs {
                dag: dag.id().to_owned(),
                task: task_id.to_owned(),
                expected: node.inputs().len(),
                given: inputs.len(),
            });
        }
        let inputs = element_inputs(dag, task_id, map_index, inputs)?;
        let label = match map_index {
            Some(i) => format!("{task_id}[{i}]"),
            None => task_id.to_owned(),
        };
        // One attempt, as `airflow tasks test`: no run to notify about.
        let info = self.run_info(dag, &request, None);
        let ctx = TaskContext {
            run: info.clone(),
            task_id: task_id.into(),
            map_index,
            try_number: 1,
            max_tries: 1,
            cancel: self.cancel.child_token(),
        };
        let span = tracing::error_span!(
            target: "rocket_dag::task",
            "task",
            task_id = label,
            dag_id = dag.id(),
            run_id = &*info.run_id,
            try_number = 1,
            log = "",
        );
        let (start, duration, result) = attempt(
            ctx,
            node.erased.clone(),
            inputs,
            *node.options(),
            self.cancel_grace,
        )
        .instrument(span)
        .await;
        let (state, error, output) = match result {
            Ok(out) => (TaskState::Success, None, Some(out)),
            Err(e) if e.is_skip() => (TaskState::Skipped, Some(e.to_string()), None),
            Err(e) => (TaskState::Failed, Some(e.to_string()), None),
        };
        Ok(TaskInstanceReport {
            task_id: task_id.to_owned(),
            map_index,
            state,
            attempts: vec![AttemptReport {
                try_number: 1,
                state,
                start,
                duration,
                error: error.clone(),
                log_path: PathBuf::new(),
            }],
            reason: error,
            output,
            mapped: Vec::new(),
        })
    }
}

/// The inputs one instance runs with: the task's own, or for element `map_index` of a mapped
/// task that element of the lists it maps over.
fn element_inputs(
    dag: &Dag,
    task_id: &str,
    map_index: Option<u32>,
    inputs: Vec<XCom>,
) -> Result<Vec<XCom>, crate::error::DagError> {
    let map_error = |message: String| crate::error::DagError::MapIndex {
        dag: dag.id().to_owned(),
        task: task_id.to_owned(),
        message,
    };
    let Some(task) = dag.task_index(task_id) else {
        return Err(crate::error::DagError::UnknownTask {
            dag: dag.id().to_owned(),
            task: task_id.to_owned(),
        });
    };
    match (dag.tasks()[task].is_mapped(), map_index) {
        (false, None) => Ok(inputs),
        (false, Some(_)) => Err(map_error("the task is not mapped".into())),
        (true, None) => Err(map_error(
            "the task is mapped: choose the element to run with a map index".into(),
        )),
        (true, Some(i)) => {
            let lists = Mapping::new(dag, task, inputs).map_err(map_error)?;
            if i as usize >= lists.len() {
                return Err(map_error(format!(
                    "map index {i} is out of range: the task has {} element(s)",
                    lists.len()
                )));
            }
            Ok(lists.element(i as usize))
        }
    }
}

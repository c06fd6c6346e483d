//! The events a run raises (task retrying, failed, run finished), handed to `crate::notify`.

use std::time::Duration;

use super::*;

impl DagRun<'_> {
    /// A try that failed: `retry_in` set when a retry is scheduled, else the task (or element)
    /// failed for good. An interrupted run's attempts send nothing: `run_finished` says it.
    pub(super) fn notify_try(
        &self,
        unit: usize,
        try_number: u32,
        max_tries: u32,
        cause: &str,
        retry_in: Option<Duration>,
    ) {
        let Some(queue) = &self.queue else {
            return;
        };
        let t = crate::notify::TaskTry {
            task_id: self.task_id(unit),
            map_index: self.units[unit].map_index,
            try_number,
            max_tries,
        };
        queue.emit(match retry_in {
            Some(delay) => crate::notify::Event::task_retrying(&self.info, t, cause, delay),
            None => crate::notify::Event::task_failed(&self.info, t, cause),
        });
    }

    /// Sends `run_finished` and waits (bounded) until the run's events are delivered.
    pub(super) async fn notify_finished(&self, report: &DagRunReport) {
        if let Some(queue) = &self.queue {
            queue.emit(crate::notify::Event::run_finished(report));
            queue.finish().await;
        }
    }
}

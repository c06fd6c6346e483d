//! Observing a runner: what its runs and tasks do, told as it happens to one
//! [`RunObserver`] (the web server's metrics implement it). Without one, nothing here runs:
//! each hook is a single `Option` check.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::context::{Count, CountSink};
use crate::run::RunType;

/// What a runner tells whoever watches it (install one with [`Runner::observe`]). Every method
/// has a default that does nothing; each is called on the run's scheduling task, so it must be
/// quick and never wait (count, don't write).
pub trait RunObserver: Send + Sync + fmt::Debug {
    /// A run started executing (in this process: after it was claimed).
    fn run_started(&self, run: &RunStarted<'_>) {
        let _ = run;
    }
    /// A run that started finished (its final state recorded, when there is a store).
    fn run_finished(&self, report: &DagRunReport) {
        let _ = report;
    }
    /// A task instance (a task, or one element of a mapped task) reached a final state in
    /// this execution of its run. Attempts cut short by an interrupted run (Ctrl-C, a lost
    /// claim) are not told: [`RunObserver::run_finished`] says that the run failed.
    fn task_finished(&self, task: &TaskFinished<'_>) {
        let _ = task;
    }
    /// A task counted something ([`TaskContext::count`]).
    fn count(&self, count: &Count<'_>) {
        let _ = count;
    }
    /// The scheduler ([`crate::scheduler`]) looked at the store once.
    fn scheduler_pass(&self, pass: &SchedulerPass) {
        let _ = pass;
    }
}

/// A run that started; see [`RunObserver::run_started`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RunStarted<'a> {
    /// The DAG.
    pub dag_id: &'a str,
    /// The run.
    pub run_id: &'a str,
    /// Why it exists.
    pub run_type: RunType,
}

/// A task instance that reached a final state; see [`RunObserver::task_finished`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct TaskFinished<'a> {
    /// The DAG.
    pub dag_id: &'a str,
    /// The run.
    pub run_id: &'a str,
    /// The task.
    pub task_id: &'a str,
    /// For an element of a mapped task, its index.
    pub map_index: Option<u32>,
    /// Its final state: success, failed, skipped or upstream_failed.
    pub state: TaskState,
    /// How long its last attempt ran; `None` when it was decided without running
    /// (upstream_failed, skipped by its trigger rule).
    pub duration: Option<Duration>,
    /// Its last try's number (0 when it never ran).
    pub try_number: u32,
}

/// One look of the scheduler at the store; see [`RunObserver::scheduler_pass`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct SchedulerPass {
    /// How late the look started against the time the scheduler meant it for (zero when it
    /// was woken early, by a trigger or a finished run).
    pub lag: Duration,
    /// Runs it found queued (triggered, not yet started) over the DAGs it may start.
    pub queued: usize,
}

impl SchedulerPass {
    /// A pass `lag` late that found `queued` runs queued.
    pub fn new(lag: Duration, queued: usize) -> Self {
        SchedulerPass { lag, queued }
    }
}

/// The observer, as the tasks' contexts see it: counts only.
#[derive(Debug)]
pub(super) struct Counts(pub(super) Arc<dyn RunObserver>);

impl CountSink for Counts {
    fn count(&self, count: &Count<'_>) {
        self.0.count(count);
    }
}

impl Runner {
    /// Tells `observer` what this runner's runs and tasks do (runs started and finished, task
    /// instances finished with their durations, what tasks count) and, when the scheduler
    /// drives this runner, what each of its passes found. One observer per runner: a second
    /// call replaces the first. Without one, nothing is counted and nothing is paid.
    pub fn observe(mut self, observer: Arc<dyn RunObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The observer installed with [`Runner::observe`].
    pub fn observer(&self) -> Option<&Arc<dyn RunObserver>> {
        self.observer.as_ref()
    }
}

impl DagRun<'_> {
    pub(super) fn observe_started(&self) {
        if let Some(o) = &self.runner.observer {
            o.run_started(&RunStarted {
                dag_id: &self.info.dag_id,
                run_id: &self.info.run_id,
                run_type: self.info.run_type,
            });
        }
    }

    pub(super) fn observe_finished(&self, report: &DagRunReport) {
        if let Some(o) = &self.runner.observer {
            o.run_finished(report);
        }
    }

    /// Unit `unit` reached a final state in this execution: it ran, or its trigger rule (or
    /// its mapping) decided it. Called for a task's elements, never for a mapped task whose
    /// elements ran (as Airflow counts them), nor for what a resumed run read back.
    pub(super) fn observe_unit(&self, unit: usize) {
        let Some(o) = &self.runner.observer else {
            return;
        };
        let u = &self.units[unit];
        // Attempts past `base_tries` ran in this execution.
        let last = (u.attempts.len() as u32 > u.base_tries)
            .then(|| u.attempts.last())
            .flatten();
        o.task_finished(&TaskFinished {
            dag_id: &self.info.dag_id,
            run_id: &self.info.run_id,
            task_id: self.task_id(unit),
            map_index: u.map_index,
            state: u.state,
            duration: last.map(|a| a.duration),
            try_number: last.map_or(0, |a| a.try_number),
        });
    }
}

//! The loop of one DAG run: attempts started as soon as they may run, their outcomes recorded
//! before what depends on them starts, the run stopped on Ctrl-C or when its history fails.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::time::Instant;
use tracing::Instrument;

use super::*;

/// Aborts a background task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<'a> DagRun<'a> {
    pub(super) fn report_progress(&self, unit: usize) {
        if let Some(hook) = &self.runner.progress {
            (hook.0)(&Progress {
                task_id: &self.units[unit].label,
                state: self.units[unit].state,
                finished: self.finished_count,
                total: self.dag.tasks().len(),
            });
        }
    }

    pub(super) fn new(
        dag: &'a Dag,
        info: Arc<RunInfo>,
        queue: Option<Arc<crate::notify::RunQueue>>,
        runner: &'a Runner,
    ) -> Self {
        let n = dag.tasks().len();
        let input_totals = dag
            .tasks()
            .iter()
            .map(|t| {
                let mut ins = t.inputs().to_vec();
                ins.sort_unstable();
                ins.dedup();
                ins.len()
            })
            .collect();
        DagRun {
            dag,
            info,
            queue,
            runner,
            units: dag
                .tasks()
                .iter()
                .enumerate()
                .map(|(i, t)| Unit::new(i, None, t.id().into()))
                .collect(),
            expanded: (0..n).map(|_| None).collect(),
            upstream: vec![Counts::default(); n],
            inputs: vec![Counts::default(); n],
            input_totals,
            ready: VecDeque::new(),
            running: 0,
            set: JoinSet::new(),
            finished_count: 0,
            stored_elements: HashMap::new(),
            pending: Vec::new(),
            launches: Vec::new(),
            run_cancel: runner.cancel.child_token(),
            error: None,
            me: RunOwner::this_process(),
            lost: Arc::default(),
        }
    }

    pub(super) fn task_id(&self, unit: usize) -> &str {
        self.dag.tasks()[self.units[unit].task].id()
    }

    pub(super) async fn persist_run(&mut self, state: RunStateRecord, end: Option<DateTime<Utc>>) {
        let Some(store) = &self.runner.store else {
            return;
        };
        let record = DagRunRecord {
            dag_id: self.info.dag_id.to_string(),
            run_id: self.info.run_id.to_string(),
            run_type: self.info.run_type,
            logical_date: self.info.logical_date,
            data_interval_start: self.info.interval.0,
            data_interval_end: self.info.interval.1,
            state,
            start: Utc::now(),
            end,
            conf: Value::Object(self.info.params.clone()),
        };
        let result = match end {
            None => store.upsert_run(&record).await,
            Some(_) => store
                .set_run_state(&record.dag_id, &record.run_id, state, end)
                .await
                .map(|_| ()),
        };
        if let Err(e) = result {
            self.store_failed(e);
        }
    }

    /// The history cannot be written or read: start nothing more, cancel what runs, fail.
    pub(super) fn store_failed(&mut self, e: crate::store::StoreError) {
        if self.error.is_none() {
            tracing::error!(
                dag_id = &*self.info.dag_id,
                "run {}: the run history cannot be recorded, stopping: {e}",
                self.info.run_id
            );
            self.error = Some(RunError::History {
                message: e.to_string(),
            });
        }
        self.run_cancel.cancel();
    }

    /// Records one try of a unit (or, with try 0, one decided without running), with its
    /// output when it succeeded. Kept until [`DagRun::flush`], which writes everything one
    /// scheduling step produced in one transaction before any attempt of that step starts.
    pub(super) fn record(&mut self, unit: usize, attempt: &AttemptReport, output: Option<&XCom>) {
        if self.runner.store.is_none() {
            return;
        }
        let u = &self.units[unit];
        let running = attempt.state == TaskState::Running;
        let record = TaskInstanceRecord {
            dag_id: self.info.dag_id.to_string(),
            run_id: self.info.run_id.to_string(),
            task_id: self.task_id(unit).to_owned(),
            map_index: u.map_index.map_or(NOT_MAPPED, |m| m as i32),
            try_number: attempt.try_number,
            state: record_of(attempt.state),
            start: attempt.start,
            end: (!running).then(|| attempt.start + attempt.duration),
            duration: (!running).then_some(attempt.duration),
            hostname: crate::process::hostname(),
            pid: Some(std::process::id()),
            log_path: (self.runner.attempt_logs && attempt.try_number > 0)
                .then(|| attempt.log_path.display().to_string()),
            error: attempt.error.clone(),
        };
        self.pending.push((record, output.cloned()));
    }

    /// Makes the recorded state changes durable, in one transaction.
    pub(super) async fn flush(&mut self) {
        let Some(store) = &self.runner.store else {
            return;
        };
        if self.pending.is_empty() {
            return;
        }
        let batch: Vec<(TaskInstanceRecord, Option<&str>)> = self
            .pending
            .iter()
            .map(|(r, x)| (r.clone(), x.as_ref().map(XCom::as_json)))
            .collect();
        let result = store.record_tries(&batch).await;
        self.pending.clear();
        if let Err(e) = result {
            self.store_failed(e);
        }
    }

    /// Starts the attempts prepared in this step, once their `running` rows (and the outcomes
    /// that made them ready) are durable: a crash from here on is seen on the next start.
    pub(super) async fn launch(&mut self) {
        self.flush().await;
        if self.run_cancel.is_cancelled() {
            // Their `running` rows may not be written: they never start.
            for l in std::mem::take(&mut self.launches) {
                let u = &mut self.units[l.unit];
                u.state = TaskState::NoStatus;
                u.started = None;
                u.reason = Some("not started: the run was stopped".into());
                self.running -= 1;
            }
            return;
        }
        for l in self.launches.drain(..) {
            let Launch {
                unit,
                ctx,
                erased,
                inputs,
                opts,
                grace,
                span,
            } = l;
            self.set.spawn(
                async move {
                    let (start, elapsed, result) = attempt(ctx, erased, inputs, opts, grace).await;
                    Event::Done {
                        unit,
                        start,
                        elapsed,
                        result,
                    }
                }
                .instrument(span),
            );
        }
    }

    pub(super) async fn execute(&mut self) -> DagRunReport {
        let start = Utc::now();
        let clock = Instant::now();
        tracing::info!(
            dag_id = self.dag.id(),
            run_id = &*self.info.run_id,
            "starting DAG run ({} tasks)",
            self.dag.tasks().len()
        );
        self.observe_started();
        self.begin().await;
        let heartbeat = self.heartbeat();
        let interrupted = self.steps().await;
        drop(heartbeat);
        let lost = self.lost.get().cloned();
        if let Some(e) = &lost {
            self.error = Some(e.clone());
        }
        let state = self.outcome(interrupted);
        // A run another process took over is that process's to record.
        if self.runner.store.is_some() && lost.is_none() {
            self.record_end(state).await;
        }
        let report = DagRunReport {
            dag_id: self.dag.id().to_owned(),
            run_id: self.info.run_id.to_string(),
            logical_date: self.info.logical_date,
            data_interval: self.info.interval,
            state,
            interrupted,
            error: self.error.take(),
            start,
            duration: clock.elapsed(),
            tasks: self.task_reports(),
        };
        crate::logging::flush().await;
        log_outcome(&report);
        self.observe_finished(&report);
        self.notify_finished(&report).await;
        report
    }

    /// Reads back what the history holds (a resumed run), records the run as running, and
    /// decides the tasks that may start at once: roots, and rules that need no upstream.
    async fn begin(&mut self) {
        if let Some(store) = self.runner.store.clone() {
            self.resume(&store).await;
            self.persist_run(RunStateRecord::Running, None).await;
            for &i in self.dag.topological_order() {
                if self.units[i].state.is_finished() {
                    self.finished(i);
                }
            }
        }
        for &i in self.dag.topological_order() {
            if self.units[i].state == TaskState::NoStatus && self.evaluate(i) {
                self.finished(i);
            }
        }
    }

    /// Refreshes the run's claim in the store every [`crate::store::HEARTBEAT_EVERY`] until
    /// dropped; if another process took the run over, stops this execution.
    fn heartbeat(&self) -> Option<AbortOnDrop> {
        let store = self.runner.store.clone()?;
        let (dag, run) = (self.info.dag_id.clone(), self.info.run_id.clone());
        let (me, lost, cancel) = (self.me.clone(), self.lost.clone(), self.run_cancel.clone());
        Some(AbortOnDrop(tokio::spawn(async move {
            loop {
                tokio::time::sleep(crate::store::HEARTBEAT_EVERY).await;
                match store.heartbeat(&dag, &run, &me).await {
                    Ok(true) => {}
                    Ok(false) => {
                        let _ = lost.set(RunError::History {
                            message: format!(
                                "another process took run `{run}` over (this one was \
                                 silent for over {}s): stopping this execution",
                                crate::store::STALE_AFTER.as_secs()
                            ),
                        });
                        cancel.cancel();
                        return;
                    }
                    // A missed heartbeat is not fatal: the next one may get through.
                    Err(e) => tracing::warn!("{e}"),
                }
            }
        })))
    }

    /// Starts what may run, waits for an outcome, repeats until nothing runs; `true` if Ctrl-C
    /// or SIGTERM stopped it.
    async fn steps(&mut self) -> bool {
        let cancel = self.run_cancel.clone();
        let max_active = self.dag.options().max_active_tasks.max(1);
        loop {
            while self.running < max_active && !cancel.is_cancelled() {
                let Some(unit) = self.ready.pop_front() else {
                    break;
                };
                self.start_attempt(unit);
            }
            self.launch().await;
            if self.set.is_empty() {
                return false;
            }
            tokio::select! {
                biased;
                _ = cancel.cancelled() => {
                    // Ctrl-C / SIGTERM cancel the runner; a run stops on its own when its
                    // history cannot be recorded.
                    let interrupted = self.runner.cancel.is_cancelled();
                    let why = if interrupted {
                        "the run was interrupted"
                    } else {
                        "the run was stopped: its history cannot be recorded"
                    };
                    self.interrupt(why).await;
                    return interrupted;
                }
                Some(joined) = self.set.join_next() => {
                    self.joined(joined, true);
                    // Whatever else has finished joins this step (one transaction for all).
                    while let Some(joined) = self.set.try_join_next() {
                        self.joined(joined, true);
                    }
                }
            }
        }
    }

    /// Success when every task finished and none failed, and nothing stopped the run.
    fn outcome(&self, interrupted: bool) -> RunState {
        let n = self.dag.tasks().len();
        let failed = self.units[..n].iter().any(|u| {
            matches!(u.state, TaskState::Failed | TaskState::UpstreamFailed)
                || !u.state.is_finished()
        });
        if failed || interrupted || self.error.is_some() {
            RunState::Failed
        } else {
            RunState::Success
        }
    }

    /// Records the units decided without running (upstream_failed, skipped by rule, never
    /// reached; an expanded mapped task is recorded by its elements) and the run's end.
    async fn record_end(&mut self, state: RunState) {
        let n = self.dag.tasks().len();
        let now = Utc::now();
        for u in 0..self.units.len() {
            let unit = &self.units[u];
            let expanded = u < n && self.expanded[u].is_some();
            if !expanded
                && unit.attempts.len() as u32 == unit.base_tries
                && unit.state != TaskState::Success
            {
                let decided = AttemptReport {
                    try_number: 0,
                    state: unit.state,
                    start: now,
                    duration: Duration::ZERO,
                    error: unit.reason.clone(),
                    log_path: PathBuf::new(),
                };
                self.record(u, &decided, None);
            }
        }
        self.flush().await;
        let record_state = match state {
            RunState::Success => RunStateRecord::Success,
            RunState::Failed => RunStateRecord::Failed,
        };
        self.persist_run(record_state, Some(Utc::now())).await;
    }

    /// Every task's report, in topological order, a mapped task with its elements'.
    fn task_reports(&mut self) -> Vec<TaskInstanceReport> {
        let order: Vec<usize> = self.dag.topological_order().to_vec();
        order
            .into_iter()
            .map(|i| {
                let id = self.dag.tasks()[i].id();
                let mut report = self.units[i].report(id);
                if let Some(e) = &self.expanded[i] {
                    report.mapped = e.units.clone().map(|u| self.units[u].report(id)).collect();
                }
                report
            })
            .collect()
    }

    /// Ctrl-C / SIGTERM. Every attempt's context is already cancelled (their tokens are children
    /// of the runner's); they get the grace period to finish on their own (an attempt that
    /// succeeds in it counts), then the rest are dropped and recorded as failed. Nothing new
    /// starts and waiting retries are dropped.
    pub(super) async fn interrupt(&mut self, why: &str) {
        let grace = tokio::time::sleep(self.runner.cancel_grace);
        tokio::pin!(grace);
        while self.running > 0 {
            tokio::select! {
                biased;
                Some(joined) = self.set.join_next() => {
                    if let Ok(event @ Event::Done { .. }) = joined {
                        self.handle(event, false);
                    }
                }
                _ = &mut grace => break,
            }
        }
        self.set.abort_all();
        while let Some(joined) = self.set.join_next().await {
            if let Ok(event @ Event::Done { .. }) = joined {
                self.handle(event, false);
            }
        }
        let n = self.dag.tasks().len();
        for u in 0..self.units.len() {
            if u < n && self.expanded[u].is_some() {
                // Decided below, from its elements.
                continue;
            }
            match self.units[u].state {
                TaskState::Running => {
                    let err = TaskError::cancelled(why);
                    let (start, clock) = self.units[u]
                        .started
                        .unwrap_or((Utc::now(), Instant::now()));
                    let try_number = self.units[u].attempts.len() as u32 + 1;
                    let log_path = self.log_path(u, try_number);
                    if self.runner.attempt_logs {
                        crate::logging::append(
                            log_path.clone(),
                            format!(
                                "[{}] ERROR rocket_dag::runner: {err}",
                                Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ")
                            ),
                        );
                    }
                    let attempt = AttemptReport {
                        try_number,
                        state: TaskState::Failed,
                        start,
                        duration: clock.elapsed(),
                        error: Some(err.to_string()),
                        log_path,
                    };
                    self.record(u, &attempt, None);
                    self.units[u].attempts.push(attempt);
                    self.fail(u, err.to_string());
                }
                TaskState::UpForRetry => self.fail(u, "interrupted while waiting to retry".into()),
                TaskState::Queued => {
                    self.units[u].state = TaskState::NoStatus;
                    self.units[u].reason = Some("not started: the run was interrupted".into());
                }
                _ => {}
            }
        }
        for t in 0..n {
            if self.expanded[t].is_some() && !self.units[t].state.is_finished() {
                self.fail(
                    t,
                    "the run was interrupted while its mapped instances ran".into(),
                );
            }
        }
        self.ready.clear();
        self.flush().await;
    }

    pub(super) fn fail(&mut self, unit: usize, reason: String) {
        self.units[unit].state = TaskState::Failed;
        self.units[unit].reason = Some(reason);
    }

    pub(super) fn log_path(&self, unit: usize, try_number: u32) -> PathBuf {
        // Every id was checked before the run started: the DAG's and its tasks' when it was
        // built, the run's in `Runner::run`.
        crate::home::attempt_log(
            &self.runner.home,
            &self.info.dag_id,
            &self.info.run_id,
            self.task_id(unit),
            self.units[unit].map_index,
            try_number,
        )
        .unwrap_or_default()
    }

    /// Prepares an attempt; [`DagRun::launch`] starts it.
    pub(super) fn start_attempt(&mut self, unit: usize) {
        let task = self.units[unit].task;
        let node = &self.dag.tasks()[task];
        let opts = *node.options();
        let try_number = self.units[unit].attempts.len() as u32 + 1;
        let max_tries = self.units[unit].base_tries + opts.max_tries();
        let inputs: Vec<XCom> = match &self.units[unit].inputs {
            Some(own) => own.clone(),
            None => node
                .inputs()
                .iter()
                .map(|&u| {
                    self.units[u]
                        .output
                        .clone()
                        .expect("data inputs are checked before a task is queued")
                })
                .collect(),
        };
        let ctx = TaskContext {
            run: self.info.clone(),
            task_id: node.id().into(),
            map_index: self.units[unit].map_index,
            try_number,
            max_tries,
            cancel: self.run_cancel.child_token(),
        };
        self.units[unit].started = Some((Utc::now(), Instant::now()));
        // Durable before the attempt runs: a crash from here on is seen on the next start.
        let running = AttemptReport {
            try_number,
            state: TaskState::Running,
            start: Utc::now(),
            duration: Duration::ZERO,
            error: None,
            log_path: self.log_path(unit, try_number),
        };
        self.record(unit, &running, None);
        let log_field = if self.runner.attempt_logs {
            running.log_path.display().to_string()
        } else {
            String::new()
        };
        // ERROR level so that no log filter can disable the span that routes events to the
        // attempt's file and tags console lines.
        let span = tracing::error_span!(
            target: "rocket_dag::task",
            "task",
            task_id = &*self.units[unit].label,
            dag_id = &*self.info.dag_id,
            run_id = &*self.info.run_id,
            try_number,
            log = log_field,
        );
        let erased = self.dag.tasks()[task].erased.clone();
        let grace = self.runner.cancel_grace;
        self.units[unit].state = TaskState::Running;
        self.running += 1;
        self.report_progress(unit);
        self.launches.push(Launch {
            unit,
            ctx,
            erased,
            inputs,
            opts,
            grace,
            span,
        });
    }

    /// Applies an event; `retry` is false while the run is being interrupted.
    pub(super) fn handle(&mut self, event: Event, retry: bool) {
        let (unit, start, elapsed, result) = match event {
            Event::RetryDue(unit) => {
                if self.units[unit].state == TaskState::UpForRetry {
                    self.units[unit].state = TaskState::Queued;
                    self.ready.push_back(unit);
                }
                return;
            }
            Event::Done {
                unit,
                start,
                elapsed,
                result,
            } => (unit, start, elapsed, result),
        };
        self.running -= 1;
        self.units[unit].started = None;
        let try_number = self.units[unit].attempts.len() as u32 + 1;
        let mut attempt = AttemptReport {
            try_number,
            state: TaskState::Success,
            start,
            duration: elapsed,
            error: None,
            log_path: self.log_path(unit, try_number),
        };
        let error = match result {
            Ok(out) => {
                // The output and the success are durable before any downstream task starts.
                self.record(unit, &attempt, Some(&out));
                let u = &mut self.units[unit];
                u.attempts.push(attempt);
                u.output = Some(out);
                u.state = TaskState::Success;
                self.unit_finished(unit);
                return;
            }
            Err(e) => e,
        };
        attempt.error = Some(error.to_string());
        let opts = *self.dag.tasks()[self.units[unit].task].options();
        let max_tries = self.units[unit].base_tries + opts.max_tries();
        if error.is_skip() {
            self.skipped(unit, attempt);
        } else if retry && error.is_retryable() && try_number < max_tries {
            self.up_for_retry(unit, attempt, &opts, max_tries);
        } else {
            self.failed(unit, attempt, &error, max_tries, retry);
        }
    }

    /// The task asked to be skipped.
    fn skipped(&mut self, unit: usize, mut attempt: AttemptReport) {
        attempt.state = TaskState::Skipped;
        self.record(unit, &attempt, None);
        let u = &mut self.units[unit];
        u.reason = Some(format!(
            "skipped: {}",
            attempt.error.as_deref().unwrap_or("")
        ));
        u.attempts.push(attempt);
        u.state = TaskState::Skipped;
        self.unit_finished(unit);
    }

    /// A failed attempt with tries left: up for retry after its delay.
    fn up_for_retry(
        &mut self,
        unit: usize,
        mut attempt: AttemptReport,
        opts: &crate::task::ResolvedTaskOptions,
        max_tries: u32,
    ) {
        let label = self.units[unit].label.clone();
        let try_number = attempt.try_number;
        let msg = attempt.error.clone().unwrap_or_default();
        let delay = retry::delay(
            opts,
            &self.info.dag_id,
            &label,
            &self.info.run_id,
            try_number,
        );
        attempt.state = TaskState::UpForRetry;
        self.notify_try(unit, try_number, max_tries, &msg, Some(delay));
        self.record(unit, &attempt, None);
        self.units[unit].attempts.push(attempt);
        self.units[unit].state = TaskState::UpForRetry;
        tracing::warn!(
            task_id = &*label,
            "attempt {try_number} of {max_tries} failed: {msg}; retrying in {}",
            crate::duration::format(delay)
        );
        self.set.spawn(async move {
            tokio::time::sleep(delay).await;
            Event::RetryDue(unit)
        });
    }

    /// The task failed for good (no tries left, not retryable, or the run is being
    /// interrupted: `retry` false).
    fn failed(
        &mut self,
        unit: usize,
        mut attempt: AttemptReport,
        error: &TaskError,
        max_tries: u32,
        retry: bool,
    ) {
        let label = self.units[unit].label.clone();
        let try_number = attempt.try_number;
        let msg = error.to_string();
        attempt.state = TaskState::Failed;
        self.record(unit, &attempt, None);
        self.units[unit].attempts.push(attempt);
        let reason = if !retry {
            format!("the run was interrupted; the attempt ended with: {msg}")
        } else if error.kind() == TaskErrorKind::Permanent && try_number < max_tries {
            format!("{msg} (not retried: retrying cannot cure this)")
        } else if error.kind() == TaskErrorKind::FailNow || try_number == 1 {
            msg.clone()
        } else {
            format!("{msg} (after {try_number} attempts)")
        };
        tracing::error!(
            task_id = &*label,
            "task failed: DAG `{}`, task `{}`, attempt {try_number} of {max_tries}: {msg}",
            self.info.dag_id,
            label,
        );
        self.fail(unit, reason);
        // An interrupted run decides nothing more downstream: those tasks stay unstarted.
        if retry {
            self.notify_try(unit, try_number, max_tries, &msg, None);
            self.unit_finished(unit);
        }
    }

    pub(super) fn joined(&mut self, joined: Result<Event, tokio::task::JoinError>, retry: bool) {
        match joined {
            Ok(event) => self.handle(event, retry),
            // Attempts catch their own panics; a JoinError here means we aborted it.
            Err(e) => tracing::error!("attempt task ended abnormally: {e}"),
        }
    }
}

/// One line saying how the run ended.
fn log_outcome(report: &DagRunReport) {
    match report.state {
        RunState::Success => tracing::info!(
            dag_id = report.dag_id,
            "DAG run {} succeeded in {:.3}s",
            report.run_id,
            report.duration.as_secs_f64()
        ),
        RunState::Failed => tracing::error!(
            dag_id = report.dag_id,
            "DAG run {} failed{}",
            report.run_id,
            match (&report.error, report.interrupted) {
                (Some(e), _) => format!(": {e}"),
                (None, true) => " (interrupted)".to_owned(),
                (None, false) => String::new(),
            }
        ),
    }
}

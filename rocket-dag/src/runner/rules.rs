//! Trigger rules: when a task may run, given what its upstream tasks reached.

use super::*;

impl Counts {
    pub(super) fn done(&self) -> usize {
        self.success + self.failed + self.skipped
    }
    pub(super) fn add(&mut self, state: TaskState) {
        match state {
            TaskState::Success => self.success += 1,
            TaskState::Failed | TaskState::UpstreamFailed => self.failed += 1,
            TaskState::Skipped => self.skipped += 1,
            _ => {}
        }
    }
}

impl DagRun<'_> {
    /// A unit reached a final state: a task is counted for its downstream tasks; the last
    /// element of a mapped task decides the mapped task.
    pub(super) fn unit_finished(&mut self, unit: usize) {
        self.observe_unit(unit);
        let task = self.units[unit].task;
        if unit != task {
            let e = self.expanded[task]
                .as_mut()
                .expect("an element belongs to an expanded task");
            e.unfinished -= 1;
            let done = e.unfinished == 0;
            self.report_progress(unit);
            if !done {
                return;
            }
            self.collect(task);
        }
        self.finished(task);
    }

    /// A task reached a final state: count it for its downstream tasks and decide those.
    pub(super) fn finished(&mut self, idx: usize) {
        let mut stack = vec![idx];
        while let Some(i) = stack.pop() {
            let state = self.units[i].state;
            self.finished_count += 1;
            self.report_progress(i);
            for &d in self.dag.tasks()[i].downstream() {
                self.upstream[d].add(state);
                if self.dag.tasks()[d].inputs().contains(&i) {
                    self.inputs[d].add(state);
                }
                if self.units[d].state == TaskState::NoStatus && self.evaluate(d) {
                    stack.push(d);
                }
            }
        }
    }

    /// Applies the trigger rule; returns `true` if the task reached a final state without
    /// running (so its own downstream must be evaluated).
    pub(super) fn evaluate(&mut self, idx: usize) -> bool {
        match self.decide(idx) {
            Decision::Wait => false,
            Decision::Run if self.dag.tasks()[idx].is_mapped() => self.expand(idx),
            Decision::Run => {
                self.units[idx].state = TaskState::Queued;
                self.ready.push_back(idx);
                false
            }
            Decision::Skip(why) => {
                self.units[idx].state = TaskState::Skipped;
                self.units[idx].reason = Some(why);
                self.observe_unit(idx);
                true
            }
            Decision::UpstreamFailed(why) => {
                self.units[idx].state = TaskState::UpstreamFailed;
                self.units[idx].reason = Some(why);
                self.observe_unit(idx);
                true
            }
        }
    }

    pub(super) fn decide(&self, idx: usize) -> Decision {
        let node = &self.dag.tasks()[idx];
        let rule = node.options().trigger_rule;
        // `always` ignores ordering-only upstream tasks; its data inputs still decide.
        let (c, total) = if rule == TriggerRule::Always {
            (self.inputs[idx], self.input_totals[idx])
        } else {
            (self.upstream[idx], node.upstream().len())
        };
        let verdict = by_rule(rule, c, total);
        match verdict {
            Decision::Run => self.inputs_available(idx),
            other => other,
        }
    }

    /// A task may run by its trigger rule, but it can only be called with every data input.
    pub(super) fn inputs_available(&self, idx: usize) -> Decision {
        let c = self.inputs[idx];
        let total = self.input_totals[idx];
        if c.success == total {
            return Decision::Run;
        }
        let node = &self.dag.tasks()[idx];
        // A mapped task with failed elements still hands on what its other elements returned,
        // to a task whose rule runs it anyway (`all_done`, …), as Airflow does.
        if c.done() == total
            && node
                .inputs()
                .iter()
                .all(|&u| self.units[u].output.is_some())
        {
            return Decision::Run;
        }
        let name_of = |wanted: fn(TaskState) -> bool| {
            node.inputs()
                .iter()
                .find(|&&u| wanted(self.units[u].state))
                .map(|&u| self.dag.tasks()[u].id().to_owned())
                .unwrap_or_default()
        };
        if c.failed > 0 {
            let from = name_of(|s| matches!(s, TaskState::Failed | TaskState::UpstreamFailed));
            Decision::UpstreamFailed(format!(
                "upstream failed: input from `{from}` is unavailable"
            ))
        } else if c.skipped > 0 {
            let from = name_of(|s| s == TaskState::Skipped);
            Decision::Skip(format!("skipped: input from `{from}` was skipped"))
        } else {
            Decision::Wait
        }
    }
}

/// What trigger rule `rule` says, given the final states `c` reached by `total` upstream tasks
/// (Airflow's rules; a task without upstream tasks runs whatever its rule).
pub(super) fn by_rule(rule: TriggerRule, c: Counts, total: usize) -> Decision {
    if total == 0 {
        return Decision::Run;
    }
    let (success, failed, skipped) = (c.success, c.failed, c.skipped);
    let all_done = c.done() == total;
    let rule_name = rule.as_str();
    let upstream_failed =
        || Decision::UpstreamFailed(format!("upstream failed (trigger rule {rule_name})"));
    let skip = || Decision::Skip(format!("skipped by trigger rule {rule_name}"));
    let run_when_done = || {
        if all_done {
            Decision::Run
        } else {
            Decision::Wait
        }
    };
    match rule {
        TriggerRule::AllSuccess if failed > 0 => upstream_failed(),
        TriggerRule::AllSuccess if skipped > 0 => skip(),
        TriggerRule::AllFailed | TriggerRule::AllSkipped if success > 0 => skip(),
        TriggerRule::AllFailed if skipped > 0 => skip(),
        TriggerRule::AllSkipped if failed > 0 => skip(),
        TriggerRule::AllSuccess
        | TriggerRule::AllFailed
        | TriggerRule::AllSkipped
        | TriggerRule::AllDone
        | TriggerRule::Always => run_when_done(),
        TriggerRule::OneSuccess if success > 0 => Decision::Run,
        TriggerRule::OneSuccess if all_done && skipped == total => skip(),
        TriggerRule::OneSuccess if all_done => upstream_failed(),
        TriggerRule::OneFailed if failed > 0 => Decision::Run,
        TriggerRule::OneDone if success + failed > 0 => Decision::Run,
        TriggerRule::OneFailed | TriggerRule::OneDone if all_done => skip(),
        TriggerRule::NoneFailed | TriggerRule::NoneFailedMinOneSuccess if failed > 0 => {
            upstream_failed()
        }
        TriggerRule::NoneFailed => run_when_done(),
        TriggerRule::NoneFailedMinOneSuccess if all_done && success == 0 => skip(),
        TriggerRule::NoneFailedMinOneSuccess => run_when_done(),
        TriggerRule::NoneSkipped if skipped > 0 => skip(),
        TriggerRule::NoneSkipped => run_when_done(),
        _ => Decision::Wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(success: usize, failed: usize, skipped: usize) -> Counts {
        Counts {
            success,
            failed,
            skipped,
        }
    }

    fn verdict(rule: TriggerRule, c: Counts, total: usize) -> &'static str {
        match by_rule(rule, c, total) {
            Decision::Run => "run",
            Decision::Wait => "wait",
            Decision::Skip(_) => "skip",
            Decision::UpstreamFailed(_) => "upstream_failed",
        }
    }

    #[test]
    fn airflow_rules_over_two_upstream_tasks() {
        use TriggerRule as R;
        // (rule, success, failed, skipped) of 2 upstream tasks → decision.
        let table: &[(R, usize, usize, usize, &str)] = &[
            (R::AllSuccess, 2, 0, 0, "run"),
            (R::AllSuccess, 1, 0, 0, "wait"),
            (R::AllSuccess, 1, 1, 0, "upstream_failed"),
            (R::AllSuccess, 1, 0, 1, "skip"),
            (R::AllFailed, 0, 2, 0, "run"),
            (R::AllFailed, 1, 1, 0, "skip"),
            (R::AllDone, 1, 1, 0, "run"),
            (R::AllDone, 1, 0, 0, "wait"),
            (R::AllSkipped, 0, 0, 2, "run"),
            (R::OneSuccess, 1, 0, 0, "run"),
            (R::OneSuccess, 0, 2, 0, "upstream_failed"),
            (R::OneSuccess, 0, 0, 2, "skip"),
            (R::OneFailed, 0, 1, 0, "run"),
            (R::OneFailed, 2, 0, 0, "skip"),
            (R::OneDone, 0, 1, 0, "run"),
            (R::OneDone, 0, 0, 2, "skip"),
            (R::NoneFailed, 1, 0, 1, "run"),
            (R::NoneFailed, 1, 1, 0, "upstream_failed"),
            (R::NoneFailedMinOneSuccess, 0, 0, 2, "skip"),
            (R::NoneFailedMinOneSuccess, 1, 0, 1, "run"),
            (R::NoneSkipped, 1, 1, 0, "run"),
            (R::NoneSkipped, 1, 0, 1, "skip"),
            (R::Always, 0, 2, 0, "run"),
        ];
        for &(rule, s, f, k, want) in table {
            assert_eq!(
                verdict(rule, counts(s, f, k), 2),
                want,
                "{rule:?} {s}/{f}/{k}"
            );
        }
        // No upstream task: runs whatever the rule.
        assert_eq!(verdict(R::AllFailed, counts(0, 0, 0), 0), "run");
    }

    #[test]
    fn counts_add_final_states() {
        let mut c = Counts::default();
        for s in [
            TaskState::Success,
            TaskState::Failed,
            TaskState::UpstreamFailed,
            TaskState::Skipped,
            TaskState::Running,
        ] {
            c.add(s);
        }
        assert_eq!((c.success, c.failed, c.skipped, c.done()), (1, 2, 1, 4));
    }
}

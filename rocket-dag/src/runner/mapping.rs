//! Dynamic task mapping: a task run once per element of the lists it maps over.

use super::*;

impl DagRun<'_> {
    /// Creates one unit per element of a mapped task and queues those not finished by an
    /// earlier execution; returns `true` if the task is decided already (an empty list, a
    /// list that is not one, or every element resumed).
    pub(super) fn expand(&mut self, task: usize) -> bool {
        let node = &self.dag.tasks()[task];
        let outputs: Vec<XCom> = node
            .inputs()
            .iter()
            .map(|&u| self.units[u].output.clone().expect("inputs are available"))
            .collect();
        let lists = match Mapping::new(self.dag, task, outputs) {
            Ok(m) => m,
            Err(why) => {
                tracing::error!(task_id = node.id(), "{why}");
                self.fail(task, why);
                self.observe_unit(task);
                return true;
            }
        };
        let total = lists.len();
        if total == 0 {
            self.units[task].state = TaskState::Skipped;
            self.units[task].reason = Some("skipped: mapped over an empty list".into());
            self.observe_unit(task);
            return true;
        }
        let first = self.units.len();
        let mut unfinished = 0;
        for i in 0..total {
            let m = i as u32;
            let mut unit = Unit::new(task, Some(m), format!("{}[{i}]", node.id()).into());
            unit.inputs = Some(lists.element(i));
            if let Some(stored) = self.stored_elements.remove(&(task, m)) {
                unit.base_tries = stored.attempts.last().map_or(0, |a| a.try_number);
                unit.attempts = stored.attempts;
                if let Some(state) = stored.state {
                    unit.state = state;
                    unit.output = stored.output;
                    unit.reason = (state == TaskState::Skipped)
                        .then_some(stored.reason)
                        .flatten();
                }
            }
            if !unit.state.is_finished() {
                unit.state = TaskState::Queued;
                self.ready.push_back(first + i);
                unfinished += 1;
            }
            self.units.push(unit);
        }
        tracing::info!(
            task_id = node.id(),
            "mapped over {total} element(s); {unfinished} to run"
        );
        self.expanded[task] = Some(Expanded {
            units: first..first + total,
            unfinished,
        });
        self.units[task].state = TaskState::Running;
        if unfinished == 0 {
            self.collect(task);
            return true;
        }
        false
    }

    /// Decides a mapped task from its elements: failed if one failed, success if one succeeded,
    /// else skipped. Its output lists the succeeded elements' outputs in map index order.
    pub(super) fn collect(&mut self, task: usize) {
        let range = self.expanded[task]
            .as_ref()
            .expect("collect follows expand")
            .units
            .clone();
        let total = range.len();
        let elements = &self.units[range];
        let failed: Vec<&Unit> = elements
            .iter()
            .filter(|u| matches!(u.state, TaskState::Failed | TaskState::UpstreamFailed))
            .collect();
        let succeeded = elements
            .iter()
            .filter(|u| u.state == TaskState::Success)
            .count();
        let (state, reason) = if !failed.is_empty() {
            const SHOWN: usize = 3;
            let mut why = format!("{} of {total} mapped instance(s) failed: ", failed.len());
            let shown: Vec<String> = failed
                .iter()
                .take(SHOWN)
                .map(|u| {
                    format!(
                        "[{}] {}",
                        u.map_index.unwrap_or(0),
                        u.reason.as_deref().unwrap_or("")
                    )
                })
                .collect();
            why.push_str(&shown.join("; "));
            if failed.len() > SHOWN {
                why.push_str(&format!("; and {} more", failed.len() - SHOWN));
            }
            (TaskState::Failed, Some(why))
        } else if succeeded > 0 {
            (TaskState::Success, None)
        } else {
            (
                TaskState::Skipped,
                Some("skipped: every mapped instance was skipped".into()),
            )
        };
        // Failed or not, the outputs of the elements that succeeded (see `inputs_available`).
        let output = (succeeded > 0).then(|| {
            let mut json = String::from("[");
            for (k, out) in elements
                .iter()
                .filter_map(|u| u.output.as_ref())
                .enumerate()
            {
                if k > 0 {
                    json.push(',');
                }
                json.push_str(out.as_json());
            }
            json.push(']');
            XCom(json.into())
        });
        let t = &mut self.units[task];
        t.state = state;
        t.reason = reason;
        t.output = output;
    }
}

/// The inputs of a mapped task's elements: each list it maps over split into its elements
/// (the cross product when there are several, the last list varying fastest, as Airflow),
/// the other inputs passed whole.
pub(super) struct Mapping {
    inputs: Vec<MappedInput>,
    len: usize,
}

enum MappedInput {
    Whole(XCom),
    Each(Vec<XCom>),
}

impl Mapping {
    /// Splits the upstream outputs of task `task` (in parameter order).
    pub(super) fn new(dag: &Dag, task: usize, outputs: Vec<XCom>) -> Result<Mapping, String> {
        let node = &dag.tasks()[task];
        let mut len = 1usize;
        let mut inputs = Vec::with_capacity(outputs.len());
        for ((out, &mapped), &from) in outputs
            .into_iter()
            .zip(node.mapped_inputs())
            .zip(node.inputs())
        {
            if !mapped {
                inputs.push(MappedInput::Whole(out));
                continue;
            }
            let items: Vec<&serde_json::value::RawValue> = serde_json::from_str(out.as_json())
                .map_err(|e| {
                    format!(
                        "cannot map `{}` over the output of `{}`: it is not a list ({e})",
                        node.id(),
                        dag.tasks()[from].id()
                    )
                })?;
            len = len.checked_mul(items.len()).ok_or_else(|| {
                format!(
                    "cannot map `{}`: the cross product of its lists is too large",
                    node.id()
                )
            })?;
            inputs.push(MappedInput::Each(
                items.into_iter().map(|r| XCom(r.get().into())).collect(),
            ));
        }
        Ok(Mapping { inputs, len })
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The inputs of element `i`.
    pub(super) fn element(&self, mut i: usize) -> Vec<XCom> {
        let mut out: Vec<XCom> = Vec::with_capacity(self.inputs.len());
        for input in self.inputs.iter().rev() {
            out.push(match input {
                MappedInput::Whole(x) => x.clone(),
                MappedInput::Each(items) => {
                    let x = items[i % items.len()].clone();
                    i /= items.len();
                    x
                }
            });
        }
        out.reverse();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(json: &str) -> XCom {
        XCom(json.into())
    }

    fn each(items: &[&str]) -> MappedInput {
        MappedInput::Each(items.iter().map(|i| x(i)).collect())
    }

    fn texts(inputs: Vec<XCom>) -> Vec<String> {
        inputs.iter().map(|i| i.as_json().to_owned()).collect()
    }

    #[test]
    fn elements_are_the_cross_product_with_the_last_list_varying_fastest() {
        let m = Mapping {
            inputs: vec![
                each(&["1", "2"]),
                MappedInput::Whole(x("\"w\"")),
                each(&["\"a\"", "\"b\"", "\"c\""]),
            ],
            len: 6,
        };
        let all: Vec<Vec<String>> = (0..m.len()).map(|i| texts(m.element(i))).collect();
        let want = [
            ["1", "\"w\"", "\"a\""],
            ["1", "\"w\"", "\"b\""],
            ["1", "\"w\"", "\"c\""],
            ["2", "\"w\"", "\"a\""],
            ["2", "\"w\"", "\"b\""],
            ["2", "\"w\"", "\"c\""],
        ];
        assert_eq!(all, want.map(|e| e.map(str::to_owned).to_vec()));
    }

    #[test]
    fn one_list_maps_element_by_element_and_whole_inputs_repeat() {
        let m = Mapping {
            inputs: vec![MappedInput::Whole(x("{\"k\":1}")), each(&["10", "20"])],
            len: 2,
        };
        assert_eq!(texts(m.element(0)), ["{\"k\":1}", "10"]);
        assert_eq!(texts(m.element(1)), ["{\"k\":1}", "20"]);
    }
}

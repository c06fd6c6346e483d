//! Pictures of DAGs and runs: the graph (SVG), the Gantt chart and durations across runs, the
//! three-layer diagrams (DAG in swimlanes, solution architecture) as SVG and draw.io, and the
//! self-contained HTML run report.
//!
//! Everything here is a pure function of a [`Dag`](crate::Dag) and, for a run, its
//! [`RunHistory`] read from the [`Store`]: no network, no JavaScript libraries, no fonts to
//! fetch, so the files open anywhere and the report prints to PDF as it looks.
//!
//! | module | draws |
//! |---|---|
//! | [`graph`] | tasks and edges, left to right, coloured by layer or by a run's task states |
//! | [`text`] | the graph as Mermaid and Graphviz DOT |
//! | [`gantt`] | one bar per attempt of a run over time |
//! | [`durations`] | each task's wall time across runs, and which task to optimise |
//! | [`lanes`] | diagrams in Source / Storage / Business swimlanes, as SVG and draw.io |
//! | [`architecture`] | assets and tasks from `reads`/`writes`, drawn by [`lanes`] |
//! | [`report`] | one HTML file: statement, code, diagrams, Gantt, logs, results |
//! | [`chromium`] | the report as PDF, through headless Chromium |
//! | [`handin`] | the course hand-in: statement, variant, architecture and every DAG's report on one page |
//!
//! What they share: `palette` (every colour and the font), [`svg`] (the writer, numbers,
//! routes), [`layout`] (columns of a graph), `time` and `axis` (the charts' time axes), `html`
//! (escaping, the charts' pages); [`state_color`], [`layer_color`] and [`layer_title`] here.

pub mod architecture;
mod axis;
#[cfg(test)]
mod chart_testing;
pub mod chromium;
pub mod durations;
pub mod gantt;
pub mod graph;
pub mod handin;
mod html;
pub mod lanes;
pub mod layout;
mod palette;
pub mod report;
pub mod svg;
pub mod text;
mod time;

pub use palette::{layer_color, state_color};
pub use text::{dot, mermaid};

use std::collections::BTreeMap;

use crate::store::{
    DagRunRecord, NOT_MAPPED, Store, StoreError, TaskInstanceRecord, TaskStateRecord,
};
use crate::task::Layer;

/// Where a layer comes in the pictures' lanes and legends: Source, Storage, Business, then
/// no layer.
pub(crate) fn layer_index(layer: Option<Layer>) -> usize {
    match layer {
        Some(Layer::Source) => 0,
        Some(Layer::Storage) => 1,
        Some(Layer::Business) => 2,
        None => 3,
    }
}

/// `""` for one, `"s"` for any other count.
pub(crate) fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Title of a layer's swimlane.
pub fn layer_title(layer: Option<Layer>) -> &'static str {
    match layer {
        Some(Layer::Source) => "Source",
        Some(Layer::Storage) => "Storage",
        Some(Layer::Business) => "Business",
        None => "Other",
    }
}

/// Why a picture of a run could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VizError {
    /// The store could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No such run (or, without a run id, no run at all) of the DAG.
    #[error("DAG `{dag}` has no run {run}")]
    NoRun {
        /// The DAG.
        dag: String,
        /// The run asked for (`recorded` when none was named).
        run: String,
    },
}

/// A recorded run and every try of its task instances, as the pictures need them.
#[derive(Debug, Clone)]
pub struct RunHistory {
    /// The run.
    pub run: DagRunRecord,
    /// Every try, ordered by task id, map index and try number.
    pub tries: Vec<TaskInstanceRecord>,
}

/// What a task amounted to in a run (all its instances, latest tries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSummary {
    /// The state the task's instances add up to.
    pub state: TaskStateRecord,
    /// Instances: 1, or a mapped task's element count.
    pub instances: usize,
    /// Whether the task was mapped in this run.
    pub mapped: bool,
    /// Tries over all instances.
    pub tries: usize,
    /// Latest-try states of its instances and how many are in each.
    pub by_state: BTreeMap<&'static str, usize>,
}

impl TaskSummary {
    /// How many instances are in each state: `98 success, 2 failed`.
    pub(crate) fn states(&self) -> String {
        let parts: Vec<String> = self
            .by_state
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        parts.join(", ")
    }
}

impl RunHistory {
    /// Reads run `run_id` of `dag_id`, or the run that started last when `None`.
    pub async fn load(
        store: &Store,
        dag_id: &str,
        run_id: Option<&str>,
    ) -> Result<RunHistory, VizError> {
        let run = match run_id {
            Some(r) => store.get_run(dag_id, r).await?,
            // The run that started last, as people mean "the latest run".
            None => store.last_started_run(dag_id).await?,
        };
        let run = run.ok_or_else(|| VizError::NoRun {
            dag: dag_id.to_owned(),
            run: run_id.map_or_else(|| "recorded".to_owned(), |r| format!("`{r}`")),
        })?;
        let tries = store.task_instances(dag_id, &run.run_id).await?;
        Ok(RunHistory { run, tries })
    }

    /// The latest try of each instance of `task_id`, by map index.
    pub fn latest_tries(&self, task_id: &str) -> Vec<&TaskInstanceRecord> {
        crate::store::latest_tries(&self.tries, task_id)
    }

    /// What `task_id` amounted to, or `None` if the run has no try of it.
    pub fn task_summary(&self, task_id: &str) -> Option<TaskSummary> {
        let latest = self.latest_tries(task_id);
        if latest.is_empty() {
            return None;
        }
        let mapped = latest.iter().any(|t| t.map_index != NOT_MAPPED);
        let state = if mapped {
            crate::store::mapped_state(&latest)
        } else {
            latest[0].state
        };
        let mut by_state = BTreeMap::new();
        for t in &latest {
            *by_state.entry(t.state.as_str()).or_insert(0) += 1;
        }
        Some(TaskSummary {
            state,
            instances: latest.len(),
            mapped,
            tries: self.tries.iter().filter(|t| t.task_id == task_id).count(),
            by_state,
        })
    }
}

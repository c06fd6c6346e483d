//! Gantt charts of a run (one bar per attempt) and durations of each task across runs.

use crate::Dag;

use super::RunHistory;

/// The Gantt chart of a run as a standalone SVG document.
pub fn gantt_svg(run: &RunHistory, dag: Option<&Dag>) -> String {
    let _ = (run, dag);
    String::new()
}

/// The Gantt chart of a run as a self-contained HTML page.
pub fn gantt_html(run: &RunHistory, dag: Option<&Dag>) -> String {
    let _ = (run, dag);
    String::new()
}

/// Each task's duration across `runs` (any order) as a standalone SVG document.
pub fn durations_svg(dag_id: &str, runs: &[RunHistory]) -> String {
    let _ = (dag_id, runs);
    String::new()
}

/// Each task's duration across `runs` as a self-contained HTML page (chart and table).
pub fn durations_html(dag_id: &str, runs: &[RunHistory]) -> String {
    let _ = (dag_id, runs);
    String::new()
}

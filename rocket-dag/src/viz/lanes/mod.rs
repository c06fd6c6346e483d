//! Diagrams in three swimlanes, Source / Storage / Business (the course's draw.io drawings),
//! written as SVG and as draw.io (mxGraph) XML.
//!
//! A [`LaneDiagram`] is nodes (tasks and assets) with a lane each, and edges. Both outputs
//! share one placement: the lanes are horizontal bands stacked top to bottom (Source, Storage,
//! Business, then "Other" only when some node has no layer), each titled in a strip on its
//! left as draw.io's swimlanes are; a node's column is its rank in a layered layout of the
//! whole graph ([`super::layout::layered`]), so the flow reads left to right across every
//! lane; nodes of one lane and one column stack vertically.
//!
//! ```
//! use rocket_dag::viz::lanes::LaneDiagram;
//! # use rocket_dag::prelude::*;
//! # #[task]
//! # async fn hello() -> Result<(), TaskError> { Ok(()) }
//! # #[dag]
//! # fn greet() { hello(); }
//! let diagram = LaneDiagram::from_dag(&greet());
//! assert!(diagram.to_drawio().contains(r#"<mxCell id="task-hello""#));
//! assert!(diagram.to_svg().starts_with("<svg"));
//! ```

use std::collections::HashSet;

use crate::Dag;
use crate::asset::AssetKind;
use crate::dag::{EdgeKind, TaskNode};
use crate::task::{Layer, TriggerRule};

mod drawio;
mod place;
mod shapes;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

/// What a node stands for; it picks the shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A task (a mapped one is drawn as a stack).
    Task {
        /// Runs once per element of a list.
        mapped: bool,
    },
    /// An asset.
    Asset(AssetKind),
}

/// A node of a lane diagram.
#[derive(Debug, Clone, PartialEq)]
pub struct LaneNode {
    /// Unique among the diagram's nodes of its kind (a task and an asset may share a name: the
    /// drawings prefix ids with `task-` or `asset-`).
    pub id: String,
    /// Text in the box; `\n` starts a new line.
    pub label: String,
    /// Its lane (`None`: an "Other" lane, drawn only when used).
    pub lane: Option<Layer>,
    /// Shape.
    pub kind: NodeKind,
    /// Tooltip (SVG `<title>`, draw.io `tooltip`); `\n` starts a new line.
    pub tooltip: String,
}

/// An edge of a lane diagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaneEdge {
    /// Index of the source node.
    pub from: usize,
    /// Index of the target node.
    pub to: usize,
    /// Dashed (ordering only, no data).
    pub dashed: bool,
}

/// Nodes in lanes, and edges.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LaneDiagram {
    /// Shown at the top.
    pub title: String,
    /// Nodes.
    pub nodes: Vec<LaneNode>,
    /// Edges.
    pub edges: Vec<LaneEdge>,
}

/// The lane a task is drawn in: its declared layer (`#[task(layer = …)]`, or the DAG's default),
/// else one inferred from the assets it declares, first match wins:
///
/// 1. it writes a Business asset (a report, a notification) → Business;
/// 2. it reads a Source asset (an API) → Source;
/// 3. it writes a Storage asset (a file, a folder, a database) → Storage;
/// 4. otherwise `None` (the "Other" lane).
pub fn task_layer(t: &TaskNode) -> Option<Layer> {
    if let Some(layer) = t.options().layer {
        return Some(layer);
    }
    let spec = t.spec();
    let writes = |l: Layer| spec.writes.iter().any(|a| a.layer == l);
    if writes(Layer::Business) {
        Some(Layer::Business)
    } else if spec.reads.iter().any(|a| a.layer == Layer::Source) {
        Some(Layer::Source)
    } else if writes(Layer::Storage) {
        Some(Layer::Storage)
    } else {
        None
    }
}

/// A task's tooltip: the first line of its doc comment, then its trigger rule and retries when
/// they are not the defaults.
pub(crate) fn task_tooltip(t: &TaskNode) -> String {
    let mut lines = Vec::new();
    if let Some(first) = t.doc().lines().map(str::trim).find(|l| !l.is_empty()) {
        lines.push(first.to_owned());
    }
    lines.extend(changed_options(t, "trigger_rule"));
    lines.join("\n")
}

/// A task's options that are not the defaults, a `name: value` line each: its trigger rule
/// (named `rule`) and its retries.
pub(crate) fn changed_options(t: &TaskNode, rule: &str) -> Vec<String> {
    let o = t.options();
    let mut lines = Vec::new();
    if o.trigger_rule != TriggerRule::AllSuccess {
        lines.push(format!("{rule}: {}", o.trigger_rule));
    }
    if o.retries > 0 {
        lines.push(format!("retries: {}", o.retries));
    }
    lines
}

/// A task's label: its id, with ` [ ]` when it is mapped.
pub(crate) fn task_label(t: &TaskNode) -> String {
    mapped_label(t.id(), t.is_mapped())
}

/// A task's label from its id: ` [ ]` added when it is mapped.
pub(crate) fn mapped_label(id: &str, mapped: bool) -> String {
    if mapped {
        format!("{id} [ ]")
    } else {
        id.to_owned()
    }
}

/// `source`, `storage`, `business` or `other`.
fn lane_key(lane: Option<Layer>) -> &'static str {
    lane.map_or("other", Layer::as_str)
}

fn label_lines(label: &str) -> Vec<&str> {
    let lines: Vec<&str> = label.split('\n').collect();
    if lines.is_empty() { vec![""] } else { lines }
}

/// Makes `raw` safe as an XML id: letters, digits, `_`, `-`, `.`; anything else becomes `_`.
fn id_part(raw: &str) -> String {
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl LaneDiagram {
    /// The DAG's tasks in the lanes of their layers ([`task_layer`]), with its edges (dashed
    /// for ordering without data). A node's id is its task id; its label adds ` [ ]` for a
    /// mapped task; its tooltip is the first line of the task's doc, then its trigger rule and
    /// retries when not the defaults.
    pub fn from_dag(dag: &Dag) -> LaneDiagram {
        let nodes = dag
            .tasks()
            .iter()
            .map(|t| LaneNode {
                id: t.id().to_owned(),
                label: task_label(t),
                lane: task_layer(t),
                kind: NodeKind::Task {
                    mapped: t.is_mapped(),
                },
                tooltip: task_tooltip(t),
            })
            .collect();
        let edges = dag
            .edges()
            .iter()
            .map(|e| LaneEdge {
                from: e.from,
                to: e.to,
                dashed: e.kind == EdgeKind::Order,
            })
            .collect();
        LaneDiagram {
            title: dag.id().to_owned(),
            nodes,
            edges,
        }
    }

    /// Edges whose ends are nodes of the diagram (others are not drawn).
    fn drawn_edges(&self) -> impl Iterator<Item = &LaneEdge> {
        let n = self.nodes.len();
        self.edges.iter().filter(move |e| e.from < n && e.to < n)
    }

    /// The id each node's drawing gets: `task-<id>` or `asset-<id>` (characters XML ids do not
    /// take replaced by `_`), with `-2`, `-3`, … appended should two coincide.
    fn cell_ids(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.nodes
            .iter()
            .map(|n| {
                let prefix = match n.kind {
                    NodeKind::Task { .. } => "task",
                    NodeKind::Asset(_) => "asset",
                };
                let base = format!("{prefix}-{}", id_part(&n.id));
                let mut id = base.clone();
                let mut k = 1;
                while !seen.insert(id.clone()) {
                    k += 1;
                    id = format!("{base}-{k}");
                }
                id
            })
            .collect()
    }
}

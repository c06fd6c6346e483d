//! Diagrams in three swimlanes, Source / Storage / Business (the course's draw.io drawings),
//! written as SVG and as draw.io (mxGraph) XML.

use crate::Dag;
use crate::asset::AssetKind;
use crate::task::Layer;

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
    /// Unique id within the diagram.
    pub id: String,
    /// Text in the box.
    pub label: String,
    /// Its lane (`None`: an "Other" lane, drawn only when used).
    pub lane: Option<Layer>,
    /// Shape.
    pub kind: NodeKind,
    /// Tooltip (SVG `<title>`, draw.io `tooltip`).
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

impl LaneDiagram {
    /// The DAG's tasks in the lanes of their layers, with its edges.
    pub fn from_dag(dag: &Dag) -> LaneDiagram {
        let _ = dag;
        LaneDiagram::default()
    }

    /// A standalone SVG document.
    pub fn to_svg(&self) -> String {
        String::new()
    }

    /// A draw.io file (uncompressed `<mxfile>`), which diagrams.net opens and edits.
    pub fn to_drawio(&self) -> String {
        String::new()
    }
}

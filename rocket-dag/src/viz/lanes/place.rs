//! Where the lanes and nodes of a lane diagram go, for both its writers: a column per rank of
//! the layered layout of the whole graph, lanes stacked top to bottom, nodes centred in them.

use crate::asset::AssetKind;
use crate::task::Layer;
use crate::viz::layer_index;
use crate::viz::layout::{Layered, layered};
use crate::viz::svg::{Column, columns, text_width};

use super::{LaneDiagram, LaneEdge, LaneNode, NodeKind, label_lines};

pub(super) const MARGIN: f64 = 20.0;
/// Room for the diagram's title above the lanes.
const TITLE_H: f64 = 44.0;
/// Width of a lane's title strip (draw.io's `startSize`).
pub(super) const HEADER: f64 = 30.0;
/// Space between a lane's title strip (or right end) and the nodes.
const PAD_X: f64 = 30.0;
/// Space above and below the tallest stack of a lane.
const PAD_Y: f64 = 24.0;
/// Between columns (room for the edges' curves).
const GAP_X: f64 = 70.0;
/// Between nodes stacked in a column.
pub(super) const GAP_Y: f64 = 20.0;
const MIN_LANE_H: f64 = 90.0;
pub(super) const MIN_NODE_W: f64 = 120.0;
const MIN_WIDTH: f64 = 480.0;
pub(super) const FONT_SIZE: f64 = 12.0;
pub(super) const LINE_H: f64 = 15.0;
/// How far a mapped task's back copy is offset.
pub(super) const STACK: f64 = 6.0;

/// An axis-aligned box.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(super) struct Rect {
    pub(super) x: f64,
    pub(super) y: f64,
    pub(super) w: f64,
    pub(super) h: f64,
}

impl Rect {
    pub(super) fn right(&self) -> f64 {
        self.x + self.w
    }
    pub(super) fn cx(&self) -> f64 {
        self.x + self.w / 2.0
    }
    pub(super) fn cy(&self) -> f64 {
        self.y + self.h / 2.0
    }
}

/// One lane's band.
#[derive(Debug, Clone, Copy)]
pub(super) struct LaneBox {
    pub(super) layer: Option<Layer>,
    pub(super) rect: Rect,
}

/// Where everything goes, shared by the SVG and the draw.io output.
#[derive(Debug, Clone)]
pub(super) struct Placement {
    pub(super) width: f64,
    pub(super) height: f64,
    pub(super) lanes: Vec<LaneBox>,
    /// Per node: index into `lanes`.
    pub(super) lane_of: Vec<usize>,
    /// Per node: its box, in absolute coordinates.
    pub(super) nodes: Vec<Rect>,
    /// Per node: its column.
    pub(super) rank: Vec<usize>,
    /// Each column's x range and boxes (for routing edges around them).
    pub(super) columns: Vec<Column>,
}

impl Placement {
    /// Whether an edge runs against the flow (a cycle's closing edge): it is drawn around.
    pub(super) fn is_back(&self, e: &LaneEdge) -> bool {
        self.rank[e.to] <= self.rank[e.from]
    }

    /// The lane node `i` lies in.
    pub(super) fn lane_of_node(&self, i: usize) -> &LaneBox {
        &self.lanes[self.lane_of[i].min(self.lanes.len() - 1)]
    }
}

/// Moves each node that has successors but no predecessor (an API read, a task started by
/// nothing) from the first column to the one just before its nearest successor, so a source
/// used late in the flow sits next to its reader instead of sending a long edge across the
/// picture. Within a column, a moved node goes where its successors are.
pub(super) fn pull_sources_right(layout: &mut Layered, edges: &[(usize, usize)]) {
    let n = layout.rank.len();
    let mut has_pred = vec![false; n];
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in edges {
        if a != b {
            has_pred[b] = true;
            succ[a].push(b);
        }
    }
    let mut key: Vec<f64> = layout.order.iter().map(|&o| o as f64).collect();
    let mut moved = false;
    for v in 0..n {
        if has_pred[v] || succ[v].is_empty() {
            continue;
        }
        let nearest = succ[v].iter().map(|&s| layout.rank[s]).min().unwrap_or(0);
        if nearest > layout.rank[v] + 1 {
            layout.rank[v] = nearest - 1;
            let at: Vec<f64> = succ[v]
                .iter()
                .filter(|&&s| layout.rank[s] == nearest)
                .map(|&s| layout.order[s] as f64)
                .collect();
            key[v] = at.iter().sum::<f64>() / at.len().max(1) as f64;
            moved = true;
        }
    }
    if !moved {
        return;
    }
    for r in layout.ranks.iter_mut() {
        r.clear();
    }
    for v in 0..n {
        layout.ranks[layout.rank[v]].push(v);
    }
    for r in layout.ranks.iter_mut() {
        r.sort_by(|&a, &b| key[a].total_cmp(&key[b]));
        for (i, &v) in r.iter().enumerate() {
            layout.order[v] = i;
        }
    }
}

/// The lanes drawn, in order (`layer_index`'s): the three layers, then "Other" when some node
/// has no layer.
fn lane_order(nodes: &[LaneNode]) -> Vec<Option<Layer>> {
    let mut lanes = vec![
        Some(Layer::Source),
        Some(Layer::Storage),
        Some(Layer::Business),
    ];
    if nodes.iter().any(|n| n.lane.is_none()) {
        lanes.push(None);
    }
    lanes
}

/// Width and height of a node: wide enough for its label and its shape's decorations.
pub(super) fn node_size(node: &LaneNode) -> (f64, f64) {
    let lines = label_lines(&node.label);
    let text = lines
        .iter()
        .map(|l| text_width(l, FONT_SIZE))
        .fold(0.0, f64::max);
    let extra = match node.kind {
        NodeKind::Task { mapped: false } => 32.0,
        NodeKind::Task { mapped: true } => 32.0 + STACK,
        // The cloud's bumps and the report's margin icon take room.
        NodeKind::Asset(AssetKind::ExternalApi) => 60.0,
        NodeKind::Asset(AssetKind::Report) => 56.0,
        NodeKind::Asset(_) => 40.0,
    };
    let w = ((text + extra).max(MIN_NODE_W) / 10.0).ceil() * 10.0;
    let base = (16.0 + LINE_H * lines.len() as f64).max(44.0);
    let h = match node.kind {
        NodeKind::Task { .. } => base,
        NodeKind::Asset(_) => base + 10.0,
    };
    (w, h.round())
}

/// The columns' left edges and widths, and the right end of the last.
struct Grid {
    x: Vec<f64>,
    w: Vec<f64>,
    right: f64,
}

/// Each column as wide as its widest node, `GAP_X` apart, right of the lanes' title strips.
fn grid(layout: &Layered, sizes: &[(f64, f64)]) -> Grid {
    let cols = layout.ranks.len();
    let mut w = vec![0.0f64; cols];
    for (&r, &(nw, _)) in layout.rank.iter().zip(sizes) {
        w[r] = w[r].max(nw);
    }
    let mut x = Vec::with_capacity(cols);
    let mut at = MARGIN + HEADER + PAD_X;
    for &cw in &w {
        x.push(at);
        if cw > 0.0 {
            at += cw + GAP_X;
        }
    }
    let right = if cols == 0 { at } else { at - GAP_X };
    Grid { x, w, right }
}

/// Height of nodes `vs` stacked `GAP_Y` apart.
fn stack_h(vs: &[usize], sizes: &[(f64, f64)]) -> f64 {
    vs.iter().map(|&v| sizes[v].1).sum::<f64>() + GAP_Y * vs.len().saturating_sub(1) as f64
}

impl LaneDiagram {
    /// Lays the diagram out (see the module documentation).
    pub(super) fn place(&self) -> Placement {
        let n = self.nodes.len();
        let pairs: Vec<(usize, usize)> = self.drawn_edges().map(|e| (e.from, e.to)).collect();
        let mut layout = layered(n, &pairs);
        pull_sources_right(&mut layout, &pairs);
        let sizes: Vec<(f64, f64)> = self.nodes.iter().map(node_size).collect();
        let grid = grid(&layout, &sizes);
        let width = (grid.right + PAD_X + MARGIN)
            .max(text_width(&self.title, 16.0) + 2.0 * MARGIN)
            .max(MIN_WIDTH)
            .ceil();
        let (lanes, nodes, bottom) = self.stack_lanes(&layout, &sizes, &grid, width);
        let columns = columns(&layout.ranks, &grid.x, &grid.w, |v| {
            (nodes[v].y, nodes[v].y + nodes[v].h)
        });
        Placement {
            width,
            height: bottom + MARGIN,
            lanes,
            lane_of: self.nodes.iter().map(|nd| layer_index(nd.lane)).collect(),
            nodes,
            rank: layout.rank,
            columns,
        }
    }

    /// The lanes top to bottom, each as tall as its tallest stack of nodes, and every node's
    /// box: in its column, centred in its lane. Also returns the lanes' bottom.
    fn stack_lanes(
        &self,
        layout: &Layered,
        sizes: &[(f64, f64)],
        grid: &Grid,
        width: f64,
    ) -> (Vec<LaneBox>, Vec<Rect>, f64) {
        let layers = lane_order(&self.nodes);
        // Nodes of each lane and column, in the layout's order within the column.
        let mut cells: Vec<Vec<Vec<usize>>> =
            vec![vec![Vec::new(); layout.ranks.len()]; layers.len()];
        for (r, rank) in layout.ranks.iter().enumerate() {
            for &v in rank {
                cells[layer_index(self.nodes[v].lane)][r].push(v);
            }
        }
        let mut lanes = Vec::with_capacity(layers.len());
        let mut nodes = vec![Rect::default(); self.nodes.len()];
        let mut y = MARGIN + TITLE_H;
        for (li, &layer) in layers.iter().enumerate() {
            let tallest = cells[li]
                .iter()
                .map(|vs| stack_h(vs, sizes))
                .fold(0.0, f64::max);
            let h = (tallest + 2.0 * PAD_Y).max(MIN_LANE_H).ceil();
            for (r, vs) in cells[li].iter().enumerate() {
                // Centred in the lane, so single nodes of a lane line up.
                let mut ny = (y + (h - stack_h(vs, sizes)) / 2.0).round();
                for &v in vs {
                    let (w, nh) = sizes[v];
                    nodes[v] = Rect {
                        x: (grid.x[r] + (grid.w[r] - w) / 2.0).round(),
                        y: ny,
                        w,
                        h: nh,
                    };
                    ny += nh + GAP_Y;
                }
            }
            lanes.push(LaneBox {
                layer,
                rect: Rect {
                    x: MARGIN,
                    y,
                    w: width - 2.0 * MARGIN,
                    h,
                },
            });
            y += h;
        }
        (lanes, nodes, y)
    }
}

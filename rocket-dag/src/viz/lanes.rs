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

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, Event};

use super::html::{escape_html, escape_text};
use super::layer_title;
use super::layout::{Layered, layered};
use super::palette::{
    ASSET_STROKE, BACKGROUND, EDGE, LANE_STROKE, NODE_FILL, NODE_STROKE, TEXT, lane_fill,
    lane_header_fill,
};
use super::svg::{Column, Svg, num, route, text_width};
use crate::Dag;
use crate::asset::AssetKind;
use crate::dag::{EdgeKind, TaskNode};
use crate::task::{Layer, TriggerRule};

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
    let o = t.options();
    if o.trigger_rule != TriggerRule::AllSuccess {
        lines.push(format!("trigger_rule: {}", o.trigger_rule));
    }
    if o.retries > 0 {
        lines.push(format!("retries: {}", o.retries));
    }
    lines.join("\n")
}

/// A task's label: its id, with ` [ ]` when it is mapped.
pub(crate) fn task_label(t: &TaskNode) -> String {
    if t.is_mapped() {
        format!("{} [ ]", t.id())
    } else {
        t.id().to_owned()
    }
}

// Sizes, in px.
const MARGIN: f64 = 20.0;
/// Room for the diagram's title above the lanes.
const TITLE_H: f64 = 44.0;
/// Width of a lane's title strip (draw.io's `startSize`).
const HEADER: f64 = 30.0;
/// Space between a lane's title strip (or right end) and the nodes.
const PAD_X: f64 = 30.0;
/// Space above and below the tallest stack of a lane.
const PAD_Y: f64 = 24.0;
/// Between columns (room for the edges' curves).
const GAP_X: f64 = 70.0;
/// Between nodes stacked in a column.
const GAP_Y: f64 = 20.0;
const MIN_LANE_H: f64 = 90.0;
const MIN_NODE_W: f64 = 120.0;
const MIN_WIDTH: f64 = 480.0;
const FONT_SIZE: f64 = 12.0;
const LINE_H: f64 = 15.0;
/// How far a mapped task's back copy is offset.
const STACK: f64 = 6.0;

/// An axis-aligned box.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Rect {
    fn right(&self) -> f64 {
        self.x + self.w
    }
    fn cx(&self) -> f64 {
        self.x + self.w / 2.0
    }
    fn cy(&self) -> f64 {
        self.y + self.h / 2.0
    }
}

/// One lane's band.
#[derive(Debug, Clone, Copy)]
struct LaneBox {
    layer: Option<Layer>,
    rect: Rect,
}

/// Where everything goes, shared by the SVG and the draw.io output.
#[derive(Debug, Clone)]
struct Placement {
    width: f64,
    height: f64,
    lanes: Vec<LaneBox>,
    /// Per node: index into `lanes`.
    lane_of: Vec<usize>,
    /// Per node: its box, in absolute coordinates.
    nodes: Vec<Rect>,
    /// Per node: its column.
    rank: Vec<usize>,
    /// Each column's x range and boxes (for routing edges around them).
    columns: Vec<Column>,
}

impl Placement {
    /// Whether an edge runs against the flow (a cycle's closing edge): it is drawn around.
    fn is_back(&self, e: &LaneEdge) -> bool {
        self.rank[e.to] <= self.rank[e.from]
    }
}

/// Moves each node that has successors but no predecessor (an API read, a task started by
/// nothing) from the first column to the one just before its nearest successor, so a source
/// used late in the flow sits next to its reader instead of sending a long edge across the
/// picture. Within a column, a moved node goes where its successors are.
fn pull_sources_right(layout: &mut Layered, edges: &[(usize, usize)]) {
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

/// The lanes drawn, in order, and each one's position in that order.
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

fn lane_index(lane: Option<Layer>) -> usize {
    match lane {
        Some(Layer::Source) => 0,
        Some(Layer::Storage) => 1,
        Some(Layer::Business) => 2,
        None => 3,
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

/// Width and height of a node: wide enough for its label and its shape's decorations.
fn node_size(node: &LaneNode) -> (f64, f64) {
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

/// Escapes text for a draw.io `html=1` label (what draw.io itself writes), lines joined with
/// `<br>`.
fn html_label(label: &str) -> String {
    label_lines(label)
        .iter()
        .map(|l| escape_html(l))
        .collect::<Vec<_>>()
        .join("<br>")
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

    /// Lays the diagram out (see the module documentation).
    fn place(&self) -> Placement {
        let n = self.nodes.len();
        let pairs: Vec<(usize, usize)> = self.drawn_edges().map(|e| (e.from, e.to)).collect();
        let mut layout = layered(n, &pairs);
        pull_sources_right(&mut layout, &pairs);
        let sizes: Vec<(f64, f64)> = self.nodes.iter().map(node_size).collect();

        let cols = layout.ranks.len();
        let mut col_w = vec![0.0f64; cols];
        for (&r, &(w, _)) in layout.rank.iter().zip(&sizes) {
            col_w[r] = col_w[r].max(w);
        }
        let mut col_x = Vec::with_capacity(cols);
        let mut x = MARGIN + HEADER + PAD_X;
        for &w in &col_w {
            col_x.push(x);
            if w > 0.0 {
                x += w + GAP_X;
            }
        }
        let content_right = if cols == 0 { x } else { x - GAP_X };
        let width = (content_right + PAD_X + MARGIN)
            .max(text_width(&self.title, 16.0) + 2.0 * MARGIN)
            .max(MIN_WIDTH)
            .ceil();

        let layers = lane_order(&self.nodes);
        // Nodes of each lane and column, in the layout's order within the column.
        let mut cells: Vec<Vec<Vec<usize>>> = vec![vec![Vec::new(); cols]; layers.len()];
        for (r, rank) in layout.ranks.iter().enumerate() {
            for &v in rank {
                cells[lane_index(self.nodes[v].lane)][r].push(v);
            }
        }
        let stack_h = |vs: &[usize]| {
            vs.iter().map(|&v| sizes[v].1).sum::<f64>() + GAP_Y * vs.len().saturating_sub(1) as f64
        };

        let mut lanes = Vec::with_capacity(layers.len());
        let mut nodes = vec![Rect::default(); n];
        let mut y = MARGIN + TITLE_H;
        for (li, &layer) in layers.iter().enumerate() {
            let tallest = cells[li].iter().map(|vs| stack_h(vs)).fold(0.0, f64::max);
            let h = (tallest + 2.0 * PAD_Y).max(MIN_LANE_H).ceil();
            for (r, vs) in cells[li].iter().enumerate() {
                // Centred in the lane, so single nodes of a lane line up.
                let mut ny = (y + (h - stack_h(vs)) / 2.0).round();
                for &v in vs {
                    let (w, nh) = sizes[v];
                    nodes[v] = Rect {
                        x: (col_x[r] + (col_w[r] - w) / 2.0).round(),
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
        let lane_of = self.nodes.iter().map(|nd| lane_index(nd.lane)).collect();
        let columns = layout
            .ranks
            .iter()
            .enumerate()
            .map(|(r, rank)| Column {
                left: col_x[r],
                right: col_x[r] + col_w[r],
                boxes: rank
                    .iter()
                    .map(|&v| (nodes[v].y, nodes[v].y + nodes[v].h))
                    .collect(),
            })
            .collect();
        Placement {
            width,
            height: y + MARGIN,
            lanes,
            lane_of,
            nodes,
            rank: layout.rank,
            columns,
        }
    }

    /// A standalone SVG document: the title at the top, one band per lane (`<g class="lane">`
    /// titled on its left), one `<g class="node task">` or `<g class="node asset">` per node
    /// (with `id`, `data-id` and a `<title>` tooltip; a mapped task drawn as a stack, assets by
    /// kind: a cloud for an API, a dog-eared page for a file, a folder, a cylinder for a
    /// database, a page with lines for a report, a hexagon for a notification channel) and one
    /// `<g class="edge">` per edge (`edge dashed` for ordering), arrows from the right side of
    /// a node to the left side of the next, edges against the flow curved over the nodes.
    pub fn to_svg(&self) -> String {
        let p = self.place();
        let ids = self.cell_ids();
        let mut s = Svg::new(p.width, p.height);
        s.open("defs", &[]).open(
            "marker",
            &[
                ("id", "arrow"),
                ("viewBox", "0 0 10 10"),
                ("refX", "9"),
                ("refY", "5"),
                ("markerWidth", "7"),
                ("markerHeight", "7"),
                ("orient", "auto-start-reverse"),
            ],
        );
        s.empty("path", &[("d", "M0,0 L10,5 L0,10 z"), ("fill", EDGE)]);
        s.close().close();
        s.empty(
            "rect",
            &[
                ("width", &num(p.width)),
                ("height", &num(p.height)),
                ("fill", BACKGROUND),
            ],
        );
        s.text(
            "text",
            &[
                ("class", "title"),
                ("x", &num(MARGIN)),
                ("y", &num(MARGIN + 18.0)),
                ("font-size", "16"),
                ("font-weight", "bold"),
                ("fill", TEXT),
            ],
            &self.title,
        );

        for lane in &p.lanes {
            draw_lane(&mut s, lane);
        }
        for e in self.drawn_edges() {
            let (a, b) = (p.nodes[e.from], p.nodes[e.to]);
            let d = if p.is_back(e) {
                back_edge_path(a, b)
            } else {
                // Across the columns in between, above or below their nodes.
                let between = p
                    .columns
                    .get(p.rank[e.from] + 1..p.rank[e.to])
                    .unwrap_or(&[]);
                route(a.right(), a.cy(), b.x, b.cy(), between, GAP_Y / 2.0)
            };
            let class = if e.dashed { "edge dashed" } else { "edge" };
            s.open(
                "g",
                &[
                    ("class", class),
                    ("data-from", &ids[e.from]),
                    ("data-to", &ids[e.to]),
                ],
            );
            s.title(&format!(
                "{} → {}",
                self.nodes[e.from].label.replace('\n', " "),
                self.nodes[e.to].label.replace('\n', " ")
            ));
            let mut attrs = vec![
                ("d", d.as_str()),
                ("fill", "none"),
                ("stroke", EDGE),
                ("stroke-width", "1.5"),
                ("marker-end", "url(#arrow)"),
            ];
            if e.dashed {
                attrs.push(("stroke-dasharray", "6 4"));
            }
            s.empty("path", &attrs);
            s.close();
        }
        for (i, node) in self.nodes.iter().enumerate() {
            let lane = lane_key(p.lanes[p.lane_of[i].min(p.lanes.len() - 1)].layer);
            let class = match node.kind {
                NodeKind::Task { .. } => "node task",
                NodeKind::Asset(_) => "node asset",
            };
            s.open(
                "g",
                &[
                    ("class", class),
                    ("id", &ids[i]),
                    ("data-id", &node.id),
                    ("data-lane", lane),
                ],
            );
            s.title(if node.tooltip.is_empty() {
                &node.label
            } else {
                &node.tooltip
            });
            draw_node(&mut s, node, p.nodes[i]);
            s.close();
        }
        s.finish()
    }

    /// A draw.io file (uncompressed `<mxfile>`), which diagrams.net opens and edits.
    ///
    /// Cells: `0` and `1` (draw.io's root and default layer), `title` (a text cell), one
    /// swimlane per lane (`lane-source`, `lane-storage`, `lane-business`, `lane-other`), one
    /// vertex per node inside its lane (`task-<id>` or `asset-<id>`, coordinates relative to
    /// the lane, wrapped in a `<UserObject>` carrying its `tooltip` when it has one; labels are
    /// HTML as draw.io writes them with `html=1`: escaped, lines joined with `<br>`), one edge
    /// per edge (`edge-<n>`, `source` and `target` the nodes' cells, `dashed=1` for ordering).
    pub fn to_drawio(&self) -> String {
        let p = self.place();
        let ids = self.cell_ids();
        let mut x = Xml::new();
        x.decl();
        x.open("mxfile", &[("host", "rocket-dag"), ("type", "device")]);
        let diagram_id = format!("rocket-dag-{}", id_part(&self.title));
        x.open("diagram", &[("id", &diagram_id), ("name", &self.title)]);
        let (w, h) = (num(p.width), num(p.height));
        x.open(
            "mxGraphModel",
            &[
                ("dx", &w),
                ("dy", &h),
                ("grid", "1"),
                ("gridSize", "10"),
                ("guides", "1"),
                ("tooltips", "1"),
                ("connect", "1"),
                ("arrows", "1"),
                ("fold", "1"),
                ("page", "1"),
                ("pageScale", "1"),
                ("pageWidth", &w),
                ("pageHeight", &h),
                ("math", "0"),
                ("shadow", "0"),
            ],
        );
        x.open("root", &[]);
        x.empty("mxCell", &[("id", "0")]);
        x.empty("mxCell", &[("id", "1"), ("parent", "0")]);

        x.open(
            "mxCell",
            &[
                ("id", "title"),
                ("value", &html_label(&self.title)),
                (
                    "style",
                    "text;html=1;fontSize=16;fontStyle=1;align=left;verticalAlign=middle;strokeColor=none;fillColor=none;",
                ),
                ("vertex", "1"),
                ("parent", "1"),
            ],
        );
        x.geometry(Rect {
            x: MARGIN,
            y: MARGIN,
            w: p.width - 2.0 * MARGIN,
            h: 30.0,
        });
        x.close("mxCell");

        for lane in &p.lanes {
            let style = format!(
                "swimlane;horizontal=0;startSize={};fillColor={};swimlaneFillColor={};strokeColor={LANE_STROKE};fontStyle=1;html=1;collapsible=0;",
                num(HEADER),
                lane_header_fill(lane.layer),
                lane_fill(lane.layer),
            );
            x.open(
                "mxCell",
                &[
                    ("id", &format!("lane-{}", lane_key(lane.layer))),
                    ("value", layer_title(lane.layer)),
                    ("style", &style),
                    ("vertex", "1"),
                    ("parent", "1"),
                ],
            );
            x.geometry(lane.rect);
            x.close("mxCell");
        }

        for (i, node) in self.nodes.iter().enumerate() {
            let lane = p.lanes[p.lane_of[i].min(p.lanes.len() - 1)];
            let r = p.nodes[i];
            let relative = Rect {
                x: r.x - lane.rect.x,
                y: r.y - lane.rect.y,
                ..r
            };
            let label = html_label(&node.label);
            let style = drawio_style(node.kind);
            let parent = format!("lane-{}", lane_key(lane.layer));
            let cell = [
                ("style", style.as_str()),
                ("vertex", "1"),
                ("parent", parent.as_str()),
            ];
            if node.tooltip.is_empty() {
                let mut attrs = vec![("id", ids[i].as_str()), ("value", label.as_str())];
                attrs.extend(cell);
                x.open("mxCell", &attrs);
                x.geometry(relative);
                x.close("mxCell");
            } else {
                // draw.io shows tooltips as HTML, like the labels.
                let tooltip = node
                    .tooltip
                    .lines()
                    .map(escape_text)
                    .collect::<Vec<_>>()
                    .join("<br>");
                x.open(
                    "UserObject",
                    &[("label", &label), ("tooltip", &tooltip), ("id", &ids[i])],
                );
                x.open("mxCell", &cell);
                x.geometry(relative);
                x.close("mxCell");
                x.close("UserObject");
            }
        }

        for (k, e) in self.drawn_edges().enumerate() {
            let mut style = String::from(
                "edgeStyle=orthogonalEdgeStyle;rounded=1;orthogonalLoop=1;jettySize=auto;html=1;endArrow=block;endFill=1;",
            );
            style.push_str(&format!("strokeColor={EDGE};"));
            if !p.is_back(e) {
                style.push_str(
                    "exitX=1;exitY=0.5;exitDx=0;exitDy=0;entryX=0;entryY=0.5;entryDx=0;entryDy=0;",
                );
            }
            if e.dashed {
                style.push_str("dashed=1;");
            }
            x.open(
                "mxCell",
                &[
                    ("id", &format!("edge-{k}")),
                    ("value", ""),
                    ("style", &style),
                    ("edge", "1"),
                    ("parent", "1"),
                    ("source", &ids[e.from]),
                    ("target", &ids[e.to]),
                ],
            );
            x.empty("mxGeometry", &[("relative", "1"), ("as", "geometry")]);
            x.close("mxCell");
        }

        x.close("root");
        x.close("mxGraphModel");
        x.close("diagram");
        x.close("mxfile");
        x.finish()
    }
}

/// draw.io's style for a node of `kind`.
fn drawio_style(kind: NodeKind) -> String {
    let shape = match kind {
        NodeKind::Task { mapped: false } => "rounded=1;",
        // A stack: draw.io has no stacked rectangle, its shadow reads as one.
        NodeKind::Task { mapped: true } => "rounded=1;shadow=1;",
        NodeKind::Asset(AssetKind::ExternalApi) => "ellipse;shape=cloud;",
        NodeKind::Asset(AssetKind::File) => "shape=note;size=14;",
        NodeKind::Asset(AssetKind::Folder) => {
            "shape=folder;tabWidth=40;tabHeight=10;tabPosition=left;"
        }
        NodeKind::Asset(AssetKind::Database) => {
            "shape=cylinder3;boundedLbl=1;backgroundOutline=1;size=8;"
        }
        NodeKind::Asset(AssetKind::Report) => "shape=document;boundedLbl=1;size=0.2;",
        NodeKind::Asset(AssetKind::NotificationChannel) => {
            "shape=hexagon;perimeter=hexagonPerimeter2;fixedSize=1;size=12;"
        }
    };
    let stroke = match kind {
        NodeKind::Task { .. } => NODE_STROKE,
        NodeKind::Asset(_) => ASSET_STROKE,
    };
    format!(
        "{shape}whiteSpace=wrap;html=1;fillColor={NODE_FILL};strokeColor={stroke};fontColor={TEXT};"
    )
}

/// A lane's band, title strip and rotated title.
fn draw_lane(s: &mut Svg, lane: &LaneBox) {
    let r = lane.rect;
    let title = layer_title(lane.layer);
    s.open(
        "g",
        &[
            ("class", "lane"),
            ("id", &format!("lane-{}", lane_key(lane.layer))),
            ("data-lane", lane_key(lane.layer)),
        ],
    );
    s.title(title);
    s.empty(
        "rect",
        &[
            ("x", &num(r.x)),
            ("y", &num(r.y)),
            ("width", &num(r.w)),
            ("height", &num(r.h)),
            ("fill", &lane_fill(lane.layer)),
            ("stroke", LANE_STROKE),
        ],
    );
    s.empty(
        "rect",
        &[
            ("x", &num(r.x)),
            ("y", &num(r.y)),
            ("width", &num(HEADER)),
            ("height", &num(r.h)),
            ("fill", lane_header_fill(lane.layer)),
            ("stroke", LANE_STROKE),
        ],
    );
    let (tx, ty) = (num(r.x + HEADER / 2.0), num(r.y + r.h / 2.0));
    s.text(
        "text",
        &[
            ("class", "lane-title"),
            ("x", &tx),
            ("y", &ty),
            ("transform", &format!("rotate(-90 {tx} {ty})")),
            ("text-anchor", "middle"),
            ("dominant-baseline", "central"),
            ("font-size", "13"),
            ("font-weight", "bold"),
            ("fill", TEXT),
        ],
        title,
    );
    s.close();
}

/// An edge against the flow (`b` is left of `a` or in its column): out of `a`'s right side, up
/// over both nodes, along the top, and down into `b`'s left side.
fn back_edge_path(a: Rect, b: Rect) -> String {
    let (x1, y1) = (a.right(), a.cy());
    let (x2, y2) = (b.x, b.cy());
    let top = a.y.min(b.y) - 18.0;
    let k = 36.0;
    format!(
        "M{},{} C{},{} {},{} {},{} L{},{} C{},{} {},{} {},{}",
        num(x1),
        num(y1),
        num(x1 + k),
        num(y1),
        num(x1 + k),
        num(top),
        num(x1),
        num(top),
        num(x2),
        num(top),
        num(x2 - k),
        num(top),
        num(x2 - k),
        num(y2),
        num(x2),
        num(y2)
    )
}

/// A path through points given as fractions of `r` (`M` then cubic segments of three points,
/// closed).
fn unit_path(r: Rect, start: (f64, f64), curves: &[[(f64, f64); 3]]) -> String {
    let pt = |(u, v): (f64, f64)| format!("{},{}", num(r.x + u * r.w), num(r.y + v * r.h));
    let mut d = format!("M{}", pt(start));
    for [c1, c2, end] in curves {
        d.push_str(&format!(" C{} {} {}", pt(*c1), pt(*c2), pt(*end)));
    }
    d.push_str(" Z");
    d
}

/// A node's shape and its label.
fn draw_node(s: &mut Svg, node: &LaneNode, r: Rect) {
    let (x, y, w, h) = (r.x, r.y, r.w, r.h);
    let rect = |s: &mut Svg, dx: f64, dy: f64, stroke: &str| {
        s.empty(
            "rect",
            &[
                ("x", &num(x + dx)),
                ("y", &num(y + dy)),
                ("width", &num(w)),
                ("height", &num(h)),
                ("rx", "8"),
                ("fill", NODE_FILL),
                ("stroke", stroke),
                ("stroke-width", "1.5"),
            ],
        );
    };
    let shape = |s: &mut Svg, d: &str| {
        s.empty(
            "path",
            &[
                ("d", d),
                ("fill", NODE_FILL),
                ("stroke", ASSET_STROKE),
                ("stroke-width", "1.5"),
            ],
        );
    };
    let line = |s: &mut Svg, d: &str| {
        s.empty(
            "path",
            &[
                ("d", d),
                ("fill", "none"),
                ("stroke", ASSET_STROKE),
                ("stroke-width", "1.2"),
            ],
        );
    };
    // Centre of the label, moved off the shapes' decorations.
    let (mut tx, mut ty) = (r.cx(), r.cy());
    match node.kind {
        NodeKind::Task { mapped } => {
            if mapped {
                rect(s, STACK, -STACK, NODE_STROKE);
            }
            rect(s, 0.0, 0.0, NODE_STROKE);
        }
        NodeKind::Asset(AssetKind::ExternalApi) => {
            shape(
                s,
                &unit_path(
                    r,
                    (0.2, 0.94),
                    &[
                        // Left bump, to the left edge at mid-height (where edges attach).
                        [(0.04, 0.94), (0.0, 0.72), (0.0, 0.55)],
                        [(0.0, 0.3), (0.16, 0.18), (0.3, 0.26)],
                        [(0.36, 0.02), (0.66, -0.04), (0.72, 0.2)],
                        [(0.86, 0.12), (1.0, 0.3), (1.0, 0.55)],
                        [(1.0, 0.76), (0.94, 0.94), (0.8, 0.94)],
                    ],
                ),
            );
            ty += 0.04 * h;
        }
        NodeKind::Asset(AssetKind::File) => {
            let f = 14.0;
            shape(
                s,
                &format!(
                    "M{},{} H{} L{},{} V{} H{} Z",
                    num(x),
                    num(y),
                    num(x + w - f),
                    num(x + w),
                    num(y + f),
                    num(y + h),
                    num(x)
                ),
            );
            line(
                s,
                &format!(
                    "M{},{} V{} H{}",
                    num(x + w - f),
                    num(y),
                    num(y + f),
                    num(x + w)
                ),
            );
        }
        NodeKind::Asset(AssetKind::Folder) => {
            let tab = 10.0;
            let tab_w = (w * 0.35).min(60.0);
            shape(
                s,
                &format!(
                    "M{},{} V{} Q{},{} {},{} H{} L{},{} H{} V{} Z",
                    num(x),
                    num(y + h),
                    num(y + 3.0),
                    num(x),
                    num(y),
                    num(x + 3.0),
                    num(y),
                    num(x + tab_w),
                    num(x + tab_w + tab),
                    num(y + tab),
                    num(x + w),
                    num(y + h)
                ),
            );
            line(s, &format!("M{},{} H{}", num(x), num(y + tab), num(x + w)));
            ty += tab / 2.0;
        }
        NodeKind::Asset(AssetKind::Database) => {
            let e = 7.0;
            let rx = num(w / 2.0);
            let ry = num(e);
            shape(
                s,
                &format!(
                    "M{},{} V{} A{rx},{ry} 0 0 0 {},{} V{} Z",
                    num(x),
                    num(y + e),
                    num(y + h - e),
                    num(x + w),
                    num(y + h - e),
                    num(y + e)
                ),
            );
            s.empty(
                "ellipse",
                &[
                    ("cx", &num(r.cx())),
                    ("cy", &num(y + e)),
                    ("rx", &rx),
                    ("ry", &ry),
                    ("fill", NODE_FILL),
                    ("stroke", ASSET_STROKE),
                    ("stroke-width", "1.5"),
                ],
            );
            ty += e / 2.0;
        }
        NodeKind::Asset(AssetKind::Report) => {
            let wave = 8.0;
            shape(
                s,
                &format!(
                    "M{},{} H{} V{} Q{},{} {},{} T{},{} Z",
                    num(x),
                    num(y),
                    num(x + w),
                    num(y + h - wave),
                    num(x + 0.75 * w),
                    num(y + h - 2.0 * wave),
                    num(x + 0.5 * w),
                    num(y + h - wave),
                    num(x),
                    num(y + h - wave)
                ),
            );
            // Lines of text in the margin.
            let mut d = String::new();
            for (i, len) in [14.0, 10.0, 14.0].iter().enumerate() {
                let ly = y + 12.0 + 6.0 * i as f64;
                d.push_str(&format!("M{},{} h{} ", num(x + 8.0), num(ly), num(*len)));
            }
            line(s, d.trim_end());
            tx += 10.0;
            ty -= wave / 2.0;
        }
        NodeKind::Asset(AssetKind::NotificationChannel) => {
            let k = 12.0;
            shape(
                s,
                &format!(
                    "M{},{} H{} L{},{} L{},{} H{} L{},{} Z",
                    num(x + k),
                    num(y),
                    num(x + w - k),
                    num(x + w),
                    num(r.cy()),
                    num(x + w - k),
                    num(y + h),
                    num(x + k),
                    num(x),
                    num(r.cy())
                ),
            );
        }
    }
    let lines = label_lines(&node.label);
    let first = ty - LINE_H * (lines.len() as f64 - 1.0) / 2.0 + FONT_SIZE * 0.35;
    for (i, l) in lines.iter().enumerate() {
        s.text(
            "text",
            &[
                ("x", &num(tx)),
                ("y", &num(first + LINE_H * i as f64)),
                ("text-anchor", "middle"),
                ("fill", TEXT),
            ],
            l,
        );
    }
}

/// A draw.io document being written with quick-xml (attribute values escaped by it).
struct Xml(Writer<Vec<u8>>);

impl Xml {
    fn new() -> Xml {
        Xml(Writer::new_with_indent(Vec::new(), b' ', 2))
    }

    fn write(&mut self, event: Event<'_>) {
        // Writing into a Vec cannot fail.
        let _ = self.0.write_event(event);
    }

    fn decl(&mut self) {
        self.write(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    }

    fn start<'a>(name: &'a str, attrs: &[(&'a str, &'a str)]) -> BytesStart<'a> {
        let mut e = BytesStart::new(name);
        for &a in attrs {
            e.push_attribute(a);
        }
        e
    }

    fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.write(Event::Start(Self::start(name, attrs)));
    }

    fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.write(Event::Empty(Self::start(name, attrs)));
    }

    fn close(&mut self, name: &str) {
        self.write(Event::End(BytesEnd::new(name)));
    }

    fn geometry(&mut self, r: Rect) {
        self.empty(
            "mxGeometry",
            &[
                ("x", &num(r.x)),
                ("y", &num(r.y)),
                ("width", &num(r.w)),
                ("height", &num(r.h)),
                ("as", "geometry"),
            ],
        );
    }

    fn finish(self) -> String {
        let mut s = String::from_utf8(self.0.into_inner()).unwrap_or_default();
        s.push('\n');
        s
    }
}

/// XML checks shared by the tests of the lane diagrams.
#[cfg(test)]
pub(crate) mod testing {
    use std::collections::{BTreeMap, HashSet};

    use quick_xml::Reader;
    use quick_xml::escape::resolve_predefined_entity;
    use quick_xml::events::{BytesStart, Event};

    use crate::asset::Asset;
    use crate::task::TaskSpec;

    /// A hand-written task `$name` with output `$out` (its `Default` value) and the spec
    /// `$spec` builds.
    macro_rules! task {
        ($name:ident, $out:ty, $spec:expr) => {
            struct $name;
            impl $crate::task::Task for $name {
                type Output = $out;
                const ID: &'static str = stringify!($name);
                fn spec() -> $crate::task::TaskSpec {
                    $spec
                }
                fn call<'a>(
                    _: &'a $crate::TaskContext,
                    _: &'a [$crate::task::XCom],
                ) -> futures::future::BoxFuture<'a, Result<$out, $crate::TaskError>> {
                    Box::pin(async { Ok(Default::default()) })
                }
            }
        };
    }
    pub(crate) use task;

    /// A spec with a doc, input names and assets.
    pub(crate) fn spec(
        id: &'static str,
        doc: &'static str,
        inputs: &'static [&'static str],
        reads: &'static [Asset],
        writes: &'static [Asset],
    ) -> TaskSpec {
        let mut s = TaskSpec::new(id);
        s.doc = doc;
        s.inputs = inputs;
        s.reads = reads;
        s.writes = writes;
        s
    }

    /// An element of a parsed document.
    #[derive(Debug, Clone, Default)]
    pub(crate) struct Elem {
        pub(crate) name: String,
        pub(crate) attrs: BTreeMap<String, String>,
        /// Its own text (not its children's).
        pub(crate) text: String,
        pub(crate) parent: Option<usize>,
    }

    impl Elem {
        pub(crate) fn attr(&self, k: &str) -> Option<&str> {
            self.attrs.get(k).map(String::as_str)
        }
        pub(crate) fn has_class(&self, class: &str) -> bool {
            self.attr("class")
                .is_some_and(|c| c.split_whitespace().any(|c| c == class))
        }
    }

    fn elem(e: &BytesStart<'_>, parent: Option<usize>) -> Elem {
        let mut attrs = BTreeMap::new();
        for a in e.attributes() {
            let a = a.expect("well-formed attribute");
            let v = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .expect("attribute value unescapes");
            let k = a.key.0.to_owned();
            assert!(
                attrs.insert(k.clone(), v.into_owned()).is_none(),
                "repeated {k}"
            );
        }
        Elem {
            name: e.name().0.to_owned(),
            attrs,
            text: String::new(),
            parent,
        }
    }

    /// Every element of `xml`, in document order; panics unless it is well-formed with one
    /// root element.
    pub(crate) fn parse(xml: &str) -> Vec<Elem> {
        let mut r = Reader::from_str(xml);
        let mut out: Vec<Elem> = Vec::new();
        let mut stack: Vec<usize> = Vec::new();
        let mut roots = 0;
        loop {
            let event = r
                .read_event()
                .unwrap_or_else(|e| panic!("not well-formed at {}: {e}", r.buffer_position()));
            match event {
                Event::Start(e) => {
                    roots += usize::from(stack.is_empty());
                    out.push(elem(&e, stack.last().copied()));
                    stack.push(out.len() - 1);
                }
                Event::Empty(e) => {
                    roots += usize::from(stack.is_empty());
                    out.push(elem(&e, stack.last().copied()));
                }
                Event::End(_) => {
                    stack.pop().expect("an end tag closes an open element");
                }
                Event::Text(t) => {
                    let t = t.xml10_content();
                    match stack.last() {
                        Some(&i) => out[i].text.push_str(&t),
                        None => assert!(t.trim().is_empty(), "text outside the root: {t}"),
                    }
                }
                Event::GeneralRef(g) => {
                    let s = match g.resolve_char_ref().expect("valid character reference") {
                        Some(c) => c.to_string(),
                        None => resolve_predefined_entity(&g.xml10_content())
                            .expect("a predefined entity")
                            .to_owned(),
                    };
                    let i = *stack.last().expect("a reference inside an element");
                    out[i].text.push_str(&s);
                }
                Event::Eof => break,
                _ => {}
            }
        }
        assert!(stack.is_empty(), "unclosed elements");
        assert_eq!(roots, 1, "one root element");
        out
    }

    /// A draw.io cell, with the id, label and tooltip of its `<UserObject>` if it has one.
    #[derive(Debug, Clone, Default)]
    pub(crate) struct Cell {
        pub(crate) id: String,
        pub(crate) value: String,
        pub(crate) tooltip: Option<String>,
        pub(crate) style: String,
        pub(crate) parent: Option<String>,
        pub(crate) vertex: bool,
        pub(crate) edge: bool,
        pub(crate) source: Option<String>,
        pub(crate) target: Option<String>,
        /// `x, y, width, height` of its `<mxGeometry>` (a vertex's).
        pub(crate) geometry: Option<[f64; 4]>,
    }

    impl Cell {
        /// The label's text: draw.io's HTML label (`html=1`) unescaped, `<br>` as `\n`.
        pub(crate) fn text(&self) -> String {
            self.value
                .replace("<br>", "\n")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&amp;", "&")
        }
        pub(crate) fn has_style(&self, s: &str) -> bool {
            self.style.split(';').any(|p| p == s)
        }
    }

    /// The cells of a draw.io file, after checking its structure: `<mxfile>` › `<diagram>` ›
    /// `<mxGraphModel>` › `<root>`, cells `0` and `1`, unique ids, every parent, source and
    /// target an existing cell, every vertex with a geometry, every edge with a relative one.
    pub(crate) fn drawio_cells(xml: &str) -> Vec<Cell> {
        let elems = parse(xml);
        assert_eq!(elems[0].name, "mxfile");
        assert_eq!(elems[0].attr("host"), Some("rocket-dag"));
        let path: Vec<&str> = elems[1..4].iter().map(|e| e.name.as_str()).collect();
        assert_eq!(path, ["diagram", "mxGraphModel", "root"]);
        let mut cells: Vec<Cell> = Vec::new();
        let mut cell_of_elem = BTreeMap::new();
        for (i, e) in elems.iter().enumerate() {
            match e.name.as_str() {
                "mxCell" => {
                    let wrapper = e
                        .parent
                        .map(|p| &elems[p])
                        .filter(|p| p.name == "UserObject");
                    let (id, value, tooltip) = match wrapper {
                        Some(u) => {
                            assert!(e.attr("id").is_none(), "id on the UserObject only");
                            (
                                u.attr("id").expect("UserObject id"),
                                u.attr("label").unwrap_or(""),
                                u.attr("tooltip").map(str::to_owned),
                            )
                        }
                        None => (
                            e.attr("id").expect("mxCell id"),
                            e.attr("value").unwrap_or(""),
                            None,
                        ),
                    };
                    cell_of_elem.insert(i, cells.len());
                    cells.push(Cell {
                        id: id.to_owned(),
                        value: value.to_owned(),
                        tooltip,
                        style: e.attr("style").unwrap_or("").to_owned(),
                        parent: e.attr("parent").map(str::to_owned),
                        vertex: e.attr("vertex") == Some("1"),
                        edge: e.attr("edge") == Some("1"),
                        source: e.attr("source").map(str::to_owned),
                        target: e.attr("target").map(str::to_owned),
                        geometry: None,
                    });
                }
                "mxGeometry" => {
                    assert_eq!(e.attr("as"), Some("geometry"));
                    let owner = e.parent.and_then(|p| cell_of_elem.get(&p)).copied();
                    let c = &mut cells[owner.expect("a geometry inside a cell")];
                    if c.edge {
                        assert_eq!(e.attr("relative"), Some("1"));
                    } else {
                        let n = |k: &str| -> f64 {
                            e.attr(k).unwrap_or_else(|| panic!("{k}")).parse().unwrap()
                        };
                        c.geometry = Some([n("x"), n("y"), n("width"), n("height")]);
                    }
                }
                _ => {}
            }
        }
        assert_eq!(cells[0].id, "0");
        assert_eq!(
            (cells[1].id.as_str(), cells[1].parent.as_deref()),
            ("1", Some("0"))
        );
        let ids: HashSet<&str> = cells.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids.len(), cells.len(), "ids are unique");
        for c in &cells[1..] {
            assert!(ids.contains(c.parent.as_deref().unwrap()), "{c:?}");
            if c.vertex {
                assert!(c.geometry.is_some(), "{c:?}");
            }
            if c.edge {
                assert!(ids.contains(c.source.as_deref().unwrap()), "{c:?}");
                assert!(ids.contains(c.target.as_deref().unwrap()), "{c:?}");
            }
        }
        cells
    }

    /// The cell with id `id`.
    pub(crate) fn cell<'a>(cells: &'a [Cell], id: &str) -> &'a Cell {
        cells
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no cell {id}"))
    }

    /// The swimlanes' values, top to bottom as the file lists them.
    pub(crate) fn lanes(cells: &[Cell]) -> Vec<(String, String)> {
        cells
            .iter()
            .filter(|c| c.style.starts_with("swimlane;"))
            .map(|c| (c.id.clone(), c.value.clone()))
            .collect()
    }

    /// The SVG's elements with `class` among their classes.
    pub(crate) fn with_class<'a>(elems: &'a [Elem], class: &str) -> Vec<&'a Elem> {
        elems.iter().filter(|e| e.has_class(class)).collect()
    }

    /// Text of the children of element `i` named `name`.
    pub(crate) fn child_texts(elems: &[Elem], i: usize, name: &str) -> Vec<String> {
        elems
            .iter()
            .filter(|e| e.parent == Some(i) && e.name == name)
            .map(|e| e.text.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{
        Cell, cell, child_texts, drawio_cells, lanes, parse, spec, task, with_class,
    };
    use super::*;
    use crate::DagBuilder;
    use crate::asset::Asset;
    use crate::dag::Call;
    use crate::task::TaskOptions;

    const API: Asset = Asset::new("ll2_api", AssetKind::ExternalApi);
    const LAUNCHES: Asset = Asset::new("launches_json", AssetKind::File);
    const IMAGES: Asset = Asset::new("images", AssetKind::Folder);
    const CHANNEL: Asset = Asset::new("chat", AssetKind::NotificationChannel);

    task!(Download, Vec<u32>, {
        let mut s = spec(
            "download",
            "Fetch the launches.\n\nMore text.",
            &[],
            &[API],
            &[LAUNCHES],
        );
        s.options = TaskOptions::new().retries(3);
        s
    });
    task!(
        Fetch,
        u32,
        spec("fetch", "", &["launch"], &[LAUNCHES], &[IMAGES])
    );
    task!(Notify, (), {
        let mut s = spec("notify", "Tell people.", &["pictures"], &[], &[CHANNEL]);
        s.options = TaskOptions::new().trigger_rule(TriggerRule::AllDone);
        s
    });
    task!(Cleanup, (), spec("cleanup", "", &[], &[], &[]));
    task!(Stored, (), {
        let mut s = spec("stored", "", &[], &[API], &[]);
        s.options = TaskOptions::new().layer(Layer::Storage);
        s
    });

    /// download → fetch (mapped over download's list) → notify, and notify >> cleanup (order
    /// only); `cleanup` declares nothing, so it has no layer.
    fn rocket() -> Dag {
        let mut b = DagBuilder::new("rocket");
        let download = b.add::<Download>();
        let fetch = b.add_mapped_call(Call::new::<Fetch>(&[download.each::<u32>().input()]), None);
        let notify = b.add_call(Call::new::<Notify>(&[fetch.input()]), None);
        let cleanup = b.add::<Cleanup>();
        b.edge(notify, cleanup);
        b.build().unwrap()
    }

    #[test]
    fn task_layer_is_declared_else_inferred_from_assets() {
        let mut b = DagBuilder::new("layers");
        let d = b.add::<Download>();
        b.add::<Stored>();
        b.add::<Cleanup>();
        let f = b.add_call(Call::new::<Fetch>(&[d.input()]), None);
        b.add_call(Call::new::<Notify>(&[f.input()]), None);
        let dag = b.build().unwrap();
        let layer = |id: &str| task_layer(dag.task(id).unwrap());
        // Reads the API, writes a file: Source wins over Storage.
        assert_eq!(layer("download"), Some(Layer::Source));
        // Declared, although it reads the API.
        assert_eq!(layer("stored"), Some(Layer::Storage));
        assert_eq!(layer("cleanup"), None);
        // Reads a file, writes a folder.
        assert_eq!(layer("fetch"), Some(Layer::Storage));
        // Writes a notification channel.
        assert_eq!(layer("notify"), Some(Layer::Business));

        // A DAG-wide default layer counts as declared.
        let mut b = DagBuilder::new("defaults").options(
            crate::DagOptions::default()
                .default_task_options(TaskOptions::new().layer(Layer::Business)),
        );
        b.add::<Cleanup>();
        let dag = b.build().unwrap();
        assert_eq!(task_layer(&dag.tasks()[0]), Some(Layer::Business));
    }

    #[test]
    fn from_dag_has_a_node_per_task_and_an_edge_per_edge() {
        let d = LaneDiagram::from_dag(&rocket());
        assert_eq!(d.title, "rocket");
        let ids: Vec<&str> = d.nodes.iter().map(|n| n.id.as_str()).collect();
        assert_eq!(ids, ["download", "fetch", "notify", "cleanup"]);
        let labels: Vec<&str> = d.nodes.iter().map(|n| n.label.as_str()).collect();
        assert_eq!(labels, ["download", "fetch [ ]", "notify", "cleanup"]);
        assert_eq!(d.nodes[1].kind, NodeKind::Task { mapped: true });
        assert_eq!(d.nodes[0].kind, NodeKind::Task { mapped: false });
        let lanes: Vec<Option<Layer>> = d.nodes.iter().map(|n| n.lane).collect();
        assert_eq!(
            lanes,
            [
                Some(Layer::Source),
                Some(Layer::Storage),
                Some(Layer::Business),
                None
            ]
        );
        assert_eq!(d.nodes[0].tooltip, "Fetch the launches.\nretries: 3");
        assert_eq!(d.nodes[1].tooltip, "");
        assert_eq!(d.nodes[2].tooltip, "Tell people.\ntrigger_rule: all_done");
        let edges: Vec<(usize, usize, bool)> =
            d.edges.iter().map(|e| (e.from, e.to, e.dashed)).collect();
        assert_eq!(edges, [(0, 1, false), (1, 2, false), (2, 3, true)]);
    }

    #[test]
    fn drawio_has_the_swimlanes_every_task_and_every_edge() {
        let dag = rocket();
        let xml = LaneDiagram::from_dag(&dag).to_drawio();
        assert!(
            xml.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?>"#),
            "{xml}"
        );
        let cells = drawio_cells(&xml);
        assert_eq!(
            lanes(&cells),
            [
                ("lane-source".to_owned(), "Source".to_owned()),
                ("lane-storage".to_owned(), "Storage".to_owned()),
                ("lane-business".to_owned(), "Business".to_owned()),
                ("lane-other".to_owned(), "Other".to_owned()),
            ]
        );
        for lane in lanes(&cells) {
            let c = cell(&cells, &lane.0);
            assert!(c.vertex && c.parent.as_deref() == Some("1"));
            assert!(c.has_style("horizontal=0") && c.has_style("startSize=30"));
        }
        assert!(cell(&cells, "lane-source").has_style("fillColor=#dbeafe"));

        let tasks: Vec<&Cell> = cells.iter().filter(|c| c.id.starts_with("task-")).collect();
        assert_eq!(tasks.len(), dag.tasks().len());
        for t in dag.tasks() {
            let c = cell(&cells, &format!("task-{}", t.id()));
            assert!(c.vertex && c.has_style("rounded=1") && c.has_style("html=1"));
            let lane = format!("lane-{}", task_layer(t).map_or("other", Layer::as_str));
            assert_eq!(c.parent.as_deref(), Some(lane.as_str()), "{c:?}");
            // Inside its lane (coordinates are relative to it).
            let [x, y, w, h] = c.geometry.unwrap();
            let [_, _, lw, lh] = cell(&cells, &lane).geometry.unwrap();
            assert!(x >= 30.0 && y >= 0.0 && x + w <= lw && y + h <= lh, "{c:?}");
        }
        let fetch = cell(&cells, "task-fetch");
        assert_eq!(fetch.text(), "fetch [ ]");
        assert!(fetch.has_style("shadow=1"));
        assert_eq!(fetch.tooltip, None);
        assert_eq!(
            cell(&cells, "task-download").tooltip.as_deref(),
            Some("Fetch the launches.<br>retries: 3")
        );

        let edges: Vec<&Cell> = cells.iter().filter(|c| c.edge).collect();
        assert_eq!(edges.len(), dag.edges().len());
        for (c, e) in edges.iter().zip(dag.edges()) {
            let id = |i: usize| format!("task-{}", dag.tasks()[i].id());
            assert_eq!(c.source.as_deref(), Some(id(e.from).as_str()));
            assert_eq!(c.target.as_deref(), Some(id(e.to).as_str()));
            assert_eq!(c.parent.as_deref(), Some("1"));
            assert!(c.has_style("edgeStyle=orthogonalEdgeStyle"));
            assert_eq!(c.has_style("dashed=1"), e.kind == EdgeKind::Order, "{c:?}");
        }
    }

    #[test]
    fn the_other_lane_is_drawn_only_when_a_node_has_no_layer() {
        let mut b = DagBuilder::new("layered");
        let d = b.add::<Download>();
        b.add_call(Call::new::<Fetch>(&[d.input()]), None);
        let dag = b.build().unwrap();
        let cells = drawio_cells(&LaneDiagram::from_dag(&dag).to_drawio());
        let values: Vec<String> = lanes(&cells).into_iter().map(|l| l.1).collect();
        assert_eq!(values, ["Source", "Storage", "Business"]);

        // No task at all: still the three lanes.
        let empty = LaneDiagram {
            title: "empty".into(),
            ..LaneDiagram::default()
        };
        assert_eq!(lanes(&drawio_cells(&empty.to_drawio())).len(), 3);
        let svg = parse(&empty.to_svg());
        assert_eq!(with_class(&svg, "lane").len(), 3);
    }

    #[test]
    fn svg_has_lanes_nodes_and_edges() {
        let dag = rocket();
        let svg = LaneDiagram::from_dag(&dag).to_svg();
        let elems = parse(&svg);
        assert_eq!(elems[0].name, "svg");
        assert!(
            elems
                .iter()
                .any(|e| e.name == "marker" && e.attr("id") == Some("arrow"))
        );
        assert_eq!(with_class(&elems, "title")[0].text, "rocket");
        let titles: Vec<&str> = with_class(&elems, "lane-title")
            .iter()
            .map(|e| e.text.as_str())
            .collect();
        assert_eq!(titles, ["Source", "Storage", "Business", "Other"]);

        let tasks = with_class(&elems, "task");
        assert_eq!(tasks.len(), 4);
        assert!(tasks.iter().all(|e| e.has_class("node")));
        assert!(with_class(&elems, "asset").is_empty());
        for (t, e) in dag.tasks().iter().zip(&tasks) {
            assert_eq!(e.attr("data-id"), Some(t.id()));
            assert_eq!(e.attr("id"), Some(format!("task-{}", t.id()).as_str()));
            let lane = task_layer(t).map_or("other", Layer::as_str);
            assert_eq!(e.attr("data-lane"), Some(lane));
        }
        let index = |id: &str| {
            elems
                .iter()
                .position(|e| e.attr("data-id") == Some(id))
                .unwrap()
        };
        assert_eq!(child_texts(&elems, index("fetch"), "text"), ["fetch [ ]"]);
        // A mapped task is a stack of two boxes.
        let rects = |id: &str| {
            elems
                .iter()
                .filter(|e| e.parent == Some(index(id)) && e.name == "rect")
                .count()
        };
        assert_eq!((rects("fetch"), rects("download")), (2, 1));
        // Every node has a tooltip; an empty one falls back to the label.
        assert_eq!(
            child_texts(&elems, index("download"), "title"),
            ["Fetch the launches.\nretries: 3"]
        );
        assert_eq!(child_texts(&elems, index("fetch"), "title"), ["fetch [ ]"]);

        let edges = with_class(&elems, "edge");
        assert_eq!(edges.len(), dag.edges().len());
        assert_eq!(with_class(&elems, "dashed").len(), 1);
        assert_eq!(
            with_class(&elems, "dashed")[0].attr("data-to"),
            Some("task-cleanup")
        );
        for (g, e) in edges.iter().zip(dag.edges()) {
            assert_eq!(
                g.attr("data-from"),
                Some(format!("task-{}", dag.tasks()[e.from].id()).as_str())
            );
            let i = elems.iter().position(|x| std::ptr::eq(x, *g)).unwrap();
            let path = elems
                .iter()
                .find(|x| x.parent == Some(i) && x.name == "path")
                .unwrap();
            assert_eq!(path.attr("marker-end"), Some("url(#arrow)"));
            assert!(path.attr("d").unwrap().contains(" C"), "a curve");
        }
    }

    #[test]
    fn titles_labels_and_tooltips_are_escaped() {
        let d = LaneDiagram {
            title: "Q&A <draft>".into(),
            nodes: vec![
                LaneNode {
                    id: "a&b".into(),
                    label: "A & B <x>".into(),
                    lane: Some(Layer::Source),
                    kind: NodeKind::Asset(AssetKind::ExternalApi),
                    tooltip: "external_api: https://x/?a=1&b=\"2\"".into(),
                },
                LaneNode {
                    id: "t".into(),
                    label: "two\nlines".into(),
                    lane: Some(Layer::Storage),
                    kind: NodeKind::Task { mapped: false },
                    tooltip: "<tip>".into(),
                },
            ],
            edges: vec![LaneEdge {
                from: 0,
                to: 1,
                dashed: false,
            }],
        };
        let svg = d.to_svg();
        assert!(svg.contains("A &amp; B &lt;x&gt;"), "{svg}");
        let elems = parse(&svg);
        assert_eq!(with_class(&elems, "title")[0].text, "Q&A <draft>");
        let asset = elems.iter().position(|e| e.has_class("asset")).unwrap();
        assert_eq!(elems[asset].attr("data-id"), Some("a&b"));
        assert_eq!(elems[asset].attr("id"), Some("asset-a_b"));
        assert_eq!(child_texts(&elems, asset, "text"), ["A & B <x>"]);
        assert_eq!(
            child_texts(&elems, asset, "title"),
            ["external_api: https://x/?a=1&b=\"2\""]
        );
        let task = elems.iter().position(|e| e.has_class("task")).unwrap();
        assert_eq!(child_texts(&elems, task, "text"), ["two", "lines"]);

        let xml = d.to_drawio();
        let cells = drawio_cells(&xml);
        let a = cell(&cells, "asset-a_b");
        assert_eq!(a.text(), "A & B <x>");
        assert_eq!(a.value, "A &amp; B &lt;x&gt;");
        assert!(a.has_style("shape=cloud"));
        assert_eq!(
            a.tooltip.as_deref(),
            Some("external_api: https://x/?a=1&amp;b=\"2\"")
        );
        let t = cell(&cells, "task-t");
        assert_eq!(t.value, "two<br>lines");
        // draw.io reads tooltips as HTML: the text `<tip>` is escaped for it.
        assert_eq!(t.tooltip.as_deref(), Some("&lt;tip&gt;"));
        assert_eq!(cell(&cells, "title").text(), "Q&A <draft>");
        let elems = parse(&xml);
        assert_eq!(elems[1].attr("name"), Some("Q&A <draft>"));
    }

    #[test]
    fn every_asset_kind_has_its_shape() {
        let kinds = [
            (AssetKind::ExternalApi, "shape=cloud"),
            (AssetKind::File, "shape=note"),
            (AssetKind::Folder, "shape=folder"),
            (AssetKind::Database, "shape=cylinder3"),
            (AssetKind::Report, "shape=document"),
            (AssetKind::NotificationChannel, "shape=hexagon"),
        ];
        let d = LaneDiagram {
            title: "shapes".into(),
            nodes: kinds
                .iter()
                .map(|(k, _)| LaneNode {
                    id: k.as_str().into(),
                    label: k.as_str().into(),
                    lane: Some(k.default_layer()),
                    kind: NodeKind::Asset(*k),
                    tooltip: String::new(),
                })
                .collect(),
            edges: Vec::new(),
        };
        let cells = drawio_cells(&d.to_drawio());
        for (k, style) in kinds {
            let c = cell(&cells, &format!("asset-{}", k.as_str()));
            assert!(c.has_style(style), "{c:?}");
            assert_eq!(
                c.parent.as_deref(),
                Some(format!("lane-{}", k.default_layer().as_str()).as_str())
            );
        }
        let elems = parse(&d.to_svg());
        assert_eq!(with_class(&elems, "asset").len(), kinds.len());
        let db = elems
            .iter()
            .position(|e| e.attr("data-id") == Some("database"))
            .unwrap();
        assert!(
            elems
                .iter()
                .any(|e| e.parent == Some(db) && e.name == "ellipse")
        );
    }

    #[test]
    fn placement_flows_left_to_right_in_stacked_lanes_without_overlaps() {
        // A fan-out of 38 tasks between a source and a sink: 40 nodes, one tall column.
        task!(Fan, u32, spec("fan", "", &["x"], &[], &[]));
        task!(Sink, (), spec("sink", "", &[], &[], &[]));
        let mut b = DagBuilder::new("wide");
        let root = b.add::<Download>();
        let sink = b.add::<Sink>();
        for i in 0..38 {
            let f = b.add_call(
                Call::new::<Fan>(&[root.input()]),
                Some(format!("fan_{i:02}")),
            );
            b.edge(f, sink);
        }
        let dag = b.build().unwrap();
        let d = LaneDiagram::from_dag(&dag);
        let p = d.place();
        // Lanes stacked in order, touching, inside the picture.
        let order: Vec<Option<Layer>> = p.lanes.iter().map(|l| l.layer).collect();
        assert_eq!(
            order,
            [
                Some(Layer::Source),
                Some(Layer::Storage),
                Some(Layer::Business),
                None
            ]
        );
        for w in p.lanes.windows(2) {
            assert_eq!(w[0].rect.y + w[0].rect.h, w[1].rect.y);
        }
        let last = p.lanes.last().unwrap().rect;
        assert!(last.y + last.h <= p.height && last.x + last.w <= p.width);
        // Columns follow the ranks; every node inside its lane, none overlapping.
        for e in dag.edges() {
            assert!(p.nodes[e.from].right() < p.nodes[e.to].x);
        }
        for (i, a) in p.nodes.iter().enumerate() {
            let lane = p.lanes[p.lane_of[i]].rect;
            assert!(a.x >= lane.x + HEADER && a.right() <= lane.x + lane.w);
            assert!(a.y >= lane.y && a.y + a.h <= lane.y + lane.h);
            assert!(a.w >= MIN_NODE_W);
            for b in &p.nodes[i + 1..] {
                let apart =
                    a.right() <= b.x || b.right() <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
                assert!(apart, "{a:?} {b:?}");
            }
        }
        // The fan stacks in one column, in layout order, GAP_Y apart.
        let mut fans: Vec<Rect> = p.nodes[2..].to_vec();
        fans.sort_by(|a, b| a.y.total_cmp(&b.y));
        assert!(fans.iter().all(|r| r.x == fans[0].x));
        assert_eq!(fans[1].y - fans[0].y, fans[0].h + GAP_Y);
        // Labels fit.
        let wide = LaneNode {
            id: "x".into(),
            label: "a_rather_long_task_name_for_a_box".into(),
            lane: None,
            kind: NodeKind::Task { mapped: false },
            tooltip: String::new(),
        };
        assert!(node_size(&wide).0 >= text_width(&wide.label, FONT_SIZE) + 20.0);
        // Still well-formed at that size.
        assert_eq!(with_class(&parse(&d.to_svg()), "edge").len(), 76);
        assert_eq!(
            drawio_cells(&d.to_drawio())
                .iter()
                .filter(|c| c.edge)
                .count(),
            76
        );
    }

    #[test]
    fn back_edges_are_drawn_around() {
        let node = |id: &str, lane| LaneNode {
            id: id.into(),
            label: id.into(),
            lane,
            kind: NodeKind::Task { mapped: false },
            tooltip: String::new(),
        };
        let d = LaneDiagram {
            title: "cycle".into(),
            nodes: vec![
                node("a", Some(Layer::Source)),
                node("b", Some(Layer::Storage)),
            ],
            edges: vec![
                LaneEdge {
                    from: 0,
                    to: 1,
                    dashed: false,
                },
                LaneEdge {
                    from: 1,
                    to: 0,
                    dashed: false,
                },
            ],
        };
        let p = d.place();
        assert!(!p.is_back(&d.edges[0]) && p.is_back(&d.edges[1]));
        let back = back_edge_path(p.nodes[1], p.nodes[0]);
        assert!(back.contains(" L"), "{back}");
        let cells = drawio_cells(&d.to_drawio());
        let edges: Vec<&Cell> = cells.iter().filter(|c| c.edge).collect();
        assert!(edges[0].has_style("exitX=1") && !edges[1].has_style("exitX=1"));
    }

    #[test]
    fn a_source_used_late_sits_next_to_its_reader() {
        // 0 → 1 → 2 → 3, and 4 (no predecessor) → 3: 4 moves to column 2.
        let pairs = [(0, 1), (1, 2), (2, 3), (4, 3)];
        let mut l = layered(5, &pairs);
        assert_eq!(l.rank[4], 0);
        pull_sources_right(&mut l, &pairs);
        assert_eq!(l.rank, [0, 1, 2, 3, 2]);
        assert_eq!(l.ranks, [vec![0], vec![1], vec![2, 4], vec![3]]);
        assert_eq!((l.order[2], l.order[4]), (0, 1));
        // A node on a cycle, or without successors, stays.
        let pairs = [(0, 1), (1, 2), (2, 0), (3, 3)];
        let mut l = layered(4, &pairs);
        let before = l.clone();
        pull_sources_right(&mut l, &pairs);
        assert_eq!(l, before);
    }
}

//! The draw.io writer of a lane diagram: an uncompressed `<mxfile>` with a swimlane per lane,
//! a vertex per node inside its lane and an edge per edge, which diagrams.net opens and edits.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, Event};

use crate::asset::AssetKind;
use crate::viz::html::{escape_html, escape_text};
use crate::viz::layer_title;
use crate::viz::palette::{
    ASSET_STROKE, EDGE, LANE_STROKE, NODE_FILL, NODE_STROKE, TEXT, lane_fill, lane_header_fill,
};
use crate::viz::svg::num;

use super::place::{HEADER, LaneBox, MARGIN, Placement, Rect};
use super::{LaneDiagram, LaneEdge, LaneNode, NodeKind, id_part, label_lines, lane_key};

impl LaneDiagram {
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
            lane_cell(&mut x, lane);
        }
        for (i, node) in self.nodes.iter().enumerate() {
            node_cell(&mut x, node, &ids[i], p.lane_of_node(i), p.nodes[i]);
        }
        for (k, e) in self.drawn_edges().enumerate() {
            edge_cell(&mut x, &p, k, e, &ids);
        }
        x.close("root");
        x.close("mxGraphModel");
        x.close("diagram");
        x.close("mxfile");
        x.finish()
    }
}

/// A lane's swimlane.
fn lane_cell(x: &mut Xml, lane: &LaneBox) {
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

/// A node's vertex `id` at `r`, inside its `lane` (coordinates relative to it), in a
/// `<UserObject>` carrying its tooltip when it has one.
fn node_cell(x: &mut Xml, node: &LaneNode, id: &str, lane: &LaneBox, r: Rect) {
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
        let mut attrs = vec![("id", id), ("value", label.as_str())];
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
            &[("label", &label), ("tooltip", &tooltip), ("id", id)],
        );
        x.open("mxCell", &cell);
        x.geometry(relative);
        x.close("mxCell");
        x.close("UserObject");
    }
}

/// Edge `k`, from the right side of its source to the left side of its target unless it runs
/// against the flow.
fn edge_cell(x: &mut Xml, p: &Placement, k: usize, e: &LaneEdge, ids: &[String]) {
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

/// Escapes text for a draw.io `html=1` label (what draw.io itself writes), lines joined with
/// `<br>`.
fn html_label(label: &str) -> String {
    label_lines(label)
        .iter()
        .map(|l| escape_html(l))
        .collect::<Vec<_>>()
        .join("<br>")
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

//! The SVG writer of a lane diagram: lanes as titled bands, nodes by kind (a stack for a
//! mapped task, a shape per asset kind), edges routed around the nodes in between.

use crate::asset::AssetKind;
use crate::viz::layer_title;
use crate::viz::palette::{
    ASSET_STROKE, BACKGROUND, EDGE, LANE_STROKE, NODE_FILL, NODE_STROKE, TEXT, lane_fill,
    lane_header_fill,
};
use crate::viz::svg::{Svg, num, route};

use super::place::{FONT_SIZE, GAP_Y, HEADER, LINE_H, LaneBox, MARGIN, Placement, Rect, STACK};
use super::{LaneDiagram, LaneEdge, LaneNode, NodeKind, label_lines, lane_key};

impl LaneDiagram {
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
        s.arrow_marker("9", EDGE);
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
            self.draw_edge(&mut s, &p, &ids, e);
        }
        for (i, node) in self.nodes.iter().enumerate() {
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
                    ("data-lane", lane_key(p.lane_of_node(i).layer)),
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

    /// An edge's group: its tooltip and its path, across the columns in between (above or
    /// below their nodes), or around when it runs against the flow.
    fn draw_edge(&self, s: &mut Svg, p: &Placement, ids: &[String], e: &LaneEdge) {
        let (a, b) = (p.nodes[e.from], p.nodes[e.to]);
        let d = if p.is_back(e) {
            back_edge_path(a, b)
        } else {
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
pub(super) fn back_edge_path(a: Rect, b: Rect) -> String {
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
    // Centre of the label, moved off the shapes' decorations.
    let (tx, ty) = match node.kind {
        NodeKind::Task { mapped } => {
            if mapped {
                task_box(s, r, STACK, -STACK);
            }
            task_box(s, r, 0.0, 0.0);
            (r.cx(), r.cy())
        }
        NodeKind::Asset(kind) => draw_asset(s, kind, r),
    };
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

/// A task's rounded box, moved by `dx`, `dy` (a mapped task's back copy).
fn task_box(s: &mut Svg, r: Rect, dx: f64, dy: f64) {
    s.empty(
        "rect",
        &[
            ("x", &num(r.x + dx)),
            ("y", &num(r.y + dy)),
            ("width", &num(r.w)),
            ("height", &num(r.h)),
            ("rx", "8"),
            ("fill", NODE_FILL),
            ("stroke", NODE_STROKE),
            ("stroke-width", "1.5"),
        ],
    );
}

/// An asset's outline, `d`.
fn outline(s: &mut Svg, d: &str) {
    s.empty(
        "path",
        &[
            ("d", d),
            ("fill", NODE_FILL),
            ("stroke", ASSET_STROKE),
            ("stroke-width", "1.5"),
        ],
    );
}

/// A line inside an asset's outline (a fold, a tab, text in a margin).
fn detail(s: &mut Svg, d: &str) {
    s.empty(
        "path",
        &[
            ("d", d),
            ("fill", "none"),
            ("stroke", ASSET_STROKE),
            ("stroke-width", "1.2"),
        ],
    );
}

/// The shape of an asset of `kind` in `r`; returns where its label is centred.
fn draw_asset(s: &mut Svg, kind: AssetKind, r: Rect) -> (f64, f64) {
    match kind {
        AssetKind::ExternalApi => cloud(s, r),
        AssetKind::File => page(s, r),
        AssetKind::Folder => folder(s, r),
        AssetKind::Database => cylinder(s, r),
        AssetKind::Report => report(s, r),
        AssetKind::NotificationChannel => hexagon(s, r),
    }
}

/// An external API: a cloud.
fn cloud(s: &mut Svg, r: Rect) -> (f64, f64) {
    outline(
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
    (r.cx(), r.cy() + 0.04 * r.h)
}

/// A file: a page with a dog-ear.
fn page(s: &mut Svg, r: Rect) -> (f64, f64) {
    let (x, y, w, h) = (r.x, r.y, r.w, r.h);
    let f = 14.0;
    outline(
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
    detail(
        s,
        &format!(
            "M{},{} V{} H{}",
            num(x + w - f),
            num(y),
            num(y + f),
            num(x + w)
        ),
    );
    (r.cx(), r.cy())
}

/// A folder: a box with a tab.
fn folder(s: &mut Svg, r: Rect) -> (f64, f64) {
    let (x, y, w, h) = (r.x, r.y, r.w, r.h);
    let tab = 10.0;
    let tab_w = (w * 0.35).min(60.0);
    outline(
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
    detail(s, &format!("M{},{} H{}", num(x), num(y + tab), num(x + w)));
    (r.cx(), r.cy() + tab / 2.0)
}

/// A database: a cylinder.
fn cylinder(s: &mut Svg, r: Rect) -> (f64, f64) {
    let (x, y, w, h) = (r.x, r.y, r.w, r.h);
    let e = 7.0;
    let rx = num(w / 2.0);
    let ry = num(e);
    outline(
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
    (r.cx(), r.cy() + e / 2.0)
}

/// A report: a page with a wavy bottom and lines of text in its margin.
fn report(s: &mut Svg, r: Rect) -> (f64, f64) {
    let (x, y, w, h) = (r.x, r.y, r.w, r.h);
    let wave = 8.0;
    outline(
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
    let mut d = String::new();
    for (i, len) in [14.0, 10.0, 14.0].iter().enumerate() {
        let ly = y + 12.0 + 6.0 * i as f64;
        d.push_str(&format!("M{},{} h{} ", num(x + 8.0), num(ly), num(*len)));
    }
    detail(s, d.trim_end());
    (r.cx() + 10.0, r.cy() - wave / 2.0)
}

/// A notification channel: a hexagon.
fn hexagon(s: &mut Svg, r: Rect) -> (f64, f64) {
    let (x, y, w, h) = (r.x, r.y, r.w, r.h);
    let k = 12.0;
    outline(
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
    (r.cx(), r.cy())
}

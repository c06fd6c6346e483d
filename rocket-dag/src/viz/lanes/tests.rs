//! Tests of the lane diagrams: the model from a DAG, the placement, both writers.

use super::place::{FONT_SIZE, GAP_Y, HEADER, MIN_NODE_W, Rect, node_size, pull_sources_right};
use super::shapes::back_edge_path;
use super::testing::{Cell, cell, child_texts, drawio_cells, lanes, parse, spec, task, with_class};
use super::*;
use crate::DagBuilder;
use crate::asset::Asset;
use crate::dag::Call;
use crate::task::TaskOptions;
use crate::viz::layout::layered;
use crate::viz::svg::text_width;

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

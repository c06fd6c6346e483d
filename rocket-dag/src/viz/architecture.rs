//! The solution's architecture, from what tasks declare they read and write: sources →
//! tasks → storage → business consumers, in Source / Storage / Business lanes.
//!
//! Assets are declared once as constants and named in `#[task(reads = […], writes = […])]`
//! (see [`crate::asset`]); [`architecture`] turns those declarations into a [`LaneDiagram`],
//! which writes itself as SVG or draw.io.

use std::collections::{HashMap, HashSet};

use crate::Dag;
use crate::asset::Asset;

use super::lanes::{
    LaneDiagram, LaneEdge, LaneNode, NodeKind, task_label, task_layer, task_tooltip,
};

/// The architecture of `dags`: every asset their tasks read or write, every task that reads or
/// writes one, and an edge per read (asset → task) and per write (task → asset).
///
/// - An asset is one node however many tasks or DAGs name it (merged by [`Asset::id`]; the
///   first declaration seen gives its label, kind and layer). Its label is [`Asset::label`],
///   its lane [`Asset::layer`], its shape its [`kind`](Asset::kind), its tooltip its kind and
///   [`location`](Asset::location).
/// - A task is a node with its task id as id and label (` [ ]` added when mapped) and lies in
///   the lane of [`task_layer`]; given several DAGs, its id is `<dag>.<task>` and its label
///   names the DAG on a second line. Its tooltip is its doc's first line, its trigger rule and
///   retries when not the defaults, and what it reads and writes.
/// - Tasks that declare no asset are left out (the architecture knows nothing about them), as
///   are the DAGs' task-to-task edges: what flows is drawn through the assets.
/// - Edges are not repeated (a task reading the same asset twice, or one DAG given twice).
///
/// Laid out by [`LaneDiagram`], columns follow the data: an API a task reads comes before the
/// task, the file it writes after it, and so on, so the picture reads left to right as sources
/// → tasks → storage → business consumers, while the lanes (from the assets' and tasks'
/// layers) sort the same nodes top to bottom into Source, Storage and Business. A task that
/// reads and writes the same asset (a manifest it updates) makes a cycle; it is drawn, with
/// the edge closing it curved back over the nodes.
pub fn architecture(title: &str, dags: &[&Dag]) -> LaneDiagram {
    let several = dags.len() > 1;
    let mut b = Builder {
        diagram: LaneDiagram {
            title: title.to_owned(),
            ..LaneDiagram::default()
        },
        assets: HashMap::new(),
        tasks: HashMap::new(),
        edges: HashSet::new(),
    };
    for dag in dags {
        for &i in dag.topological_order() {
            let t = &dag.tasks()[i];
            let spec = t.spec();
            if spec.reads.is_empty() && spec.writes.is_empty() {
                continue;
            }
            // Reads first, so assets enter the diagram in data-flow order.
            let reads: Vec<usize> = spec.reads.iter().map(|a| b.asset(a)).collect();
            let (id, label) = if several {
                (
                    format!("{}.{}", dag.id(), t.id()),
                    format!("{}\n({})", task_label(t), dag.id()),
                )
            } else {
                (t.id().to_owned(), task_label(t))
            };
            let mut tooltip = task_tooltip(t);
            let names = |assets: &[Asset]| {
                let mut seen = HashSet::new();
                assets
                    .iter()
                    .filter(|a| seen.insert(a.id))
                    .map(|a| a.id)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            for (what, assets) in [("reads", spec.reads), ("writes", spec.writes)] {
                if !assets.is_empty() {
                    if !tooltip.is_empty() {
                        tooltip.push('\n');
                    }
                    tooltip.push_str(&format!("{what}: {}", names(assets)));
                }
            }
            let task = b.node(
                false,
                id,
                LaneNode {
                    id: String::new(),
                    label,
                    lane: task_layer(t),
                    kind: NodeKind::Task {
                        mapped: t.is_mapped(),
                    },
                    tooltip,
                },
            );
            for r in reads {
                b.edge(r, task);
            }
            for a in spec.writes {
                let w = b.asset(a);
                b.edge(task, w);
            }
        }
    }
    b.diagram
}

/// The diagram being built, with what it already holds.
struct Builder {
    diagram: LaneDiagram,
    /// Asset id → node.
    assets: HashMap<String, usize>,
    /// Task node id → node.
    tasks: HashMap<String, usize>,
    edges: HashSet<(usize, usize)>,
}

impl Builder {
    /// The node with `id` among assets (`asset`) or tasks, added as `node` if new.
    fn node(&mut self, asset: bool, id: String, node: LaneNode) -> usize {
        let map = if asset {
            &mut self.assets
        } else {
            &mut self.tasks
        };
        if let Some(&i) = map.get(&id) {
            return i;
        }
        let i = self.diagram.nodes.len();
        map.insert(id.clone(), i);
        self.diagram.nodes.push(LaneNode { id, ..node });
        i
    }

    /// The node of asset `a`.
    fn asset(&mut self, a: &Asset) -> usize {
        let tooltip = if a.location.is_empty() {
            a.kind.to_string()
        } else {
            format!("{}: {}", a.kind, a.location)
        };
        self.node(
            true,
            a.id.to_owned(),
            LaneNode {
                id: String::new(),
                label: a.label.to_owned(),
                lane: Some(a.layer),
                kind: NodeKind::Asset(a.kind),
                tooltip,
            },
        )
    }

    fn edge(&mut self, from: usize, to: usize) {
        if self.edges.insert((from, to)) {
            self.diagram.edges.push(LaneEdge {
                from,
                to,
                dashed: false,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DagBuilder;
    use crate::asset::AssetKind;
    use crate::dag::Call;
    use crate::task::{Layer, TaskOptions};
    use crate::viz::lanes::testing::{
        Cell, cell, child_texts, drawio_cells, lanes, parse, spec, task, with_class,
    };

    const API: Asset = Asset::new("ll2_api", AssetKind::ExternalApi)
        .label("Launch Library 2 API")
        .location("https://ll.thespacedevs.com/2.0.0/launch/upcoming");
    const LAUNCHES: Asset = Asset::new("launches_json", AssetKind::File).location("launches.json");
    const IMAGES: Asset = Asset::new("images", AssetKind::Folder).location("images/");
    const CHANNEL: Asset = Asset::new("chat", AssetKind::NotificationChannel).label("A & B <x>");
    const MANIFEST: Asset = Asset::new("manifest", AssetKind::Database);

    task!(
        Download,
        Vec<u32>,
        spec("download", "Fetch the launches.", &[], &[API], &[LAUNCHES])
    );
    task!(
        Pictures,
        u32,
        spec(
            "get_pictures",
            "",
            &["launches"],
            &[LAUNCHES, LAUNCHES],
            &[IMAGES]
        )
    );
    task!(
        Notify,
        (),
        spec("notify", "", &["pictures"], &[IMAGES], &[CHANNEL])
    );
    task!(
        Silent,
        (),
        spec("silent", "Declares nothing.", &[], &[], &[])
    );
    task!(
        Update,
        (),
        spec("update", "", &[], &[MANIFEST, API], &[MANIFEST])
    );

    /// download → get_pictures (mapped) → notify, and `silent`, which declares no asset.
    fn rocket(id: &str) -> Dag {
        let mut b = DagBuilder::new(id);
        let d = b.add::<Download>();
        let p = b.add_mapped_call(Call::new::<Pictures>(&[d.each::<u32>().input()]), None);
        b.add_call(Call::new::<Notify>(&[p.input()]), None);
        b.add::<Silent>();
        b.build().unwrap()
    }

    fn edges(d: &LaneDiagram) -> Vec<(&str, &str)> {
        d.edges
            .iter()
            .map(|e| (d.nodes[e.from].id.as_str(), d.nodes[e.to].id.as_str()))
            .collect()
    }

    #[test]
    fn reads_and_writes_become_edges_through_the_assets() {
        let dag = rocket("rocket");
        let d = architecture("Rocket", &[&dag]);
        assert_eq!(d.title, "Rocket");
        let nodes: Vec<(&str, &str, Option<Layer>, NodeKind)> = d
            .nodes
            .iter()
            .map(|n| (n.id.as_str(), n.label.as_str(), n.lane, n.kind))
            .collect();
        use NodeKind::{Asset as A, Task as T};
        assert_eq!(
            nodes,
            [
                (
                    "ll2_api",
                    "Launch Library 2 API",
                    Some(Layer::Source),
                    A(AssetKind::ExternalApi)
                ),
                (
                    "download",
                    "download",
                    Some(Layer::Source),
                    T { mapped: false }
                ),
                (
                    "launches_json",
                    "launches_json",
                    Some(Layer::Storage),
                    A(AssetKind::File)
                ),
                (
                    "get_pictures",
                    "get_pictures [ ]",
                    Some(Layer::Storage),
                    T { mapped: true }
                ),
                (
                    "images",
                    "images",
                    Some(Layer::Storage),
                    A(AssetKind::Folder)
                ),
                (
                    "notify",
                    "notify",
                    Some(Layer::Business),
                    T { mapped: false }
                ),
                (
                    "chat",
                    "A & B <x>",
                    Some(Layer::Business),
                    A(AssetKind::NotificationChannel)
                ),
            ]
        );
        // `launches_json` written by one task and read by the next: task → asset → task; the
        // repeated read is one edge.
        assert_eq!(
            edges(&d),
            [
                ("ll2_api", "download"),
                ("download", "launches_json"),
                ("launches_json", "get_pictures"),
                ("get_pictures", "images"),
                ("images", "notify"),
                ("notify", "chat"),
            ]
        );
        assert_eq!(
            d.nodes[0].tooltip,
            "external_api: https://ll.thespacedevs.com/2.0.0/launch/upcoming"
        );
        assert_eq!(
            d.nodes[1].tooltip,
            "Fetch the launches.\nreads: ll2_api\nwrites: launches_json"
        );
        assert_eq!(d.nodes[3].tooltip, "reads: launches_json\nwrites: images");
        assert_eq!(d.nodes[6].tooltip, "notification_channel");
    }

    #[test]
    fn the_architecture_draws_as_drawio_and_svg() {
        let dag = rocket("rocket");
        let d = architecture("Rocket & co", &[&dag]);
        let cells = drawio_cells(&d.to_drawio());
        let values: Vec<String> = lanes(&cells).into_iter().map(|l| l.1).collect();
        assert_eq!(values, ["Source", "Storage", "Business"]);
        for (id, lane, style) in [
            ("asset-ll2_api", "lane-source", "shape=cloud"),
            ("task-download", "lane-source", "rounded=1"),
            ("asset-launches_json", "lane-storage", "shape=note"),
            ("task-get_pictures", "lane-storage", "shadow=1"),
            ("asset-images", "lane-storage", "shape=folder"),
            ("task-notify", "lane-business", "rounded=1"),
            ("asset-chat", "lane-business", "shape=hexagon"),
        ] {
            let c = cell(&cells, id);
            assert_eq!(c.parent.as_deref(), Some(lane), "{c:?}");
            assert!(c.vertex && c.has_style(style), "{c:?}");
        }
        assert_eq!(cell(&cells, "asset-chat").text(), "A & B <x>");
        let drawn: Vec<(&str, &str)> = cells
            .iter()
            .filter(|c| c.edge)
            .map(|c| (c.source.as_deref().unwrap(), c.target.as_deref().unwrap()))
            .collect();
        assert_eq!(drawn.len(), 6);
        assert!(drawn.contains(&("asset-launches_json", "task-get_pictures")));
        assert!(drawn.contains(&("task-download", "asset-launches_json")));
        assert!(
            cells
                .iter()
                .filter(|c| c.edge)
                .all(|c| !c.has_style("dashed=1"))
        );

        let svg = d.to_svg();
        let elems = parse(&svg);
        assert_eq!(with_class(&elems, "task").len(), 3);
        assert_eq!(with_class(&elems, "asset").len(), 4);
        assert_eq!(with_class(&elems, "edge").len(), 6);
        assert_eq!(with_class(&elems, "title")[0].text, "Rocket & co");
        let chat = elems
            .iter()
            .position(|e| e.attr("data-id") == Some("chat"))
            .unwrap();
        assert_eq!(child_texts(&elems, chat, "text"), ["A & B <x>"]);
        assert!(svg.contains("A &amp; B &lt;x&gt;"));
    }

    #[test]
    fn tasks_without_assets_are_left_out() {
        let dag = rocket("rocket");
        let d = architecture("Rocket", &[&dag]);
        assert!(d.nodes.iter().all(|n| n.id != "silent"));
        let mut b = DagBuilder::new("nothing");
        b.add::<Silent>();
        let d = architecture("Nothing", &[&b.build().unwrap()]);
        assert!(d.nodes.is_empty() && d.edges.is_empty());
        // Still a picture with its three lanes.
        assert_eq!(lanes(&drawio_cells(&d.to_drawio())).len(), 3);
    }

    #[test]
    fn several_dags_share_their_assets() {
        let (a, b) = (rocket("first"), rocket("second"));
        // The same DAG twice adds nothing.
        let d = architecture("Both", &[&a, &b, &a]);
        let assets = d
            .nodes
            .iter()
            .filter(|n| matches!(n.kind, NodeKind::Asset(_)));
        assert_eq!(assets.count(), 4);
        let tasks: Vec<(&str, &str)> = d
            .nodes
            .iter()
            .filter(|n| matches!(n.kind, NodeKind::Task { .. }))
            .map(|n| (n.id.as_str(), n.label.as_str()))
            .collect();
        assert_eq!(
            tasks,
            [
                ("first.download", "download\n(first)"),
                ("first.get_pictures", "get_pictures [ ]\n(first)"),
                ("first.notify", "notify\n(first)"),
                ("second.download", "download\n(second)"),
                ("second.get_pictures", "get_pictures [ ]\n(second)"),
                ("second.notify", "notify\n(second)"),
            ]
        );
        assert_eq!(d.edges.len(), 12);
        let unique: HashSet<(usize, usize)> = d.edges.iter().map(|e| (e.from, e.to)).collect();
        assert_eq!(unique.len(), 12);
        assert!(edges(&d).contains(&("ll2_api", "second.download")));

        let cells = drawio_cells(&d.to_drawio());
        let t = cell(&cells, "task-first.get_pictures");
        assert_eq!(t.value, "get_pictures [ ]<br>(first)");
        let edges: Vec<&Cell> = cells.iter().filter(|c| c.edge).collect();
        assert_eq!(edges.len(), 12);
        let elems = parse(&d.to_svg());
        let i = elems
            .iter()
            .position(|e| e.attr("data-id") == Some("second.notify"))
            .unwrap();
        assert_eq!(child_texts(&elems, i, "text"), ["notify", "(second)"]);
    }

    #[test]
    fn a_task_reading_and_writing_the_same_asset_still_lays_out() {
        let mut b = DagBuilder::new("cycle");
        b.add::<Update>();
        let dag = b.build().unwrap();
        let d = architecture("Cycle", &[&dag]);
        assert_eq!(
            edges(&d),
            [
                ("manifest", "update"),
                ("ll2_api", "update"),
                ("update", "manifest")
            ]
        );
        // It reads an API: Source.
        assert_eq!(d.nodes[1].lane, Some(Layer::Source));
        let cells = drawio_cells(&d.to_drawio());
        assert_eq!(cells.iter().filter(|c| c.edge).count(), 3);
        assert!(cell(&cells, "asset-manifest").has_style("shape=cylinder3"));
        let elems = parse(&d.to_svg());
        assert_eq!(with_class(&elems, "edge").len(), 3);
        let paths: Vec<&str> = elems
            .iter()
            .filter(|e| e.name == "path" && e.attr("marker-end").is_some())
            .map(|e| e.attr("d").unwrap())
            .collect();
        // The edge closing the cycle goes around (a curve, a line over the top, a curve).
        assert_eq!(
            paths
                .iter()
                .filter(|d| d.contains(" L") && d.contains(" C"))
                .count(),
            1,
            "{paths:?}"
        );

        // A declared layer wins over the assets'.
        task!(Declared, (), {
            let mut s = spec("declared", "", &[], &[MANIFEST], &[MANIFEST]);
            s.options = TaskOptions::new().layer(Layer::Business);
            s
        });
        let mut b = DagBuilder::new("declared");
        b.add::<Declared>();
        let d = architecture("Declared", &[&b.build().unwrap()]);
        assert_eq!(d.nodes[1].lane, Some(Layer::Business));
    }
}

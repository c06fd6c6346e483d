//! The DAG's graph as SVG: tasks left to right by dependency depth ([`super::layout`]),
//! coloured by layer, or by state for a run (Airflow's Graph view).

use crate::dag::{Edge, EdgeKind};
use crate::store::TaskStateRecord;
use crate::{Dag, TaskNode};

use super::lanes::{changed_options, task_label, task_layer};
use super::palette::{
    BACKGROUND, EDGE, NODE_FILL, NODE_STROKE, TEXT_SOFT, layer_color, state_color,
};
use super::svg::{Column, Svg, columns, num, route, text_width};
use super::{RunHistory, TaskSummary, layer_index, layer_title, plural};

const NODE_H: f64 = 40.0;
const MAPPED_H: f64 = 52.0;
const COL_GAP: f64 = 70.0;
const ROW_GAP: f64 = 22.0;
const MARGIN: f64 = 20.0;
const HEADER: f64 = 44.0;
const LEGEND: f64 = 34.0;

/// The graph of `dag` as a standalone SVG document.
///
/// Without a run, tasks are filled with their layer's colour; with `run`, with the state they
/// reached in it (a task the run never reached is white), and a mapped task shows how many
/// instances it had and their states. A mapped task is drawn once, as a stack; dashed arrows
/// order without passing data. Each task has a tooltip (`<title>`): its doc, trigger rule,
/// retries and, for a run, its tries.
pub fn dag_svg(dag: &Dag, run: Option<&RunHistory>) -> String {
    let g = Graph::new(dag, run);
    let mut svg = Svg::new(g.width, g.height);
    svg.arrow_marker("10", EDGE);
    svg.empty(
        "rect",
        &[("width", "100%"), ("height", "100%"), ("fill", BACKGROUND)],
    );
    svg.text(
        "text",
        &[
            ("x", &num(MARGIN)),
            ("y", &num(MARGIN + 14.0)),
            ("font-size", "16"),
            ("font-weight", "600"),
            ("class", "title"),
        ],
        &g.title,
    );
    svg.open("g", &[("class", "edges")]);
    for e in dag.edges() {
        g.draw_edge(&mut svg, e);
    }
    svg.close();
    svg.open("g", &[("class", "tasks")]);
    for (i, t) in dag.tasks().iter().enumerate() {
        g.draw_task(&mut svg, i, t);
    }
    svg.close();
    legend(&mut svg, run.is_some(), g.height - MARGIN - 8.0, dag);
    svg.finish()
}

/// A task's box: x, y, width, height.
type Box4 = (f64, f64, f64, f64);

/// The graph laid out: a column per rank, columns centred vertically.
struct Graph<'a> {
    dag: &'a Dag,
    run: Option<&'a RunHistory>,
    /// What each task amounted to in the run.
    summaries: Vec<Option<TaskSummary>>,
    /// Each task's column.
    rank: Vec<usize>,
    /// Each task's box.
    boxes: Vec<Box4>,
    /// Each column's x range and boxes (for routing edges around them).
    columns: Vec<Column>,
    title: String,
    width: f64,
    height: f64,
}

impl<'a> Graph<'a> {
    fn new(dag: &'a Dag, run: Option<&'a RunHistory>) -> Graph<'a> {
        let tasks = dag.tasks();
        let edges: Vec<(usize, usize)> = dag.edges().iter().map(|e| (e.from, e.to)).collect();
        let layout = super::layout::layered(tasks.len(), &edges);
        let summaries: Vec<Option<TaskSummary>> = tasks
            .iter()
            .map(|t| run.and_then(|r| r.task_summary(t.id())))
            .collect();
        let height_of = |i: usize| {
            if tasks[i].is_mapped() {
                MAPPED_H
            } else {
                NODE_H
            }
        };
        let width_of = |i: usize| {
            let label = text_width(tasks[i].id(), 13.0) + 28.0;
            let count = summaries[i]
                .as_ref()
                .map_or(0.0, |s| text_width(&count_line(s), 11.0) + 28.0);
            label.max(count).max(120.0)
        };
        // Column widths and heights.
        let col_w: Vec<f64> = layout
            .ranks
            .iter()
            .map(|r| r.iter().map(|&i| width_of(i)).fold(0.0, f64::max))
            .collect();
        let col_h: Vec<f64> = layout
            .ranks
            .iter()
            .map(|r| r.iter().map(|&i| height_of(i) + ROW_GAP).sum::<f64>() - ROW_GAP)
            .collect();
        let body_h = col_h.iter().copied().fold(NODE_H, f64::max);
        let mut x_of_col = Vec::with_capacity(col_w.len());
        let mut x = MARGIN;
        for w in &col_w {
            x_of_col.push(x);
            x += w + COL_GAP;
        }
        let title = match run {
            Some(r) => format!("{} — {} ({})", dag.id(), r.run.run_id, r.run.state),
            None => dag.id().to_owned(),
        };
        let width = (x - COL_GAP + MARGIN)
            .max(text_width(&title, 16.0) + 2.0 * MARGIN)
            .max(480.0);
        let mut boxes = vec![(0.0, 0.0, 0.0, 0.0); tasks.len()];
        for (c, rank) in layout.ranks.iter().enumerate() {
            let mut y = HEADER + MARGIN + (body_h - col_h[c]) / 2.0;
            for &i in rank {
                boxes[i] = (x_of_col[c], y, col_w[c], height_of(i));
                y += height_of(i) + ROW_GAP;
            }
        }
        let columns = columns(&layout.ranks, &x_of_col, &col_w, |i| {
            (boxes[i].1, boxes[i].1 + boxes[i].3)
        });
        Graph {
            dag,
            run,
            summaries,
            rank: layout.rank,
            boxes,
            columns,
            title,
            width,
            height: HEADER + body_h + LEGEND + 2.0 * MARGIN,
        }
    }

    /// An edge from the right side of a task to the left side of the next; one that skips
    /// columns passes each one above or below its tasks.
    fn draw_edge(&self, svg: &mut Svg, e: &Edge) {
        let tasks = self.dag.tasks();
        let (fx, fy, fw, fh) = self.boxes[e.from];
        let (tx, ty, _, th) = self.boxes[e.to];
        let (x1, y1) = (fx + fw, fy + fh / 2.0);
        let (x2, y2) = (tx, ty + th / 2.0);
        let between = self
            .columns
            .get(self.rank[e.from] + 1..self.rank[e.to])
            .unwrap_or(&[]);
        let d = route(x1, y1, x2, y2, between, ROW_GAP / 2.0);
        let dash = if e.kind == EdgeKind::Order { "5 4" } else { "" };
        let from = tasks[e.from].id();
        let to = tasks[e.to].id();
        svg.open(
            "path",
            &[
                ("class", "edge"),
                ("d", &d),
                ("fill", "none"),
                ("stroke", EDGE),
                ("stroke-width", "1.5"),
                ("stroke-dasharray", dash),
                ("marker-end", "url(#arrow)"),
                ("data-from", from),
                ("data-to", to),
            ],
        );
        svg.title(&match e.kind {
            EdgeKind::Order => format!("{to} runs after {from}"),
            EdgeKind::Data => format!("{from} passes its output to {to}"),
        });
        svg.close();
    }

    /// Task `i`: its box (a stack when mapped) filled by layer or by state, its label and,
    /// for a mapped task in a run, its instance count.
    fn draw_task(&self, svg: &mut Svg, i: usize, t: &TaskNode) {
        let (x, y, w, h) = self.boxes[i];
        let summary = self.summaries[i].as_ref();
        let fill = match (self.run, summary) {
            (Some(_), Some(s)) => state_color(s.state),
            (Some(_), None) => NODE_FILL,
            (None, _) => layer_color(task_layer(t)),
        };
        let state = summary.map_or("", |s| s.state.as_str());
        svg.open(
            "g",
            &[
                ("class", "node task"),
                ("data-id", t.id()),
                ("data-state", state),
            ],
        );
        svg.title(&tooltip(t, summary));
        if t.is_mapped() {
            // A stack: the task runs once per element.
            task_rect(svg, self.boxes[i], 6.0, fill);
            task_rect(svg, self.boxes[i], 3.0, fill);
        }
        task_rect(svg, self.boxes[i], 0.0, fill);
        let text_y = if summary.is_some() && t.is_mapped() {
            y + 20.0
        } else {
            y + h / 2.0 + 4.5
        };
        svg.text(
            "text",
            &[
                ("x", &num(x + w / 2.0)),
                ("y", &num(text_y)),
                ("text-anchor", "middle"),
                ("font-size", "13"),
            ],
            &task_label(t),
        );
        if let Some(s) = summary.filter(|_| t.is_mapped()) {
            svg.text(
                "text",
                &[
                    ("x", &num(x + w / 2.0)),
                    ("y", &num(y + 38.0)),
                    ("text-anchor", "middle"),
                    ("font-size", "11"),
                    ("fill", TEXT_SOFT),
                    ("class", "count"),
                ],
                &count_line(s),
            );
        }
        svg.close();
    }
}

/// A task's rounded box, moved `dx` right and up (the copies behind a mapped task).
fn task_rect(svg: &mut Svg, (x, y, w, h): Box4, dx: f64, fill: &str) {
    svg.empty(
        "rect",
        &[
            ("x", &num(x + dx)),
            ("y", &num(y - dx)),
            ("width", &num(w)),
            ("height", &num(h)),
            ("rx", "6"),
            ("fill", fill),
            ("stroke", NODE_STROKE),
            ("stroke-width", "1.2"),
        ],
    );
}

/// `100 instances: 98 success, 2 failed`.
fn count_line(s: &TaskSummary) -> String {
    format!(
        "{} instance{}: {}",
        s.instances,
        plural(s.instances),
        s.states()
    )
}

fn tooltip(t: &TaskNode, s: Option<&TaskSummary>) -> String {
    let mut lines = vec![t.id().to_owned()];
    if let Some(doc) = t.doc().lines().next().filter(|l| !l.is_empty()) {
        lines.push(doc.to_owned());
    }
    lines.extend(changed_options(t, "trigger rule"));
    if let Some(l) = task_layer(t) {
        lines.push(format!("layer: {}", layer_title(Some(l))));
    }
    if let Some(s) = s {
        lines.push(format!("state: {}", s.state));
        lines.push(format!("tries: {}", s.tries));
        if s.mapped {
            lines.push(count_line(s));
        }
    }
    lines.join("\n")
}

fn legend(svg: &mut Svg, states: bool, y: f64, dag: &Dag) {
    let items: Vec<(&str, &str)> = if states {
        [
            TaskStateRecord::Success,
            TaskStateRecord::Failed,
            TaskStateRecord::UpForRetry,
            TaskStateRecord::UpstreamFailed,
            TaskStateRecord::Skipped,
            TaskStateRecord::Running,
        ]
        .into_iter()
        .map(|s| (s.as_str(), state_color(s)))
        .chain([("not run", NODE_FILL)])
        .collect()
    } else {
        let mut layers: Vec<Option<crate::Layer>> = dag.tasks().iter().map(task_layer).collect();
        layers.sort_by_key(|l| layer_index(*l));
        layers.dedup();
        layers
            .into_iter()
            .map(|l| (layer_title(l), layer_color(l)))
            .collect()
    };
    svg.open("g", &[("class", "legend")]);
    let mut x = MARGIN;
    for (name, color) in items {
        svg.empty(
            "rect",
            &[
                ("x", &num(x)),
                ("y", &num(y - 10.0)),
                ("width", "12"),
                ("height", "12"),
                ("rx", "2"),
                ("fill", color),
                ("stroke", NODE_STROKE),
            ],
        );
        svg.text(
            "text",
            &[("x", &num(x + 17.0)), ("y", &num(y)), ("font-size", "11")],
            name,
        );
        x += 30.0 + text_width(name, 11.0);
    }
    svg.close();
}

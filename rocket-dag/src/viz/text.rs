//! The graph as text: Mermaid and Graphviz DOT.

use crate::dag::{Dag, EdgeKind};

use super::lanes::task_label;
use super::palette::NODE_FILL;

/// The graph as Mermaid flowchart text (left to right; dotted arrows order without data).
/// Nodes are named by index (`t0`, `t1`, …) so ids like `a-b` and `a_b` stay apart.
pub fn mermaid(dag: &Dag) -> String {
    let mut out = format!("---\ntitle: {}\n---\nflowchart LR\n", dag.id());
    for &i in dag.topological_order() {
        let t = &dag.tasks()[i];
        // A mapped task is drawn once, as a stack (Mermaid's subroutine shape).
        let (open, close) = if t.is_mapped() {
            ("[[", "]]")
        } else {
            ("[", "]")
        };
        out.push_str(&format!("    t{i}{open}\"{}\"{close}\n", task_label(t)));
    }
    for e in dag.edges() {
        let arrow = match e.kind {
            EdgeKind::Data => "-->",
            EdgeKind::Order => "-.->",
        };
        out.push_str(&format!("    t{} {arrow} t{}\n", e.from, e.to));
    }
    out
}

/// The graph in Graphviz DOT (`dot -Tsvg`): left to right, tasks coloured by layer (source,
/// storage, business), a mapped task drawn with a double border and `[ ]`, dashed arrows for
/// ordering without data.
pub fn dot(dag: &Dag) -> String {
    fn quote(s: &str) -> String {
        format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
    }
    let mut out = format!(
        "digraph {} {{\n    rankdir=LR;\n    node [shape=box, style=\"rounded,filled\", fillcolor=\"{NODE_FILL}\", fontname=\"Helvetica\"];\n",
        quote(dag.id())
    );
    for &i in dag.topological_order() {
        let t = &dag.tasks()[i];
        let fill = super::layer_color(super::lanes::task_layer(t));
        let extra = if t.is_mapped() { ", peripheries=2" } else { "" };
        let label = task_label(t);
        out.push_str(&format!(
            "    t{i} [label={}, fillcolor=\"{fill}\"{extra}];\n",
            quote(&label)
        ));
    }
    for e in dag.edges() {
        let style = match e.kind {
            EdgeKind::Data => "",
            EdgeKind::Order => " [style=dashed]",
        };
        out.push_str(&format!("    t{} -> t{}{style};\n", e.from, e.to));
    }
    out.push_str("}\n");
    out
}

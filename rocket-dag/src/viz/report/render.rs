//! Rendering a run report: the data of a [`Report`] turned into the views the page template
//! (`templates/report.html`) shows, section by section.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use askama::Template;

use crate::store::{NOT_MAPPED, TaskInstanceRecord, TaskStateRecord};
use crate::viz::html::escape_html;
use crate::viz::lanes::mapped_label;
use crate::viz::palette::{run_state_color, state_color};

use super::format::{
    cut_note, first_sentence, fmt_secs, fmt_time, human_bytes, inline_svg, markdown_to_html,
    pretty_json, span, truncate,
};
use super::{
    AttemptLog, FileContent, JSON_LIMIT, LogText, Report, ResultAsset, ResultContent, SECTIONS,
    TaskOutput,
};

struct TaskRow {
    id: String,
    state: String,
    color: &'static str,
    instances: String,
    tries: usize,
    duration: String,
}

struct SourceView {
    anchor: String,
    id: String,
    headline: String,
    doc: String,
    source: String,
}

struct AttemptView {
    header: String,
    color: &'static str,
    error: Option<String>,
    note: Option<String>,
    text: Option<String>,
}

struct InstanceView {
    label: String,
    state: String,
    color: &'static str,
    attempts: Vec<AttemptView>,
}

struct OutputView {
    task_id: String,
    summary: String,
    json: String,
    note: Option<String>,
}

/// One rendered piece of a report file: Markdown (rendered), preformatted text, or a note.
struct FileBlock {
    title: String,
    markdown: Option<String>,
    pre: Option<String>,
    notes: Vec<String>,
}

struct AssetView {
    title: String,
    location: String,
    written_by: String,
    notes: Vec<String>,
    listing: Vec<(String, String)>,
    blocks: Vec<FileBlock>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    open: &'static str,
    sections: &'static [(&'static str, &'static str)],
    dag_id: &'a str,
    run_id: &'a str,
    facts: Vec<(&'static str, String)>,
    run_state: String,
    run_color: &'static str,
    generated: String,
    task_rows: Vec<TaskRow>,
    statement: String,
    dag_source: &'a str,
    sources: Vec<SourceView>,
    graph_svg: String,
    lanes_svg: String,
    architecture_svg: String,
    architecture_note: Option<String>,
    gantt_svg: String,
    logs: Vec<InstanceView>,
    outputs: Vec<OutputView>,
    assets: Vec<AssetView>,
}

fn file_block(title: String, content: &FileContent) -> FileBlock {
    let mut b = FileBlock {
        title,
        markdown: None,
        pre: None,
        notes: Vec::new(),
    };
    let cut_note =
        |cut: u64, kept: usize| (cut > 0).then(|| cut_note(kept as u64, kept as u64 + cut));
    match content {
        FileContent::Markdown { text, cut } => {
            b.markdown = Some(markdown_to_html(text));
            b.notes.extend(cut_note(*cut, text.len()));
        }
        FileContent::Json(json) => {
            let (text, note) = pretty_json(json);
            b.pre = Some(text);
            b.notes.extend(note);
        }
        FileContent::Text { text, cut } => {
            let (kept, note) = truncate(text, JSON_LIMIT);
            b.pre = Some(kept.to_owned());
            match note {
                Some(n) if *cut == 0 => b.notes.push(n),
                _ => b.notes.extend(cut_note(
                    *cut + (text.len() - kept.len()) as u64,
                    kept.len(),
                )),
            }
        }
        FileContent::Binary { size } => {
            b.notes
                .push(format!("Not text ({}); not shown.", human_bytes(*size)));
        }
        FileContent::Unreadable(e) => b.notes.push(format!("Could not be read: {e}")),
    }
    b
}

fn asset_view(a: &ResultAsset) -> AssetView {
    let mut v = AssetView {
        title: if a.label == a.asset_id {
            a.asset_id.clone()
        } else {
            format!("{} ({})", a.label, a.asset_id)
        },
        location: a.location.clone(),
        written_by: a.written_by.join(", "),
        notes: Vec::new(),
        listing: Vec::new(),
        blocks: Vec::new(),
    };
    match &a.content {
        ResultContent::Refused(why) => v.notes.push(format!("Not read: {why}")),
        ResultContent::Missing => v.notes.push("Nothing there for this run.".to_owned()),
        ResultContent::Unreadable(e) => v.notes.push(format!("Could not be read: {e}")),
        ResultContent::File(c) => v.blocks.push(file_block(a.location.clone(), c)),
        ResultContent::Folder(entries) => {
            if entries.is_empty() {
                v.notes.push("The folder is empty.".to_owned());
            }
            for e in entries {
                match &e.content {
                    Some(c) => v.blocks.push(file_block(e.name.clone(), c)),
                    None if e.is_dir => v
                        .listing
                        .push((format!("{}/", e.name), "folder".to_owned())),
                    None => v.listing.push((e.name.clone(), human_bytes(e.size))),
                }
            }
        }
    }
    v
}

impl Report {
    /// The report as one self-contained HTML page (logs, code and outputs collapsed).
    pub fn html(&self) -> String {
        self.render(false)
    }

    /// The same page with every collapsible block open, for printing to PDF.
    pub fn print_html(&self) -> String {
        self.render(true)
    }

    /// The printed page's style sheet and body, every `id` and in-page reference prefixed with
    /// `prefix`, so that several reports share one page (the hand-in).
    pub(in crate::viz) fn print_parts(&self, prefix: &str) -> (String, String) {
        let page = self.print_html();
        let between = |open: &str, close: &str| {
            let start = page.find(open).map_or(0, |i| i + open.len());
            let end = page[start..].find(close).map_or(page.len(), |i| start + i);
            page[start..end].to_owned()
        };
        // Text is escaped (`"` as `&quot;`), so these patterns occur only in markup.
        let body = between("<body>", "</body>")
            .replace(" id=\"", &format!(" id=\"{prefix}"))
            .replace("href=\"#", &format!("href=\"#{prefix}"))
            .replace("url(#", &format!("url(#{prefix}"));
        (between("<style>", "</style>"), body)
    }

    fn task_order(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.tasks.iter().map(|t| t.id.clone()).collect();
        for t in &self.history.tries {
            if !ids.contains(&t.task_id) {
                ids.push(t.task_id.clone());
            }
        }
        ids
    }

    fn render(&self, open: bool) -> String {
        let run = &self.history.run;
        let order = self.task_order();
        let page = Page {
            open: if open { " open" } else { "" },
            sections: &SECTIONS,
            dag_id: &self.dag_id,
            run_id: &run.run_id,
            facts: self.facts(),
            run_state: run.state.as_str().to_owned(),
            run_color: run_state_color(run.state),
            generated: fmt_time(self.generated_at),
            task_rows: order.iter().map(|id| self.task_row(id)).collect(),
            statement: if self.description.trim().is_empty() {
                String::new()
            } else {
                markdown_to_html(&self.description)
            },
            dag_source: self.dag_source.trim_end(),
            sources: self.sources(),
            graph_svg: inline_svg(&self.graph_svg),
            lanes_svg: inline_svg(&self.lanes_svg),
            architecture_svg: inline_svg(&self.architecture_svg),
            architecture_note: (self.architecture_nodes == 0).then(|| {
                "No task declares reads/writes: there is no architecture to draw.".to_owned()
            }),
            gantt_svg: inline_svg(&self.gantt_svg),
            logs: self.instance_logs(&order),
            outputs: order.iter().filter_map(|id| self.output_view(id)).collect(),
            assets: self.files.iter().map(asset_view).collect(),
        };
        page.render().unwrap_or_else(|e| {
            format!(
                "<!doctype html><title>report</title><p>cannot render the report: {}",
                escape_html(&e.to_string())
            )
        })
    }

    /// The summary's table of facts about the run.
    fn facts(&self) -> Vec<(&'static str, String)> {
        let run = &self.history.run;
        let mut facts = vec![
            ("DAG", self.dag_id.clone()),
            ("Run", run.run_id.clone()),
            ("Run type", run.run_type.as_str().to_owned()),
            ("Logical date", fmt_time(run.logical_date)),
            (
                "Data interval",
                format!(
                    "{} → {}",
                    fmt_time(run.data_interval_start),
                    fmt_time(run.data_interval_end)
                ),
            ),
            ("Started", fmt_time(run.start)),
            ("Ended", run.end.map_or_else(|| "—".to_owned(), fmt_time)),
            ("Duration", span(run.start, run.end)),
        ];
        let has_conf = match &run.conf {
            serde_json::Value::Null => false,
            serde_json::Value::Object(m) => !m.is_empty(),
            _ => true,
        };
        if has_conf {
            facts.push(("Params", run.conf.to_string()));
        }
        facts
    }

    /// The summary's row of task `id`: its state, instances, tries and duration.
    fn task_row(&self, id: &str) -> TaskRow {
        let tries: Vec<_> = self
            .history
            .tries
            .iter()
            .filter(|t| t.task_id == id)
            .collect();
        match self.history.task_summary(id) {
            Some(s) => {
                let start = tries.iter().map(|t| t.start).min();
                let end = if tries.iter().all(|t| t.end.is_some()) {
                    tries.iter().filter_map(|t| t.end).max()
                } else {
                    None
                };
                let mut instances = s.instances.to_string();
                if s.mapped && s.by_state.len() > 1 {
                    let _ = write!(instances, " ({})", s.states());
                }
                TaskRow {
                    id: id.to_owned(),
                    state: s.state.as_str().to_owned(),
                    color: state_color(s.state),
                    instances,
                    tries: s.tries,
                    duration: start.map_or_else(|| "—".to_owned(), |st| span(st, end)),
                }
            }
            None => TaskRow {
                id: id.to_owned(),
                state: "no_status".to_owned(),
                color: state_color(TaskStateRecord::NoStatus),
                instances: "0".to_owned(),
                tries: 0,
                duration: "—".to_owned(),
            },
        }
    }

    /// The code section's tasks.
    fn sources(&self) -> Vec<SourceView> {
        self.tasks
            .iter()
            .map(|t| SourceView {
                anchor: t.id.clone(),
                id: mapped_label(&t.id, t.mapped),
                headline: first_sentence(&t.doc),
                doc: t.doc.trim().to_owned(),
                source: t.source.trim_end().to_owned(),
            })
            .collect()
    }

    /// Logs, one block per task instance (tasks in `order`), attempts in order.
    fn instance_logs(&self, order: &[String]) -> Vec<InstanceView> {
        let mut instances: BTreeMap<(usize, i32), InstanceView> = BTreeMap::new();
        for (i, t) in self.history.tries.iter().enumerate() {
            let rank = order
                .iter()
                .position(|id| id == &t.task_id)
                .unwrap_or(usize::MAX);
            let entry = instances
                .entry((rank, t.map_index))
                .or_insert_with(|| InstanceView {
                    label: t.label(),
                    state: String::new(),
                    color: "",
                    attempts: Vec::new(),
                });
            // Tries come in order: the last one decides the instance's state.
            entry.state = t.state.as_str().to_owned();
            entry.color = state_color(t.state);
            entry.attempts.push(self.attempt_view(i, t));
        }
        instances.into_values().collect()
    }

    /// Try `t` (the `i`-th) with its log.
    fn attempt_view(&self, i: usize, t: &TaskInstanceRecord) -> AttemptView {
        let duration = t
            .duration
            .map(fmt_secs)
            .unwrap_or_else(|| span(t.start, t.end));
        let is_of = |l: &&AttemptLog| {
            l.task_id == t.task_id && l.map_index == t.map_index && l.try_number == t.try_number
        };
        let log = self
            .logs
            .get(i)
            .filter(is_of)
            .or_else(|| self.logs.iter().find(is_of))
            .map_or(&LogText::None, |l| &l.log);
        let (text, note) = match log {
            LogText::Text { text, cut, total } => (
                Some(text.clone()),
                (*cut > 0).then(|| {
                    format!(
                        "Truncated: the first {} of {} are left out; the last {} follow.",
                        human_bytes(*cut),
                        human_bytes(*total),
                        human_bytes(total - cut)
                    )
                }),
            ),
            LogText::Unreadable { path, reason } => {
                (None, Some(format!("No log: {path}: {reason}.")))
            }
            LogText::None => (None, Some("No log file for this attempt.".to_owned())),
        };
        AttemptView {
            header: format!("attempt {} — {} — {}", t.try_number, t.state, duration),
            color: state_color(t.state),
            error: t.error.clone(),
            note,
            text,
        }
    }

    /// Task `id`'s outputs, if it has any; a mapped task's as a list by map index.
    fn output_view(&self, id: &str) -> Option<OutputView> {
        let of: Vec<&TaskOutput> = self.outputs.iter().filter(|o| o.task_id == id).collect();
        if of.is_empty() {
            return None;
        }
        let mapped = of.iter().any(|o| o.map_index != NOT_MAPPED);
        let json = if mapped {
            let items: Vec<String> = of.iter().map(|o| o.json.clone()).collect();
            format!("[{}]", items.join(","))
        } else {
            of[0].json.clone()
        };
        let (json, note) = pretty_json(&json);
        let size = of.iter().map(|o| o.json.len() as u64).sum();
        Some(OutputView {
            task_id: id.to_owned(),
            summary: if mapped {
                format!("{id} — {} outputs, {}", of.len(), human_bytes(size))
            } else {
                format!("{id} — {}", human_bytes(size))
            },
            json,
            note,
        })
    }
}

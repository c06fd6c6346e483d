//! The course hand-in: one self-contained page, printed to one PDF, with the task statement,
//! the variant's tasks (each with the guide's answer, its commands and what the student's own
//! runs produced), the solution's architecture, and the run report of every DAG used (code,
//! graph, the DAG in Source / Storage / Business layers, logs, Gantt chart).
//!
//! The variant's tasks come from a course guide in Markdown, whose entries are headed
//! `#### N.K Title` (see `docs/course.md`): [`guide_entries`] reads them. The page, like the
//! run report, runs no script and fetches nothing.

use chrono::{DateTime, Utc};

use super::html::escape_html;
use super::report::{Report, fmt_time, human_bytes, markdown_to_html, truncate};

/// At most this much of an output file is read (Markdown is shown whole up to it).
pub const OUTPUT_LIMIT: usize = 64 * 1024;
/// At most this much of an SVG output is read: a picture is shown whole or not at all.
pub const SVG_LIMIT: usize = 2 * 1024 * 1024;
/// At most this much of a JSON or text output is shown.
const TEXT_SHOWN: usize = 8 * 1024;
/// At most this many lines of a CSV output are shown.
const CSV_LINES: usize = 30;

/// One task of a course guide: `#### 5.1 Title` and what follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuideEntry {
    /// `5.1`.
    pub id: String,
    /// The heading after the id.
    pub title: String,
    /// The entry's Markdown, heading left out.
    pub markdown: String,
    /// The lines of its `sh` blocks (comments and blank lines left out).
    pub commands: Vec<String>,
}

impl GuideEntry {
    /// The file names the entry names in backticks (`downloads.md`, `…/history_runs.csv`):
    /// where the student's outputs are looked for.
    pub fn output_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for (i, part) in self.markdown.split('`').enumerate() {
            if i % 2 == 0 {
                continue;
            }
            let name = part.rsplit('/').next().unwrap_or(part).trim();
            let known = [".md", ".csv", ".svg", ".json", ".txt"]
                .iter()
                .any(|ext| name.ends_with(ext));
            let plain = !name.is_empty()
                && !name.starts_with('.')
                && !name.contains(['<', '>', '*', ' ', '$', '{', '\\']);
            if known && plain && !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
        }
        names
    }
}

/// Every `#### N.K Title` entry of a guide, in order. An entry runs until the next heading of
/// level 1 to 4.
pub fn guide_entries(markdown: &str) -> Vec<GuideEntry> {
    let mut entries: Vec<GuideEntry> = Vec::new();
    let mut current: Option<GuideEntry> = None;
    let mut in_sh = false;
    let mut in_fence = false;
    for line in markdown.lines() {
        let fence = line.trim_start().starts_with("```");
        if fence {
            in_fence = !in_fence;
            in_sh = in_fence && line.trim_start().trim_start_matches('`').trim() == "sh";
        }
        let heading = !in_fence && !fence && is_heading(line);
        if heading {
            entries.extend(current.take());
            current = entry_heading(line).map(|(id, title)| GuideEntry {
                id,
                title,
                markdown: String::new(),
                commands: Vec::new(),
            });
            continue;
        }
        let Some(entry) = current.as_mut() else {
            continue;
        };
        entry.markdown.push_str(line);
        entry.markdown.push('\n');
        let command = line.trim();
        if in_sh && !fence && !command.is_empty() && !command.starts_with('#') {
            entry.commands.push(command.to_owned());
        }
    }
    entries.extend(current);
    entries
}

/// `#`, `##`, `###` or `####` and a space.
fn is_heading(line: &str) -> bool {
    let hashes = line.len() - line.trim_start_matches('#').len();
    (1..=4).contains(&hashes) && line[hashes..].starts_with(' ')
}

/// `#### 5.1 Title` → (`5.1`, `Title`).
fn entry_heading(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix("#### ")?;
    let (id, title) = rest.split_once(' ')?;
    let (n, k) = id.split_once('.')?;
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (numeric(n) && numeric(k)).then(|| (id.to_owned(), title.trim().to_owned()))
}

/// The entries of variant `n` (`n.1`, `n.2`, …), in order.
pub fn variant_entries(entries: &[GuideEntry], n: u32) -> Vec<GuideEntry> {
    let prefix = format!("{n}.");
    let mut found: Vec<GuideEntry> = entries
        .iter()
        .filter(|e| e.id.starts_with(&prefix))
        .cloned()
        .collect();
    // The guide groups tasks by theme; the variant lists them by number.
    found.sort_by_key(|e| e.id[prefix.len()..].parse::<u32>().unwrap_or(u32::MAX));
    found.dedup_by(|a, b| a.id == b.id);
    found
}

/// A file one of the student's runs wrote, found for a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The DAG whose run wrote it.
    pub dag_id: String,
    /// Where, relative to the home.
    pub path: String,
    /// What it holds (at most [`OUTPUT_LIMIT`] bytes of it).
    pub text: String,
    /// Bytes left out.
    pub cut: u64,
}

/// A task of the variant with what answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The guide's entry.
    pub entry: GuideEntry,
    /// Files the student's runs wrote that the entry names.
    pub outputs: Vec<Output>,
}

/// The language of the page's own words (the reports inside stay in English).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Russian, the course's language.
    #[default]
    Ru,
    /// English.
    En,
}

struct Words {
    lang: &'static str,
    title: &'static str,
    author: &'static str,
    variant: &'static str,
    date: &'static str,
    contents: &'static str,
    statement: &'static str,
    tasks: &'static str,
    outputs: &'static str,
    no_outputs: &'static str,
    architecture: &'static str,
    dag: &'static str,
    dag_parts: &'static str,
    no_variant: &'static str,
    lines_left: &'static str,
    bytes_left: &'static str,
    too_large: &'static str,
}

const RU: Words = Words {
    lang: "ru",
    title: "Практическая работа 5. Конвейер данных «Ракета»",
    author: "Автор",
    variant: "Вариант",
    date: "Дата",
    contents: "Содержание",
    statement: "Постановка задачи",
    tasks: "Задачи варианта",
    outputs: "Результаты моих запусков",
    no_outputs: "Файлов, которые называет задача, в запусках не найдено: выполните команды выше и сформируйте отчет снова.",
    architecture: "Архитектура решения (Source / Storage / Business)",
    dag: "DAG",
    dag_parts: "код, граф, архитектура DAG, логи, диаграмма Ганта, результаты",
    no_variant: "Вариант не указан (--variant N).",
    lines_left: "строк не показано",
    bytes_left: "не показано",
    too_large: "Рисунок слишком большой для отчета: откройте файл.",
};

const EN: Words = Words {
    lang: "en",
    title: "Practical work 5. The Rocket data pipeline",
    author: "Author",
    variant: "Variant",
    date: "Date",
    contents: "Contents",
    statement: "Task statement",
    tasks: "The variant's tasks",
    outputs: "Outputs of my runs",
    no_outputs: "No file this task names was found in the runs: run the commands above, then make the hand-in again.",
    architecture: "The solution's architecture (Source / Storage / Business)",
    dag: "DAG",
    dag_parts: "code, graph, the DAG in layers, logs, Gantt chart, results",
    no_variant: "No variant given (--variant N).",
    lines_left: "lines not shown",
    bytes_left: "not shown",
    too_large: "The picture is too large for the hand-in: open the file.",
};

/// Everything the hand-in shows.
#[derive(Debug, Clone)]
pub struct Handin {
    /// The student, as given.
    pub author: String,
    /// The variant, when given.
    pub variant: Option<u32>,
    /// The page's language.
    pub lang: Lang,
    /// The task statement (Markdown): the first DAG's description.
    pub statement: String,
    /// The variant's tasks and what answers them.
    pub answers: Vec<Answer>,
    /// The solution's architecture over every DAG (SVG).
    pub architecture_svg: String,
    /// The run report of each DAG used.
    pub reports: Vec<Report>,
    /// When the hand-in was made.
    pub generated_at: DateTime<Utc>,
}

impl Handin {
    /// The page, ready to print (every block open).
    pub fn html(&self) -> String {
        let w = match self.lang {
            Lang::Ru => &RU,
            Lang::En => &EN,
        };
        let mut style = String::new();
        let mut bodies = Vec::new();
        for (i, r) in self.reports.iter().enumerate() {
            let (s, body) = r.print_parts(&format!("d{i}-"));
            if style.is_empty() {
                style = s;
            }
            bodies.push((r.dag_id.clone(), body));
        }
        let mut h = String::with_capacity(64 * 1024);
        h.push_str("<!doctype html>\n<html lang=\"");
        h.push_str(w.lang);
        h.push_str("\">\n<head>\n<meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n<meta name=\"generator\" content=\"rocket-dag\">\n<title>");
        h.push_str(&escape_html(&format!("{} — {}", self.author, w.title)));
        h.push_str("</title>\n<style>\n");
        h.push_str(&style);
        h.push_str(HANDIN_STYLE);
        h.push_str("</style>\n</head>\n<body>\n");
        // Title page.
        h.push_str("<section id=\"title\" class=\"title-page\">\n<h1>");
        h.push_str(&escape_html(w.title));
        h.push_str("</h1>\n<dl>\n");
        let variant = self
            .variant
            .map_or_else(|| "—".to_owned(), |n| n.to_string());
        for (k, v) in [
            (w.author, self.author.clone()),
            (w.variant, variant),
            (w.date, fmt_time(self.generated_at)),
        ] {
            h.push_str(&format!(
                "<dt>{}</dt><dd>{}</dd>\n",
                escape_html(k),
                escape_html(&v)
            ));
        }
        h.push_str("</dl>\n<nav><h2>");
        h.push_str(&escape_html(w.contents));
        h.push_str("</h2>\n<ol>\n");
        let mut toc = vec![
            ("statement".to_owned(), w.statement.to_owned()),
            ("variant".to_owned(), w.tasks.to_owned()),
            ("solution".to_owned(), w.architecture.to_owned()),
        ];
        for (i, (dag, _)) in bodies.iter().enumerate() {
            toc.push((
                format!("dag-{i}"),
                format!("{} {dag}: {}", w.dag, w.dag_parts),
            ));
        }
        for (id, label) in &toc {
            h.push_str(&format!(
                "<li><a href=\"#{id}\">{}</a></li>\n",
                escape_html(label)
            ));
        }
        h.push_str("</ol>\n</nav>\n</section>\n");
        // Statement.
        h.push_str(&format!(
            "<section id=\"statement\">\n<h2>{}</h2>\n{}",
            escape_html(w.statement),
            markdown_to_html(&self.statement)
        ));
        if !self.answers.is_empty() {
            h.push_str("<ol class=\"variant-tasks\">\n");
            for a in &self.answers {
                h.push_str(&format!(
                    "<li>{} {}</li>\n",
                    escape_html(&a.entry.id),
                    escape_html(&a.entry.title)
                ));
            }
            h.push_str("</ol>\n");
        }
        h.push_str("</section>\n");
        // The variant.
        h.push_str(&format!(
            "<section id=\"variant\">\n<h2>{}{}</h2>\n",
            escape_html(w.tasks),
            self.variant
                .map(|n| format!(" ({} {n})", escape_html(w.variant)))
                .unwrap_or_default()
        ));
        if self.variant.is_none() {
            h.push_str(&format!("<p>{}</p>\n", escape_html(w.no_variant)));
        }
        for a in &self.answers {
            self.answer(&mut h, w, a);
        }
        h.push_str("</section>\n");
        // Architecture of the solution.
        h.push_str(&format!(
            "<section id=\"solution\">\n<h2>{}</h2>\n<figure>{}</figure>\n</section>\n",
            escape_html(w.architecture),
            svg_img(&self.architecture_svg)
        ));
        // Each DAG's run report.
        for (i, (dag, body)) in bodies.iter().enumerate() {
            h.push_str(&format!(
                "<section id=\"dag-{i}\" class=\"dag\">\n<h2>{} {}: {}</h2>\n{body}\n</section>\n",
                escape_html(w.dag),
                escape_html(dag),
                escape_html(w.dag_parts)
            ));
        }
        h.push_str("</body>\n</html>\n");
        h
    }

    fn answer(&self, h: &mut String, w: &Words, a: &Answer) {
        let anchor = format!("task-{}", a.entry.id.replace('.', "-"));
        h.push_str(&format!(
            "<article id=\"{anchor}\" class=\"answer\">\n<h3>{} {}</h3>\n{}",
            escape_html(&a.entry.id),
            escape_html(&a.entry.title),
            markdown_to_html(&a.entry.markdown)
        ));
        h.push_str(&format!("<h4>{}</h4>\n", escape_html(w.outputs)));
        if a.outputs.is_empty() {
            h.push_str(&format!(
                "<p class=\"note\">{}</p>\n",
                escape_html(w.no_outputs)
            ));
        }
        for o in &a.outputs {
            h.push_str(&format!(
                "<figure class=\"output\"><figcaption><code>{}</code> ({})</figcaption>\n",
                escape_html(&o.path),
                escape_html(&o.dag_id)
            ));
            h.push_str(&render_output(o, w));
            if o.cut > 0 && !o.path.ends_with(".svg") {
                h.push_str(&format!(
                    "<p class=\"note\">… {} {}</p>\n",
                    human_bytes(o.cut),
                    escape_html(w.bytes_left)
                ));
            }
            h.push_str("</figure>\n");
        }
        h.push_str("</article>\n");
    }
}

/// An output file as the page shows it: Markdown rendered, SVG as a picture, CSV and the rest
/// as text (CSV's first lines).
fn render_output(o: &Output, w: &Words) -> String {
    let ext = o.path.rsplit('.').next().unwrap_or("");
    match ext {
        "md" => markdown_to_html(&o.text),
        // A cut picture would show as a broken one.
        "svg" if o.cut > 0 => format!("<p class=\"note\">{}</p>\n", escape_html(w.too_large)),
        "svg" => svg_img(&o.text),
        "csv" => {
            let lines: Vec<&str> = o.text.lines().collect();
            let shown = lines.len().min(CSV_LINES);
            let mut s = format!("<pre>{}</pre>\n", escape_html(&lines[..shown].join("\n")));
            if lines.len() > shown {
                s.push_str(&format!(
                    "<p class=\"note\">… {} {}</p>\n",
                    lines.len() - shown,
                    escape_html(w.lines_left)
                ));
            }
            s
        }
        _ => {
            let (kept, note) = truncate(&o.text, TEXT_SHOWN);
            let mut s = format!("<pre>{}</pre>\n", escape_html(kept));
            if let Some(note) = note {
                s.push_str(&format!("<p class=\"note\">{}</p>\n", escape_html(&note)));
            }
            s
        }
    }
}

/// An SVG document as an `<img>` with a `data:` URL: a picture, never a script, whatever the
/// file holds.
fn svg_img(svg: &str) -> String {
    let mut url = String::with_capacity(svg.len() + 32);
    url.push_str("data:image/svg+xml,");
    for c in svg.chars() {
        match c {
            '%' => url.push_str("%25"),
            '#' => url.push_str("%23"),
            '"' => url.push_str("%22"),
            '<' => url.push_str("%3C"),
            '>' => url.push_str("%3E"),
            // So that no `url(` appears in the page's markup at all.
            '(' => url.push_str("%28"),
            ')' => url.push_str("%29"),
            '\n' | '\r' | '\t' => url.push(' '),
            c => url.push(c),
        }
    }
    format!("<img class=\"svg\" alt=\"\" src=\"{}\">", escape_html(&url))
}

/// What the hand-in adds to the run report's style sheet.
const HANDIN_STYLE: &str = "
.title-page { break-after: page; }
.title-page h1 { font-size: 1.8rem; margin-top: 20vh; }
.title-page dl { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; }
.title-page dt { color: var(--muted); }
.answer { border-top: 1px solid var(--line); margin-top: 1.2rem; }
.output { margin: .8rem 0; }
.output img.svg, #solution img.svg { max-width: 100%; }
.dag { break-before: page; }
section { break-inside: auto; }
.note { color: var(--muted); }
";

#[cfg(test)]
mod tests {
    use super::*;

    const GUIDE: &str = "# Guide\n\n## Theme\n\n#### 5.1 First task\n\nText naming `downloads.md` and `.rocket-dag/data/x/reports/<run>/history_runs.csv`, `launches_per_month.svg`.\n\n```sh\n# a comment\ncargo run -p dags -- dags test a\n\ncargo run -p dags -- gantt a\n```\n\n```text\nnot a command\n```\n\n#### 5.2 Second\n\n```sh\ncargo run -p dags -- x\n```\n### Other section\n\nnot part of 5.2\n\n#### 15.1 Another variant\n\nbody\n";

    #[test]
    fn entries_commands_and_output_names() {
        let entries = guide_entries(GUIDE);
        let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["5.1", "5.2", "15.1"]);
        assert_eq!(entries[0].title, "First task");
        assert_eq!(
            entries[0].commands,
            [
                "cargo run -p dags -- dags test a",
                "cargo run -p dags -- gantt a"
            ]
        );
        assert!(!entries[1].markdown.contains("not part"));
        assert_eq!(
            entries[0].output_names(),
            ["downloads.md", "history_runs.csv", "launches_per_month.svg"]
        );
        let v5: Vec<String> = variant_entries(&entries, 5)
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(v5, ["5.1", "5.2"]);
        assert!(variant_entries(&entries, 1).is_empty());
    }

    #[test]
    fn an_svg_output_is_a_picture_that_cannot_run() {
        let img = svg_img("<svg><script>alert(1)</script><a href=\"#x\">\"</a></svg>");
        assert!(img.starts_with("<img class=\"svg\" alt=\"\" src=\"data:image/svg+xml,"));
        assert!(!img.contains("<script"), "{img}");
        assert!(!img[5..].contains('<'), "{img}");
    }
}

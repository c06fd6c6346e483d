//! Gantt charts of a run (one bar per attempt) and durations of each task across runs.
//!
//! [`gantt_svg`] draws one row per task instance (`task`, or `task[3]` for element 3 of a
//! mapped task) and one bar per attempt on a common time axis, so retries show as several bars
//! on a row; bars are coloured by state and carry a tooltip (`<title>`) with the attempt's
//! times, duration and error. [`gantt_html`] wraps it in a self-contained page with a table of
//! every attempt.
//!
//! [`durations_svg`] and [`durations_html`] answer "which task should I optimise?": each task's
//! wall time (first start to last end over its instances and attempts) in each of the given
//! runs, oldest first, and in the page a table sorted by median duration.
//!
//! Everything is written into one `String`; a 1,000-instance run renders in a few milliseconds
//! (`cargo bench --bench viz`).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::ops::Range;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use quick_xml::escape::escape;

use crate::Dag;
use crate::store::{NOT_MAPPED, TaskInstanceRecord, TaskStateRecord};

use super::RunHistory;
use super::palette::{
    BACKGROUND, BAR_STROKE, FASTER, FONT, GRID, HIGHLIGHT, HIGHLIGHT_BADGE, MUTED, SERIES, SLOWER,
    STRIPE, TEXT, state_color,
};
use super::svg::{Svg, num, text_width};

const MS: i64 = 1_000;
const SEC: i64 = 1_000_000;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

/// Side margin of every picture.
const PAD: f64 = 16.0;
/// Height of a Gantt row, and of its bars.
const ROW_H: f64 = 20.0;
const BAR_H: f64 = 12.0;
/// Width of the Gantt chart's time axis.
const PLOT_W: f64 = 960.0;
/// Room right of the plot for the last bar's duration label.
const RIGHT_W: f64 = 130.0;
/// Narrowest bar, so that zero-length attempts (skipped, upstream failed) stay visible.
const MIN_BAR_W: f64 = 2.0;
/// Above this many rows the tick labels are repeated under the chart.
const BOTTOM_AXIS_ROWS: usize = 25;

/// Style of both HTML pages (inline: the Content-Security-Policy allows nothing else).
fn css() -> String {
    format!(
        "body{{font-family:{font};color:{TEXT};margin:24px;font-size:14px}}\
         h1{{font-size:20px;margin:0 0 4px}}h2{{font-size:16px;margin:24px 0 8px}}\
         .meta{{color:{MUTED};margin:0 0 16px}}.chart{{overflow-x:auto;border:1px solid {GRID};\
         border-radius:6px}}.chart svg{{display:block}}\
         table{{border-collapse:collapse;font-size:13px}}th,td{{text-align:left;padding:4px 10px;\
         border-bottom:1px solid {GRID};vertical-align:top}}th{{background:{STRIPE}}}\
         td.num,th.num{{text-align:right;font-variant-numeric:tabular-nums}}\
         .state{{display:inline-block;padding:0 6px;border-radius:4px}}\
         tr.top td{{background:{HIGHLIGHT}}}.badge{{background:{HIGHLIGHT_BADGE};color:#fff;\
         border-radius:4px;padding:1px 6px;font-size:12px;margin-left:6px;white-space:nowrap}}\
         details summary{{cursor:pointer}}pre{{margin:4px 0;white-space:pre-wrap;font-size:12px}}\
         .up{{color:{SLOWER}}}.down{{color:{FASTER}}}",
        font = FONT.replace(", ", ","),
    )
}

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/// The Gantt chart of a run as a standalone SVG document.
///
/// One row per task instance (`task`, or `task[i]` for element `i` of a mapped task), in the
/// DAG's topological order when `dag` is given (then by map index), otherwise tasks by their
/// first start (then by map index). One bar per attempt, coloured with
/// [`state_color`], with a tooltip giving the attempt's state, times
/// (UTC), duration and the first line of its error; attempts that never ran (skipped, upstream
/// failed) are thin markers. The row's wall time is written right of its last bar. A time axis
/// with round ticks relative to the run's start, a header (DAG, run, state, duration, start)
/// and a legend of the states present complete it.
pub fn gantt_svg(run: &RunHistory, dag: Option<&Dag>) -> String {
    Gantt::new(run, dag).svg()
}

/// The Gantt chart of a run as a self-contained HTML page: the chart of [`gantt_svg`] and a
/// table of every attempt (instance, attempt, state, start, end, duration, error).
///
/// The page fetches nothing (its Content-Security-Policy forbids it) and needs no script: the
/// tooltips are the SVG's `<title>`s.
pub fn gantt_html(run: &RunHistory, dag: Option<&Dag>) -> String {
    let g = Gantt::new(run, dag);
    let chart = g.svg();
    let r = &run.run;
    let mut out = String::with_capacity(chart.len() * 2 + 4096);
    let title = format!("Gantt: {} · {}", r.dag_id, r.run_id);
    page_start(&mut out, &title);
    out.push_str("<h1>");
    push_esc(&mut out, &title);
    out.push_str("</h1><p class=\"meta\">");
    push_esc(&mut out, &g.summary());
    out.push_str("</p><div class=\"chart\">");
    out.push_str(&chart);
    out.push_str(
        "</div><h2>Attempts</h2><table><thead><tr><th>instance</th>\
        <th class=\"num\">attempt</th><th>state</th><th>start (UTC)</th><th>end (UTC)</th>\
        <th class=\"num\">duration</th><th>error</th></tr></thead><tbody>",
    );
    for row in &g.rows {
        for t in &g.tries[row.tries.clone()] {
            out.push_str("<tr><td>");
            push_esc(&mut out, &row.label);
            let _ = write!(out, "</td><td class=\"num\">{}</td><td>", t.try_number);
            push_state_badge(&mut out, t.state);
            out.push_str("</td><td>");
            put_time(&mut out, t.start, g.day0);
            out.push_str("</td><td>");
            match t.end {
                Some(e) => put_time(&mut out, e, g.day0),
                None => out.push('—'),
            }
            out.push_str("</td><td class=\"num\">");
            put_duration(&mut out, try_duration(t, g.open_end));
            if t.end.is_none() {
                out.push_str(" so far");
            }
            out.push_str("</td><td>");
            if let Some(err) = t.error.as_deref() {
                push_error(&mut out, err);
            }
            out.push_str("</td></tr>");
        }
    }
    out.push_str("</tbody></table>");
    page_end(&mut out);
    out
}

/// Each task's duration across `runs` (any order) as a standalone SVG document.
///
/// A task's duration in a run is its wall time: from the start of its first attempt to the end
/// of its last, over all its instances. Runs are placed oldest (by logical date) on the left;
/// each task is one line with a marker per run (tooltip: run, duration, summed attempt time,
/// tries), and a run in which the task did not run (absent, skipped, upstream failed) is a gap.
pub fn durations_svg(dag_id: &str, runs: &[RunHistory]) -> String {
    Durations::new(runs).svg(dag_id)
}

/// Each task's duration across `runs` as a self-contained HTML page (chart and table).
///
/// The table has one row per task: runs it ran in, median, p90, maximum and last wall time,
/// the last run's trend against the median and the median summed attempt time; it is sorted
/// by median, longest first, and the first row is marked "optimise this first". A second
/// table gives every task's duration in every run.
pub fn durations_html(dag_id: &str, runs: &[RunHistory]) -> String {
    let d = Durations::new(runs);
    let chart = d.svg(dag_id);
    let mut out = String::with_capacity(chart.len() + 8192);
    let title = format!("Task durations: {dag_id}");
    page_start(&mut out, &title);
    out.push_str("<h1>");
    push_esc(&mut out, &title);
    out.push_str("</h1><p class=\"meta\">");
    push_esc(&mut out, &d.summary());
    out.push_str(
        "; a task's duration in a run is its wall time, from its first attempt's start to its \
         last attempt's end over all its instances (runs where it did not run are gaps)</p>\
         <div class=\"chart\">",
    );
    out.push_str(&chart);
    out.push_str("</div><h2>Which task to optimise</h2>");
    if d.tasks.is_empty() {
        out.push_str("<p>No task ran in these runs.</p>");
        page_end(&mut out);
        return out;
    }
    out.push_str(
        "<table class=\"summary\"><thead><tr><th>task</th><th class=\"num\">runs</th>\
         <th class=\"num\">median</th><th class=\"num\">p90</th><th class=\"num\">max</th>\
         <th class=\"num\">last</th><th class=\"num\">last vs median</th>\
         <th class=\"num\">attempt time (median)</th></tr></thead><tbody>",
    );
    for (i, s) in d.tasks.iter().enumerate() {
        let top = i == 0 && s.stats.is_some();
        out.push_str(if top {
            "<tr class=\"top\"><td>"
        } else {
            "<tr><td>"
        });
        push_esc(&mut out, s.task_id);
        if top {
            out.push_str("<span class=\"badge\">optimise this first</span>");
        }
        let _ = write!(
            out,
            "</td><td class=\"num\">{} / {}</td>",
            s.ran(),
            d.runs.len()
        );
        match &s.stats {
            Some(st) => {
                for v in [st.median, st.p90, st.max, st.last] {
                    out.push_str("<td class=\"num\">");
                    put_duration(&mut out, v);
                    out.push_str("</td>");
                }
                out.push_str("<td class=\"num\">");
                push_trend(&mut out, st.last, st.median);
                out.push_str("</td><td class=\"num\">");
                put_duration(&mut out, st.busy_median);
                out.push_str("</td>");
            }
            None => out.push_str(
                "<td class=\"num\" colspan=\"6\">did not run (skipped or upstream failed)</td>",
            ),
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");

    out.push_str(
        "<h2>Every run</h2><details><summary>wall time (summed attempt time, tries) of each \
         task in each run, oldest first</summary><table class=\"runs\"><thead><tr><th>task</th>",
    );
    for h in &d.runs {
        out.push_str("<th class=\"num\">");
        push_esc(&mut out, &d.run_label(h));
        out.push_str("<br>");
        push_esc(&mut out, &h.run.run_id);
        out.push_str("</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for s in &d.tasks {
        out.push_str("<tr><td>");
        push_esc(&mut out, s.task_id);
        out.push_str("</td>");
        for p in &s.points {
            out.push_str("<td class=\"num\">");
            match p {
                Some(p) => {
                    put_duration(&mut out, p.wall);
                    out.push_str(" (");
                    put_duration(&mut out, p.busy);
                    let _ = write!(out, ", {})", p.tries);
                }
                None => out.push('—'),
            }
            out.push_str("</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></details>");
    page_end(&mut out);
    out
}

// ---------------------------------------------------------------------------------------------
// Gantt
// ---------------------------------------------------------------------------------------------

/// One row of the chart: the tries of one task instance.
struct Row<'a> {
    task_id: &'a str,
    map_index: i32,
    label: String,
    /// Its tries in [`Gantt::tries`], in try order.
    tries: Range<usize>,
    first_start: i64,
    last_end: i64,
}

/// A run, prepared for drawing: tries grouped into rows, rows ordered, time bounds.
struct Gantt<'a> {
    history: &'a RunHistory,
    tries: Vec<&'a TaskInstanceRecord>,
    rows: Vec<Row<'a>>,
    /// Start of the time axis (µs since the epoch): the run's start or an earlier try's.
    t0: i64,
    /// Latest instant seen (µs).
    t_end: i64,
    /// Where an attempt without an end stops: the run's end, or the latest instant seen.
    open_end: i64,
    /// Times on this day are written without their date.
    day0: NaiveDate,
}

fn us(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// Start of the earliest try or of the run, latest instant seen, end for unfinished tries.
fn run_bounds(h: &RunHistory) -> (i64, i64, i64) {
    let mut t0 = us(h.run.start);
    let mut latest = t0;
    if let Some(e) = h.run.end {
        latest = latest.max(us(e));
    }
    for t in &h.tries {
        let s = us(t.start);
        t0 = t0.min(s);
        latest = latest.max(s);
        if let Some(e) = t.end {
            latest = latest.max(us(e));
        }
    }
    let open_end = h.run.end.map_or(latest, us);
    (t0, latest, open_end)
}

/// End of a try on the chart: its end, or `open_end` while it has none; never before its start.
fn try_end(t: &TaskInstanceRecord, open_end: i64) -> i64 {
    t.end.map_or(open_end, us).max(us(t.start))
}

/// How long a try ran (µs): its recorded duration, else end − start.
fn try_duration(t: &TaskInstanceRecord, open_end: i64) -> i64 {
    match t.duration {
        Some(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        None => try_end(t, open_end) - us(t.start),
    }
}

fn instance_label(task_id: &str, map_index: i32) -> String {
    if map_index == NOT_MAPPED {
        task_id.to_owned()
    } else {
        format!("{task_id}[{map_index}]")
    }
}

impl<'a> Gantt<'a> {
    fn new(history: &'a RunHistory, dag: Option<&Dag>) -> Gantt<'a> {
        let (t0, t_end, open_end) = run_bounds(history);
        let mut tries: Vec<&TaskInstanceRecord> = history.tries.iter().collect();
        tries.sort_by(|a, b| {
            (a.task_id.as_str(), a.map_index, a.try_number).cmp(&(
                b.task_id.as_str(),
                b.map_index,
                b.try_number,
            ))
        });
        let mut rows = Vec::new();
        let mut i = 0;
        while i < tries.len() {
            let (task_id, map_index) = (tries[i].task_id.as_str(), tries[i].map_index);
            let mut j = i;
            let (mut first_start, mut last_end) = (i64::MAX, i64::MIN);
            while j < tries.len() && tries[j].task_id == task_id && tries[j].map_index == map_index
            {
                first_start = first_start.min(us(tries[j].start));
                last_end = last_end.max(try_end(tries[j], open_end));
                j += 1;
            }
            rows.push(Row {
                task_id,
                map_index,
                label: instance_label(task_id, map_index),
                tries: i..j,
                first_start,
                last_end,
            });
            i = j;
        }

        // Tasks by their first start (within the DAG's order, for tasks it does not have).
        let mut task_start: HashMap<&str, i64> = HashMap::new();
        for r in &rows {
            let e = task_start.entry(r.task_id).or_insert(r.first_start);
            *e = (*e).min(r.first_start);
        }
        let topo: HashMap<&str, usize> = dag
            .map(|d| {
                d.topological_ids()
                    .into_iter()
                    .enumerate()
                    .map(|(i, id)| (id, i))
                    .collect()
            })
            .unwrap_or_default();
        rows.sort_by_cached_key(|r| {
            (
                topo.get(r.task_id).copied().unwrap_or(usize::MAX),
                task_start[r.task_id],
                r.task_id,
                r.map_index,
            )
        });
        Gantt {
            history,
            tries,
            rows,
            t0,
            t_end,
            open_end,
            day0: history.run.start.date_naive(),
        }
    }

    /// "run R · state · 1.24 s · started … UTC · N instances, M attempts".
    fn summary(&self) -> String {
        let r = &self.history.run;
        let mut s = String::with_capacity(160);
        let _ = write!(s, "run {} · {} · ", r.run_id, r.state);
        match r.end {
            Some(e) => put_duration(&mut s, us(e) - us(r.start)),
            None => {
                put_duration(&mut s, self.t_end - us(r.start));
                s.push_str(" so far");
            }
        }
        s.push_str(" · started ");
        let _ = write!(
            s,
            "{:04}-{:02}-{:02} ",
            r.start.year(),
            r.start.month(),
            r.start.day()
        );
        put_clock(&mut s, r.start);
        let _ = write!(
            s,
            " UTC · {} instance{}, {} attempt{}",
            self.rows.len(),
            plural(self.rows.len()),
            self.tries.len(),
            plural(self.tries.len())
        );
        s
    }

    fn svg(&self) -> String {
        let r = &self.history.run;
        let title = format!("Gantt · {}", r.dag_id);
        let summary = self.summary();

        let label_w = self
            .rows
            .iter()
            .map(|r| text_width(&r.label, 12.0))
            .fold(48.0, f64::max)
            + 16.0;
        let plot_x = PAD + label_w;
        let span = (self.t_end - self.t0).max(1);
        let step = tick_step(span, 10);
        let n_ticks = div_ceil(span, step);
        let domain = n_ticks.saturating_mul(step);
        let k = PLOT_W / domain as f64;
        let x_rel = |v: i64| plot_x + v as f64 * k;
        let x_of = |t: i64| x_rel(t - self.t0);

        // States present, in the store's order, for the legend.
        let mut present = [false; 16];
        for t in &self.tries {
            present[state_index(t.state)] = true;
        }
        let states: Vec<TaskStateRecord> = TaskStateRecord::ALL
            .iter()
            .copied()
            .filter(|s| present[state_index(*s)])
            .collect();
        let legend_w: f64 = states
            .iter()
            .map(|s| 22.0 + text_width(s.as_str(), 12.0) + 14.0)
            .sum();

        let axis_y = 100.0;
        let top = axis_y + 6.0;
        let bottom = top + self.rows.len() as f64 * ROW_H;
        let bottom_axis = self.rows.len() > BOTTOM_AXIS_ROWS;
        let height = bottom + if bottom_axis { 22.0 } else { 0.0 } + PAD;
        let width = (plot_x + PLOT_W + RIGHT_W)
            .max(PAD * 2.0 + text_width(&title, 16.0))
            .max(PAD * 2.0 + text_width(&summary, 12.0))
            .max(PAD * 2.0 + legend_w)
            .ceil();

        let mut s = Svg::new(width, height);
        let (mut a, mut b, mut c, mut d) = (
            String::with_capacity(16),
            String::with_capacity(16),
            String::with_capacity(16),
            String::with_capacity(16),
        );
        let mut tip = String::with_capacity(256);

        header(&mut s, &title, &summary);

        // Legend.
        s.open("g", &[("class", "legend")]);
        let mut x = PAD;
        for st in &states {
            put_num(&mut a, x);
            s.empty(
                "rect",
                &[
                    ("class", "swatch"),
                    ("x", &a),
                    ("y", "58"),
                    ("width", "14"),
                    ("height", "12"),
                    ("rx", "2"),
                    ("fill", state_color(*st)),
                ],
            );
            put_num(&mut a, x + 20.0);
            s.text(
                "text",
                &[("x", &a), ("y", "68"), ("fill", TEXT)],
                st.as_str(),
            );
            x += 22.0 + text_width(st.as_str(), 12.0) + 14.0;
        }
        s.close();

        if self.rows.is_empty() {
            put_num(&mut a, plot_x);
            put_num(&mut b, top + 14.0);
            s.text(
                "text",
                &[("x", &a), ("y", &b), ("fill", MUTED)],
                "no task instance recorded",
            );
        }

        // Row stripes.
        s.open("g", &[("class", "stripes"), ("fill", STRIPE)]);
        put_num(&mut a, PAD / 2.0);
        put_num(&mut c, width - PAD);
        put_num(&mut d, ROW_H);
        for i in (1..self.rows.len()).step_by(2) {
            put_num(&mut b, top + i as f64 * ROW_H);
            s.empty(
                "rect",
                &[
                    ("class", "stripe"),
                    ("x", &a),
                    ("y", &b),
                    ("width", &c),
                    ("height", &d),
                ],
            );
        }
        s.close();

        // Grid and tick labels.
        s.open(
            "g",
            &[("class", "grid"), ("stroke", GRID), ("stroke-width", "1")],
        );
        put_num(&mut b, axis_y);
        put_num(&mut c, bottom.max(top + 4.0));
        for i in 0..=n_ticks {
            put_num(&mut a, x_rel(i.saturating_mul(step)));
            s.empty("line", &[("x1", &a), ("x2", &a), ("y1", &b), ("y2", &c)]);
        }
        s.close();
        s.open(
            "g",
            &[
                ("class", "axis"),
                ("fill", MUTED),
                ("font-size", "11"),
                ("text-anchor", "middle"),
            ],
        );
        for i in 0..=n_ticks {
            let v = i.saturating_mul(step);
            let label = tick_label(v, step, true);
            put_num(&mut a, x_rel(v));
            s.text("text", &[("class", "tick"), ("x", &a), ("y", "92")], &label);
            if bottom_axis {
                put_num(&mut b, bottom + 16.0);
                s.text(
                    "text",
                    &[("class", "tick-bottom"), ("x", &a), ("y", &b)],
                    &label,
                );
            }
        }
        s.close();
        axis_line(&mut s, plot_x, plot_x + PLOT_W, axis_y);

        // Rows: label, one bar per attempt, duration.
        s.open("g", &[("class", "rows")]);
        let bar_h = BAR_H.to_string();
        for (i, row) in self.rows.iter().enumerate() {
            let y = top + i as f64 * ROW_H;
            put_num(&mut a, PAD);
            put_num(&mut b, y + ROW_H / 2.0 + 4.0);
            s.text(
                "text",
                &[("class", "label"), ("x", &a), ("y", &b), ("fill", TEXT)],
                &row.label,
            );
            put_num(&mut b, y + (ROW_H - BAR_H) / 2.0);
            let mut right = plot_x;
            let mut ran = false;
            for t in &self.tries[row.tries.clone()] {
                let x0 = x_of(us(t.start));
                let x1 = x_of(try_end(t, self.open_end)).max(x0 + MIN_BAR_W);
                right = right.max(x1);
                ran |= !never_ran(t.state);
                put_num(&mut a, x0);
                put_num(&mut c, x1 - x0);
                s.open(
                    "rect",
                    &[
                        ("class", "attempt"),
                        ("data-state", t.state.as_str()),
                        ("x", &a),
                        ("y", &b),
                        ("width", &c),
                        ("height", &bar_h),
                        ("rx", "2"),
                        ("fill", state_color(t.state)),
                        ("stroke", BAR_STROKE),
                        ("stroke-opacity", "0.35"),
                        ("stroke-width", "0.5"),
                    ],
                );
                tip.clear();
                self.attempt_tooltip(&mut tip, &row.label, t);
                s.title(&tip);
                s.close();
            }
            // The row's wall time (or why it never ran), right of its last bar.
            tip.clear();
            let n = row.tries.len();
            if ran {
                put_duration(&mut tip, row.last_end - row.first_start);
            } else {
                let last = self.tries[row.tries.end - 1].state;
                tip.push_str(last.as_str());
            }
            if n > 1 {
                let _ = write!(tip, " · {n} tries");
            }
            put_num(&mut a, right + 4.0);
            put_num(&mut b, y + ROW_H / 2.0 + 4.0);
            s.text(
                "text",
                &[
                    ("class", "duration"),
                    ("x", &a),
                    ("y", &b),
                    ("font-size", "11"),
                    ("fill", MUTED),
                ],
                &tip,
            );
        }
        s.close();
        s.finish()
    }

    /// Tooltip of one attempt: label, attempt, state; start → end, duration; error's first line.
    fn attempt_tooltip(&self, out: &mut String, label: &str, t: &TaskInstanceRecord) {
        let _ = writeln!(
            out,
            "{label} · attempt {} · {}",
            t.try_number,
            t.state.as_str()
        );
        put_time(out, t.start, self.day0);
        out.push_str(" → ");
        match t.end {
            Some(e) => {
                put_time(out, e, self.day0);
                out.push_str(" UTC · ");
                put_duration(out, try_duration(t, self.open_end));
            }
            None => {
                out.push_str("… UTC · ");
                put_duration(out, try_duration(t, self.open_end));
                out.push_str(" so far");
            }
        }
        if let Some(line) = t
            .error
            .as_deref()
            .and_then(|e| e.lines().find(|l| !l.trim().is_empty()))
        {
            out.push('\n');
            out.push_str(line.trim());
        }
    }
}

/// Whether a try was decided without running (its bar is a marker).
fn never_ran(s: TaskStateRecord) -> bool {
    matches!(
        s,
        TaskStateRecord::Skipped
            | TaskStateRecord::UpstreamFailed
            | TaskStateRecord::NoStatus
            | TaskStateRecord::Queued
    )
}

fn state_index(s: TaskStateRecord) -> usize {
    TaskStateRecord::ALL
        .iter()
        .position(|x| *x == s)
        .unwrap_or(0)
        .min(15)
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

// ---------------------------------------------------------------------------------------------
// Durations across runs
// ---------------------------------------------------------------------------------------------

/// A task in one run.
#[derive(Debug, Clone, Copy)]
struct Point {
    /// First start to last end (µs).
    wall: i64,
    /// Summed attempt time (µs).
    busy: i64,
    tries: usize,
}

/// Figures of a task over the runs it ran in (µs).
#[derive(Debug, Clone, Copy)]
struct Stats {
    median: i64,
    p90: i64,
    max: i64,
    last: i64,
    busy_median: i64,
}

struct Series<'a> {
    task_id: &'a str,
    /// Per run (in [`Durations::runs`] order); `None` where the task did not run.
    points: Vec<Option<Point>>,
    /// `None` when it ran in none of the runs.
    stats: Option<Stats>,
}

impl Series<'_> {
    fn ran(&self) -> usize {
        self.points.iter().flatten().count()
    }
}

struct Durations<'a> {
    /// Oldest (logical date) first.
    runs: Vec<&'a RunHistory>,
    /// Longest median first; tasks that never ran last.
    tasks: Vec<Series<'a>>,
    /// Whether every logical date is at midnight (runs are labelled by date only).
    dates_only: bool,
}

/// Median of sorted values (mean of the middle two for an even count).
fn median_sorted(v: &[i64]) -> i64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    }
}

/// Nearest-rank percentile of sorted values.
fn percentile_sorted(v: &[i64], p: f64) -> i64 {
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

impl<'a> Durations<'a> {
    fn new(runs: &'a [RunHistory]) -> Durations<'a> {
        let mut runs: Vec<&RunHistory> = runs.iter().collect();
        runs.sort_by(|a, b| {
            (a.run.logical_date, a.run.start, &a.run.run_id).cmp(&(
                b.run.logical_date,
                b.run.start,
                &b.run.run_id,
            ))
        });
        let n = runs.len();

        #[derive(Default)]
        struct Acc {
            first: i64,
            last: i64,
            busy: i64,
            tries: usize,
            ran: bool,
        }
        let mut by_task: BTreeMap<&str, Vec<Option<Point>>> = BTreeMap::new();
        for (ri, h) in runs.iter().enumerate() {
            let (_, _, open_end) = run_bounds(h);
            let mut acc: HashMap<&str, Acc> = HashMap::new();
            for t in &h.tries {
                let e = acc.entry(t.task_id.as_str()).or_insert(Acc {
                    first: i64::MAX,
                    last: i64::MIN,
                    ..Acc::default()
                });
                e.tries += 1;
                if never_ran(t.state) {
                    continue;
                }
                e.ran = true;
                e.first = e.first.min(us(t.start));
                e.last = e.last.max(try_end(t, open_end));
                e.busy += try_duration(t, open_end);
            }
            for (task, a) in acc {
                let pts = by_task.entry(task).or_insert_with(|| vec![None; n]);
                if a.ran {
                    pts[ri] = Some(Point {
                        wall: a.last - a.first,
                        busy: a.busy,
                        tries: a.tries,
                    });
                }
            }
        }

        let mut tasks: Vec<Series> = by_task
            .into_iter()
            .map(|(task_id, points)| {
                let mut walls: Vec<i64> = points.iter().flatten().map(|p| p.wall).collect();
                let mut busy: Vec<i64> = points.iter().flatten().map(|p| p.busy).collect();
                let last = walls.last().copied();
                walls.sort_unstable();
                busy.sort_unstable();
                let stats = last.map(|last| Stats {
                    median: median_sorted(&walls),
                    p90: percentile_sorted(&walls, 90.0),
                    max: walls[walls.len() - 1],
                    last,
                    busy_median: median_sorted(&busy),
                });
                Series {
                    task_id,
                    points,
                    stats,
                }
            })
            .collect();
        tasks.sort_by(|a, b| {
            let key = |s: &Series| s.stats.map_or(-1, |st| st.median);
            key(b).cmp(&key(a)).then(a.task_id.cmp(b.task_id))
        });
        let dates_only = runs.iter().all(|h| {
            let t = h.run.logical_date;
            t.hour() == 0 && t.minute() == 0 && t.second() == 0 && t.nanosecond() == 0
        });
        Durations {
            runs,
            tasks,
            dates_only,
        }
    }

    fn run_label(&self, h: &RunHistory) -> String {
        let t = h.run.logical_date;
        if self.dates_only {
            format!("{:04}-{:02}-{:02}", t.year(), t.month(), t.day())
        } else {
            format!(
                "{:02}-{:02} {:02}:{:02}",
                t.month(),
                t.day(),
                t.hour(),
                t.minute()
            )
        }
    }

    /// "last 3 runs, 2024-01-01 → 2024-01-03".
    fn summary(&self) -> String {
        match (self.runs.first(), self.runs.last()) {
            (Some(first), Some(last)) => format!(
                "last {} run{}, {} → {} · wall time of each task",
                self.runs.len(),
                plural(self.runs.len()),
                self.run_label(first),
                self.run_label(last)
            ),
            _ => "no runs recorded".to_owned(),
        }
    }

    fn svg(&self, dag_id: &str) -> String {
        let title = format!("Task durations · {dag_id}");
        let summary = self.summary();
        let charted: Vec<&Series> = self.tasks.iter().filter(|s| s.stats.is_some()).collect();
        let n = self.runs.len();

        let max = charted
            .iter()
            .filter_map(|s| s.stats.map(|st| st.max))
            .max()
            .unwrap_or(0)
            .max(1);
        let step = tick_step(max, 6);
        let n_ticks = div_ceil(max, step);
        let domain = n_ticks.saturating_mul(step);
        let y_labels: Vec<(i64, String)> = (0..=n_ticks)
            .map(|i| i.saturating_mul(step))
            .map(|v| (v, tick_label(v, step, false)))
            .collect();
        let axis_w = y_labels
            .iter()
            .map(|(_, l)| text_width(l, 11.0))
            .fold(0.0, f64::max)
            + 12.0;
        let plot_x = PAD + axis_w;
        let plot_w = (n as f64 * 56.0).clamp(360.0, 960.0);
        let plot_top = 70.0;
        let plot_h = 300.0;
        let plot_bottom = plot_top + plot_h;
        let legend_x = plot_x + plot_w + 24.0;
        let legend_labels: Vec<String> = charted
            .iter()
            .map(|s| {
                let mut l = String::with_capacity(s.task_id.len() + 24);
                l.push_str(s.task_id);
                l.push_str(" (median ");
                put_duration(&mut l, s.stats.map_or(0, |st| st.median));
                l.push(')');
                l
            })
            .collect();
        let legend_w = legend_labels
            .iter()
            .map(|l| 30.0 + text_width(l, 12.0))
            .fold(0.0, f64::max);
        let width = (legend_x + legend_w + PAD)
            .max(PAD * 2.0 + text_width(&title, 16.0))
            .max(PAD * 2.0 + text_width(&summary, 12.0))
            .ceil();
        let height = f64::max(
            plot_bottom + 44.0,
            plot_top + charted.len() as f64 * 20.0 + PAD,
        );

        let x_of = |i: usize| {
            if n <= 1 {
                plot_x + plot_w / 2.0
            } else {
                plot_x + 16.0 + i as f64 * (plot_w - 32.0) / (n - 1) as f64
            }
        };
        let y_of = |v: i64| plot_bottom - v as f64 / domain as f64 * plot_h;

        let mut s = Svg::new(width, height);
        let (mut a, mut b, mut c, mut d) =
            (String::new(), String::new(), String::new(), String::new());
        header(&mut s, &title, &summary);

        // Y grid and labels.
        s.open("g", &[("class", "grid"), ("stroke", GRID)]);
        put_num(&mut a, plot_x);
        put_num(&mut b, plot_x + plot_w);
        for (v, _) in &y_labels {
            put_num(&mut c, y_of(*v));
            s.empty("line", &[("x1", &a), ("x2", &b), ("y1", &c), ("y2", &c)]);
        }
        s.close();
        s.open(
            "g",
            &[
                ("class", "axis"),
                ("fill", MUTED),
                ("font-size", "11"),
                ("text-anchor", "end"),
            ],
        );
        put_num(&mut a, plot_x - 6.0);
        for (v, label) in &y_labels {
            put_num(&mut c, y_of(*v) + 4.0);
            s.text("text", &[("class", "tick"), ("x", &a), ("y", &c)], label);
        }
        s.close();

        // X labels: one per run, thinned so they do not overlap.
        let run_labels: Vec<String> = self.runs.iter().map(|h| self.run_label(h)).collect();
        let label_w = run_labels
            .iter()
            .map(|l| text_width(l, 11.0))
            .fold(0.0, f64::max)
            + 12.0;
        let dx = if n <= 1 {
            plot_w
        } else {
            (plot_w - 32.0) / (n - 1) as f64
        };
        let every = ((label_w / dx).ceil() as usize).max(1);
        s.open(
            "g",
            &[
                ("class", "runs"),
                ("fill", MUTED),
                ("font-size", "11"),
                ("text-anchor", "middle"),
            ],
        );
        put_num(&mut c, plot_bottom + 16.0);
        for (i, h) in self.runs.iter().enumerate() {
            if i % every != 0 {
                continue;
            }
            put_num(&mut a, x_of(i));
            s.open("text", &[("class", "run"), ("x", &a), ("y", &c)]);
            s.title(&h.run.run_id);
            s.text("tspan", &[], &run_labels[i]);
            s.close();
        }
        s.close();
        axis_line(&mut s, plot_x, plot_x + plot_w, plot_bottom);

        if charted.is_empty() {
            put_num(&mut a, plot_x + 12.0);
            put_num(&mut b, plot_top + 20.0);
            s.text(
                "text",
                &[("x", &a), ("y", &b), ("fill", MUTED)],
                if n == 0 {
                    "no runs recorded"
                } else {
                    "no task ran in these runs"
                },
            );
        }

        // One line per task (a gap where it did not run), a marker per run.
        let mut path = String::with_capacity(64 * n.max(1));
        let mut tip = String::with_capacity(160);
        for (ti, series) in charted.iter().enumerate() {
            let color = SERIES[ti % SERIES.len()];
            let dashed = ti >= SERIES.len();
            s.open("g", &[("class", "task"), ("data-task", series.task_id)]);
            path.clear();
            let mut pen_down = false;
            for (i, p) in series.points.iter().enumerate() {
                match p {
                    Some(p) => {
                        path.push(if pen_down { 'L' } else { 'M' });
                        put_num_append(&mut path, x_of(i));
                        path.push(' ');
                        put_num_append(&mut path, y_of(p.wall));
                        path.push(' ');
                        pen_down = true;
                    }
                    None => pen_down = false,
                }
            }
            let mut attrs = vec![
                ("class", "series"),
                ("d", path.trim_end()),
                ("fill", "none"),
                ("stroke", color),
                ("stroke-width", "2"),
                ("stroke-linejoin", "round"),
            ];
            if dashed {
                attrs.push(("stroke-dasharray", "6 3"));
            }
            s.open("path", &attrs);
            s.title(series.task_id);
            s.close();
            for (i, p) in series.points.iter().enumerate() {
                let Some(p) = p else { continue };
                let h = self.runs[i];
                put_num(&mut a, x_of(i));
                put_num(&mut b, y_of(p.wall));
                s.open(
                    "circle",
                    &[
                        ("class", "point"),
                        ("cx", &a),
                        ("cy", &b),
                        ("r", "3.5"),
                        ("fill", color),
                        ("stroke", BACKGROUND),
                    ],
                );
                tip.clear();
                let _ = write!(
                    tip,
                    "{} · {} ({})\nwall ",
                    series.task_id, h.run.run_id, run_labels[i]
                );
                put_duration(&mut tip, p.wall);
                tip.push_str(" · attempts ");
                put_duration(&mut tip, p.busy);
                let _ = write!(
                    tip,
                    " · {} tr{}",
                    p.tries,
                    if p.tries == 1 { "y" } else { "ies" }
                );
                s.title(&tip);
                s.close();
            }
            s.close();
        }

        // Legend, longest median first.
        s.open("g", &[("class", "legend")]);
        for (ti, label) in legend_labels.iter().enumerate() {
            let color = SERIES[ti % SERIES.len()];
            let y = plot_top + ti as f64 * 20.0;
            put_num(&mut a, legend_x);
            put_num(&mut b, legend_x + 22.0);
            put_num(&mut c, y + 6.0);
            let mut attrs = vec![
                ("class", "swatch"),
                ("x1", a.as_str()),
                ("x2", b.as_str()),
                ("y1", c.as_str()),
                ("y2", c.as_str()),
                ("stroke", color),
                ("stroke-width", "3"),
            ];
            if ti >= SERIES.len() {
                attrs.push(("stroke-dasharray", "6 3"));
            }
            s.empty("line", &attrs);
            put_num(&mut d, legend_x + 28.0);
            put_num(&mut c, y + 10.0);
            s.text(
                "text",
                &[("class", "entry"), ("x", &d), ("y", &c), ("fill", TEXT)],
                label,
            );
        }
        s.close();
        s.finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Ticks and formatting
// ---------------------------------------------------------------------------------------------

/// Tick steps (µs) from 10 s to 2 days: round for clocks, not decimal.
const FIXED_STEPS: [i64; 16] = [
    10 * SEC,
    15 * SEC,
    30 * SEC,
    MIN,
    2 * MIN,
    5 * MIN,
    10 * MIN,
    15 * MIN,
    30 * MIN,
    HOUR,
    2 * HOUR,
    3 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
];

/// The tick step (µs) for an axis spanning `span` µs with at most `max_ticks` intervals:
/// the smallest of 1, 2, 5 × 10ᵏ µs (up to 5 s), then 10 s, 15 s, 30 s, 1, 2, 5, 10, 15,
/// 30 min, 1, 2, 3, 6, 12 h, then 1, 2, 5 × 10ᵏ days.
fn tick_step(span: i64, max_ticks: usize) -> i64 {
    let span = span.max(1);
    let max_ticks = i64::try_from(max_ticks.max(1)).unwrap_or(i64::MAX);
    let fits = |step: i64| div_ceil(span, step) <= max_ticks;
    let mut decade = 1;
    while decade < 10 * SEC {
        for m in [1, 2, 5] {
            if fits(m * decade) {
                return m * decade;
            }
        }
        decade *= 10;
    }
    if let Some(step) = FIXED_STEPS.into_iter().find(|s| fits(*s)) {
        return step;
    }
    let mut decade = DAY;
    loop {
        for m in [5, 10, 20] {
            match decade.checked_mul(m) {
                Some(step) if fits(step) => return step,
                Some(_) => {}
                None => return span,
            }
        }
        decade = match decade.checked_mul(10) {
            Some(d) => d,
            None => return span,
        };
    }
}

/// `a / b` rounded up, for `a >= 0` and `b > 0`.
fn div_ceil(a: i64, b: i64) -> i64 {
    a / b + i64::from(a % b != 0)
}

/// A tick at `v` µs on an axis stepping by `step`, in the step's unit: `+500 ms`, `+1.5 s`,
/// `+1m 30s`, `+2h 30m`; with `plus` false, without the sign (a duration axis).
fn tick_label(v: i64, step: i64, plus: bool) -> String {
    let mut s = String::with_capacity(12);
    if plus {
        s.push('+');
    }
    let _ = if v == 0 {
        write!(s, "0 {}", if step < MS { "µs" } else { "s" })
    } else if step < MS {
        write!(s, "{v} µs")
    } else if step < SEC {
        if v % SEC == 0 {
            write!(s, "{} s", v / SEC)
        } else if v < SEC {
            write!(s, "{} ms", v / MS)
        } else {
            write!(s, "{} s", v as f64 / SEC as f64)
        }
    } else if step < MIN {
        if v < MIN {
            write!(s, "{} s", v / SEC)
        } else {
            write!(s, "{}m {:02}s", v / MIN, v % MIN / SEC)
        }
    } else if step < HOUR {
        if v < HOUR {
            write!(s, "{} min", v / MIN)
        } else {
            write!(s, "{}h {:02}m", v / HOUR, v % HOUR / MIN)
        }
    } else if step < DAY {
        if v < DAY {
            write!(s, "{} h", v / HOUR)
        } else {
            write!(s, "{}d {:02}h", v / DAY, v % DAY / HOUR)
        }
    } else {
        write!(s, "{} d", v / DAY)
    };
    s
}

/// [`put_duration`] into a new `String`.
#[cfg(test)]
fn fmt_duration(us: i64) -> String {
    let mut s = String::with_capacity(10);
    put_duration(&mut s, us);
    s
}

/// Writes a duration (µs) as people read it: `850 µs`, `4.2 ms`, `230 ms`, `1.24 s`, `12.3 s`,
/// `2m 05s`, `1h 05m`, `2d 03h`.
fn put_duration(out: &mut String, us: i64) {
    let us = us.max(0);
    let _ = if us == 0 {
        write!(out, "0 ms")
    } else if us < MS {
        write!(out, "{us} µs")
    } else if us < 9_950 {
        write!(out, "{:.1} ms", us as f64 / MS as f64)
    } else if us < 999_500 {
        write!(out, "{} ms", (us + MS / 2) / MS)
    } else if us < 9_995_000 {
        write!(out, "{:.2} s", us as f64 / SEC as f64)
    } else if us < 59_950_000 {
        write!(out, "{:.1} s", us as f64 / SEC as f64)
    } else if us < HOUR - SEC / 2 {
        let secs = (us + SEC / 2) / SEC;
        write!(out, "{}m {:02}s", secs / 60, secs % 60)
    } else if us < DAY - MIN / 2 {
        let mins = (us + MIN / 2) / MIN;
        write!(out, "{}h {:02}m", mins / 60, mins % 60)
    } else {
        let hours = (us + HOUR / 2) / HOUR;
        write!(out, "{}d {:02}h", hours / 24, hours % 24)
    };
}

/// `HH:MM:SS.mmm` (UTC), prefixed by the date when it is not `day0`.
fn put_time(out: &mut String, t: DateTime<Utc>, day0: NaiveDate) {
    if t.date_naive() != day0 {
        let _ = write!(out, "{:04}-{:02}-{:02} ", t.year(), t.month(), t.day());
    }
    put_clock(out, t);
}

/// `HH:MM:SS.mmm` (UTC).
fn put_clock(out: &mut String, t: DateTime<Utc>) {
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}.{:03}",
        t.hour(),
        t.minute(),
        t.second(),
        (t.nanosecond() / 1_000_000).min(999)
    );
}

/// `v` as [`svg::num`](super::svg::num) writes it, into a reused buffer.
fn put_num(buf: &mut String, v: f64) {
    buf.clear();
    put_num_append(buf, v);
}

fn put_num_append(buf: &mut String, v: f64) {
    let r = (v * 100.0).round() / 100.0;
    let _ = if r == r.trunc() {
        write!(buf, "{}", r as i64)
    } else {
        write!(buf, "{r}")
    };
}

// ---------------------------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------------------------

fn push_esc(out: &mut String, text: &str) {
    out.push_str(&escape(text));
}

fn page_start(out: &mut String, title: &str) {
    out.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    let _ = write!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>");
    push_esc(out, title);
    out.push_str("</title><style>");
    out.push_str(&css());
    out.push_str("</style></head><body>\n");
}

fn page_end(out: &mut String) {
    out.push_str("\n</body></html>\n");
}

fn push_state_badge(out: &mut String, state: TaskStateRecord) {
    let _ = write!(
        out,
        "<span class=\"state\" style=\"background:{}\">{}</span>",
        state_color(state),
        state.as_str()
    );
}

/// An error: its first line, and the rest behind a `<details>` when there is more.
fn push_error(out: &mut String, err: &str) {
    let err = err.trim();
    match err.split_once('\n') {
        None => push_esc(out, err),
        Some((first, _)) => {
            out.push_str("<details><summary>");
            push_esc(out, first.trim());
            out.push_str("</summary><pre>");
            push_esc(out, err);
            out.push_str("</pre></details>");
        }
    }
}

/// `last` against `median`: `+12 %` (slower, red) or `−5 %` (faster, green).
fn push_trend(out: &mut String, last: i64, median: i64) {
    if median <= 0 {
        out.push('—');
        return;
    }
    let pct = ((last - median) as f64 / median as f64 * 100.0).round() as i64;
    let _ = match pct.cmp(&0) {
        std::cmp::Ordering::Greater => write!(out, "<span class=\"up\">+{pct} %</span>"),
        std::cmp::Ordering::Less => write!(out, "<span class=\"down\">−{} %</span>", -pct),
        std::cmp::Ordering::Equal => write!(out, "0 %"),
    };
}

/// A horizontal axis line from `x1` to `x2` at `y`.
fn axis_line(s: &mut Svg, x1: f64, x2: f64, y: f64) {
    let y = num(y);
    s.empty(
        "line",
        &[
            ("class", "axis-line"),
            ("x1", &num(x1)),
            ("x2", &num(x2)),
            ("y1", &y),
            ("y2", &y),
            ("stroke", MUTED),
        ],
    );
}

/// The white background, the title and the line under it, as both charts start.
fn header(s: &mut Svg, title: &str, summary: &str) {
    s.empty(
        "rect",
        &[
            ("class", "background"),
            ("width", "100%"),
            ("height", "100%"),
            ("fill", BACKGROUND),
        ],
    );
    let x = num(PAD);
    s.text(
        "text",
        &[
            ("class", "title"),
            ("x", &x),
            ("y", "26"),
            ("font-size", "16"),
            ("font-weight", "600"),
            ("fill", TEXT),
        ],
        title,
    );
    s.text(
        "text",
        &[
            ("class", "summary"),
            ("x", &x),
            ("y", "46"),
            ("fill", MUTED),
        ],
        summary,
    );
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::{DateTime, TimeDelta, TimeZone, Utc};
    use futures::future::BoxFuture;
    use quick_xml::Reader;
    use quick_xml::escape::resolve_predefined_entity;
    use quick_xml::events::Event;

    use super::*;
    use crate::store::{DagRunRecord, RunStateRecord, RunType};
    use crate::task::{Task, TaskSpec, XCom};
    use crate::{DagBuilder, TaskContext, TaskError};

    // ---- fixtures ----------------------------------------------------------------------------

    fn base() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap()
    }

    fn at(day: i64, ms: i64) -> DateTime<Utc> {
        base() + TimeDelta::days(day) + TimeDelta::milliseconds(ms)
    }

    fn run_record(run_id: &str, day: i64, end_ms: Option<i64>) -> DagRunRecord {
        DagRunRecord {
            dag_id: "demo".into(),
            run_id: run_id.into(),
            run_type: RunType::Manual,
            logical_date: at(day, 0),
            data_interval_start: at(day, 0),
            data_interval_end: at(day + 1, 0),
            state: RunStateRecord::Failed,
            start: at(day, 0),
            end: end_ms.map(|e| at(day, e)),
            conf: serde_json::Value::Null,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn ti(
        run_id: &str,
        day: i64,
        task: &str,
        map_index: i32,
        try_number: u32,
        state: TaskStateRecord,
        start_ms: i64,
        end_ms: Option<i64>,
        error: Option<&str>,
    ) -> TaskInstanceRecord {
        let start = at(day, start_ms);
        let end = end_ms.map(|e| at(day, e));
        TaskInstanceRecord {
            dag_id: "demo".into(),
            run_id: run_id.into(),
            task_id: task.into(),
            map_index,
            try_number,
            state,
            start,
            end,
            duration: end.map(|e| (e - start).to_std().unwrap()),
            hostname: "host".into(),
            pid: None,
            log_path: None,
            error: error.map(str::to_owned),
        }
    }

    const ERROR: &str = "HTTP 503 <Service Unavailable>\ncaused by: connection reset";

    /// extract fails then succeeds; transform is mapped over 3 elements; load fails; notify is
    /// skipped and report upstream failed. Tries are given in reverse.
    fn demo_run() -> RunHistory {
        use TaskStateRecord as S;
        let r = "manual__2024-01-01";
        let mut tries = vec![
            ti(
                r,
                0,
                "extract",
                -1,
                1,
                S::Failed,
                0,
                Some(1_000),
                Some(ERROR),
            ),
            ti(r, 0, "extract", -1, 2, S::Success, 3_000, Some(4_240), None),
        ];
        for i in 0..3 {
            let s = 4_300 + i * 100;
            tries.push(ti(
                r,
                0,
                "transform",
                i as i32,
                1,
                S::Success,
                s,
                Some(s + 700),
                None,
            ));
        }
        tries.push(ti(
            r,
            0,
            "load",
            -1,
            1,
            S::Failed,
            5_400,
            Some(6_000),
            Some("boom & bust"),
        ));
        tries.push(ti(
            r,
            0,
            "notify",
            -1,
            1,
            S::Skipped,
            6_000,
            Some(6_000),
            None,
        ));
        tries.push(ti(
            r,
            0,
            "report",
            -1,
            1,
            S::UpstreamFailed,
            6_000,
            Some(6_000),
            None,
        ));
        tries.reverse();
        RunHistory {
            run: run_record(r, 0, Some(6_100)),
            tries,
        }
    }

    struct Noop;

    impl Task for Noop {
        type Output = ();
        const ID: &'static str = "noop";
        fn spec() -> TaskSpec {
            TaskSpec::new("noop")
        }
        fn call<'a>(_: &'a TaskContext, _: &'a [XCom]) -> BoxFuture<'a, Result<(), TaskError>> {
            Box::pin(async { Ok(()) })
        }
    }

    /// notify depends on extract only, so the DAG puts it before load.
    fn demo_dag() -> Dag {
        let mut b = DagBuilder::new("demo");
        let extract = b.add_with_id::<Noop>("extract");
        let transform = b.add_with_id::<Noop>("transform");
        let notify = b.add_with_id::<Noop>("notify");
        let load = b.add_with_id::<Noop>("load");
        let report = b.add_with_id::<Noop>("report");
        b.edge(extract, transform);
        b.edge(extract, notify);
        b.edge(transform, load);
        b.edge(load, report);
        b.build().unwrap()
    }

    // ---- a small XML reader ------------------------------------------------------------------

    #[derive(Debug)]
    struct El {
        name: String,
        attrs: HashMap<String, String>,
        text: String,
        parent: Option<usize>,
    }

    impl El {
        fn attr(&self, k: &str) -> &str {
            self.attrs
                .get(k)
                .unwrap_or_else(|| panic!("no {k} on {self:?}"))
        }
        fn num(&self, k: &str) -> f64 {
            self.attr(k).parse().unwrap()
        }
        fn class(&self) -> &str {
            self.attrs.get("class").map_or("", String::as_str)
        }
    }

    /// Every element in document order; panics unless `xml` is well-formed.
    fn parse(xml: &str) -> Vec<El> {
        let mut reader = Reader::from_str(xml);
        let mut els: Vec<El> = Vec::new();
        let mut stack: Vec<usize> = Vec::new();
        let mut roots = 0;
        loop {
            let ev = reader
                .read_event()
                .unwrap_or_else(|e| panic!("not well-formed: {e}"));
            let (start, open) = match &ev {
                Event::Start(e) => (Some(e.clone()), true),
                Event::Empty(e) => (Some(e.clone()), false),
                Event::End(_) => {
                    stack.pop().expect("unbalanced end tag");
                    continue;
                }
                Event::Text(t) => {
                    let i = *stack.last().expect("text outside the root");
                    els[i].text.push_str(t.as_ref());
                    continue;
                }
                Event::GeneralRef(g) => {
                    let i = *stack.last().expect("text outside the root");
                    let name: &str = g.as_ref();
                    let v = resolve_predefined_entity(name)
                        .unwrap_or_else(|| panic!("unknown entity &{name};"));
                    els[i].text.push_str(v);
                    continue;
                }
                Event::Eof => break,
                _ => continue,
            };
            let e = start.unwrap();
            if stack.is_empty() {
                roots += 1;
            }
            let attrs = e
                .attributes()
                .map(|a| {
                    let a = a.unwrap();
                    (
                        a.key.0.to_owned(),
                        a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .unwrap()
                            .into_owned(),
                    )
                })
                .collect();
            els.push(El {
                name: e.name().0.to_owned(),
                attrs,
                text: String::new(),
                parent: stack.last().copied(),
            });
            if open {
                stack.push(els.len() - 1);
            }
        }
        assert!(stack.is_empty(), "unclosed elements");
        assert_eq!(roots, 1, "one root element");
        assert_eq!(els[0].name, "svg");
        els
    }

    fn with_class<'a>(els: &'a [El], name: &str, class: &str) -> Vec<&'a El> {
        els.iter()
            .filter(|e| e.name == name && e.class() == class)
            .collect()
    }

    /// The `<title>` child of element `i`.
    fn title_of(els: &[El], i: usize) -> &str {
        els.iter()
            .find(|e| e.parent == Some(i) && e.name == "title")
            .map(|e| e.text.as_str())
            .unwrap_or_else(|| panic!("no title on {:?}", els[i]))
    }

    /// (x, y, width, state, title) of every attempt bar.
    fn bars(els: &[El]) -> Vec<(f64, f64, f64, String, String)> {
        els.iter()
            .enumerate()
            .filter(|(_, e)| e.name == "rect" && e.class() == "attempt")
            .map(|(i, e)| {
                (
                    e.num("x"),
                    e.num("y"),
                    e.num("width"),
                    e.attr("data-state").to_owned(),
                    title_of(els, i).to_owned(),
                )
            })
            .collect()
    }

    fn labels(els: &[El]) -> Vec<String> {
        with_class(els, "text", "label")
            .iter()
            .map(|e| e.text.clone())
            .collect()
    }

    /// A tick label back in µs: `+500 ms`, `+1.5 s`, `+1m 30s`, `+2h 30m`, `+3 min`, …
    fn parse_tick(label: &str) -> i64 {
        let l = label.strip_prefix('+').unwrap_or(label);
        let parts: Vec<&str> = l.split(' ').collect();
        let unit = |u: &str| match u {
            "µs" => 1,
            "ms" => MS,
            "s" => SEC,
            "min" => MIN,
            "h" => HOUR,
            "d" => DAY,
            _ => panic!("unit of {label}"),
        };
        match parts.as_slice() {
            [v, u] if v.chars().all(|c| c.is_ascii_digit() || c == '.') => {
                (v.parse::<f64>().unwrap() * unit(u) as f64).round() as i64
            }
            [a, b] => {
                let split = |s: &str| {
                    let i = s.find(|c: char| !c.is_ascii_digit()).unwrap();
                    (s[..i].parse::<i64>().unwrap(), s[i..].to_owned())
                };
                let (a, ua) = split(a);
                let (b, ub) = split(b);
                let u = |u: &str| match u {
                    "d" => DAY,
                    "h" => HOUR,
                    "m" => MIN,
                    "s" => SEC,
                    _ => panic!("unit of {label}"),
                };
                a * u(&ua) + b * u(&ub)
            }
            _ => panic!("tick label {label}"),
        }
    }

    /// 1, 2, 5 × 10ᵏ µs up to 5 s; 10, 15, 30 s; 1, 2, 5, 10, 15, 30 min; 1, 2, 3, 6, 12 h;
    /// 1, 2, 5 × 10ᵏ days.
    fn is_nice(step: i64) -> bool {
        let mut d: i64 = 1;
        while d < 10 * SEC {
            if [d, 2 * d, 5 * d].contains(&step) {
                return true;
            }
            d *= 10;
        }
        let mut d = DAY;
        while let Some(d5) = d.checked_mul(5) {
            if [d, 2 * d, d5].contains(&step) {
                return true;
            }
            let Some(next) = d.checked_mul(10) else { break };
            d = next;
        }
        FIXED_STEPS.contains(&step)
    }

    // ---- Gantt -------------------------------------------------------------------------------

    #[test]
    fn gantt_svg_is_well_formed_with_one_bar_per_attempt_and_one_row_per_instance() {
        let run = demo_run();
        for dag in [None, Some(demo_dag())] {
            let els = parse(&gantt_svg(&run, dag.as_ref()));
            assert_eq!(bars(&els).len(), run.tries.len());
            assert_eq!(labels(&els).len(), 7, "{:?}", labels(&els));
            assert_eq!(with_class(&els, "text", "duration").len(), 7);
            let header: String = els
                .iter()
                .filter(|e| e.class() == "title" || e.class() == "summary")
                .map(|e| e.text.as_str())
                .collect();
            for part in [
                "demo",
                "manual__2024-01-01",
                "failed",
                "6.10 s",
                "00:00:00.000",
            ] {
                assert!(header.contains(part), "{part} in {header}");
            }
        }
    }

    #[test]
    fn a_retried_task_has_its_attempts_on_one_row_in_time_order() {
        let els = parse(&gantt_svg(&demo_run(), None));
        let extract: Vec<_> = bars(&els)
            .into_iter()
            .filter(|b| b.4.starts_with("extract ·"))
            .collect();
        assert_eq!(extract.len(), 2);
        assert_eq!(extract[0].1, extract[1].1, "same row");
        assert!(extract[0].0 < extract[1].0, "in time order");
        assert!(
            extract[0].0 + extract[0].2 <= extract[1].0,
            "not overlapping"
        );
        let (first, second) = (&extract[0].4, &extract[1].4);
        assert!(first.contains("attempt 1 · failed"), "{first}");
        assert!(
            first.contains("00:00:00.000 → 00:00:01.000 UTC · 1.00 s"),
            "{first}"
        );
        assert!(first.contains("HTTP 503 <Service Unavailable>"), "{first}");
        assert!(!first.contains("caused by"), "only the first line: {first}");
        assert!(second.contains("attempt 2 · success"), "{second}");
        assert!(
            second.contains("00:00:03.000 → 00:00:04.240 UTC · 1.24 s"),
            "{second}"
        );
        // The row's wall time (first start to last end) and try count, right of the last bar.
        let dur = with_class(&els, "text", "duration");
        let label_y = with_class(&els, "text", "label")
            .iter()
            .find(|e| e.text == "extract")
            .unwrap()
            .num("y");
        let d = dur.iter().find(|e| e.num("y") == label_y).unwrap();
        assert_eq!(d.text, "4.24 s · 2 tries");
        assert!(d.num("x") > extract[1].0 + extract[1].2);
    }

    #[test]
    fn bars_are_coloured_by_state() {
        let run = demo_run();
        let els = parse(&gantt_svg(&run, None));
        let rects: Vec<&El> = with_class(&els, "rect", "attempt");
        let mut seen = Vec::new();
        for r in rects {
            let state: TaskStateRecord = r.attr("data-state").parse().unwrap();
            assert_eq!(r.attr("fill"), state_color(state));
            seen.push(state);
        }
        let mut expected: Vec<TaskStateRecord> = run.tries.iter().map(|t| t.state).collect();
        expected.sort_by_key(|s| s.as_str());
        seen.sort_by_key(|s| s.as_str());
        assert_eq!(seen, expected);
        // The legend lists the states present, each once, with their colours.
        let swatches = with_class(&els, "rect", "swatch");
        let mut legend: Vec<&str> = swatches.iter().map(|e| e.attr("fill")).collect();
        legend.sort();
        let mut colours: Vec<&str> = expected.iter().map(|s| state_color(*s)).collect();
        colours.sort();
        colours.dedup();
        assert_eq!(legend, colours);
    }

    #[test]
    fn skipped_and_upstream_failed_instances_get_a_thin_marker() {
        let els = parse(&gantt_svg(&demo_run(), None));
        for (state, label) in [("skipped", "notify"), ("upstream_failed", "report")] {
            let b = bars(&els)
                .into_iter()
                .find(|b| b.3 == state)
                .unwrap_or_else(|| panic!("no {state} bar"));
            assert!(b.2 >= MIN_BAR_W && b.2 < 4.0, "thin: {}", b.2);
            assert!(b.4.starts_with(&format!("{label} · attempt 1 · {state}")));
            let y = with_class(&els, "text", "label")
                .iter()
                .find(|e| e.text == label)
                .unwrap()
                .num("y");
            let d = with_class(&els, "text", "duration")
                .into_iter()
                .find(|e| e.num("y") == y)
                .unwrap();
            assert_eq!(d.text, state);
        }
    }

    #[test]
    fn rows_follow_the_dag_or_else_first_start_then_map_index() {
        let run = demo_run();
        let els = parse(&gantt_svg(&run, None));
        assert_eq!(
            labels(&els),
            [
                "extract",
                "transform[0]",
                "transform[1]",
                "transform[2]",
                "load",
                "notify",
                "report"
            ]
        );
        let els = parse(&gantt_svg(&run, Some(&demo_dag())));
        assert_eq!(
            labels(&els),
            [
                "extract",
                "transform[0]",
                "transform[1]",
                "transform[2]",
                "notify",
                "load",
                "report"
            ]
        );
        // Rows go down the page in that order.
        let ys: Vec<f64> = with_class(&els, "text", "label")
            .iter()
            .map(|e| e.num("y"))
            .collect();
        assert!(ys.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn tick_labels_increase_by_a_nice_step() {
        let els = parse(&gantt_svg(&demo_run(), None));
        let ticks = with_class(&els, "text", "tick");
        let labels: Vec<&str> = ticks.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(labels.first(), Some(&"+0 s"));
        assert_eq!(
            labels,
            [
                "+0 s", "+1 s", "+2 s", "+3 s", "+4 s", "+5 s", "+6 s", "+7 s"
            ]
        );
        let xs: Vec<f64> = ticks.iter().map(|e| e.num("x")).collect();
        assert!(xs.windows(2).all(|w| w[0] < w[1]));
        // One grid line per tick.
        let grid = els.iter().position(|e| e.class() == "grid").unwrap();
        assert_eq!(
            els.iter()
                .filter(|e| e.parent == Some(grid) && e.name == "line")
                .count(),
            ticks.len()
        );

        // A longer run, with many rows: the ticks are repeated under the chart.
        use TaskStateRecord as S;
        let r = "long";
        let tries: Vec<_> = (0..40)
            .map(|i| {
                ti(
                    r,
                    0,
                    "each",
                    i,
                    1,
                    S::Success,
                    i64::from(i) * 60_000,
                    Some(i64::from(i) * 60_000 + 90_000),
                    None,
                )
            })
            .collect();
        let run = RunHistory {
            run: run_record(r, 0, Some(41 * 60_000)),
            tries,
        };
        let els = parse(&gantt_svg(&run, None));
        let ticks: Vec<i64> = with_class(&els, "text", "tick")
            .iter()
            .map(|e| parse_tick(&e.text))
            .collect();
        assert!(ticks.len() >= 3, "{ticks:?}");
        let step = ticks[1] - ticks[0];
        assert!(is_nice(step), "{step}");
        assert!(ticks.windows(2).all(|w| w[1] - w[0] == step), "{ticks:?}");
        assert!(
            *ticks.last().unwrap() >= 41 * MIN,
            "covers the run: {ticks:?}"
        );
        assert_eq!(with_class(&els, "text", "tick-bottom").len(), ticks.len());
    }

    #[test]
    fn tick_step_picks_round_steps() {
        assert_eq!(tick_step(950 * MS, 10), 100 * MS);
        assert_eq!(tick_step(12 * SEC, 10), 2 * SEC);
        assert_eq!(tick_step(3 * HOUR, 10), 30 * MIN);
        assert_eq!(tick_step(90 * SEC, 10), 10 * SEC);
        assert_eq!(tick_step(45 * MIN, 10), 5 * MIN);
        assert_eq!(tick_step(7 * 100, 10), 100);
        assert_eq!(tick_step(0, 10), 1);
        assert_eq!(tick_step(30 * DAY, 10), 5 * DAY);
        let step = tick_step(i64::MAX, 10);
        assert!(is_nice(step) && div_ceil(i64::MAX, step) <= 10, "{step}");
        for span in [
            1,
            7,
            999,
            12_345,
            950 * MS,
            61 * SEC,
            59 * MIN,
            25 * HOUR,
            400 * DAY,
        ] {
            for max in [2, 6, 10] {
                let step = tick_step(span, max);
                assert!(is_nice(step), "{span} / {max}: {step}");
                assert!(div_ceil(span, step) <= max as i64, "{span} / {max}: {step}");
            }
        }
    }

    #[test]
    fn tick_labels_are_in_the_steps_unit() {
        assert_eq!(tick_label(0, 100 * MS, true), "+0 s");
        assert_eq!(tick_label(500 * MS, 100 * MS, true), "+500 ms");
        assert_eq!(tick_label(1_500 * MS, 500 * MS, true), "+1.5 s");
        assert_eq!(tick_label(2 * SEC, 500 * MS, true), "+2 s");
        assert_eq!(tick_label(90 * SEC, 30 * SEC, true), "+1m 30s");
        assert_eq!(tick_label(20 * MIN, 5 * MIN, true), "+20 min");
        assert_eq!(tick_label(150 * MIN, 30 * MIN, true), "+2h 30m");
        assert_eq!(tick_label(6 * HOUR, 3 * HOUR, false), "6 h");
        assert_eq!(tick_label(200, 100, false), "200 µs");
        for (v, step) in [
            (1_500 * MS, 500 * MS),
            (90 * SEC, 30 * SEC),
            (150 * MIN, 30 * MIN),
        ] {
            assert_eq!(parse_tick(&tick_label(v, step, true)), v);
        }
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(fmt_duration(0), "0 ms");
        assert_eq!(fmt_duration(-5), "0 ms");
        assert_eq!(fmt_duration(850), "850 µs");
        assert_eq!(fmt_duration(4_200), "4.2 ms");
        assert_eq!(fmt_duration(230 * MS), "230 ms");
        assert_eq!(fmt_duration(999_400), "999 ms");
        assert_eq!(fmt_duration(999_600), "1.00 s");
        assert_eq!(fmt_duration(1_240 * MS), "1.24 s");
        assert_eq!(fmt_duration(12_340 * MS), "12.3 s");
        assert_eq!(fmt_duration(59_960 * MS), "1m 00s");
        assert_eq!(fmt_duration(125 * SEC), "2m 05s");
        assert_eq!(fmt_duration(HOUR + 5 * MIN + 10 * SEC), "1h 05m");
        assert_eq!(fmt_duration(2 * DAY + 3 * HOUR), "2d 03h");
    }

    #[test]
    fn an_unfinished_attempt_runs_to_the_end_of_the_run() {
        use TaskStateRecord as S;
        let r = "running";
        let mut run = RunHistory {
            run: run_record(r, 0, None),
            tries: vec![
                ti(r, 0, "a", -1, 1, S::Success, 0, Some(2_000), None),
                ti(r, 0, "b", -1, 1, S::Running, 2_000, None, None),
            ],
        };
        run.run.state = RunStateRecord::Running;
        let els = parse(&gantt_svg(&run, None));
        let b = bars(&els);
        // Without a run end, b runs up to the latest instant seen (a's end = its start): a marker.
        assert!(b[1].4.contains("… UTC · 0 ms so far"), "{}", b[1].4);
        run.run.end = Some(at(0, 5_000));
        let els = parse(&gantt_svg(&run, None));
        let b = bars(&els);
        assert!(b[1].4.contains("3.00 s so far"), "{}", b[1].4);
        assert!(
            (b[1].2 - 1.5 * b[0].2).abs() < 0.1,
            "3 s against 2 s: {} / {}",
            b[1].2,
            b[0].2
        );
    }

    #[test]
    fn an_empty_run_still_renders() {
        let run = RunHistory {
            run: run_record("empty", 0, None),
            tries: vec![],
        };
        let els = parse(&gantt_svg(&run, None));
        assert!(bars(&els).is_empty());
        assert!(els.iter().any(|e| e.text == "no task instance recorded"));
        let els = parse(&durations_svg("demo", &[]));
        assert!(els.iter().any(|e| e.text == "no runs recorded"));
        assert!(durations_html("demo", &[]).contains("No task ran"));
    }

    #[test]
    fn gantt_html_is_self_contained() {
        let run = demo_run();
        let html = gantt_html(&run, Some(&demo_dag()));
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        assert!(html.contains(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
             style-src 'unsafe-inline'; img-src data:\">"
        ));
        assert_eq!(html.matches("http://").count(), 1);
        assert!(html.contains("xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(!html.contains("https://"));
        assert!(!html.contains("<script"));
        assert!(!html.contains("<link"));
        // The SVG, as gantt_svg writes it, is embedded.
        assert!(html.contains(&gantt_svg(&run, Some(&demo_dag()))));
        // One table row per attempt, errors escaped, the whole error behind its first line.
        let table = &html[html.find("<tbody>").unwrap()..];
        assert_eq!(table.matches("<tr>").count(), run.tries.len());
        assert!(table.contains("<summary>HTTP 503 &lt;Service Unavailable&gt;</summary>"));
        assert!(table.contains("caused by: connection reset"));
        assert!(table.contains("boom &amp; bust"));
        assert!(!html.contains("<Service"));
    }

    // ---- durations ---------------------------------------------------------------------------

    /// Three daily runs, given out of order: fetch 2 s / 3 s / 2.5 s; parse 500 ms, absent,
    /// 400 ms; store 100 ms twice then retried (wall 200 ms, attempts 150 ms); notify always
    /// skipped.
    fn three_runs() -> Vec<RunHistory> {
        use TaskStateRecord as S;
        let mut runs = Vec::new();
        for (day, fetch, parse) in [
            (0, 2_000, Some(500)),
            (1, 3_000, None),
            (2, 2_500, Some(400)),
        ] {
            let r = format!("scheduled__2024-01-0{}", day + 1);
            let mut tries = vec![ti(
                &r,
                day,
                "fetch",
                -1,
                1,
                S::Success,
                0,
                Some(fetch),
                None,
            )];
            let mut t = fetch;
            if let Some(p) = parse {
                for i in 0..2 {
                    tries.push(ti(&r, day, "parse", i, 1, S::Success, t, Some(t + p), None));
                }
                t += p;
            }
            if day == 2 {
                tries.push(ti(
                    &r,
                    day,
                    "store",
                    -1,
                    1,
                    S::Failed,
                    t,
                    Some(t + 50),
                    Some("x"),
                ));
                tries.push(ti(
                    &r,
                    day,
                    "store",
                    -1,
                    2,
                    S::Success,
                    t + 100,
                    Some(t + 200),
                    None,
                ));
                t += 200;
            } else {
                tries.push(ti(
                    &r,
                    day,
                    "store",
                    -1,
                    1,
                    S::Success,
                    t,
                    Some(t + 100),
                    None,
                ));
                t += 100;
            }
            tries.push(ti(&r, day, "notify", -1, 1, S::Skipped, t, Some(t), None));
            runs.push(RunHistory {
                run: run_record(&r, day, Some(t + 10)),
                tries,
            });
        }
        runs.swap(0, 2);
        runs
    }

    #[test]
    fn durations_chart_has_one_line_per_task_with_gaps_and_a_legend() {
        let runs = three_runs();
        let els = parse(&durations_svg("demo", &runs));
        let series = with_class(&els, "path", "series");
        let tasks: Vec<&str> = els
            .iter()
            .filter(|e| e.class() == "task")
            .map(|e| e.attr("data-task"))
            .collect();
        assert_eq!(
            tasks,
            ["fetch", "parse", "store"],
            "by median, never-run tasks left out"
        );
        assert_eq!(series.len(), 3);
        let d: Vec<&str> = series.iter().map(|e| e.attr("d")).collect();
        assert_eq!(d[0].matches('M').count(), 1);
        assert_eq!(d[0].matches('L').count(), 2);
        assert_eq!(d[1].matches('M').count(), 2, "parse has a gap: {}", d[1]);
        assert_eq!(d[1].matches('L').count(), 0);
        let entries: Vec<&str> = with_class(&els, "text", "entry")
            .iter()
            .map(|e| e.text.as_str())
            .collect();
        assert_eq!(
            entries,
            [
                "fetch (median 2.50 s)",
                "parse (median 450 ms)",
                "store (median 100 ms)"
            ]
        );
        // Markers: one per run the task ran in, oldest run on the left, with a tooltip.
        let points: Vec<(usize, &El)> = els
            .iter()
            .enumerate()
            .filter(|(_, e)| e.name == "circle" && e.class() == "point")
            .collect();
        assert_eq!(points.len(), 3 + 2 + 3);
        let fetch: Vec<(f64, f64, &str)> = points[..3]
            .iter()
            .map(|(i, e)| (e.num("cx"), e.num("cy"), title_of(&els, *i)))
            .collect();
        assert!(fetch[0].0 < fetch[1].0 && fetch[1].0 < fetch[2].0);
        assert!(fetch[0].2.contains("scheduled__2024-01-01") && fetch[0].2.contains("wall 2.00 s"));
        assert!(fetch[1].1 < fetch[0].1, "3 s is higher up than 2 s");
        let store = title_of(&els, points[7].0);
        assert!(
            store.contains("wall 200 ms · attempts 150 ms · 2 tries"),
            "{store}"
        );
        let runs_axis: Vec<(&str, &str)> = els
            .iter()
            .enumerate()
            .filter(|(_, e)| e.name == "text" && e.class() == "run")
            .map(|(i, _)| {
                let tspan = els
                    .iter()
                    .find(|e| e.parent == Some(i) && e.name == "tspan")
                    .unwrap();
                (tspan.text.as_str(), title_of(&els, i))
            })
            .collect();
        assert_eq!(
            runs_axis,
            [
                ("2024-01-01", "scheduled__2024-01-01"),
                ("2024-01-02", "scheduled__2024-01-02"),
                ("2024-01-03", "scheduled__2024-01-03")
            ]
        );
        let ticks: Vec<i64> = with_class(&els, "text", "tick")
            .iter()
            .map(|e| parse_tick(&e.text))
            .collect();
        assert_eq!(ticks[0], 0);
        assert!(*ticks.last().unwrap() >= 3 * SEC);
        assert!(is_nice(ticks[1]));
    }

    #[test]
    fn durations_table_is_sorted_by_median_and_names_the_task_to_optimise() {
        let html = durations_html("demo", &three_runs());
        assert!(html.starts_with("<!doctype html>"));
        assert!(html.contains("Content-Security-Policy"));
        assert!(!html.contains("https://"));
        assert_eq!(html.matches("http://").count(), 1);
        let table = &html[html.find("<table class=\"summary\">").unwrap()..];
        let table = &table[..table.find("</table>").unwrap()];
        let rows: Vec<&str> = table.split("<tr").skip(2).collect();
        let first_cell = |row: &str| {
            let s = &row[row.find("<td>").unwrap() + 4..];
            s[..s.find('<').unwrap()].to_owned()
        };
        let order: Vec<String> = rows.iter().map(|r| first_cell(r)).collect();
        assert_eq!(order, ["fetch", "parse", "store", "notify"]);
        assert!(rows[0].starts_with(" class=\"top\""));
        assert!(rows[0].contains("optimise this first"));
        assert_eq!(table.matches("optimise this first").count(), 1);
        // fetch: 3 / 3 runs, median 2.50 s, p90 = max = 3.00 s, last 2.50 s (0 %).
        assert!(rows[0].contains(">3 / 3<"));
        assert!(rows[0].contains(">2.50 s<"));
        assert!(rows[0].contains(">3.00 s<"));
        assert!(rows[0].contains(">0 %<"));
        // parse ran in 2 of 3 runs; last 400 ms against a 450 ms median.
        assert!(rows[1].contains(">2 / 3<"));
        assert!(rows[1].contains("−11 %"));
        // store's last run took twice its median.
        assert!(rows[2].contains("+100 %"));
        assert!(rows[3].contains("did not run"));
        // The per-run table has a gap for parse on 2024-01-02.
        assert!(html.contains("<td class=\"num\">—</td>"));
    }

    #[test]
    fn p90_and_median() {
        assert_eq!(median_sorted(&[1, 2, 3]), 2);
        assert_eq!(median_sorted(&[1, 2, 3, 5]), 2);
        assert_eq!(percentile_sorted(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90.0), 9);
        assert_eq!(percentile_sorted(&[7], 90.0), 7);
    }
}

//! The Gantt chart of one run: one row per task instance, one bar per attempt on a time axis,
//! as SVG ([`gantt_svg`]) or as a page with a table of every attempt ([`gantt_html`]).
//!
//! Rows are `task`, or `task[3]` for element 3 of a mapped task, so retries show as several
//! bars on a row; bars are coloured by state and carry a tooltip (`<title>`) with the attempt's
//! times, duration and error. The page fetches nothing and needs no script.
//!
//! The durations chart across runs is [`super::durations`]; its functions are re-exported
//! here, where they were first written. Everything is written into one `String`; a
//! 1,000-instance run renders in a few milliseconds (`cargo bench --bench viz`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;

use chrono::NaiveDate;

use crate::Dag;
use crate::store::{TaskInstanceRecord, TaskStateRecord};

pub use super::durations::{durations_html, durations_svg};

use super::axis::{PAD, Ticks, axis_line, fit_header, header, open_labels, tick_label};
use super::html::{chart_page_start, page_end, push_error, push_esc, push_state_badge};
use super::palette::{BAR_STROKE, GRID, MUTED, STRIPE, TEXT, state_color};
use super::svg::{Svg, num, set_num, text_width};
use super::time::{
    never_ran, put_clock, put_date, put_duration, put_time, run_bounds, try_duration, try_end, us,
};
use super::{RunHistory, plural};

/// Height of a row, and of its bars.
const ROW_H: f64 = 20.0;
const BAR_H: f64 = 12.0;
/// Width of the time axis.
const PLOT_W: f64 = 960.0;
/// Room right of the plot for the last bar's duration label.
const RIGHT_W: f64 = 130.0;
/// Narrowest bar, so that zero-length attempts (skipped, upstream failed) stay visible.
const MIN_BAR_W: f64 = 2.0;
/// Above this many rows the tick labels are repeated under the chart.
const BOTTOM_AXIS_ROWS: usize = 25;
/// Where the time axis runs, under the header and the legend.
const AXIS_Y: f64 = 100.0;

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
    chart_page_start(&mut out, &title, &g.summary(), "", &chart);
    out.push_str(
        "<h2>Attempts</h2><table><thead><tr><th>instance</th>\
        <th class=\"num\">attempt</th><th>state</th><th>start (UTC)</th><th>end (UTC)</th>\
        <th class=\"num\">duration</th><th>error</th></tr></thead><tbody>",
    );
    for row in &g.rows {
        for t in &g.tries[row.tries.clone()] {
            g.attempt_row(&mut out, &row.label, t);
        }
    }
    out.push_str("</tbody></table>");
    page_end(&mut out);
    out
}

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

/// Where the chart's parts go.
struct Frame {
    /// Left end of the time axis.
    plot_x: f64,
    /// Pixels per µs.
    k: f64,
    /// The instant at `plot_x` (µs).
    t0: i64,
    ticks: Ticks,
    /// Top of the first row, bottom of the last.
    top: f64,
    bottom: f64,
    /// Whether the tick labels are repeated under the rows.
    bottom_axis: bool,
    width: f64,
    height: f64,
}

impl Frame {
    /// x of `v` µs after the axis's start.
    fn x_rel(&self, v: i64) -> f64 {
        self.plot_x + v as f64 * self.k
    }

    /// x of the instant `t` (µs since the epoch).
    fn x_of(&self, t: i64) -> f64 {
        self.x_rel(t - self.t0)
    }
}

/// Attribute buffers reused for every element of the chart.
#[derive(Default)]
struct Scratch {
    /// A bar's height.
    bar_h: String,
    a: String,
    b: String,
    c: String,
    tip: String,
}

/// Tries sorted by task, map index and try, grouped into one row per task instance.
fn group_rows<'a>(tries: &[&'a TaskInstanceRecord], open_end: i64) -> Vec<Row<'a>> {
    let mut rows = Vec::new();
    let mut i = 0;
    while i < tries.len() {
        let (task_id, map_index) = (tries[i].task_id.as_str(), tries[i].map_index);
        let mut j = i;
        let (mut first_start, mut last_end) = (i64::MAX, i64::MIN);
        while j < tries.len() && tries[j].task_id == task_id && tries[j].map_index == map_index {
            first_start = first_start.min(us(tries[j].start));
            last_end = last_end.max(try_end(tries[j], open_end));
            j += 1;
        }
        rows.push(Row {
            task_id,
            map_index,
            label: tries[i].label(),
            tries: i..j,
            first_start,
            last_end,
        });
        i = j;
    }
    rows
}

/// Rows in the DAG's topological order of their tasks (tasks it does not have last), then
/// tasks by their first start, then by map index.
fn sort_rows(rows: &mut [Row<'_>], dag: Option<&Dag>) {
    let mut task_start: HashMap<&str, i64> = HashMap::new();
    for r in rows.iter() {
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
        let mut rows = group_rows(&tries, open_end);
        sort_rows(&mut rows, dag);
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
        put_date(&mut s, r.start);
        s.push(' ');
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

    /// The states present, in the store's order, for the legend.
    fn states(&self) -> Vec<TaskStateRecord> {
        let mut present = [false; 16];
        for t in &self.tries {
            present[state_index(t.state)] = true;
        }
        TaskStateRecord::ALL
            .iter()
            .copied()
            .filter(|s| present[state_index(*s)])
            .collect()
    }

    fn frame(&self, title: &str, summary: &str, states: &[TaskStateRecord]) -> Frame {
        let label_w = self
            .rows
            .iter()
            .map(|r| text_width(&r.label, 12.0))
            .fold(48.0, f64::max)
            + 16.0;
        let plot_x = PAD + label_w;
        let ticks = Ticks::new((self.t_end - self.t0).max(1), 10);
        let legend_w: f64 = states.iter().map(|s| legend_entry_w(*s)).sum();
        let top = AXIS_Y + 6.0;
        let bottom = top + self.rows.len() as f64 * ROW_H;
        let bottom_axis = self.rows.len() > BOTTOM_AXIS_ROWS;
        Frame {
            plot_x,
            k: PLOT_W / ticks.domain as f64,
            t0: self.t0,
            ticks,
            top,
            bottom,
            bottom_axis,
            width: fit_header(plot_x + PLOT_W + RIGHT_W, title, summary)
                .max(PAD * 2.0 + legend_w)
                .ceil(),
            height: bottom + if bottom_axis { 22.0 } else { 0.0 } + PAD,
        }
    }

    fn svg(&self) -> String {
        let title = format!("Gantt · {}", self.history.run.dag_id);
        let summary = self.summary();
        let states = self.states();
        let f = self.frame(&title, &summary, &states);
        let mut s = Svg::new(f.width, f.height);
        let mut buf = Scratch {
            bar_h: num(BAR_H),
            ..Scratch::default()
        };
        header(&mut s, &title, &summary);
        legend(&mut s, &states, &mut buf.a);
        if self.rows.is_empty() {
            set_num(&mut buf.a, f.plot_x);
            set_num(&mut buf.b, f.top + 14.0);
            s.text(
                "text",
                &[("x", &buf.a), ("y", &buf.b), ("fill", MUTED)],
                "no task instance recorded",
            );
        }
        self.stripes(&mut s, &f, &mut buf);
        time_axis(&mut s, &f, &mut buf);
        // Rows: label, one bar per attempt, duration.
        s.open("g", &[("class", "rows")]);
        for (i, row) in self.rows.iter().enumerate() {
            self.draw_row(&mut s, &f, f.top + i as f64 * ROW_H, row, &mut buf);
        }
        s.close();
        s.finish()
    }

    /// A stripe behind every other row.
    fn stripes(&self, s: &mut Svg, f: &Frame, buf: &mut Scratch) {
        s.open("g", &[("class", "stripes"), ("fill", STRIPE)]);
        let mut height = String::new();
        set_num(&mut buf.a, PAD / 2.0);
        set_num(&mut buf.c, f.width - PAD);
        set_num(&mut height, ROW_H);
        for i in (1..self.rows.len()).step_by(2) {
            set_num(&mut buf.b, f.top + i as f64 * ROW_H);
            s.empty(
                "rect",
                &[
                    ("class", "stripe"),
                    ("x", &buf.a),
                    ("y", &buf.b),
                    ("width", &buf.c),
                    ("height", &height),
                ],
            );
        }
        s.close();
    }

    /// A row at `y`: its label, one bar per attempt, and its wall time (or why it never ran)
    /// right of its last bar.
    fn draw_row(&self, s: &mut Svg, f: &Frame, y: f64, row: &Row<'_>, buf: &mut Scratch) {
        // Both texts of the row sit on one baseline.
        let ty = num(y + ROW_H / 2.0 + 4.0);
        row_text(s, "label", PAD, &ty, &[("fill", TEXT)], &row.label);
        set_num(&mut buf.b, y + (ROW_H - BAR_H) / 2.0);
        let mut right = f.plot_x;
        let mut ran = false;
        for t in &self.tries[row.tries.clone()] {
            right = right.max(self.draw_attempt(s, f, &row.label, t, buf));
            ran |= !never_ran(t.state);
        }
        buf.tip.clear();
        let n = row.tries.len();
        if ran {
            put_duration(&mut buf.tip, row.last_end - row.first_start);
        } else {
            let last = self.tries[row.tries.end - 1].state;
            buf.tip.push_str(last.as_str());
        }
        if n > 1 {
            let _ = write!(buf.tip, " · {n} tries");
        }
        let style = [("font-size", "11"), ("fill", MUTED)];
        row_text(s, "duration", right + 4.0, &ty, &style, &buf.tip);
    }

    /// The bar of one attempt, at the height in `buf.b`, with its tooltip; returns its right end.
    fn draw_attempt(
        &self,
        s: &mut Svg,
        f: &Frame,
        label: &str,
        t: &TaskInstanceRecord,
        buf: &mut Scratch,
    ) -> f64 {
        let x0 = f.x_of(us(t.start));
        let x1 = f.x_of(try_end(t, self.open_end)).max(x0 + MIN_BAR_W);
        set_num(&mut buf.a, x0);
        set_num(&mut buf.c, x1 - x0);
        s.open(
            "rect",
            &[
                ("class", "attempt"),
                ("data-state", t.state.as_str()),
                ("x", &buf.a),
                ("y", &buf.b),
                ("width", &buf.c),
                ("height", &buf.bar_h),
                ("rx", "2"),
                ("fill", state_color(t.state)),
                ("stroke", BAR_STROKE),
                ("stroke-opacity", "0.35"),
                ("stroke-width", "0.5"),
            ],
        );
        buf.tip.clear();
        self.attempt_tooltip(&mut buf.tip, label, t);
        s.title(&buf.tip);
        s.close();
        x1
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

    /// The page's table row of one attempt.
    fn attempt_row(&self, out: &mut String, label: &str, t: &TaskInstanceRecord) {
        out.push_str("<tr><td>");
        push_esc(out, label);
        let _ = write!(out, "</td><td class=\"num\">{}</td><td>", t.try_number);
        push_state_badge(out, t.state);
        out.push_str("</td><td>");
        put_time(out, t.start, self.day0);
        out.push_str("</td><td>");
        match t.end {
            Some(e) => put_time(out, e, self.day0),
            None => out.push('—'),
        }
        out.push_str("</td><td class=\"num\">");
        put_duration(out, try_duration(t, self.open_end));
        if t.end.is_none() {
            out.push_str(" so far");
        }
        out.push_str("</td><td>");
        if let Some(err) = t.error.as_deref() {
            push_error(out, err);
        }
        out.push_str("</td></tr>");
    }
}

/// Text of `class` from `x` on the baseline `ty`, styled `style`.
fn row_text(s: &mut Svg, class: &str, x: f64, ty: &str, style: &[(&str, &str)], text: &str) {
    let x = num(x);
    let mut attrs = vec![("class", class), ("x", x.as_str()), ("y", ty)];
    attrs.extend_from_slice(style);
    s.text("text", &attrs, text);
}

/// Width of a state's legend entry: swatch, name, space.
fn legend_entry_w(s: TaskStateRecord) -> f64 {
    22.0 + text_width(s.as_str(), 12.0) + 14.0
}

/// A swatch and the name of each state present, left to right under the header.
fn legend(s: &mut Svg, states: &[TaskStateRecord], buf: &mut String) {
    s.open("g", &[("class", "legend")]);
    let mut x = PAD;
    for st in states {
        set_num(buf, x);
        s.empty(
            "rect",
            &[
                ("class", "swatch"),
                ("x", buf),
                ("y", "58"),
                ("width", "14"),
                ("height", "12"),
                ("rx", "2"),
                ("fill", state_color(*st)),
            ],
        );
        set_num(buf, x + 20.0);
        s.text(
            "text",
            &[("x", buf), ("y", "68"), ("fill", TEXT)],
            st.as_str(),
        );
        x += legend_entry_w(*st);
    }
    s.close();
}

/// Grid lines at the ticks, their labels above the rows (and under them when there are many),
/// and the axis line.
fn time_axis(s: &mut Svg, f: &Frame, buf: &mut Scratch) {
    s.open(
        "g",
        &[("class", "grid"), ("stroke", GRID), ("stroke-width", "1")],
    );
    set_num(&mut buf.b, AXIS_Y);
    set_num(&mut buf.c, f.bottom.max(f.top + 4.0));
    for v in f.ticks.values() {
        set_num(&mut buf.a, f.x_rel(v));
        s.empty(
            "line",
            &[
                ("x1", &buf.a),
                ("x2", &buf.a),
                ("y1", &buf.b),
                ("y2", &buf.c),
            ],
        );
    }
    s.close();
    open_labels(s, "axis", "middle");
    for v in f.ticks.values() {
        let label = tick_label(v, f.ticks.step, true);
        set_num(&mut buf.a, f.x_rel(v));
        s.text(
            "text",
            &[("class", "tick"), ("x", &buf.a), ("y", "92")],
            &label,
        );
        if f.bottom_axis {
            set_num(&mut buf.b, f.bottom + 16.0);
            s.text(
                "text",
                &[("class", "tick-bottom"), ("x", &buf.a), ("y", &buf.b)],
                &label,
            );
        }
    }
    s.close();
    axis_line(s, f.plot_x, f.plot_x + PLOT_W, AXIS_Y);
}

fn state_index(s: TaskStateRecord) -> usize {
    TaskStateRecord::ALL
        .iter()
        .position(|x| *x == s)
        .unwrap_or(0)
        .min(15)
}

#[cfg(test)]
mod tests {
    use futures::future::BoxFuture;

    use super::super::chart_testing::{
        El, at, is_nice, parse, parse_tick, run_record, ti, title_of, with_class,
    };
    use super::super::time::MIN;
    use super::*;
    use crate::store::RunStateRecord;
    use crate::task::{Task, TaskSpec, XCom};
    use crate::{DagBuilder, TaskContext, TaskError};

    // ---- fixtures ----------------------------------------------------------------------------

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
}

//! The durations chart across runs: each task's wall time in each run, as SVG
//! ([`durations_svg`]) or as a page with the tables that say which task to optimise
//! ([`durations_html`]).
//!
//! A task's wall time in a run is from its first attempt's start to its last attempt's end
//! over all its instances; runs are placed oldest first, and the page's table is sorted by
//! median duration, longest first.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use chrono::{Datelike, Timelike};

use super::axis::{PAD, Ticks, axis_line, fit_header, header, open_labels, tick_label};
use super::html::{chart_page_start, page_end, push_esc};
use super::palette::{BACKGROUND, GRID, MUTED, SERIES, TEXT};
use super::svg::{Svg, num, push_num, set_num, text_width};
use super::time::{never_ran, put_date, put_duration, run_bounds, try_duration, try_end, us};
use super::{RunHistory, plural};

/// Top and height of the plot.
const PLOT_TOP: f64 = 70.0;
const PLOT_H: f64 = 300.0;
/// Between two entries of the legend.
const LEGEND_ROW: f64 = 20.0;

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
    chart_page_start(
        &mut out,
        &title,
        &d.summary(),
        "; a task's duration in a run is its wall time, from its first attempt's start to its \
         last attempt's end over all its instances (runs where it did not run are gaps)",
        &chart,
    );
    out.push_str("<h2>Which task to optimise</h2>");
    if d.tasks.is_empty() {
        out.push_str("<p>No task ran in these runs.</p>");
        page_end(&mut out);
        return out;
    }
    d.summary_table(&mut out);
    d.runs_table(&mut out);
    page_end(&mut out);
    out
}

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

impl<'a> Series<'a> {
    /// The series of `task_id` and its figures.
    fn new(task_id: &'a str, points: Vec<Option<Point>>) -> Series<'a> {
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
    }

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

/// A task's tries in one run, added up.
#[derive(Default)]
struct Acc {
    first: i64,
    last: i64,
    busy: i64,
    tries: usize,
    ran: bool,
}

/// Each task's point in each of `runs` (`None` where it did not run), by task id.
fn points_by_task<'a>(runs: &[&'a RunHistory]) -> BTreeMap<&'a str, Vec<Option<Point>>> {
    let n = runs.len();
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
    by_task
}

/// Where the chart's parts go.
struct Frame {
    /// How many runs.
    n: usize,
    plot_x: f64,
    plot_w: f64,
    plot_bottom: f64,
    ticks: Ticks,
    legend_x: f64,
    width: f64,
    height: f64,
}

impl Frame {
    /// x of run `i`.
    fn x_of(&self, i: usize) -> f64 {
        if self.n <= 1 {
            self.plot_x + self.plot_w / 2.0
        } else {
            self.plot_x + 16.0 + i as f64 * (self.plot_w - 32.0) / (self.n - 1) as f64
        }
    }

    /// y of a duration of `v` µs.
    fn y_of(&self, v: i64) -> f64 {
        self.plot_bottom - v as f64 / self.ticks.domain as f64 * PLOT_H
    }

    /// Between two runs' x.
    fn dx(&self) -> f64 {
        if self.n <= 1 {
            self.plot_w
        } else {
            (self.plot_w - 32.0) / (self.n - 1) as f64
        }
    }
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
        let mut tasks: Vec<Series> = points_by_task(&runs)
            .into_iter()
            .map(|(task_id, points)| Series::new(task_id, points))
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
            let mut s = String::with_capacity(10);
            put_date(&mut s, t);
            s
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
        let max = charted
            .iter()
            .filter_map(|s| s.stats.map(|st| st.max))
            .max()
            .unwrap_or(0)
            .max(1);
        let ticks = Ticks::new(max, 6);
        let y_labels: Vec<(i64, String)> = ticks
            .values()
            .map(|v| (v, tick_label(v, ticks.step, false)))
            .collect();
        let legend_labels: Vec<String> = charted.iter().map(|s| legend_label(s)).collect();
        let f = self.frame(&title, &summary, ticks, &y_labels, &legend_labels);
        let run_labels: Vec<String> = self.runs.iter().map(|h| self.run_label(h)).collect();

        let mut s = Svg::new(f.width, f.height);
        header(&mut s, &title, &summary);
        y_axis(&mut s, &f, &y_labels);
        self.run_axis(&mut s, &f, &run_labels);
        axis_line(&mut s, f.plot_x, f.plot_x + f.plot_w, f.plot_bottom);
        if charted.is_empty() {
            s.text(
                "text",
                &[
                    ("x", &num(f.plot_x + 12.0)),
                    ("y", &num(PLOT_TOP + 20.0)),
                    ("fill", MUTED),
                ],
                if f.n == 0 {
                    "no runs recorded"
                } else {
                    "no task ran in these runs"
                },
            );
        }
        // One line per task (a gap where it did not run), a marker per run.
        for (ti, series) in charted.iter().enumerate() {
            self.draw_series(&mut s, &f, ti, series, &run_labels);
        }
        legend(&mut s, &f, &legend_labels);
        s.finish()
    }

    /// Where the parts go, for these tick and legend labels.
    fn frame(
        &self,
        title: &str,
        summary: &str,
        ticks: Ticks,
        y_labels: &[(i64, String)],
        legend_labels: &[String],
    ) -> Frame {
        let n = self.runs.len();
        let axis_w = y_labels
            .iter()
            .map(|(_, l)| text_width(l, 11.0))
            .fold(0.0, f64::max)
            + 12.0;
        let plot_x = PAD + axis_w;
        let plot_w = (n as f64 * 56.0).clamp(360.0, 960.0);
        let plot_bottom = PLOT_TOP + PLOT_H;
        let legend_x = plot_x + plot_w + 24.0;
        let legend_w = legend_labels
            .iter()
            .map(|l| 30.0 + text_width(l, 12.0))
            .fold(0.0, f64::max);
        Frame {
            n,
            plot_x,
            plot_w,
            plot_bottom,
            ticks,
            legend_x,
            width: fit_header(legend_x + legend_w + PAD, title, summary).ceil(),
            height: f64::max(
                plot_bottom + 44.0,
                PLOT_TOP + legend_labels.len() as f64 * LEGEND_ROW + PAD,
            ),
        }
    }

    /// One label per run under the plot (its run id as tooltip), thinned so they do not
    /// overlap.
    fn run_axis(&self, s: &mut Svg, f: &Frame, run_labels: &[String]) {
        let label_w = run_labels
            .iter()
            .map(|l| text_width(l, 11.0))
            .fold(0.0, f64::max)
            + 12.0;
        let every = ((label_w / f.dx()).ceil() as usize).max(1);
        open_labels(s, "runs", "middle");
        let y = num(f.plot_bottom + 16.0);
        let mut x = String::new();
        for (i, h) in self.runs.iter().enumerate() {
            if i % every != 0 {
                continue;
            }
            set_num(&mut x, f.x_of(i));
            s.open("text", &[("class", "run"), ("x", &x), ("y", &y)]);
            s.title(&h.run.run_id);
            s.text("tspan", &[], &run_labels[i]);
            s.close();
        }
        s.close();
    }

    /// The line of the `ti`-th task charted, with a marker (and tooltip) per run it ran in.
    fn draw_series(
        &self,
        s: &mut Svg,
        f: &Frame,
        ti: usize,
        series: &Series<'_>,
        run_labels: &[String],
    ) {
        let (color, dash) = series_style(ti);
        s.open("g", &[("class", "task"), ("data-task", series.task_id)]);
        let mut path = String::with_capacity(64 * f.n.max(1));
        let mut pen_down = false;
        for (i, p) in series.points.iter().enumerate() {
            match p {
                Some(p) => {
                    path.push(if pen_down { 'L' } else { 'M' });
                    push_num(&mut path, f.x_of(i));
                    path.push(' ');
                    push_num(&mut path, f.y_of(p.wall));
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
        attrs.extend(dash.map(|d| ("stroke-dasharray", d)));
        s.open("path", &attrs);
        s.title(series.task_id);
        s.close();
        let (mut cx, mut cy) = (String::new(), String::new());
        let mut tip = String::with_capacity(160);
        for (i, p) in series.points.iter().enumerate() {
            let Some(p) = p else { continue };
            set_num(&mut cx, f.x_of(i));
            set_num(&mut cy, f.y_of(p.wall));
            s.open(
                "circle",
                &[
                    ("class", "point"),
                    ("cx", &cx),
                    ("cy", &cy),
                    ("r", "3.5"),
                    ("fill", color),
                    ("stroke", BACKGROUND),
                ],
            );
            tip.clear();
            point_tooltip(&mut tip, series.task_id, self.runs[i], &run_labels[i], p);
            s.title(&tip);
            s.close();
        }
        s.close();
    }

    /// The page's table of tasks, longest median first, the first marked to optimise.
    fn summary_table(&self, out: &mut String) {
        out.push_str(
            "<table class=\"summary\"><thead><tr><th>task</th><th class=\"num\">runs</th>\
             <th class=\"num\">median</th><th class=\"num\">p90</th><th class=\"num\">max</th>\
             <th class=\"num\">last</th><th class=\"num\">last vs median</th>\
             <th class=\"num\">attempt time (median)</th></tr></thead><tbody>",
        );
        for (i, s) in self.tasks.iter().enumerate() {
            let top = i == 0 && s.stats.is_some();
            out.push_str(if top {
                "<tr class=\"top\"><td>"
            } else {
                "<tr><td>"
            });
            push_esc(out, s.task_id);
            if top {
                out.push_str("<span class=\"badge\">optimise this first</span>");
            }
            let _ = write!(
                out,
                "</td><td class=\"num\">{} / {}</td>",
                s.ran(),
                self.runs.len()
            );
            match &s.stats {
                Some(st) => stats_cells(out, st),
                None => out.push_str(
                    "<td class=\"num\" colspan=\"6\">did not run (skipped or upstream failed)</td>",
                ),
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table>");
    }

    /// The page's table of every task's wall time (summed attempt time, tries) in every run.
    fn runs_table(&self, out: &mut String) {
        out.push_str(
            "<h2>Every run</h2><details><summary>wall time (summed attempt time, tries) of each \
             task in each run, oldest first</summary><table class=\"runs\"><thead><tr><th>task</th>",
        );
        for h in &self.runs {
            out.push_str("<th class=\"num\">");
            push_esc(out, &self.run_label(h));
            out.push_str("<br>");
            push_esc(out, &h.run.run_id);
            out.push_str("</th>");
        }
        out.push_str("</tr></thead><tbody>");
        for s in &self.tasks {
            out.push_str("<tr><td>");
            push_esc(out, s.task_id);
            out.push_str("</td>");
            for p in &s.points {
                out.push_str("<td class=\"num\">");
                match p {
                    Some(p) => {
                        put_duration(out, p.wall);
                        out.push_str(" (");
                        put_duration(out, p.busy);
                        let _ = write!(out, ", {})", p.tries);
                    }
                    None => out.push('—'),
                }
                out.push_str("</td>");
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody></table></details>");
    }
}

/// The colour of the `ti`-th task's line, and its dashes once the colours repeat.
fn series_style(ti: usize) -> (&'static str, Option<&'static str>) {
    (
        SERIES[ti % SERIES.len()],
        (ti >= SERIES.len()).then_some("6 3"),
    )
}

/// "task (median 1.24 s)".
fn legend_label(s: &Series<'_>) -> String {
    let mut l = String::with_capacity(s.task_id.len() + 24);
    l.push_str(s.task_id);
    l.push_str(" (median ");
    put_duration(&mut l, s.stats.map_or(0, |st| st.median));
    l.push(')');
    l
}

/// "task · run (label)", then wall time, attempt time and tries.
fn point_tooltip(out: &mut String, task_id: &str, h: &RunHistory, label: &str, p: &Point) {
    let _ = write!(out, "{} · {} ({})\nwall ", task_id, h.run.run_id, label);
    put_duration(out, p.wall);
    out.push_str(" · attempts ");
    put_duration(out, p.busy);
    let _ = write!(
        out,
        " · {} tr{}",
        p.tries,
        if p.tries == 1 { "y" } else { "ies" }
    );
}

/// Grid lines at the ticks, across the plot, and their labels on its left.
fn y_axis(s: &mut Svg, f: &Frame, y_labels: &[(i64, String)]) {
    s.open("g", &[("class", "grid"), ("stroke", GRID)]);
    let (x1, x2) = (num(f.plot_x), num(f.plot_x + f.plot_w));
    let mut y = String::new();
    for (v, _) in y_labels {
        set_num(&mut y, f.y_of(*v));
        s.empty("line", &[("x1", &x1), ("x2", &x2), ("y1", &y), ("y2", &y)]);
    }
    s.close();
    open_labels(s, "axis", "end");
    let x = num(f.plot_x - 6.0);
    for (v, label) in y_labels {
        set_num(&mut y, f.y_of(*v) + 4.0);
        s.text("text", &[("class", "tick"), ("x", &x), ("y", &y)], label);
    }
    s.close();
}

/// The legend right of the plot, longest median first.
fn legend(s: &mut Svg, f: &Frame, labels: &[String]) {
    s.open("g", &[("class", "legend")]);
    let (x1, x2, tx) = (
        num(f.legend_x),
        num(f.legend_x + 22.0),
        num(f.legend_x + 28.0),
    );
    let mut y = String::new();
    for (ti, label) in labels.iter().enumerate() {
        let (color, dash) = series_style(ti);
        let top = PLOT_TOP + ti as f64 * LEGEND_ROW;
        set_num(&mut y, top + 6.0);
        let mut attrs = vec![
            ("class", "swatch"),
            ("x1", x1.as_str()),
            ("x2", x2.as_str()),
            ("y1", y.as_str()),
            ("y2", y.as_str()),
            ("stroke", color),
            ("stroke-width", "3"),
        ];
        attrs.extend(dash.map(|d| ("stroke-dasharray", d)));
        s.empty("line", &attrs);
        set_num(&mut y, top + 10.0);
        s.text(
            "text",
            &[("class", "entry"), ("x", &tx), ("y", &y), ("fill", TEXT)],
            label,
        );
    }
    s.close();
}

/// The cells of a task's figures: median, p90, max, last, trend, median attempt time.
fn stats_cells(out: &mut String, st: &Stats) {
    for v in [st.median, st.p90, st.max, st.last] {
        out.push_str("<td class=\"num\">");
        put_duration(out, v);
        out.push_str("</td>");
    }
    out.push_str("<td class=\"num\">");
    push_trend(out, st.last, st.median);
    out.push_str("</td><td class=\"num\">");
    put_duration(out, st.busy_median);
    out.push_str("</td>");
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

#[cfg(test)]
mod tests {
    use super::super::chart_testing::{
        El, is_nice, parse, parse_tick, run_record, ti, title_of, with_class,
    };
    use super::super::time::SEC;
    use super::*;
    use crate::store::TaskStateRecord;

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

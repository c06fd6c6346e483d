//! What the Gantt and durations charts draw alike: round tick steps over a span of time and
//! their labels, the margin, the header (title and summary), axis lines and tick label groups.

use std::fmt::Write as _;

use super::palette::{BACKGROUND, MUTED, TEXT};
use super::svg::{Svg, num, text_width};
use super::time::{DAY, HOUR, MIN, MS, SEC};

/// Side margin of every chart.
pub(super) const PAD: f64 = 16.0;

/// Tick steps (µs) from 10 s to 2 days: round for clocks, not decimal.
pub(super) const FIXED_STEPS: [i64; 16] = [
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

/// The ticks of an axis from 0: every `step` µs, `n` intervals, up to `domain`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ticks {
    /// Between two ticks (µs).
    pub(super) step: i64,
    /// How many intervals (one tick more).
    pub(super) n: i64,
    /// The last tick: `n × step`.
    pub(super) domain: i64,
}

impl Ticks {
    /// Round ticks covering `span` µs in at most `max_ticks` intervals ([`tick_step`]).
    pub(super) fn new(span: i64, max_ticks: usize) -> Ticks {
        let step = tick_step(span, max_ticks);
        let n = div_ceil(span, step);
        Ticks {
            step,
            n,
            domain: n.saturating_mul(step),
        }
    }

    /// Each tick's value (µs), from 0.
    pub(super) fn values(self) -> impl Iterator<Item = i64> {
        (0..=self.n).map(move |i| i.saturating_mul(self.step))
    }
}

/// The tick step (µs) for an axis spanning `span` µs with at most `max_ticks` intervals:
/// the smallest of 1, 2, 5 × 10ᵏ µs (up to 5 s), then 10 s, 15 s, 30 s, 1, 2, 5, 10, 15,
/// 30 min, 1, 2, 3, 6, 12 h, then 1, 2, 5 × 10ᵏ days.
pub(super) fn tick_step(span: i64, max_ticks: usize) -> i64 {
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
pub(super) fn div_ceil(a: i64, b: i64) -> i64 {
    a / b + i64::from(a % b != 0)
}

/// A tick at `v` µs on an axis stepping by `step`, in the step's unit: `+500 ms`, `+1.5 s`,
/// `+1m 30s`, `+2h 30m`; with `plus` false, without the sign (a duration axis).
pub(super) fn tick_label(v: i64, step: i64, plus: bool) -> String {
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

/// `width`, widened to fit the header's title and summary with a margin on each side.
pub(super) fn fit_header(width: f64, title: &str, summary: &str) -> f64 {
    width
        .max(PAD * 2.0 + text_width(title, 16.0))
        .max(PAD * 2.0 + text_width(summary, 12.0))
}

/// The white background, the title and the line under it, as both charts start.
pub(super) fn header(s: &mut Svg, title: &str, summary: &str) {
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

/// Opens the group of an axis's labels (`class`), anchored `anchor`; close it when done.
pub(super) fn open_labels(s: &mut Svg, class: &str, anchor: &str) {
    s.open(
        "g",
        &[
            ("class", class),
            ("fill", MUTED),
            ("font-size", "11"),
            ("text-anchor", anchor),
        ],
    );
}

/// A horizontal axis line from `x1` to `x2` at `y`.
pub(super) fn axis_line(s: &mut Svg, x1: f64, x2: f64, y: f64) {
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

#[cfg(test)]
mod tests {
    use super::super::chart_testing::{is_nice, parse_tick};
    use super::*;

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
}

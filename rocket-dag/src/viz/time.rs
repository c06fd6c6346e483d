//! Time in the charts of runs: instants as µs since the epoch, when a run's tries start and
//! end, and durations and clock times written as people read them.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

use crate::store::{TaskInstanceRecord, TaskStateRecord};

use super::RunHistory;

/// A millisecond, in µs.
pub(super) const MS: i64 = 1_000;
/// A second, in µs.
pub(super) const SEC: i64 = 1_000_000;
/// A minute, in µs.
pub(super) const MIN: i64 = 60 * SEC;
/// An hour, in µs.
pub(super) const HOUR: i64 = 60 * MIN;
/// A day, in µs.
pub(super) const DAY: i64 = 24 * HOUR;

/// `t` in µs since the epoch.
pub(super) fn us(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// Start of the earliest try or of the run, latest instant seen, end for unfinished tries.
pub(super) fn run_bounds(h: &RunHistory) -> (i64, i64, i64) {
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
pub(super) fn try_end(t: &TaskInstanceRecord, open_end: i64) -> i64 {
    t.end.map_or(open_end, us).max(us(t.start))
}

/// How long a try ran (µs): its recorded duration, else end − start.
pub(super) fn try_duration(t: &TaskInstanceRecord, open_end: i64) -> i64 {
    match t.duration {
        Some(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        None => try_end(t, open_end) - us(t.start),
    }
}

/// Whether a try was decided without running (its bar is a marker, its time not counted).
pub(super) fn never_ran(s: TaskStateRecord) -> bool {
    matches!(
        s,
        TaskStateRecord::Skipped
            | TaskStateRecord::UpstreamFailed
            | TaskStateRecord::NoStatus
            | TaskStateRecord::Queued
    )
}

/// [`put_duration`] into a new `String`.
#[cfg(test)]
pub(super) fn fmt_duration(us: i64) -> String {
    let mut s = String::with_capacity(10);
    put_duration(&mut s, us);
    s
}

/// Writes a duration (µs) as people read it: `850 µs`, `4.2 ms`, `230 ms`, `1.24 s`, `12.3 s`,
/// `2m 05s`, `1h 05m`, `2d 03h`.
pub(super) fn put_duration(out: &mut String, us: i64) {
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

/// `YYYY-MM-DD` of `t` (UTC).
pub(super) fn put_date(out: &mut String, t: DateTime<Utc>) {
    let _ = write!(out, "{:04}-{:02}-{:02}", t.year(), t.month(), t.day());
}

/// `HH:MM:SS.mmm` (UTC), prefixed by the date when it is not `day0`.
pub(super) fn put_time(out: &mut String, t: DateTime<Utc>, day0: NaiveDate) {
    if t.date_naive() != day0 {
        put_date(out, t);
        out.push(' ');
    }
    put_clock(out, t);
}

/// `HH:MM:SS.mmm` (UTC).
pub(super) fn put_clock(out: &mut String, t: DateTime<Utc>) {
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}.{:03}",
        t.hour(),
        t.minute(),
        t.second(),
        (t.nanosecond() / 1_000_000).min(999)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

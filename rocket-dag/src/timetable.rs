//! Which runs a schedule asks for: Airflow's data intervals, with `start_date`, `end_date`,
//! `catchup` and the DAG's time zone (the scheduler and backfills are built on this).
//!
//! A cron schedule ticks in the DAG's time zone, on wall-clock time, so a `@daily` DAG in
//! `Europe/Berlin` runs at local midnight and its intervals are 23 or 25 hours long across DST
//! changes. A run covers `[tick, next tick)`; its logical date is the start; it is due once the
//! interval has ended.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::dag::DagOptions;
use crate::schedule::Schedule;

/// The span of time a run processes: `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DataInterval {
    /// Start, inclusive; the run's logical date.
    pub start: DateTime<Utc>,
    /// End, exclusive.
    pub end: DateTime<Utc>,
}

/// Most intervals [`due_intervals`] returns at once, so a typo'd start date cannot make a
/// scheduler create millions of runs in one go.
pub const MAX_DUE: usize = 10_000;

/// A naive date-time in `tz`: the earlier of two ambiguous instants; for a time skipped by a
/// DST change, the first instant after the gap.
pub fn resolve_local(naive: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
        LocalResult::None => {
            // Walk forward minute by minute: DST gaps are at most a few hours.
            let mut probe = naive;
            for _ in 0..(24 * 60) {
                probe += chrono::Duration::minutes(1);
                if let Some(t) = tz.from_local_datetime(&probe).earliest() {
                    return t.with_timezone(&Utc);
                }
            }
            Utc.from_utc_datetime(&naive)
        }
    }
}

/// The next run the schedule asks for after `last` (the last scheduled interval, if any), as of
/// `now`; `None` when the schedule asks for no more runs. The interval may not be due yet
/// (`end > now`): that is when the scheduler should wake up.
///
/// As in Airflow: the first interval starts at the first tick at or after `start_date`; with
/// `catchup = false`, intervals that ended before the latest complete one are skipped; no
/// interval starts after `end_date`. Without a `start_date`, scheduling starts from the latest
/// complete interval.
pub fn next_interval(
    opts: &DagOptions,
    last: Option<&DataInterval>,
    now: DateTime<Utc>,
) -> Option<DataInterval> {
    let tz = opts.timezone;
    let start_date = opts.start_date.map(|d| resolve_local(d, tz));
    let end_date = opts.end_date.map(|d| resolve_local(d, tz));
    let interval = match &opts.schedule {
        Schedule::None => return None,
        Schedule::Once => {
            if last.is_some() {
                return None;
            }
            let at = start_date.unwrap_or(now);
            DataInterval { start: at, end: at }
        }
        Schedule::Cron(_) => {
            let schedule = &opts.schedule;
            let latest_complete = || {
                schedule
                    .tick_at_or_before(now, tz)
                    .and_then(|t| schedule.tick_before(t, tz))
            };
            let mut start = match (last, start_date) {
                (Some(l), _) => l.end,
                (None, Some(s)) => schedule.tick_at_or_after(s, tz)?,
                (None, None) => latest_complete()?,
            };
            if !opts.catchup
                && let Some(latest) = latest_complete()
            {
                start = start.max(latest);
            }
            let end = schedule.tick_after(start, tz)?;
            DataInterval { start, end }
        }
    };
    match end_date {
        Some(end) if interval.start > end => None,
        _ => Some(interval),
    }
}

/// Every interval due by `now` after `last`, oldest first (at most [`MAX_DUE`]).
pub fn due_intervals(
    opts: &DagOptions,
    mut last: Option<DataInterval>,
    now: DateTime<Utc>,
) -> Vec<DataInterval> {
    let mut out = Vec::new();
    while out.len() < MAX_DUE {
        match next_interval(opts, last.as_ref(), now) {
            Some(i) if i.end <= now && last.is_none_or(|l| i.start >= l.end) => {
                out.push(i);
                last = Some(i);
            }
            _ => break,
        }
    }
    out
}

/// The intervals a backfill from `from` to `to` (inclusive, logical dates) covers, regardless of
/// `catchup`: every interval whose start lies in `[from, to]`.
pub fn intervals_between(
    opts: &DagOptions,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<DataInterval> {
    let tz = opts.timezone;
    let schedule = &opts.schedule;
    let mut out = Vec::new();
    let Some(mut start) = schedule.tick_at_or_after(from, tz) else {
        return out;
    };
    while start <= to && out.len() < MAX_DUE {
        let Some(end) = schedule.tick_after(start, tz) else {
            break;
        };
        out.push(DataInterval { start, end });
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn naive(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
            .or_else(|_| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d").map(|d| d.and_hms_opt(0, 0, 0).unwrap())
            })
            .unwrap()
    }

    fn opts(schedule: &str, tz: &str, start: &str, catchup: bool) -> DagOptions {
        DagOptions::default()
            .schedule(Schedule::parse(schedule).unwrap())
            .timezone(tz.parse().unwrap())
            .start_date(naive(start))
            .catchup(catchup)
    }

    fn show(v: &[DataInterval]) -> Vec<String> {
        v.iter()
            .map(|i| format!("{} {}", i.start.to_rfc3339(), i.end.to_rfc3339()))
            .collect()
    }

    /// (schedule, time zone, start_date, catchup, now, the runs a scheduler starting fresh
    /// creates).
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        bool,
        &'static str,
        &'static [&'static str],
    );

    #[test]
    fn the_table() {
        let cases: &[Case] = &[
            // @daily from 2024-01-01, two days later: both days with catchup...
            (
                "@daily",
                "UTC",
                "2024-01-01",
                true,
                "2024-01-03T05:00:00Z",
                &[
                    "2024-01-01T00:00:00+00:00 2024-01-02T00:00:00+00:00",
                    "2024-01-02T00:00:00+00:00 2024-01-03T00:00:00+00:00",
                ],
            ),
            // ...only the latest complete interval without.
            (
                "@daily",
                "UTC",
                "2024-01-01",
                false,
                "2024-01-03T05:00:00Z",
                &["2024-01-02T00:00:00+00:00 2024-01-03T00:00:00+00:00"],
            ),
            // The interval of today is not due before it ends.
            (
                "@daily",
                "UTC",
                "2024-01-03",
                true,
                "2024-01-03T23:59:59Z",
                &[],
            ),
            // A start date between ticks: the first interval starts at the next tick.
            (
                "@daily",
                "UTC",
                "2024-01-01T10:00:00",
                true,
                "2024-01-03T00:00:00Z",
                &["2024-01-02T00:00:00+00:00 2024-01-03T00:00:00+00:00"],
            ),
            // Berlin midnight across the spring change: a 23-hour interval...
            (
                "@daily",
                "Europe/Berlin",
                "2024-03-30",
                true,
                "2024-04-01T00:00:00Z",
                &[
                    "2024-03-29T23:00:00+00:00 2024-03-30T23:00:00+00:00",
                    "2024-03-30T23:00:00+00:00 2024-03-31T22:00:00+00:00",
                ],
            ),
            // ...and a 25-hour one in autumn.
            (
                "@daily",
                "Europe/Berlin",
                "2024-10-27",
                true,
                "2024-10-28T00:00:00Z",
                &["2024-10-26T22:00:00+00:00 2024-10-27T23:00:00+00:00"],
            ),
            // 06:30 New York wall time, before and after the March change (EST → EDT).
            (
                "30 6 * * *",
                "America/New_York",
                "2024-03-09",
                true,
                "2024-03-11T00:00:00Z",
                &["2024-03-09T11:30:00+00:00 2024-03-10T10:30:00+00:00"],
            ),
            // 02:30 Berlin does not exist on 2024-03-31: that day's run fires when the clock
            // jumps (03:00 local, 01:00Z); no day is skipped.
            (
                "30 2 * * *",
                "Europe/Berlin",
                "2024-03-30",
                true,
                "2024-04-01T01:00:00Z",
                &[
                    "2024-03-30T01:30:00+00:00 2024-03-31T01:00:00+00:00",
                    "2024-03-31T01:00:00+00:00 2024-04-01T00:30:00+00:00",
                ],
            ),
            // Weekly on Sunday midnight, monthly on the 1st.
            (
                "@weekly",
                "UTC",
                "2024-01-01",
                true,
                "2024-01-16T00:00:00Z",
                &["2024-01-07T00:00:00+00:00 2024-01-14T00:00:00+00:00"],
            ),
            (
                "@monthly",
                "UTC",
                "2024-01-15",
                true,
                "2024-04-02T00:00:00Z",
                &[
                    "2024-02-01T00:00:00+00:00 2024-03-01T00:00:00+00:00",
                    "2024-03-01T00:00:00+00:00 2024-04-01T00:00:00+00:00",
                ],
            ),
            // Hourly in New York across the autumn change: 01:00 happens twice, every interval
            // is one real hour.
            (
                "@hourly",
                "America/New_York",
                "2024-11-03T00:00:00",
                true,
                "2024-11-03T07:00:00Z",
                &[
                    "2024-11-03T04:00:00+00:00 2024-11-03T05:00:00+00:00",
                    "2024-11-03T05:00:00+00:00 2024-11-03T06:00:00+00:00",
                    "2024-11-03T06:00:00+00:00 2024-11-03T07:00:00+00:00",
                ],
            ),
        ];
        for (schedule, tz, start, catchup, now, expected) in cases {
            let o = opts(schedule, tz, start, *catchup);
            let got = due_intervals(&o, None, utc(now));
            assert_eq!(
                show(&got),
                *expected,
                "{schedule} in {tz} from {start}, catchup {catchup}, at {now}"
            );
        }
    }

    #[test]
    fn end_date_stops_the_schedule() {
        let o = opts("@daily", "UTC", "2024-01-01", true).end_date(naive("2024-01-02"));
        let got = due_intervals(&o, None, utc("2024-01-10T00:00:00Z"));
        assert_eq!(got.len(), 2, "{:?}", show(&got));
        assert_eq!(
            next_interval(&o, got.last(), utc("2024-01-10T00:00:00Z")),
            None
        );
    }

    #[test]
    fn scheduling_resumes_after_the_last_run() {
        let o = opts("@daily", "UTC", "2024-01-01", true);
        let first = due_intervals(&o, None, utc("2024-01-02T01:00:00Z"));
        assert_eq!(first.len(), 1);
        let later = due_intervals(&o, first.last().copied(), utc("2024-01-04T01:00:00Z"));
        assert_eq!(
            show(&later)[0],
            "2024-01-02T00:00:00+00:00 2024-01-03T00:00:00+00:00"
        );
        assert_eq!(later.len(), 2);
        // The next one, not yet due: when to wake up.
        let next = next_interval(&o, later.last(), utc("2024-01-04T01:00:00Z")).unwrap();
        assert_eq!(next.end, utc("2024-01-05T00:00:00Z"));
    }

    #[test]
    fn once_and_none() {
        let once = opts("@once", "UTC", "2024-01-01", true);
        let got = due_intervals(&once, None, utc("2024-02-01T00:00:00Z"));
        assert_eq!(got.len(), 1);
        assert_eq!(
            next_interval(&once, got.last(), utc("2024-02-01T00:00:00Z")),
            None
        );
        let none = DagOptions::default();
        assert!(due_intervals(&none, None, utc("2024-02-01T00:00:00Z")).is_empty());
    }

    #[test]
    fn backfill_covers_every_interval_in_the_range() {
        let o = opts("@daily", "UTC", "2023-01-01", false);
        let got = intervals_between(&o, utc("2024-01-01T00:00:00Z"), utc("2024-01-03T00:00:00Z"));
        assert_eq!(got.len(), 3);
        assert_eq!(got[2].end, utc("2024-01-04T00:00:00Z"));
    }

    #[test]
    fn local_times_in_dst_gaps_and_overlaps() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 02:30 does not exist on 2024-03-31 in Berlin: the first instant after the gap.
        assert_eq!(
            resolve_local(naive("2024-03-31T02:30:00"), berlin),
            utc("2024-03-31T01:00:00Z")
        );
        // 02:30 happens twice on 2024-10-27: the earlier one.
        assert_eq!(
            resolve_local(naive("2024-10-27T02:30:00"), berlin),
            utc("2024-10-27T00:30:00Z")
        );
    }
}

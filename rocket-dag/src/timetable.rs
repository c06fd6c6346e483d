//! Which runs a schedule asks for: Airflow's data intervals, with `start_date`, `end_date`,
//! `catchup` and the DAG's time zone (the scheduler and backfills are built on this).
//!
//! A cron schedule ticks in the DAG's time zone, on wall-clock time, so a `@daily` DAG in
//! `Europe/Berlin` runs at local midnight and its intervals are 23 or 25 hours long across DST
//! changes. A run covers `[tick, next tick)`; its logical date is the start; it is due once the
//! interval has ended.

use chrono::{DateTime, NaiveDateTime, Utc};
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
/// scheduler create millions of runs in one go; also the most one backfill covers.
pub const MAX_DUE: usize = 10_000;

/// A date-time of the DAG's options (`start_date`, `end_date`), written in its time zone, as an
/// instant, the way Airflow places it: a wall time that happens twice is its second occurrence,
/// one skipped by a DST change is read with the offset before the change.
pub fn resolve_local(naive: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    crate::schedule::airflow_local(naive, tz)
}

/// The next run the schedule asks for after `last` (the last scheduled interval, if any), as of
/// `now`; `None` when the schedule asks for no more runs. The interval may not be due yet
/// (`end > now`): that is when the scheduler should wake up.
///
/// Airflow's `next_dagrun_info`, step by step: the first interval starts at the first tick at
/// or after `start_date`; a later one where the last one ended (aligned to a tick); with
/// `catchup = false`, never before the latest complete interval; none starts after
/// `end_date`. `@once` runs at `start_date`, and not without one.
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
            let at = start_date?;
            DataInterval { start: at, end: at }
        }
        Schedule::Cron(_) => {
            let schedule = &opts.schedule;
            let earliest = if opts.catchup {
                match start_date {
                    Some(s) => Some(schedule.tick_at_or_after(s, tz)?),
                    None => None,
                }
            } else {
                Some(skip_to_latest(schedule, tz, start_date, now)?)
            };
            let start = match (last, earliest) {
                (None, e) => e?,
                (Some(l), e) => {
                    let after = schedule.tick_at_or_before(l.end, tz)?;
                    e.map_or(after, |e| after.max(e))
                }
            };
            let end = schedule.tick_after(start, tz)?;
            DataInterval { start, end }
        }
    };
    match end_date {
        Some(end) if interval.start > end => None,
        _ => Some(interval),
    }
}

/// Airflow's `_skip_to_latest` (`catchup = false`): the start of the latest interval complete
/// at `now`, or the aligned start date if later.
fn skip_to_latest(
    schedule: &Schedule,
    tz: Tz,
    start_date: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let last_start = schedule.tick_before(now, tz)?;
    let next_start = schedule.tick_after(last_start, tz)?;
    let latest = if next_start == now {
        last_start
    } else {
        schedule.tick_before(last_start, tz)?
    };
    Some(match start_date {
        None => latest,
        Some(s) => latest.max(schedule.tick_at_or_after(s, tz)?),
    })
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

/// A backfill range with more intervals than [`MAX_DUE`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the range holds more than {MAX_DUE} intervals of schedule {schedule} (the first after it \
     starts at {next}); backfill at most {MAX_DUE} at once: split the range"
)]
pub struct TooManyIntervals {
    /// The schedule.
    pub schedule: String,
    /// The start of the first interval left out.
    pub next: DateTime<Utc>,
}

/// The intervals a backfill from `from` to `to` (inclusive, logical dates) covers, regardless of
/// `catchup`, as Airflow's backfill finds them (`iter_dagrun_infos_between`): every interval of
/// the schedule whose start lies in `[from, to]`, none after the DAG's `end_date`. More than
/// [`MAX_DUE`] is an error, never a silent cut.
pub fn intervals_between(
    opts: &DagOptions,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<DataInterval>, TooManyIntervals> {
    let tz = opts.timezone;
    let schedule = &opts.schedule;
    let end_date = opts.end_date.map(|d| resolve_local(d, tz));
    let latest = end_date.map_or(to, |e| e.min(to));
    let mut out = Vec::new();
    let Some(mut start) = schedule.tick_at_or_after(from, tz) else {
        return Ok(out);
    };
    while start <= latest {
        if out.len() == MAX_DUE {
            return Err(TooManyIntervals {
                schedule: schedule.as_str().to_owned(),
                next: start,
            });
        }
        let Some(end) = schedule.tick_after(start, tz) else {
            break;
        };
        out.push(DataInterval { start, end });
        let Some(next) = schedule.tick_at_or_before(end, tz) else {
            break;
        };
        if next <= start {
            break;
        }
        start = next;
    }
    Ok(out)
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

    /// One DAG's schedule and what a scheduler starting fresh at `now` creates.
    struct Case {
        schedule: &'static str,
        tz: &'static str,
        start: &'static str,
        end: Option<&'static str>,
        catchup: bool,
        now: &'static str,
        /// The runs' data intervals, oldest first.
        due: &'static [&'static str],
        /// The logical date of the next run after them.
        next: Option<&'static str>,
    }

    /// Every row is what Apache Airflow 2.8.1's own timetables (`CronDataIntervalTimetable`,
    /// `OnceTimetable`: `next_dagrun_info` with the DAG's start_date, end_date and catchup,
    /// `utcnow` frozen at `now`) give for the same DAG, from `pip install apache-airflow==2.8.1`.
    /// The DST nights: `30 2 * * *` in Berlin on 2024-03-31 runs at 03:30 CEST (01:30Z: the
    /// wall time moved by the gap), on 2024-10-27 at the second 02:30 (01:30Z), as `0 1 * * *`
    /// in New York on 2024-11-03 runs at the second 01:00 (06:00Z); `@hourly`, `30 * * * *`
    /// step in real hours through both changes; `0 */2 * * *` gets a 3-hour interval.
    const AIRFLOW: &[Case] = &[
        Case {
            schedule: "@daily",
            tz: "UTC",
            start: "2024-01-01",
            end: None,
            catchup: true,
            now: "2024-01-03T05:00:00Z",
            due: &[
                "2024-01-01T00:00:00+00:00 2024-01-02T00:00:00+00:00",
                "2024-01-02T00:00:00+00:00 2024-01-03T00:00:00+00:00",
            ],
            next: Some("2024-01-03T00:00:00+00:00"),
        },
        Case {
            schedule: "@daily",
            tz: "UTC",
            start: "2024-01-01",
            end: None,
            catchup: false,
            now: "2024-01-03T05:00:00Z",
            due: &["2024-01-02T00:00:00+00:00 2024-01-03T00:00:00+00:00"],
            next: Some("2024-01-03T00:00:00+00:00"),
        },
        Case {
            schedule: "@daily",
            tz: "UTC",
            start: "2024-01-03",
            end: None,
            catchup: true,
            now: "2024-01-03T23:59:59Z",
            due: &[],
            next: Some("2024-01-03T00:00:00+00:00"),
        },
        Case {
            schedule: "@daily",
            tz: "UTC",
            start: "2024-01-01T10:00:00",
            end: None,
            catchup: true,
            now: "2024-01-03T00:00:00Z",
            due: &["2024-01-02T00:00:00+00:00 2024-01-03T00:00:00+00:00"],
            next: Some("2024-01-03T00:00:00+00:00"),
        },
        Case {
            schedule: "@daily",
            tz: "UTC",
            start: "2024-01-01",
            end: None,
            catchup: false,
            now: "2024-01-03T00:00:00Z",
            due: &["2024-01-02T00:00:00+00:00 2024-01-03T00:00:00+00:00"],
            next: Some("2024-01-03T00:00:00+00:00"),
        },
        Case {
            schedule: "@daily",
            tz: "Europe/Berlin",
            start: "2024-03-30",
            end: None,
            catchup: true,
            now: "2024-04-01T00:00:00Z",
            due: &[
                "2024-03-29T23:00:00+00:00 2024-03-30T23:00:00+00:00",
                "2024-03-30T23:00:00+00:00 2024-03-31T22:00:00+00:00",
            ],
            next: Some("2024-03-31T22:00:00+00:00"),
        },
        Case {
            schedule: "@daily",
            tz: "Europe/Berlin",
            start: "2024-10-27",
            end: None,
            catchup: true,
            now: "2024-10-28T00:00:00Z",
            due: &["2024-10-26T22:00:00+00:00 2024-10-27T23:00:00+00:00"],
            next: Some("2024-10-27T23:00:00+00:00"),
        },
        Case {
            schedule: "30 6 * * *",
            tz: "America/New_York",
            start: "2024-03-09",
            end: None,
            catchup: true,
            now: "2024-03-11T00:00:00Z",
            due: &["2024-03-09T11:30:00+00:00 2024-03-10T10:30:00+00:00"],
            next: Some("2024-03-10T10:30:00+00:00"),
        },
        Case {
            schedule: "30 2 * * *",
            tz: "Europe/Berlin",
            start: "2024-03-30",
            end: None,
            catchup: true,
            now: "2024-04-02T01:00:00Z",
            due: &[
                "2024-03-30T01:30:00+00:00 2024-03-31T01:30:00+00:00",
                "2024-03-31T01:30:00+00:00 2024-04-01T00:30:00+00:00",
                "2024-04-01T00:30:00+00:00 2024-04-02T00:30:00+00:00",
            ],
            next: Some("2024-04-02T00:30:00+00:00"),
        },
        Case {
            schedule: "30 2 * * *",
            tz: "Europe/Berlin",
            start: "2024-10-26",
            end: None,
            catchup: true,
            now: "2024-10-29T00:00:00Z",
            due: &[
                "2024-10-26T00:30:00+00:00 2024-10-27T01:30:00+00:00",
                "2024-10-27T01:30:00+00:00 2024-10-28T01:30:00+00:00",
            ],
            next: Some("2024-10-28T01:30:00+00:00"),
        },
        Case {
            schedule: "0 1 * * *",
            tz: "America/New_York",
            start: "2024-11-02",
            end: None,
            catchup: true,
            now: "2024-11-05T00:00:00Z",
            due: &[
                "2024-11-02T05:00:00+00:00 2024-11-03T06:00:00+00:00",
                "2024-11-03T06:00:00+00:00 2024-11-04T06:00:00+00:00",
            ],
            next: Some("2024-11-04T06:00:00+00:00"),
        },
        Case {
            schedule: "0 2 * * *",
            tz: "America/New_York",
            start: "2024-03-09",
            end: None,
            catchup: true,
            now: "2024-03-12T00:00:00Z",
            due: &[
                "2024-03-09T07:00:00+00:00 2024-03-10T07:00:00+00:00",
                "2024-03-10T07:00:00+00:00 2024-03-11T06:00:00+00:00",
            ],
            next: Some("2024-03-11T06:00:00+00:00"),
        },
        Case {
            schedule: "@weekly",
            tz: "UTC",
            start: "2024-01-01",
            end: None,
            catchup: true,
            now: "2024-01-16T00:00:00Z",
            due: &["2024-01-07T00:00:00+00:00 2024-01-14T00:00:00+00:00"],
            next: Some("2024-01-14T00:00:00+00:00"),
        },
        Case {
            schedule: "@monthly",
            tz: "UTC",
            start: "2024-01-15",
            end: None,
            catchup: true,
            now: "2024-04-02T00:00:00Z",
            due: &[
                "2024-02-01T00:00:00+00:00 2024-03-01T00:00:00+00:00",
                "2024-03-01T00:00:00+00:00 2024-04-01T00:00:00+00:00",
            ],
            next: Some("2024-04-01T00:00:00+00:00"),
        },
        Case {
            schedule: "@hourly",
            tz: "America/New_York",
            start: "2024-11-03T00:00:00",
            end: None,
            catchup: true,
            now: "2024-11-03T07:00:00Z",
            due: &[
                "2024-11-03T04:00:00+00:00 2024-11-03T05:00:00+00:00",
                "2024-11-03T05:00:00+00:00 2024-11-03T06:00:00+00:00",
                "2024-11-03T06:00:00+00:00 2024-11-03T07:00:00+00:00",
            ],
            next: Some("2024-11-03T07:00:00+00:00"),
        },
        Case {
            schedule: "@hourly",
            tz: "Europe/Berlin",
            start: "2024-03-31T00:00:00",
            end: None,
            catchup: true,
            now: "2024-03-31T03:00:00Z",
            due: &[
                "2024-03-30T23:00:00+00:00 2024-03-31T00:00:00+00:00",
                "2024-03-31T00:00:00+00:00 2024-03-31T01:00:00+00:00",
                "2024-03-31T01:00:00+00:00 2024-03-31T02:00:00+00:00",
                "2024-03-31T02:00:00+00:00 2024-03-31T03:00:00+00:00",
            ],
            next: Some("2024-03-31T03:00:00+00:00"),
        },
        Case {
            schedule: "30 * * * *",
            tz: "Europe/Berlin",
            start: "2024-10-27T01:00:00",
            end: None,
            catchup: true,
            now: "2024-10-27T03:00:00Z",
            due: &[
                "2024-10-26T23:30:00+00:00 2024-10-27T00:30:00+00:00",
                "2024-10-27T00:30:00+00:00 2024-10-27T01:30:00+00:00",
                "2024-10-27T01:30:00+00:00 2024-10-27T02:30:00+00:00",
            ],
            next: Some("2024-10-27T02:30:00+00:00"),
        },
        Case {
            schedule: "0 */2 * * *",
            tz: "Europe/Berlin",
            start: "2024-10-27T00:00:00",
            end: None,
            catchup: true,
            now: "2024-10-27T06:00:00Z",
            due: &[
                "2024-10-26T22:00:00+00:00 2024-10-27T01:00:00+00:00",
                "2024-10-27T01:00:00+00:00 2024-10-27T03:00:00+00:00",
                "2024-10-27T03:00:00+00:00 2024-10-27T05:00:00+00:00",
            ],
            next: Some("2024-10-27T05:00:00+00:00"),
        },
        Case {
            schedule: "0 9 * * 1-5",
            tz: "Europe/Moscow",
            start: "2024-01-05",
            end: None,
            catchup: true,
            now: "2024-01-10T00:00:00Z",
            due: &[
                "2024-01-05T06:00:00+00:00 2024-01-08T06:00:00+00:00",
                "2024-01-08T06:00:00+00:00 2024-01-09T06:00:00+00:00",
            ],
            next: Some("2024-01-09T06:00:00+00:00"),
        },
        Case {
            schedule: "30 5 * * *",
            tz: "Asia/Kolkata",
            start: "2024-01-01",
            end: None,
            catchup: true,
            now: "2024-01-03T12:00:00Z",
            due: &[
                "2024-01-01T00:00:00+00:00 2024-01-02T00:00:00+00:00",
                "2024-01-02T00:00:00+00:00 2024-01-03T00:00:00+00:00",
            ],
            next: Some("2024-01-03T00:00:00+00:00"),
        },
        Case {
            schedule: "@daily",
            tz: "UTC",
            start: "2024-01-01",
            end: Some("2024-01-02"),
            catchup: true,
            now: "2024-01-10T00:00:00Z",
            due: &[
                "2024-01-01T00:00:00+00:00 2024-01-02T00:00:00+00:00",
                "2024-01-02T00:00:00+00:00 2024-01-03T00:00:00+00:00",
            ],
            next: None,
        },
        Case {
            schedule: "@daily",
            tz: "Europe/Moscow",
            start: "2024-01-01",
            end: Some("2024-01-03T12:00:00"),
            catchup: false,
            now: "2024-01-10T00:00:00Z",
            due: &[],
            next: None,
        },
        Case {
            schedule: "0 0 1 */3 *",
            tz: "UTC",
            start: "2024-01-01",
            end: None,
            catchup: true,
            now: "2024-10-02T00:00:00Z",
            due: &[
                "2024-01-01T00:00:00+00:00 2024-04-01T00:00:00+00:00",
                "2024-04-01T00:00:00+00:00 2024-07-01T00:00:00+00:00",
                "2024-07-01T00:00:00+00:00 2024-10-01T00:00:00+00:00",
            ],
            next: Some("2024-10-01T00:00:00+00:00"),
        },
        Case {
            schedule: "@yearly",
            tz: "America/New_York",
            start: "2020-06-01",
            end: None,
            catchup: true,
            now: "2024-01-02T00:00:00Z",
            due: &[
                "2021-01-01T05:00:00+00:00 2022-01-01T05:00:00+00:00",
                "2022-01-01T05:00:00+00:00 2023-01-01T05:00:00+00:00",
                "2023-01-01T05:00:00+00:00 2024-01-01T05:00:00+00:00",
            ],
            next: Some("2024-01-01T05:00:00+00:00"),
        },
        Case {
            schedule: "@once",
            tz: "UTC",
            start: "2024-01-01",
            end: None,
            catchup: true,
            now: "2024-02-01T00:00:00Z",
            due: &["2024-01-01T00:00:00+00:00 2024-01-01T00:00:00+00:00"],
            next: None,
        },
        Case {
            schedule: "@once",
            tz: "Europe/Berlin",
            start: "2024-01-01T10:00:00",
            end: None,
            catchup: false,
            now: "2024-02-01T00:00:00Z",
            due: &["2024-01-01T09:00:00+00:00 2024-01-01T09:00:00+00:00"],
            next: None,
        },
        Case {
            schedule: "45 23 * * 6",
            tz: "America/New_York",
            start: "2024-10-26",
            end: None,
            catchup: false,
            now: "2024-11-04T12:00:00Z",
            due: &["2024-10-27T03:45:00+00:00 2024-11-03T03:45:00+00:00"],
            next: Some("2024-11-03T03:45:00+00:00"),
        },
        Case {
            schedule: "0 3 * * *",
            tz: "Europe/Berlin",
            start: "2024-03-30",
            end: None,
            catchup: true,
            now: "2024-04-01T02:00:00Z",
            due: &[
                "2024-03-30T02:00:00+00:00 2024-03-31T01:00:00+00:00",
                "2024-03-31T01:00:00+00:00 2024-04-01T01:00:00+00:00",
            ],
            next: Some("2024-04-01T01:00:00+00:00"),
        },
    ];

    #[test]
    fn the_table_agrees_with_airflow() {
        for c in AIRFLOW {
            let mut o = opts(c.schedule, c.tz, c.start, c.catchup);
            if let Some(end) = c.end {
                o = o.end_date(naive(end));
            }
            let got = due_intervals(&o, None, utc(c.now));
            let what = format!(
                "{} in {} from {} to {:?}, catchup {}, at {}",
                c.schedule, c.tz, c.start, c.end, c.catchup, c.now
            );
            assert_eq!(show(&got), c.due, "{what}");
            let next = next_interval(&o, got.last(), utc(c.now)).map(|i| i.start.to_rfc3339());
            assert_eq!(next.as_deref(), c.next, "next run of {what}");
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
        let got = intervals_between(&o, utc("2024-01-01T00:00:00Z"), utc("2024-01-03T00:00:00Z"))
            .unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[2].end, utc("2024-01-04T00:00:00Z"));
    }

    #[test]
    fn backfill_stops_at_the_end_date_and_refuses_too_many() {
        let o = opts("@daily", "UTC", "2024-01-01", true).end_date(naive("2024-01-02"));
        let got = intervals_between(&o, utc("2024-01-01T00:00:00Z"), utc("2024-12-31T00:00:00Z"))
            .unwrap();
        assert_eq!(got.len(), 2, "{:?}", show(&got));
        let minutely = opts("* * * * *", "UTC", "2024-01-01", true);
        let e = intervals_between(
            &minutely,
            utc("2024-01-01T00:00:00Z"),
            utc("2024-02-01T00:00:00Z"),
        )
        .unwrap_err();
        assert_eq!(e.next, utc("2024-01-07T22:40:00Z"));
        assert!(e.to_string().contains("split the range"), "{e}");
    }

    #[test]
    fn backfill_across_dst_walks_the_schedules_intervals() {
        // As Airflow's `iter_dagrun_infos_between`: the scheduler's intervals.
        let o = opts("30 2 * * *", "Europe/Berlin", "2024-01-01", false);
        let got = intervals_between(&o, utc("2024-03-30T00:00:00Z"), utc("2024-04-01T00:00:00Z"))
            .unwrap();
        assert_eq!(
            show(&got),
            [
                "2024-03-30T01:30:00+00:00 2024-03-31T01:30:00+00:00",
                "2024-03-31T01:30:00+00:00 2024-04-01T00:30:00+00:00",
            ]
        );
    }

    #[test]
    fn local_times_in_dst_gaps_and_overlaps() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 02:30 does not exist on 2024-03-31 in Berlin: read with the winter offset, 03:30 CEST.
        assert_eq!(
            resolve_local(naive("2024-03-31T02:30:00"), berlin),
            utc("2024-03-31T01:30:00Z")
        );
        // 02:30 happens twice on 2024-10-27: the second one.
        assert_eq!(
            resolve_local(naive("2024-10-27T02:30:00"), berlin),
            utc("2024-10-27T01:30:00Z")
        );
    }
}

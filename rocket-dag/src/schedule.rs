//! Schedules: cron expressions and Airflow's presets, and the data interval of a run.

use std::fmt;

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;

/// When a DAG runs.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Schedule {
    /// Only when triggered (Airflow's `schedule=None`).
    #[default]
    None,
    /// Once, at the start date (`@once`).
    Once,
    /// On a cron schedule (5 fields, or a preset such as `@daily`).
    Cron(CronSchedule),
}

/// A parsed cron schedule.
#[derive(Clone)]
pub struct CronSchedule {
    expr: String,
    cron: Box<Cron>,
}

impl CronSchedule {
    /// The expression as written, e.g. `@daily` or `30 6 * * 1-5`.
    pub fn expr(&self) -> &str {
        &self.expr
    }
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronSchedule({})", self.expr)
    }
}

pub use rocket_dag_core::schedule::{PRESETS, ScheduleError};

impl Schedule {
    /// Parses `@once`, a preset (`@hourly @daily @weekly @monthly @quarterly @yearly`,
    /// `@annually`, `@midnight`) or a 5-field cron expression: the grammar `#[dag(schedule)]`
    /// checks at compile time ([`rocket_dag_core::schedule`]). No schedule is
    /// [`Schedule::None`], not a string.
    pub fn parse(expr: &str) -> Result<Schedule, ScheduleError> {
        Ok(match rocket_dag_core::schedule::parse(expr)? {
            rocket_dag_core::schedule::Spec::Once => Schedule::Once,
            rocket_dag_core::schedule::Spec::Cron { expr, cron } => {
                Schedule::Cron(CronSchedule { expr, cron })
            }
        })
    }

    /// The schedule as written (`None` for no schedule).
    pub fn as_str(&self) -> &str {
        match self {
            Schedule::None => "None",
            Schedule::Once => "@once",
            Schedule::Cron(c) => &c.expr,
        }
    }

    /// The data interval of a run whose logical date is `logical`: for a cron schedule the
    /// interval that starts at the last tick at or before `logical` and ends at the next one (a
    /// `@daily` run for 2024-01-01 covers [2024-01-01, 2024-01-02)); for `None` and `@once`, the
    /// empty interval at `logical`.
    pub fn data_interval(&self, logical: DateTime<Utc>, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        match self.tick_at_or_before(logical, tz) {
            Some(start) => (start, self.tick_after(start, tz).unwrap_or(start)),
            None => (logical, logical),
        }
    }

    /// The first tick strictly after `t`, as Airflow finds it (`CronMixin._get_next`): the cron
    /// expression steps over the wall clock of `tz`; a wall time that happens twice (autumn)
    /// is taken at its second occurrence, one that does not exist (spring) is moved forward by
    /// the length of the gap (`30 2 * * *` in Berlin on 2024-03-31 fires at 03:30 CEST). An
    /// expression that fires in every hour (`@hourly`, `*/5 * * * *`) steps in real time
    /// instead, so it neither skips nor repeats an hour across a change.
    pub fn tick_after(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        self.step(t, tz, true)
    }

    /// The last tick strictly before `t` (Airflow's `_get_prev`; see [`Schedule::tick_after`]).
    pub fn tick_before(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        self.step(t, tz, false)
    }

    /// `t` if it is a tick, else the next one (Airflow's `_align_to_next`).
    pub fn tick_at_or_after(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let next = self.tick_after(t, tz)?;
        Some(if self.tick_before(next, tz) == Some(t) {
            t
        } else {
            next
        })
    }

    /// `t` if it is a tick, else the previous one (Airflow's `_align_to_prev`).
    pub fn tick_at_or_before(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let prev = self.tick_before(t, tz)?;
        Some(if self.tick_after(prev, tz) == Some(t) {
            t
        } else {
            prev
        })
    }

    fn step(&self, t: DateTime<Utc>, tz: Tz, forward: bool) -> Option<DateTime<Utc>> {
        let Schedule::Cron(CronSchedule { cron, .. }) = self else {
            return None;
        };
        // croner on the naive wall clock (written as UTC, which has no DST), as croniter on
        // Airflow's naive datetimes.
        let naive = t.with_timezone(&tz).naive_local();
        let wall = Utc.from_utc_datetime(&naive);
        let found = if forward {
            cron.find_next_occurrence(&wall, false)
        } else {
            cron.find_previous_occurrence(&wall, false)
        }
        .ok()?
        .naive_utc();
        if rocket_dag_core::schedule::covers_every_hour(cron) {
            return Some(t + (found - naive));
        }
        Some(airflow_local(found, tz))
    }
}

/// A wall-clock time in `tz` as Airflow's `make_aware` places it (`fold=1`): the second of two
/// instants when the clock went back; when the clock jumped over it, the time read with the
/// offset in force before the jump (which lands as far after the jump as the time was after
/// its start).
pub fn airflow_local(naive: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.max(b).with_timezone(&Utc),
        LocalResult::None => {
            // The offset in force before the gap: that of a valid time shortly before it (gaps
            // last at most a few hours).
            let before = (1..=48)
                .map(|m| naive - chrono::Duration::minutes(30 * m))
                .find_map(|p| tz.from_local_datetime(&p).earliest());
            match before {
                Some(b) => {
                    let offset = b.offset().fix().local_minus_utc();
                    Utc.from_utc_datetime(&(naive - chrono::Duration::seconds(offset.into())))
                }
                None => Utc.from_utc_datetime(&naive),
            }
        }
    }
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Schedule({})", self.as_str())
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn daily_interval_covers_the_day() {
        let s = Schedule::parse("@daily").unwrap();
        let d = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let (a, b) = s.data_interval(d, chrono_tz::UTC);
        assert_eq!(a, d);
        assert_eq!(b, Utc.with_ymd_and_hms(2024, 1, 2, 0, 0, 0).unwrap());
        let later = Utc.with_ymd_and_hms(2024, 1, 1, 15, 30, 0).unwrap();
        assert_eq!(s.data_interval(later, chrono_tz::UTC).0, d);
    }

    #[test]
    fn bad_schedules_are_rejected() {
        assert!(Schedule::parse("@dialy").is_err());
        assert!(Schedule::parse("0 25 * * *").is_err());
        assert!(Schedule::parse("* * *").is_err());
        assert!(
            Schedule::parse("").is_err(),
            "no schedule is `Schedule::None`"
        );
        assert_eq!(
            Schedule::parse("*/5 * * * 1-5").unwrap().as_str(),
            "*/5 * * * 1-5"
        );
    }
}

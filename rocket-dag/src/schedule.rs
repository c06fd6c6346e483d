//! Schedules: cron expressions and Airflow's presets, and the data interval of a run.

use std::fmt;

use chrono::{DateTime, Utc};
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

/// Airflow's presets and the cron expressions they stand for.
pub const PRESETS: [(&str, &str); 6] = [
    ("@hourly", "0 * * * *"),
    ("@daily", "0 0 * * *"),
    ("@weekly", "0 0 * * 0"),
    ("@monthly", "0 0 1 * *"),
    ("@quarterly", "0 0 1 */3 *"),
    ("@yearly", "0 0 1 1 *"),
];

/// A schedule string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid schedule `{expr}`: {message}")]
pub struct ScheduleError {
    expr: String,
    message: String,
}

impl Schedule {
    /// Parses `@once`, a preset (`@hourly @daily @weekly @monthly @quarterly @yearly`,
    /// `@annually`, `@midnight`) or a 5-field cron expression.
    pub fn parse(expr: &str) -> Result<Schedule, ScheduleError> {
        let expr = expr.trim();
        let err = |message: String| ScheduleError {
            expr: expr.to_owned(),
            message,
        };
        if expr.eq_ignore_ascii_case("none") || expr.is_empty() {
            return Ok(Schedule::None);
        }
        if expr == "@once" {
            return Ok(Schedule::Once);
        }
        let cron_text = match expr {
            "@annually" => "0 0 1 1 *",
            "@midnight" => "0 0 * * *",
            e if e.starts_with('@') => PRESETS
                .iter()
                .find(|(p, _)| *p == e)
                .map(|(_, c)| *c)
                .ok_or_else(|| {
                    err(format!(
                        "unknown preset; expected one of `@once`, `@annually`, `@midnight`, {}",
                        PRESETS
                            .iter()
                            .map(|(p, _)| format!("`{p}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?,
            e => {
                let fields = e.split_whitespace().count();
                if fields != 5 {
                    return Err(err(format!(
                        "expected 5 fields (minute hour day-of-month month day-of-week), found {fields}"
                    )));
                }
                e
            }
        };
        let cron = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Disallowed)
            .build()
            .parse(cron_text)
            .map_err(|e| err(e.to_string()))?;
        Ok(Schedule::Cron(CronSchedule {
            expr: expr.to_owned(),
            cron: Box::new(cron),
        }))
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

    fn find(
        &self,
        t: DateTime<Utc>,
        tz: Tz,
        forward: bool,
        inclusive: bool,
    ) -> Option<DateTime<Utc>> {
        let Schedule::Cron(CronSchedule { cron, .. }) = self else {
            return None;
        };
        let local = t.with_timezone(&tz);
        let found = if forward {
            cron.find_next_occurrence(&local, inclusive)
        } else {
            cron.find_previous_occurrence(&local, inclusive)
        };
        found.ok().map(|t| t.with_timezone(&Utc))
    }

    /// The first tick strictly after `t`.
    pub fn tick_after(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        self.find(t, tz, true, false)
    }
    /// `t` if it is a tick, else the next one.
    pub fn tick_at_or_after(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        self.find(t, tz, true, true)
    }
    /// The last tick strictly before `t`.
    pub fn tick_before(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        self.find(t, tz, false, false)
    }
    /// `t` if it is a tick, else the previous one.
    pub fn tick_at_or_before(&self, t: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        self.find(t, tz, false, true)
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
        assert_eq!(Schedule::parse("").unwrap(), Schedule::None);
        assert_eq!(
            Schedule::parse("*/5 * * * 1-5").unwrap().as_str(),
            "*/5 * * * 1-5"
        );
    }
}

//! The schedule grammar: `@once`, Airflow's presets, or a 5-field cron expression, checked
//! field by field so a message can name the bad one.

use std::fmt;

use croner::Cron;

/// Airflow's presets and the cron expressions they stand for (`@once` is not a cron schedule).
pub const PRESETS: &[(&str, &str)] = &[
    ("@hourly", "0 * * * *"),
    ("@daily", "0 0 * * *"),
    ("@weekly", "0 0 * * 0"),
    ("@monthly", "0 0 1 * *"),
    ("@quarterly", "0 0 1 */3 *"),
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@midnight", "0 0 * * *"),
];

/// The cron fields, with the range of their numbers.
const FIELDS: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 7),
];

/// A schedule as parsed.
#[derive(Debug, Clone)]
pub enum Spec {
    /// `@once`: one run, at the start date.
    Once,
    /// A cron schedule: a preset or a 5-field expression.
    Cron {
        /// As written, trimmed (`@daily`, `30 6 * * 1-5`).
        expr: String,
        /// The parsed expression (a preset expanded).
        cron: Box<Cron>,
    },
}

/// A schedule that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScheduleError {
    /// The text as given.
    pub input: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid schedule `{}`: {}", self.input, self.message)
    }
}

/// Parses `@once`, a preset (`@hourly @daily @weekly @monthly @quarterly @yearly`,
/// `@annually`, `@midnight`) or a 5-field cron expression (minute hour day-of-month month
/// day-of-week). No schedule at all is not a string: it is `schedule = None`.
pub fn parse(input: &str) -> Result<Spec, ScheduleError> {
    let s = input.trim();
    let err = |message: String| ScheduleError {
        input: input.to_owned(),
        message,
    };
    if s == "@once" {
        return Ok(Spec::Once);
    }
    // Airflow's `schedule=None` written as a string: say how to write it instead.
    if s.eq_ignore_ascii_case("none") {
        return Err(err(
            "no schedule is not a string: write `schedule = None`, without quotes".to_owned(),
        ));
    }
    let cron_text = if s.starts_with('@') {
        match PRESETS.iter().find(|(p, _)| *p == s) {
            Some((_, c)) => *c,
            None => {
                let mut names = vec!["@once"];
                names.extend(PRESETS.iter().map(|(p, _)| *p));
                return Err(err(format!(
                    "unknown preset; {}",
                    crate::names::expected_one_of(s, &names)
                )));
            }
        }
    } else {
        check_fields(s).map_err(err)?;
        s
    };
    let cron = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .build()
        .parse(cron_text)
        .map_err(|e| err(e.to_string()))?;
    Ok(Spec::Cron {
        expr: s.to_owned(),
        cron: Box::new(cron),
    })
}

/// Five fields, and every number in a list or range within its field's range (names such as
/// `JAN` or `MON`, `L`, `W` and `#` are croner's to check).
fn check_fields(s: &str) -> Result<(), String> {
    let fields: Vec<&str> = s.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected 5 fields (minute hour day-of-month month day-of-week) or a preset such as `@daily`, found {} field{}",
            fields.len(),
            if fields.len() == 1 { "" } else { "s" }
        ));
    }
    for (field, (name, lo, hi)) in fields.iter().zip(FIELDS) {
        for part in field.split([',', '-', '/']) {
            if let Ok(n) = part.parse::<u32>() {
                let is_step = field.contains('/') && field.ends_with(&format!("/{part}"));
                if !is_step && (n < lo || n > hi) {
                    return Err(if part == *field {
                        format!("the {name} field `{field}` is out of range {lo}-{hi}")
                    } else {
                        format!("the {name} field `{field}` has `{part}`, out of range {lo}-{hi}")
                    });
                }
            }
        }
    }
    Ok(())
}

/// Whether `cron` fires in every hour of the day (Airflow then steps across DST changes in
/// real time rather than on the wall clock).
pub fn covers_every_hour(cron: &Cron) -> bool {
    (0..24).all(|h| cron.pattern.hour_match(h).unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_crons_and_once() {
        assert!(matches!(parse("@once"), Ok(Spec::Once)));
        for s in [
            "@daily",
            " @hourly ",
            "30 6 * * 1-5",
            "*/5 * * * *",
            "0 0 1 JAN *",
        ] {
            assert!(matches!(parse(s), Ok(Spec::Cron { .. })), "{s}");
        }
        match parse("@daily").unwrap() {
            Spec::Cron { expr, cron } => {
                assert_eq!(expr, "@daily");
                assert!(!covers_every_hour(&cron));
            }
            Spec::Once => unreachable!(),
        }
        match parse("@hourly").unwrap() {
            Spec::Cron { cron, .. } => assert!(covers_every_hour(&cron)),
            Spec::Once => unreachable!(),
        }
    }

    #[test]
    fn mistakes_name_the_field_or_the_preset() {
        let msg = |s: &str| parse(s).unwrap_err().to_string();
        assert!(msg("0 25 * * *").contains("the hour field `25` is out of range 0-23"));
        assert!(msg("@dialy").contains("did you mean `@daily`?"));
        assert!(msg("* * *").contains("expected 5 fields"));
        assert!(msg("None").contains("write `schedule = None`, without quotes"));
        assert!(msg("").contains("found 0 fields"));
        assert!(msg("0 1-99 * * *").contains("has `99`"));
    }
}

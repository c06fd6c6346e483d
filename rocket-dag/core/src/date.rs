//! DAG dates (`start_date`, `end_date`): `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS]`, wall time in
//! the DAG's time zone.

use chrono::{NaiveDate, NaiveDateTime};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A date that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid date `{input}`: {why}")]
pub struct DateError {
    /// The text as given.
    pub input: String,
    /// What is wrong with it.
    pub why: String,
}

/// `"2024-01-01"` or `"2024-01-01T06:30:00"` (or with a space, or without seconds).
pub fn parse(input: &str) -> Result<NaiveDateTime, DateError> {
    let bad = |why: String| DateError {
        input: input.to_owned(),
        why,
    };
    let form = "expected `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS`, such as `2024-01-31`";
    let (date, time) = match input.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (input, None),
    };
    let parts: Vec<&str> = date.split('-').collect();
    let digits = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
    if parts.len() != 3 || !digits(parts[0], 4) || !digits(parts[1], 2) || !digits(parts[2], 2) {
        return Err(bad(form.to_owned()));
    }
    let num = |s: &str| s.parse::<u32>().unwrap_or(0);
    let (y, m, d) = (num(parts[0]), num(parts[1]), num(parts[2]));
    if !(1..=12).contains(&m) {
        return Err(bad(format!("month `{}` is out of range 01-12", parts[1])));
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if d == 0 || d > days {
        let month = MONTHS[m as usize - 1];
        return Err(bad(format!(
            "day `{}` is out of range: {month} {y} has {days} days",
            parts[2]
        )));
    }
    let (mut hh, mut mm, mut ss) = (0, 0, 0);
    if let Some(t) = time {
        let tp: Vec<&str> = t.split(':').collect();
        if !(2..=3).contains(&tp.len()) || tp.iter().any(|p| !digits(p, 2)) {
            return Err(bad(
                "expected the time of day as `HH:MM:SS` or `HH:MM`, such as `06:30:00`".to_owned(),
            ));
        }
        hh = num(tp[0]);
        mm = num(tp[1]);
        ss = if tp.len() == 3 { num(tp[2]) } else { 0 };
        if hh > 23 || mm > 59 || ss > 59 {
            return Err(bad(format!(
                "the time of day `{t}` is out of range 00:00:00-23:59:59"
            )));
        }
    }
    NaiveDate::from_ymd_opt(y as i32, m, d)
        .and_then(|day| day.and_hms_opt(hh, mm, ss))
        .ok_or_else(|| bad(form.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_their_mistakes() {
        assert_eq!(
            parse("2024-02-29").unwrap().to_string(),
            "2024-02-29 00:00:00"
        );
        assert_eq!(
            parse("2024-01-01T06:30").unwrap().to_string(),
            "2024-01-01 06:30:00"
        );
        assert!(
            parse("2023-02-29")
                .unwrap_err()
                .why
                .contains("February 2023 has 28 days")
        );
        assert!(parse("2024-13-01").unwrap_err().why.contains("month `13`"));
        assert!(
            parse("2024-01-01T24:00:00")
                .unwrap_err()
                .why
                .contains("out of range")
        );
        assert!(parse("01/02/2024").unwrap_err().why.contains("YYYY-MM-DD"));
    }
}

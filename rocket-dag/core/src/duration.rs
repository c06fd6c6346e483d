//! The duration notation of DAG options and configuration: `500ms`, `30s`, `10m`, `1h30m`,
//! `1d` (numbers with units, no spaces), read by [`parse`] and written by [`format()`].

use std::fmt;
use std::time::Duration;

/// A duration that does not parse, with what is wrong and, for a duration written with long
/// unit names (`5 minutes`), the accepted form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DurationError {
    /// The text as given.
    pub input: String,
    /// What is wrong with it.
    pub why: String,
    /// The accepted spelling of what was meant, if it is clear.
    pub suggestion: Option<String>,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid duration `{}`: {}; expected numbers with units `ms`, `s`, `m`, `h` or `d` \
             and no spaces, such as `30s`, `10m` or `1h30m`",
            self.input, self.why
        )?;
        if let Some(fix) = &self.suggestion {
            write!(f, "\nhelp: did you mean `{fix}`?")?;
        }
        Ok(())
    }
}

/// `"1h30m"` → 90 minutes.
pub fn parse(s: &str) -> Result<Duration, DurationError> {
    let err = |why: String| DurationError {
        input: s.to_owned(),
        why,
        suggestion: suggest(s),
    };
    if s.contains(['.', ',']) {
        return Err(err(
            "it has a fraction; use a smaller unit (`1h30m`, `1500ms`)".to_owned(),
        ));
    }
    let mut total: u64 = 0;
    for (number, unit) in split(s).map_err(err)? {
        let factor = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(err(format!("unknown unit `{unit}`"))),
        };
        total = number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(factor))
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| err("the duration is too large".to_owned()))?;
    }
    if s.contains(char::is_whitespace) {
        return Err(err("it contains a space".to_owned()));
    }
    Ok(Duration::from_millis(total))
}

/// Splits `"1h30m"` (spaces allowed, for suggestions) into number and unit pairs.
fn split(s: &str) -> Result<Vec<(&str, &str)>, String> {
    let mut parts = Vec::new();
    let mut rest = s.trim_start();
    if rest.is_empty() {
        return Err("it is empty".to_owned());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("expected a number at `{rest}`"));
        }
        let (number, tail) = rest.split_at(digits);
        let tail = tail.trim_start();
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c.is_whitespace())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        if unit.is_empty() {
            return Err(format!("the number `{number}` has no unit"));
        }
        parts.push((number, unit));
        rest = tail.trim_start();
    }
    Ok(parts)
}

/// `"5 minutes"` → `"5m"`: the accepted form of a duration written with long unit names.
fn suggest(s: &str) -> Option<String> {
    let mut out = String::new();
    for (number, unit) in split(s).ok()? {
        let short = match unit.to_ascii_lowercase().as_str() {
            "ms" | "msec" | "msecs" | "millis" | "millisecond" | "milliseconds" => "ms",
            "s" | "sec" | "secs" | "second" | "seconds" => "s",
            "m" | "min" | "mins" | "minute" | "minutes" => "m",
            "h" | "hr" | "hrs" | "hour" | "hours" => "h",
            "d" | "day" | "days" => "d",
            _ => return None,
        };
        out.push_str(number);
        out.push_str(short);
    }
    (out != s).then_some(out)
}

/// `1h30m`, `2s`, `250ms`, `1.500s`: a duration in the notation [`parse`] reads (to the
/// millisecond; below a second and for fractions of one, as milliseconds or decimal seconds).
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if !ms.is_multiple_of(1000) {
        return if ms >= 1000 {
            std::format!("{:.3}s", d.as_secs_f64())
        } else {
            std::format!("{ms}ms")
        };
    }
    let mut s = (ms / 1000) as u64;
    let mut out = String::new();
    for (unit, len) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if s >= len {
            out.push_str(&std::format!("{}{unit}", s / len));
            s %= len;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notation_reads_and_writes_back() {
        for (text, ms) in [
            ("500ms", 500),
            ("30s", 30_000),
            ("10m", 600_000),
            ("1h30m", 5_400_000),
            ("1d", 86_400_000),
            ("0s", 0),
        ] {
            assert_eq!(parse(text).unwrap(), Duration::from_millis(ms), "{text}");
            assert_eq!(format(Duration::from_millis(ms)), text);
        }
        assert_eq!(format(Duration::from_millis(1500)), "1.500s");
        assert_eq!(format(Duration::from_secs(86_400 + 2)), "1d2s");
    }

    #[test]
    fn mistakes_say_what_is_wrong() {
        let e = parse("5 minutes").unwrap_err();
        assert_eq!(e.why, "unknown unit `minutes`");
        assert_eq!(e.suggestion.as_deref(), Some("5m"));
        assert_eq!(
            parse("1 hour 30 mins").unwrap_err().suggestion.as_deref(),
            Some("1h30m")
        );
        assert_eq!(parse("5 fortnights").unwrap_err().suggestion, None);
        assert!(e.to_string().contains("help: did you mean `5m`?"), "{e}");
        assert!(parse("").unwrap_err().why.contains("empty"));
        assert!(parse("10").unwrap_err().why.contains("no unit"));
        assert!(parse("3w").unwrap_err().why.contains("unknown unit `w`"));
        assert!(parse("1 s").unwrap_err().why.contains("space"));
        assert!(
            parse("99999999999999999d")
                .unwrap_err()
                .why
                .contains("too large")
        );
    }
}

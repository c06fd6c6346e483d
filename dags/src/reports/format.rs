//! How the reports write values for a reader: Markdown escaping of text and identifiers, and
//! numbers, sizes, durations and instants in short human form.

use chrono::{DateTime, SecondsFormat, Utc};

/// What a Markdown cell shows for a missing value.
pub(super) const DASH: &str = "—";

/// What a Markdown cell shows for a value the API did not give.
pub(super) const NOT_GIVEN: &str = "*not given*";

/// Plain text as Markdown: characters that Markdown or a table cell would interpret are
/// escaped (LL2 names contain `|`, as in `Falcon 9 Block 5 | Starlink …`), line breaks become
/// spaces.
pub(super) fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '|' | '*' | '_' | '`' | '[' | ']' | '<' | '>' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            // NUL, escape sequences and other controls: nothing a reader should get.
            c if c.is_control() => {}
            _ => out.push(c),
        }
    }
    out
}

/// An identifier (host, error class, task id) as inline code, or as escaped text if it
/// contains a backtick; `|` is escaped either way, as table cells need.
pub(super) fn code(s: &str) -> String {
    if s.is_empty() || s.contains('`') || s.chars().any(char::is_control) {
        return text(s);
    }
    format!("`{}`", s.replace('|', "\\|"))
}

/// `2025-11-02 00:00 UTC`: to the minute (the JSON and CSV keep the seconds).
pub(super) fn fmt_utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// `2025-11-02T00:00:00Z`.
pub(super) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `1,234,567`.
pub(super) fn fmt_int(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 launch`, `1,024 launches`.
pub(super) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", fmt_int(n as u64), one_or_many(n, one, many))
}

/// `one` for 1, else `many`: the verb after [`plural`] (`is`/`are`, `has`/`have`).
pub(super) fn one_or_many<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// `66.7%`.
pub(super) fn fmt_pct(ratio: f64) -> String {
    if ratio.is_finite() {
        format!("{:.1}%", ratio * 100.0)
    } else {
        DASH.to_owned()
    }
}

/// Binary units: `512 B`, `200.0 KiB`, `1.5 MiB`.
pub(super) fn fmt_bytes(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    scaled(bytes as f64, "")
}

/// `850 B/s`, `1.5 MiB/s`.
pub(super) fn fmt_rate(bytes_per_second: f64) -> String {
    if bytes_per_second < 1024.0 {
        return format!("{bytes_per_second:.0} B/s");
    }
    scaled(bytes_per_second, "/s")
}

fn scaled(mut value: f64, suffix: &str) -> String {
    let mut unit = "B";
    for next in ["KiB", "MiB", "GiB", "TiB"] {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit}{suffix}")
}

/// A response time: `4.2 ms`, `180 ms`, `1.25 s`, `2 min 5 s`.
pub(super) fn fmt_ms(ms: f64) -> String {
    if !ms.is_finite() {
        DASH.to_owned()
    } else if ms < 9.95 {
        format!("{ms:.1} ms")
    } else if ms < 999.5 {
        format!("{ms:.0} ms")
    } else if ms < 59_995.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        fmt_span((ms / 1000.0).round() as i64)
    }
}

/// A span of whole seconds in its two largest units: `42 s`, `3 min 5 s`, `7 h 12 min`,
/// `2 d 3 h` (truncated; the JSON and CSV have the exact seconds).
pub(super) fn fmt_span(seconds: i64) -> String {
    let s = seconds.max(0);
    let (d, h, m, s) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min {s} s")
    } else {
        format!("{s} s")
    }
}

/// A bar of up to 20 blocks, proportional to `value / max` (at least one block for a
/// non-zero value).
pub(super) fn bar(value: usize, max: usize) -> String {
    if value == 0 || max == 0 {
        return String::new();
    }
    let blocks = (value * 20).div_ceil(max).clamp(1, 20);
    "█".repeat(blocks)
}

//! Text from data made safe for where it lands: a terminal or a log line.
//!
//! An API error body, a launch name or a file name can carry escape sequences (which a terminal
//! obeys: colours, cursor moves, a cleared screen, a changed window title) or line breaks (which
//! forge a log line: `…\n[2024-01-01T00:00:00Z] INFO  rocket_dag::runner: all good`). Every log
//! line the runtime writes, console or file, and every error the command line prints goes
//! through [`control`]. HTML, SVG, Markdown and CSV have escapers of their own where they are
//! written.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `s` with every control character written out visibly: line breaks as `\n` and `\r`, other
/// C0 and C1 controls and DEL as `\u{1b}`, and the Unicode bidirectional overrides (which
/// reorder what a reader sees) as `\u{202e}`. Tabs stay. Borrowed when there is nothing to
/// escape, which is the common case.
pub fn control(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Whether [`control`] rewrites `c`.
pub fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\t') || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(
            control("Falcon 9 | Starlink\ttab"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn controls_are_written_out() {
        assert_eq!(
            control("a\nb\r\x1b[31mred\x07\u{9b}\u{202e}x\0"),
            "a\\nb\\r\\u{1b}[31mred\\u{7}\\u{9b}\\u{202e}x\\u{0}"
        );
        assert!(!control("x\n[INFO] forged").contains('\n'));
    }
}

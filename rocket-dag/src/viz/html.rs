//! HTML text: escaping, and the frame of the charts' standalone pages (doctype,
//! Content-Security-Policy, inline style, title and summary) with what goes in their tables.

use std::fmt::Write as _;

use quick_xml::escape::escape;

use crate::store::TaskStateRecord;

use super::palette::{
    FASTER, FONT, GRID, HIGHLIGHT, HIGHLIGHT_BADGE, MUTED, SLOWER, STRIPE, TEXT, state_color,
};

/// What a page may load: nothing but its own inline style and `data:` images.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// `text` with `&`, `<` and `>` escaped, as HTML text.
pub(super) fn escape_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `text` escaped as HTML text or a double-quoted attribute value (`"` too).
pub(super) fn escape_html(text: &str) -> String {
    escape_text(text).replace('"', "&quot;")
}

/// Style of the charts' pages (inline: the Content-Security-Policy allows nothing else).
fn css() -> String {
    format!(
        "body{{font-family:{font};color:{TEXT};margin:24px;font-size:14px}}\
         h1{{font-size:20px;margin:0 0 4px}}h2{{font-size:16px;margin:24px 0 8px}}\
         .meta{{color:{MUTED};margin:0 0 16px}}.chart{{overflow-x:auto;border:1px solid {GRID};\
         border-radius:6px}}.chart svg{{display:block}}\
         table{{border-collapse:collapse;font-size:13px}}th,td{{text-align:left;padding:4px 10px;\
         border-bottom:1px solid {GRID};vertical-align:top}}th{{background:{STRIPE}}}\
         td.num,th.num{{text-align:right;font-variant-numeric:tabular-nums}}\
         .state{{display:inline-block;padding:0 6px;border-radius:4px}}\
         tr.top td{{background:{HIGHLIGHT}}}.badge{{background:{HIGHLIGHT_BADGE};color:#fff;\
         border-radius:4px;padding:1px 6px;font-size:12px;margin-left:6px;white-space:nowrap}}\
         details summary{{cursor:pointer}}pre{{margin:4px 0;white-space:pre-wrap;font-size:12px}}\
         .up{{color:{SLOWER}}}.down{{color:{FASTER}}}",
        font = FONT.replace(", ", ","),
    )
}

/// `text`, escaped, appended to `out`.
pub(super) fn push_esc(out: &mut String, text: &str) {
    out.push_str(&escape(text));
}

/// A chart's page up to its chart: head, `<h1>` title, the summary line (`summary` escaped,
/// then `note`, HTML) and the `chart` (SVG) in its frame.
pub(super) fn chart_page_start(
    out: &mut String,
    title: &str,
    summary: &str,
    note: &str,
    chart: &str,
) {
    out.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    let _ = write!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
    );
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>");
    push_esc(out, title);
    out.push_str("</title><style>");
    out.push_str(&css());
    out.push_str("</style></head><body>\n");
    out.push_str("<h1>");
    push_esc(out, title);
    out.push_str("</h1><p class=\"meta\">");
    push_esc(out, summary);
    out.push_str(note);
    out.push_str("</p><div class=\"chart\">");
    out.push_str(chart);
    out.push_str("</div>");
}

/// Closes a page.
pub(super) fn page_end(out: &mut String) {
    out.push_str("\n</body></html>\n");
}

/// A task state's name on its colour.
pub(super) fn push_state_badge(out: &mut String, state: TaskStateRecord) {
    let _ = write!(
        out,
        "<span class=\"state\" style=\"background:{}\">{}</span>",
        state_color(state),
        state.as_str()
    );
}

/// An error: its first line, and the rest behind a `<details>` when there is more.
pub(super) fn push_error(out: &mut String, err: &str) {
    let err = err.trim();
    match err.split_once('\n') {
        None => push_esc(out, err),
        Some((first, _)) => {
            out.push_str("<details><summary>");
            push_esc(out, first.trim());
            out.push_str("</summary><pre>");
            push_esc(out, err);
            out.push_str("</pre></details>");
        }
    }
}

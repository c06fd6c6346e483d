//! The changes report of an incremental run (`rocket_incremental`): what is new, changed or
//! gone since the last successful run, and how old the data was when fetched.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::ReportError;
use super::files::Files;
use super::format::{fmt_int, fmt_utc};
use super::table::{Align, Cell, Column, Table};
use crate::incremental::Changes;
use crate::reports::Percentiles;

/// `3.5 h`, `2 d 4 h`.
fn fmt_hours(h: f64) -> String {
    if h.abs() >= 48.0 {
        let total = h.round() as i64;
        format!("{} d {} h", total / 24, (total % 24).abs())
    } else {
        format!("{h:.1} h")
    }
}

fn hours_cell(h: Option<f64>) -> Cell {
    h.map_or_else(Cell::dash, |h| Cell::new(fmt_hours(h), format!("{h:.3}")))
}

/// The table of changes: one row per new, changed or gone launch.
fn changes_table(c: &Changes) -> Table {
    let mut table = Table::new(vec![
        Column::both("id", "Id", Align::Left),
        Column::both("name", "Launch", Align::Left),
        Column::both("kind", "What", Align::Left),
        Column::both("fields", "Changed fields", Align::Left),
        Column::both("last_updated", "Updated by the API", Align::Left),
        Column::both("age_hours", "Age when fetched", Align::Right),
        Column::both("pickup_hours", "Waited for a run", Align::Right),
    ]);
    for ch in &c.changes {
        table.row(vec![
            Cell::code(&ch.id),
            Cell::text(&ch.name),
            Cell::plain(ch.kind.as_str()),
            if ch.fields.is_empty() {
                Cell::dash()
            } else {
                Cell::plain(ch.fields.join(" "))
            },
            ch.last_updated.map_or_else(Cell::dash, Cell::utc),
            hours_cell(ch.age_hours),
            hours_cell(ch.pickup_hours),
        ]);
    }
    table
}

fn percentiles_row(name: &str, p: &Percentiles) -> Vec<Cell> {
    vec![
        Cell::plain(name),
        Cell::int(p.samples),
        hours_cell(p.p50),
        hours_cell(p.p90),
        hours_cell(p.p99),
    ]
}

/// The report in Markdown.
pub fn to_markdown(c: &Changes) -> String {
    let mut md = String::from("# Changes since the last successful run\n\n");
    let _ = writeln!(
        md,
        "Fetched {}: {} launches listed — {} new, {} changed, {} unchanged; {} gone from the \
         list. Only the new and changed ones were processed (their pictures fetched).",
        fmt_utc(c.fetched_at),
        fmt_int(c.listed as u64),
        fmt_int(c.new as u64),
        fmt_int(c.changed as u64),
        fmt_int(c.unchanged as u64),
        fmt_int(c.gone as u64),
    );
    match (c.previous_sync, c.hours_since_sync) {
        (Some(at), Some(h)) => {
            let _ = writeln!(
                md,
                "\nThe last successful run fetched at {} ({} before this one).",
                fmt_utc(at),
                fmt_hours(h)
            );
        }
        _ => md.push_str("\nNo successful run before: every launch is new.\n"),
    }
    md.push_str("\n## Changes\n\n");
    if c.changes.is_empty() {
        md.push_str("Nothing is new, changed or gone.\n");
    } else {
        changes_table(c).render_markdown(&mut md);
    }
    md.push_str(
        "\n## Age of the data\n\nFor the new and changed launches: how long before this \
         fetch the API last updated them (`last_updated`), and, for updates made after the \
         previous run, how long they waited for this one. A run more often shortens the wait; \
         it cannot be shorter than the API's own update.\n\n",
    );
    let mut table = Table::new(vec![
        Column::md("Measure", Align::Left),
        Column::md("Launches", Align::Right),
        Column::md("p50", Align::Right),
        Column::md("p90", Align::Right),
        Column::md("p99", Align::Right),
    ]);
    table.row(percentiles_row("Age when fetched", &c.age_hours));
    table.row(percentiles_row("Waited for a run", &c.pickup_hours));
    table.render_markdown(&mut md);
    if c.unknown_age > 0 {
        let _ = writeln!(
            md,
            "\n{} new or changed launches have no `last_updated` (API 2.0.0 does not send it): \
             their age is unknown, and they were compared by their content.",
            fmt_int(c.unknown_age as u64)
        );
    }
    md
}

/// Writes `changes.json`, `changes.csv` (one row per change) and `changes.md` into `dir`.
///
/// # Errors
///
/// [`ReportError::Write`] when a file cannot be written.
pub fn write(c: &Changes, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    Files::default()
        .json("changes.json", c)?
        .csv("changes.csv", &changes_table(c))?
        .markdown("changes.md", to_markdown(c))
        .write(dir)
}

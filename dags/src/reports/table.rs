//! The one table of the reports: rows of cells that hold a value both as Markdown (escaped,
//! formatted for reading) and as CSV (the raw value, made safe for a spreadsheet).

use chrono::{DateTime, Utc};

use super::format::{
    DASH, NOT_GIVEN, code, fmt_bytes, fmt_int, fmt_ms, fmt_pct, fmt_rate, fmt_span, fmt_utc,
    rfc3339, text,
};

/// How a Markdown column is aligned.
#[derive(Debug, Clone, Copy)]
pub(super) enum Align {
    Left,
    Right,
}

/// A column: its CSV header, its Markdown heading, or both. A table renders in each format
/// the columns that have a name in it, in their order.
pub(super) struct Column {
    csv: Option<&'static str>,
    md: Option<(String, Align)>,
}

impl Column {
    /// A column of both the CSV file and the Markdown table.
    pub(super) fn both(csv: &'static str, md: &str, align: Align) -> Column {
        Column {
            csv: Some(csv),
            md: Some((md.to_owned(), align)),
        }
    }

    /// A column of the CSV file only.
    pub(super) fn csv(name: &'static str) -> Column {
        Column {
            csv: Some(name),
            md: None,
        }
    }

    /// A column of the Markdown table only.
    pub(super) fn md(heading: impl Into<String>, align: Align) -> Column {
        Column {
            csv: None,
            md: Some((heading.into(), align)),
        }
    }
}

/// One value, as the Markdown table shows it and as the CSV file holds it.
pub(super) struct Cell {
    md: String,
    csv: String,
}

impl Cell {
    /// A cell whose two forms differ in more than formatting.
    pub(super) fn new(md: impl Into<String>, csv: impl Into<String>) -> Cell {
        Cell {
            md: md.into(),
            csv: csv.into(),
        }
    }

    /// The same text in both, as it is: for values Markdown cannot misread (numbers, dates,
    /// fixed words).
    pub(super) fn plain(s: impl Into<String>) -> Cell {
        let s = s.into();
        Cell {
            md: s.clone(),
            csv: s,
        }
    }

    /// Text from the data: escaped in Markdown.
    pub(super) fn text(s: &str) -> Cell {
        Cell::new(text(s), s)
    }

    /// An identifier: inline code in Markdown.
    pub(super) fn code(s: &str) -> Cell {
        Cell::new(code(s), s)
    }

    /// Nothing: `md` in Markdown (e.g. [`DASH`]), empty in CSV.
    pub(super) fn missing(md: &str) -> Cell {
        Cell::new(md, "")
    }

    /// Nothing: a dash in Markdown, empty in CSV.
    pub(super) fn dash() -> Cell {
        Cell::missing(DASH)
    }

    /// A value the API did not give: *not given* in Markdown, empty in CSV.
    pub(super) fn not_given() -> Cell {
        Cell::missing(NOT_GIVEN)
    }

    /// Optional text from the data: escaped, or a dash.
    pub(super) fn maybe_text(s: Option<&str>) -> Cell {
        s.map_or_else(Cell::dash, Cell::text)
    }

    /// A count: `1,234` in Markdown.
    pub(super) fn int(n: usize) -> Cell {
        Cell::new(fmt_int(n as u64), n.to_string())
    }

    /// A size in bytes: `1.5 MiB` in Markdown.
    pub(super) fn bytes(n: u64) -> Cell {
        Cell::new(fmt_bytes(n), n.to_string())
    }

    /// Milliseconds: `180 ms`, `1.25 s` in Markdown.
    pub(super) fn ms(ms: f64) -> Cell {
        Cell::new(fmt_ms(ms), ms.to_string())
    }

    /// Seconds (of a measured time): `180 ms`, `1.25 s` in Markdown.
    pub(super) fn seconds(seconds: f64) -> Cell {
        Cell::new(fmt_ms(seconds * 1000.0), seconds.to_string())
    }

    /// Whole seconds (of a span): `3 min 5 s` in Markdown.
    pub(super) fn span(seconds: i64) -> Cell {
        Cell::new(fmt_span(seconds), seconds.to_string())
    }

    /// A ratio from 0 to 1: `66.7%` in Markdown.
    pub(super) fn pct(ratio: f64) -> Cell {
        Cell::new(fmt_pct(ratio), ratio.to_string())
    }

    /// Bytes per second: `1.5 MiB/s` in Markdown.
    pub(super) fn rate(bytes_per_second: f64) -> Cell {
        Cell::new(fmt_rate(bytes_per_second), bytes_per_second.to_string())
    }

    /// An instant: to the minute in Markdown, RFC 3339 in CSV.
    pub(super) fn utc(t: DateTime<Utc>) -> Cell {
        Cell::new(fmt_utc(t), rfc3339(t))
    }
}

/// A table built in memory, then rendered as Markdown, as CSV, or both.
pub(super) struct Table {
    columns: Vec<Column>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    pub(super) fn new(columns: Vec<Column>) -> Table {
        Table {
            columns,
            rows: Vec::new(),
        }
    }

    /// Adds the rows of `other`, a table of the same columns (several tables in one CSV file).
    pub(super) fn append(&mut self, other: Table) {
        debug_assert!(
            (self.columns.iter().map(|c| c.csv)).eq(other.columns.iter().map(|c| c.csv)),
            "the same CSV columns"
        );
        self.rows.extend(other.rows);
    }

    pub(super) fn row(&mut self, cells: Vec<Cell>) {
        debug_assert_eq!(cells.len(), self.columns.len(), "a row per column");
        self.rows.push(cells);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Appends the table in GitHub-flavoured Markdown to `md`.
    pub(super) fn render_markdown(&self, md: &mut String) {
        let shown: Vec<(usize, &str, Align)> = (self.columns.iter().enumerate())
            .filter_map(|(i, c)| c.md.as_ref().map(|(h, a)| (i, h.as_str(), *a)))
            .collect();
        markdown_line(md, shown.iter().map(|(_, heading, _)| *heading));
        markdown_line(
            md,
            shown.iter().map(|(_, _, align)| match align {
                Align::Left => "---",
                Align::Right => "---:",
            }),
        );
        for row in &self.rows {
            markdown_line(md, shown.iter().map(|(i, ..)| row[*i].md.as_str()));
        }
    }

    /// The CSV header: the columns that have a CSV name.
    pub(super) fn csv_header(&self) -> Vec<&'static str> {
        self.columns.iter().filter_map(|c| c.csv).collect()
    }

    /// The CSV rows, every cell through [`csv_cell`].
    pub(super) fn csv_rows(&self) -> impl Iterator<Item = Vec<String>> + '_ {
        self.rows.iter().map(|row| {
            self.columns
                .iter()
                .zip(row)
                .filter(|(c, _)| c.csv.is_some())
                .map(|(_, cell)| csv_cell(cell.csv.clone()))
                .collect()
        })
    }

    /// Adds the table to `long`, a `table,key,metric,value` table: one row per row of this
    /// table and CSV column after the first, which holds the key.
    pub(super) fn add_long_form(&self, name: &str, long: &mut Table) {
        for row in &self.rows {
            let Some((key, values)) = row.split_first() else {
                continue;
            };
            for (column, cell) in self.columns[1..].iter().zip(values) {
                if let Some(metric) = column.csv {
                    long.row(long_row(name, &key.csv, metric, cell.csv.clone()));
                }
            }
        }
    }
}

/// A row of a `table,key,metric,value` table (see [`Table::add_long_form`]).
pub(super) fn long_row(table: &str, key: &str, metric: &str, value: String) -> Vec<Cell> {
    vec![
        Cell::plain(table),
        Cell::plain(key),
        Cell::plain(metric),
        Cell::plain(value),
    ]
}

/// The columns of a `table,key,metric,value` table.
pub(super) fn long_columns() -> Vec<Column> {
    ["table", "key", "metric", "value"]
        .into_iter()
        .map(Column::csv)
        .collect()
}

fn markdown_line<'a>(md: &mut String, cells: impl Iterator<Item = &'a str>) {
    md.push('|');
    for cell in cells {
        md.push(' ');
        md.push_str(cell);
        md.push_str(" |");
    }
    md.push('\n');
}

/// A cell made safe for a spreadsheet (OWASP's CSV injection advice): control characters are
/// removed (NUL, escape sequences; line breaks become spaces), and text that a spreadsheet
/// would run as a formula — starting with `=`, `+`, `-`, `@`, a tab or a carriage return — gets
/// a leading `'`, which makes it text. A number (`-3.5`, `+1e3`) stays a number.
pub(super) fn csv_cell(cell: String) -> String {
    let formula = match cell.chars().next() {
        Some('\t' | '\r') => true,
        Some('=' | '+' | '-' | '@') => cell.trim().parse::<f64>().is_err(),
        _ => false,
    };
    let cell = if cell.chars().any(char::is_control) {
        cell.chars()
            .filter_map(|c| match c {
                '\n' | '\r' | '\t' => Some(' '),
                c if c.is_control() => None,
                c => Some(c),
            })
            .collect()
    } else {
        cell
    };
    if formula { format!("'{cell}") } else { cell }
}

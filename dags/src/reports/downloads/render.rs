//! The download report as files: Markdown (sections and tables) and CSV (every table, and
//! one row per image record and per failed request).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::super::files::Files;
use super::super::format::{code, fmt_int, one_or_many, plural};
use super::super::table::{Align, Cell, Column, Table, long_columns, long_row};
use super::super::{Count, ReportError};
use super::{DownloadReport, FAILED_LISTED, measured, outcome_meaning};
use crate::record::Outcome;

impl DownloadReport {
    /// The report in Markdown: headings, tables and short explanations.
    pub fn to_markdown(&self) -> String {
        let mut md = String::from("# Image downloads\n\n");
        if self.records == 0 {
            md.push_str(
                "No image records in this run: there were no launches to fetch pictures for.\n",
            );
            return md;
        }
        let _ = writeln!(
            md,
            "{} in this run (one per launch): {} with the picture on disk after the run, {} \
             failed, {} without an image URL.",
            plural(self.records, "image record", "image records"),
            fmt_int(self.succeeded as u64),
            fmt_int(self.failed as u64),
            fmt_int(self.no_image as u64),
        );
        md.push_str("\n## Outcomes\n\n");
        self.outcomes_table().render_markdown(&mut md);
        self.failures_markdown(&mut md);
        self.failed_requests_markdown(&mut md);
        self.slowest_markdown(&mut md);
        md.push_str(
            "\n## Response times\n\nPercentiles by the nearest-rank method: the p-th \
             percentile is the smallest measured time such that at least p % of the \
             measurements are at or below it. Every record with a measurement counts, failed \
             requests included.\n\n",
        );
        self.percentiles_table().render_markdown(&mut md);
        self.throughput_markdown(&mut md);
        md.push_str(
            "\n## Images per launch\n\n*Images* counts the pictures on disk after the run.\n\n",
        );
        self.per_launch_table().render_markdown(&mut md);
        md.push_str("\n## Images per rocket\n\n");
        self.per_rocket_table().render_markdown(&mut md);
        self.duplicates_markdown(&mut md);
        md
    }

    fn failures_markdown(&self, md: &mut String) {
        md.push_str("\n## Failures\n\n");
        if self.failed == 0 {
            md.push_str("No download failed.\n");
            return;
        }
        md.push_str(
            "A failure is counted once per launch, under the error of the last source tried.\n",
        );
        for (heading, _, table) in self.failure_tables() {
            let _ = writeln!(md, "\n### {heading}\n");
            table.render_markdown(md);
        }
        let _ = writeln!(
            md,
            "\n### Failed pictures\n\nEach launch whose picture could not be stored, with the \
             URL's host, the error and the HTTP status of the last answer{}.\n",
            if self.failed > FAILED_LISTED {
                format!(
                    " (the first {FAILED_LISTED} of {}: `downloads_images.csv` lists them all)",
                    fmt_int(self.failed as u64)
                )
            } else {
                String::new()
            }
        );
        self.failed_table().render_markdown(md);
    }

    /// How many requests failed along the way, including those of pictures that a retry or a
    /// fallback then stored (`downloads_attempts.csv` has them all).
    fn failed_requests_markdown(&self, md: &mut String) {
        let requests: usize = self.images.iter().map(|r| r.failed_attempts.len()).sum();
        let recovered = self
            .images
            .iter()
            .filter(|r| r.outcome.is_ok() && !r.failed_attempts.is_empty())
            .count();
        if requests == 0 {
            return;
        }
        let _ = writeln!(
            md,
            "\n### Failed requests\n\n{} in all, each retried or followed by a fallback URL; {} \
             stored after such a failure. `downloads_attempts.csv` lists each request with its \
             URL, error class, HTTP status, cause and time.",
            plural(requests, "request failed", "requests failed"),
            plural(recovered, "picture was", "pictures were"),
        );
    }

    /// One row per failed request of every picture, in record and request order (CSV only):
    /// what `downloads_attempts.csv` holds.
    fn attempts_table(&self) -> Table {
        let mut table = Table::new(vec![
            Column::csv("launch_id"),
            Column::csv("launch_name"),
            Column::csv("outcome"),
            Column::csv("request"),
            Column::csv("url"),
            Column::csv("error_class"),
            Column::csv("http_status"),
            Column::csv("error"),
            Column::csv("ms"),
        ]);
        for r in &self.images {
            for (n, a) in r.failed_attempts.iter().enumerate() {
                table.row(vec![
                    Cell::text(&r.launch_id),
                    Cell::text(&r.launch_name),
                    Cell::plain(r.outcome.as_str()),
                    Cell::plain((n + 1).to_string()),
                    Cell::text(&a.url),
                    Cell::text(&a.error_class),
                    a.http_status
                        .map_or_else(Cell::dash, |s| Cell::plain(s.to_string())),
                    Cell::text(&a.error),
                    measured(Some(a.ms))
                        .map_or_else(Cell::dash, |v| Cell::plain(format!("{v:.1}"))),
                ]);
            }
        }
        table
    }

    /// The failed records, in record order, at most [`FAILED_LISTED`] (Markdown only).
    fn failed_table(&self) -> Table {
        let mut table = Table::new(vec![
            Column::md("Launch", Align::Left),
            Column::md("Host", Align::Left),
            Column::md("Error class", Align::Left),
            Column::md("HTTP", Align::Right),
            Column::md("Error", Align::Left),
        ]);
        let failed = self.images.iter().filter(|r| r.outcome == Outcome::Failed);
        for r in failed.take(FAILED_LISTED) {
            table.row(vec![
                Cell::text(&r.launch_name),
                r.host.as_deref().map_or_else(Cell::dash, Cell::code),
                r.error_class.as_deref().map_or_else(Cell::dash, Cell::code),
                r.http_status
                    .map_or_else(Cell::dash, |s| Cell::plain(s.to_string())),
                r.error.as_deref().map_or_else(Cell::dash, Cell::text),
            ]);
        }
        table
    }

    /// One row per image record (CSV only): what `downloads_images.csv` holds.
    fn images_table(&self) -> Table {
        let mut table = Table::new(vec![
            Column::csv("launch_id"),
            Column::csv("launch_name"),
            Column::csv("rocket"),
            Column::csv("outcome"),
            Column::csv("url"),
            Column::csv("host"),
            Column::csv("source"),
            Column::csv("file_name"),
            Column::csv("bytes"),
            Column::csv("http_status"),
            Column::csv("error_class"),
            Column::csv("error"),
            Column::csv("attempts"),
            Column::csv("ttfb_ms"),
            Column::csv("total_ms"),
            Column::csv("throughput_bps"),
            Column::csv("sha256"),
        ]);
        let num = |v: Option<f64>| {
            measured(v).map_or_else(Cell::dash, |v| Cell::plain(format!("{v:.1}")))
        };
        for r in &self.images {
            let source = r.source.map(|s| {
                serde_json::to_value(s)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            });
            table.row(vec![
                Cell::text(&r.launch_id),
                Cell::text(&r.launch_name),
                Cell::maybe_text(r.rocket.as_deref()),
                Cell::plain(r.outcome.as_str()),
                Cell::maybe_text(r.url.as_deref()),
                Cell::maybe_text(r.host.as_deref()),
                Cell::maybe_text(source.as_deref()),
                Cell::maybe_text(r.file_name.as_deref()),
                r.bytes
                    .map_or_else(Cell::dash, |b| Cell::plain(b.to_string())),
                r.http_status
                    .map_or_else(Cell::dash, |s| Cell::plain(s.to_string())),
                Cell::maybe_text(r.error_class.as_deref()),
                Cell::maybe_text(r.error.as_deref()),
                Cell::plain(r.attempts.to_string()),
                num(r.ttfb_ms),
                num(r.total_ms),
                num(r.throughput_bps),
                Cell::maybe_text(r.sha256.as_deref()),
            ]);
        }
        table
    }

    fn slowest_markdown(&self, md: &mut String) {
        let _ = writeln!(
            md,
            "\n## Slowest images\n\nThe {} with the longest total time (from the request to \
             the file in place), failures included.\n",
            plural(self.slowest.len(), "picture", "pictures"),
        );
        if self.slowest.is_empty() {
            md.push_str("No picture has a measured time.\n");
        } else {
            self.slowest_table().render_markdown(md);
        }
    }

    fn throughput_markdown(&self, md: &mut String) {
        md.push_str(
            "\n## Throughput per host\n\nBytes received from each host over the summed total \
             times of its downloads, for the pictures this run transferred (`downloaded` and \
             `duplicate_content`).\n\n",
        );
        if self.throughput_by_host.is_empty() {
            md.push_str("No picture was transferred.\n");
        } else {
            self.throughput_table().render_markdown(md);
        }
    }

    fn duplicates_markdown(&self, md: &mut String) {
        md.push_str(
            "\n## Duplicates avoided\n\nBytes saved are the sizes of the pictures concerned: a \
             `duplicate_url` or `already_present` picture was not downloaded, a \
             `duplicate_content` one was downloaded but not stored twice.\n\n",
        );
        self.duplicates_table().render_markdown(md);
        let without_size = self.duplicates.total.without_size;
        if without_size > 0 {
            let _ = writeln!(
                md,
                "\n{} without a recorded size {} not in the bytes saved.",
                plural(without_size, "picture", "pictures"),
                one_or_many(without_size, "is", "are"),
            );
        }
    }

    fn outcomes_table(&self) -> Table {
        let mut table = Table::new(vec![
            Column::both("outcome", "Outcome", Align::Left),
            Column::both("images", "Images", Align::Right),
            Column::md("Share", Align::Right),
            Column::md("Meaning", Align::Left),
        ]);
        for c in &self.by_outcome {
            table.row(vec![
                Cell::code(c.outcome.as_str()),
                Cell::int(c.count),
                Cell::pct(c.count as f64 / self.records as f64),
                Cell::plain(outcome_meaning(c.outcome)),
            ]);
        }
        table
    }

    /// The failures per error class and per host: Markdown heading, name in
    /// `downloads_summary.csv`, table.
    fn failure_tables(&self) -> [(&'static str, &'static str, Table); 2] {
        let table = |column: &str, counts: &[Count], none: &str| {
            let mut table = Table::new(vec![
                Column::both("key", column, Align::Left),
                Column::both("failures", "Failures", Align::Right),
            ]);
            for c in counts {
                table.row(vec![
                    c.value
                        .as_deref()
                        .map_or_else(|| Cell::missing(none), Cell::code),
                    Cell::int(c.count),
                ]);
            }
            table
        };
        [
            (
                "By error class",
                "failures_by_error_class",
                table(
                    "Error class",
                    &self.failures_by_error_class,
                    "*unclassified*",
                ),
            ),
            (
                "By host",
                "failures_by_host",
                table("Host", &self.failures_by_host, "*no host*"),
            ),
        ]
    }

    fn slowest_table(&self) -> Table {
        let mut table = Table::new(vec![
            Column::both("rank", "#", Align::Right),
            Column::csv("launch_id"),
            Column::both("launch_name", "Launch", Align::Left),
            // The host comes before the outcome in Markdown, after it in CSV.
            Column::md("Host", Align::Left),
            Column::both("outcome", "Outcome", Align::Left),
            Column::csv("host"),
            Column::both("total_ms", "Total", Align::Right),
            Column::both("ttfb_ms", "First byte", Align::Right),
            Column::both("bytes", "Size", Align::Right),
        ]);
        for (i, s) in self.slowest.iter().enumerate() {
            table.row(vec![
                Cell::plain((i + 1).to_string()),
                Cell::text(&s.launch_id),
                Cell::text(&s.launch_name),
                s.host.as_deref().map_or_else(Cell::dash, Cell::code),
                Cell::code(s.outcome.as_str()),
                Cell::maybe_text(s.host.as_deref()),
                Cell::ms(s.total_ms),
                s.ttfb_ms.map_or_else(Cell::dash, Cell::ms),
                s.bytes.map_or_else(Cell::dash, Cell::bytes),
            ]);
        }
        table
    }

    /// Markdown only: `downloads_summary.csv` has them in long form (see [`Self::summary`]).
    fn percentiles_table(&self) -> Table {
        let mut table = Table::new(vec![
            Column::md("Measure", Align::Left),
            Column::md("Samples", Align::Right),
            Column::md("p50", Align::Right),
            Column::md("p90", Align::Right),
            Column::md("p99", Align::Right),
        ]);
        for (name, p) in [
            ("Total time", &self.total_ms),
            ("Time to first byte", &self.ttfb_ms),
        ] {
            table.row(vec![
                Cell::plain(name),
                Cell::int(p.samples),
                p.p50.map_or_else(Cell::dash, Cell::ms),
                p.p90.map_or_else(Cell::dash, Cell::ms),
                p.p99.map_or_else(Cell::dash, Cell::ms),
            ]);
        }
        table
    }

    fn throughput_table(&self) -> Table {
        let mut table = Table::new(vec![
            Column::both("host", "Host", Align::Left),
            Column::both("images", "Images", Align::Right),
            Column::both("bytes", "Bytes", Align::Right),
            Column::both("seconds", "Time", Align::Right),
            Column::both("bytes_per_second", "Throughput", Align::Right),
        ]);
        for h in &self.throughput_by_host {
            table.row(vec![
                Cell::code(&h.host),
                Cell::int(h.images),
                Cell::bytes(h.bytes),
                Cell::seconds(h.seconds),
                h.bytes_per_second.map_or_else(Cell::dash, Cell::rate),
            ]);
        }
        table
    }

    /// One row per launch: `downloads.csv` (its outcomes joined with `;`).
    fn per_launch_table(&self) -> Table {
        let mut table = Table::new(vec![
            Column::csv("launch_id"),
            Column::both("launch_name", "Launch", Align::Left),
            Column::both("rocket", "Rocket", Align::Left),
            Column::both("outcomes", "Outcome", Align::Left),
            Column::both("images", "Images", Align::Right),
        ]);
        for l in &self.per_launch {
            let codes: Vec<String> = l.outcomes.iter().map(|o| code(o.as_str())).collect();
            let names: Vec<&str> = l.outcomes.iter().map(|o| o.as_str()).collect();
            table.row(vec![
                Cell::text(&l.launch_id),
                Cell::text(&l.launch_name),
                l.rocket.as_deref().map_or_else(Cell::not_given, Cell::text),
                Cell::new(codes.join(", "), names.join(";")),
                Cell::int(l.images),
            ]);
        }
        table
    }

    fn per_rocket_table(&self) -> Table {
        let mut table = Table::new(vec![
            Column::both("rocket", "Rocket", Align::Left),
            Column::both("launches", "Launches", Align::Right),
            Column::both("images", "Images", Align::Right),
            Column::both("failed", "Failed", Align::Right),
        ]);
        for r in &self.per_rocket {
            table.row(vec![
                r.rocket.as_deref().map_or_else(Cell::not_given, Cell::text),
                Cell::int(r.launches),
                Cell::int(r.images),
                Cell::int(r.failed),
            ]);
        }
        table
    }

    fn duplicates_table(&self) -> Table {
        let mut table = Table::new(vec![
            Column::both("kind", "Kind", Align::Left),
            Column::both("images", "Images", Align::Right),
            Column::both("bytes_saved", "Bytes saved", Align::Right),
        ]);
        let d = &self.duplicates;
        for (kind, saved) in [
            (Cell::code("duplicate_url"), d.duplicate_url),
            (Cell::code("duplicate_content"), d.duplicate_content),
            (Cell::code("already_present"), d.already_present),
            (Cell::new("**Total**", "total"), d.total),
        ] {
            table.row(vec![
                kind,
                Cell::int(saved.images),
                Cell::bytes(saved.bytes_saved),
            ]);
        }
        table
    }

    /// `downloads_summary.csv`: the report's other tables in long form,
    /// `table,key,metric,value`, e.g. `total_ms,p90,ms,950`.
    fn summary(&self) -> Table {
        let mut summary = Table::new(long_columns());
        self.outcomes_table().add_long_form("outcome", &mut summary);
        for (_, name, table) in self.failure_tables() {
            table.add_long_form(name, &mut summary);
        }
        for (name, p) in [("total_ms", &self.total_ms), ("ttfb_ms", &self.ttfb_ms)] {
            summary.row(long_row(name, "samples", "count", p.samples.to_string()));
            for (key, v) in [("p50", p.p50), ("p90", p.p90), ("p99", p.p99)] {
                let value = v.map(|v| v.to_string()).unwrap_or_default();
                summary.row(long_row(name, key, "ms", value));
            }
        }
        self.throughput_table()
            .add_long_form("throughput_by_host", &mut summary);
        self.per_rocket_table()
            .add_long_form("per_rocket", &mut summary);
        self.duplicates_table()
            .add_long_form("duplicates", &mut summary);
        summary
    }

    /// Writes `downloads.json`, `downloads.csv`, `downloads_images.csv`,
    /// `downloads_slowest.csv`, `downloads_attempts.csv`, `downloads_summary.csv` and
    /// `downloads.md` into `dir`
    /// (created if missing), each atomically; returns their paths.
    ///
    /// `downloads.csv` has one row per launch (its outcomes joined with `;`);
    /// `downloads_images.csv` one row per image record: URL, host, outcome, error class and
    /// message, HTTP status, attempts, timings, size, file and SHA-256; `downloads_attempts.csv`
    /// one row per failed request (retried, or followed by a fallback);
    /// `downloads_summary.csv` holds the report's other tables in long form,
    /// `table,key,metric,value`, e.g. `total_ms,p90,ms,950`, so one file serves them all.
    ///
    /// # Errors
    ///
    /// [`ReportError::Write`] when a file cannot be written.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
        Files::default()
            .json("downloads.json", self)?
            .csv("downloads.csv", &self.per_launch_table())?
            .csv("downloads_summary.csv", &self.summary())?
            .csv("downloads_slowest.csv", &self.slowest_table())?
            .csv("downloads_images.csv", &self.images_table())?
            .csv("downloads_attempts.csv", &self.attempts_table())?
            .markdown("downloads.md", self.to_markdown())
            .write(dir)
    }
}

//! The download report: what happened to the pictures of a run's launches — outcomes,
//! failures, the slowest images, response times, throughput, per launch and rocket, duplicates.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::files::Files;
use super::format::{code, fmt_int, one_or_many, plural};
use super::table::{Align, Cell, Column, Table, long_columns, long_row};
use super::{Count, ReportError, most_first, tally};
use crate::record::{ImageRecord, Outcome};

/// How many of the slowest images [`DownloadReport::slowest`] lists.
pub const SLOWEST_IMAGES: usize = 10;

/// What happened to the pictures of a run's launches.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DownloadReport {
    /// Image records (one per launch).
    pub records: usize,
    /// Records whose picture is on disk after the run (downloaded, already present or a
    /// duplicate).
    pub succeeded: usize,
    /// Records whose every source failed.
    pub failed: usize,
    /// Launches without an image URL (neither success nor failure: nothing to fetch).
    pub no_image: usize,
    /// Records per outcome, every outcome listed (zeros included) in a fixed order.
    pub by_outcome: Vec<OutcomeCount>,
    /// Failures per error class (`timeout`, `http_5xx`, …), most frequent first; `null` for
    /// failures without a class.
    pub failures_by_error_class: Vec<Count>,
    /// Failures per host, most frequent first; `null` when the URL had no host.
    pub failures_by_host: Vec<Count>,
    /// The [`SLOWEST_IMAGES`] records with the longest total time, failures included (a
    /// timeout is a slow image too), slowest first.
    pub slowest: Vec<SlowImage>,
    /// Percentiles of the total time (request to file in place), in milliseconds.
    pub total_ms: Percentiles,
    /// Percentiles of the time to the first byte of the body, in milliseconds.
    pub ttfb_ms: Percentiles,
    /// Throughput per host over the images this run transferred.
    pub throughput_by_host: Vec<HostThroughput>,
    /// Pictures per launch, in the order of the records.
    pub per_launch: Vec<LaunchImages>,
    /// Pictures per rocket configuration, most launches first.
    pub per_rocket: Vec<RocketImages>,
    /// Downloads and copies avoided, and the bytes they saved.
    pub duplicates: Duplicates,
    /// Every record, for `downloads_images.csv` and the failed pictures' table (the JSON
    /// report keeps to the figures; the records themselves are in the run's output).
    #[serde(skip)]
    pub images: Vec<ImageRecord>,
}

/// How many failed pictures the Markdown lists (`downloads_images.csv` has them all).
const FAILED_LISTED: usize = 50;

/// How many records had one outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OutcomeCount {
    /// The outcome.
    pub outcome: Outcome,
    /// How many records.
    pub count: usize,
}

/// One of the slowest images.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlowImage {
    /// LL2 launch id.
    pub launch_id: String,
    /// Launch name.
    pub launch_name: String,
    /// What happened.
    pub outcome: Outcome,
    /// The URL's host.
    pub host: Option<String>,
    /// The URL tried last.
    pub url: Option<String>,
    /// Total time, milliseconds.
    pub total_ms: f64,
    /// Time to first byte, milliseconds.
    pub ttfb_ms: Option<f64>,
    /// Bytes received.
    pub bytes: Option<u64>,
}

/// Nearest-rank percentiles of a set of measurements.
///
/// The p-th percentile of `n` sorted values is the value of rank `⌈p/100 · n⌉` (1-based):
/// the smallest measurement such that at least p % of them are at or below it. It is always
/// one of the measurements (never interpolated); with no measurement every percentile is
/// `null`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// How many measurements (records with a finite, non-negative value).
    pub samples: usize,
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
}

impl Percentiles {
    /// The nearest-rank percentiles of `values`; non-finite and negative values are ignored.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Percentiles {
        let mut sorted: Vec<f64> = values.into_iter().filter(|v| is_measurement(*v)).collect();
        sorted.sort_by(f64::total_cmp);
        Percentiles {
            samples: sorted.len(),
            p50: nearest_rank(&sorted, 50),
            p90: nearest_rank(&sorted, 90),
            p99: nearest_rank(&sorted, 99),
        }
    }
}

/// The `percent`-th percentile of ascending `sorted` values by the nearest-rank method.
fn nearest_rank(sorted: &[f64], percent: usize) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    // Integer ceiling, so 90 % of 10 is rank 9 exactly (no float rounding).
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// Throughput of one host: the bytes it sent over the time its downloads took, summed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HostThroughput {
    /// The host.
    pub host: String,
    /// Images transferred from it.
    pub images: usize,
    /// Bytes received from it.
    pub bytes: u64,
    /// Their total times, summed, in seconds.
    pub seconds: f64,
    /// `bytes / seconds`; `null` when `seconds` is 0.
    pub bytes_per_second: Option<f64>,
}

/// The pictures of one launch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LaunchImages {
    /// LL2 launch id.
    pub launch_id: String,
    /// Launch name.
    pub launch_name: String,
    /// Rocket configuration.
    pub rocket: Option<String>,
    /// The outcome of each of its records.
    pub outcomes: Vec<Outcome>,
    /// Its records whose picture is on disk.
    pub images: usize,
}

/// The pictures of one rocket configuration's launches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RocketImages {
    /// Rocket configuration; `null` when not given.
    pub rocket: Option<String>,
    /// Distinct launches.
    pub launches: usize,
    /// Records whose picture is on disk.
    pub images: usize,
    /// Records that failed.
    pub failed: usize,
}

/// Work avoided thanks to deduplication, per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Duplicates {
    /// Same URL as another launch of the run: downloaded once (network and disk saved).
    pub duplicate_url: Saved,
    /// Same bytes as a stored picture: downloaded but not stored twice (disk saved).
    pub duplicate_content: Saved,
    /// Stored by an earlier run and still valid: not downloaded again (network saved).
    pub already_present: Saved,
    /// The three together.
    pub total: Saved,
}

/// What one kind of deduplication saved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Saved {
    /// Records of that kind.
    pub images: usize,
    /// Their sizes (the records' `bytes`), summed.
    pub bytes_saved: u64,
    /// Records of that kind without a size (not in `bytes_saved`).
    pub without_size: usize,
}

impl Saved {
    fn add(&mut self, bytes: Option<u64>) {
        self.images += 1;
        match bytes {
            Some(b) => self.bytes_saved += b,
            None => self.without_size += 1,
        }
    }

    fn plus(self, other: Saved) -> Saved {
        Saved {
            images: self.images + other.images,
            bytes_saved: self.bytes_saved + other.bytes_saved,
            without_size: self.without_size + other.without_size,
        }
    }
}

/// Every outcome, in report order: successes, then failures, then nothing to fetch.
const OUTCOMES: [Outcome; 6] = [
    Outcome::Downloaded,
    Outcome::AlreadyPresent,
    Outcome::DuplicateUrl,
    Outcome::DuplicateContent,
    Outcome::Failed,
    Outcome::NoImage,
];

fn outcome_meaning(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Downloaded => "downloaded and stored by this run",
        Outcome::AlreadyPresent => "stored by an earlier run, not downloaded again",
        Outcome::DuplicateUrl => "same URL as another launch: downloaded once",
        Outcome::DuplicateContent => "same bytes as a stored picture: not stored twice",
        Outcome::Failed => "every source failed",
        Outcome::NoImage => "the launch has no image URL",
    }
}

/// A finite, non-negative measurement, or nothing.
fn measured(v: Option<f64>) -> Option<f64> {
    v.filter(|v| is_measurement(*v))
}

/// Whether `v` is a measurement: finite and not negative.
fn is_measurement(v: f64) -> bool {
    v.is_finite() && v >= 0.0
}

impl DownloadReport {
    /// Builds the report of one run's image records.
    pub fn build(records: &[ImageRecord]) -> DownloadReport {
        let count = |o: Outcome| records.iter().filter(|r| r.outcome == o).count();
        let failures = || records.iter().filter(|r| r.outcome == Outcome::Failed);
        DownloadReport {
            records: records.len(),
            succeeded: records.iter().filter(|r| r.outcome.is_ok()).count(),
            failed: count(Outcome::Failed),
            no_image: count(Outcome::NoImage),
            by_outcome: OUTCOMES
                .iter()
                .map(|&outcome| OutcomeCount {
                    outcome,
                    count: count(outcome),
                })
                .collect(),
            failures_by_error_class: tally(failures().map(|r| r.error_class.clone())),
            failures_by_host: tally(failures().map(|r| r.host.clone())),
            slowest: slowest(records),
            total_ms: Percentiles::of(records.iter().filter_map(|r| r.total_ms)),
            ttfb_ms: Percentiles::of(records.iter().filter_map(|r| r.ttfb_ms)),
            throughput_by_host: throughput_by_host(records),
            per_launch: per_launch(records),
            per_rocket: per_rocket(records),
            duplicates: Duplicates::of(records),
            images: records.to_vec(),
        }
    }

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
    /// `downloads_slowest.csv`, `downloads_summary.csv` and `downloads.md` into `dir`
    /// (created if missing), each atomically; returns their paths.
    ///
    /// `downloads.csv` has one row per launch (its outcomes joined with `;`);
    /// `downloads_images.csv` one row per image record: URL, host, outcome, error class and
    /// message, HTTP status, attempts, timings, size, file and SHA-256;
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
            .markdown("downloads.md", self.to_markdown())
            .write(dir)
    }
}

/// The [`SLOWEST_IMAGES`] records with the longest total time, slowest first.
fn slowest(records: &[ImageRecord]) -> Vec<SlowImage> {
    let mut slow: Vec<(&ImageRecord, f64)> = records
        .iter()
        .filter_map(|r| measured(r.total_ms).map(|t| (r, t)))
        .collect();
    // Slowest first; ties in record order (the sort is stable).
    slow.sort_by(|a, b| b.1.total_cmp(&a.1));
    slow.into_iter()
        .take(SLOWEST_IMAGES)
        .map(|(r, total_ms)| SlowImage {
            launch_id: r.launch_id.clone(),
            launch_name: r.launch_name.clone(),
            outcome: r.outcome,
            host: r.host.clone(),
            url: r.url.clone(),
            total_ms,
            ttfb_ms: measured(r.ttfb_ms),
            bytes: r.bytes,
        })
        .collect()
}

/// Throughput per host, most bytes first.
fn throughput_by_host(records: &[ImageRecord]) -> Vec<HostThroughput> {
    // Throughput counts what crossed the network in this run: `already_present` bytes were
    // stored earlier (its time is a revalidation) and `duplicate_url` was not fetched.
    let mut hosts: BTreeMap<&str, HostThroughput> = BTreeMap::new();
    for r in records {
        if !matches!(r.outcome, Outcome::Downloaded | Outcome::DuplicateContent) {
            continue;
        }
        let (Some(host), Some(bytes), Some(ms)) = (&r.host, r.bytes, measured(r.total_ms)) else {
            continue;
        };
        let h = hosts.entry(host).or_insert_with(|| HostThroughput {
            host: host.clone(),
            images: 0,
            bytes: 0,
            seconds: 0.0,
            bytes_per_second: None,
        });
        h.images += 1;
        h.bytes += bytes;
        h.seconds += ms / 1000.0;
    }
    let mut throughput: Vec<HostThroughput> = hosts
        .into_values()
        .map(|mut h| {
            h.bytes_per_second = (h.seconds > 0.0).then(|| h.bytes as f64 / h.seconds);
            h
        })
        .collect();
    throughput.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.host.cmp(&b.host)));
    throughput
}

/// The pictures of each launch, in record order.
fn per_launch(records: &[ImageRecord]) -> Vec<LaunchImages> {
    let mut per_launch: Vec<LaunchImages> = Vec::new();
    let mut launch_index: HashMap<&str, usize> = HashMap::new();
    for r in records {
        let i = *launch_index.entry(&r.launch_id).or_insert_with(|| {
            per_launch.push(LaunchImages {
                launch_id: r.launch_id.clone(),
                launch_name: r.launch_name.clone(),
                rocket: r.rocket.clone(),
                outcomes: Vec::new(),
                images: 0,
            });
            per_launch.len() - 1
        });
        per_launch[i].outcomes.push(r.outcome);
        per_launch[i].images += usize::from(r.outcome.is_ok());
    }
    per_launch
}

/// The pictures of each rocket configuration, most launches first (`null` last).
fn per_rocket(records: &[ImageRecord]) -> Vec<RocketImages> {
    let mut rockets: BTreeMap<Option<&str>, (Vec<&str>, usize, usize)> = BTreeMap::new();
    for r in records {
        let entry = rockets.entry(r.rocket.as_deref()).or_default();
        if !entry.0.contains(&r.launch_id.as_str()) {
            entry.0.push(&r.launch_id);
        }
        entry.1 += usize::from(r.outcome.is_ok());
        entry.2 += usize::from(r.outcome == Outcome::Failed);
    }
    let mut per_rocket: Vec<RocketImages> = rockets
        .into_iter()
        .map(|(rocket, (launches, images, failed))| RocketImages {
            rocket: rocket.map(str::to_owned),
            launches: launches.len(),
            images,
            failed,
        })
        .collect();
    per_rocket.sort_by(|a, b| most_first((a.launches, &a.rocket), (b.launches, &b.rocket)));
    per_rocket
}

impl Duplicates {
    fn of(records: &[ImageRecord]) -> Duplicates {
        let mut duplicate_url = Saved::default();
        let mut duplicate_content = Saved::default();
        let mut already_present = Saved::default();
        for r in records {
            match r.outcome {
                Outcome::DuplicateUrl => duplicate_url.add(r.bytes),
                Outcome::DuplicateContent => duplicate_content.add(r.bytes),
                Outcome::AlreadyPresent => already_present.add(r.bytes),
                _ => {}
            }
        }
        Duplicates {
            duplicate_url,
            duplicate_content,
            already_present,
            total: duplicate_url.plus(duplicate_content).plus(already_present),
        }
    }
}

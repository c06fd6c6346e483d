//! The download report: what happened to the pictures of a run's launches — outcomes,
//! failures, the slowest images, response times, throughput, per launch and rocket, duplicates.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::{Count, most_first, tally};
use crate::record::{ImageRecord, Outcome};

mod render;

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
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
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

//! The resilient image fetcher of the `rocket_launches` DAG: one [`ImageRecord`] per launch.
//!
//! * **Limits**: at most [`FetcherConfig::concurrency`] downloads at once, and
//!   [`FetcherConfig::per_host`] per host; an optional bandwidth cap shared by all of them;
//!   connect, read (between two pieces of a body) and total timeouts.
//! * **Retries**: connection errors, timeouts, 5xx and 429 (after the server's `Retry-After`
//!   when it fits [`FetcherConfig::max_retry_after`]) are retried with exponential backoff;
//!   other 4xx and bad bodies are not.
//! * **Integrity**: only a real PNG, JPEG, GIF or WebP (magic bytes, then the header decoded)
//!   of at most [`FetcherConfig::max_bytes`], complete (`Content-Length` checked), is stored —
//!   through a hidden `.part` file renamed into place; its SHA-256 is recorded.
//! * **De-duplication**: one download per distinct URL (other launches with it are
//!   `duplicate_url`); bytes already stored under another name are not stored twice
//!   (`duplicate_content`); across runs, a picture already present and intact is not
//!   downloaded again (`already_present`) — revalidated with `If-None-Match` /
//!   `If-Modified-Since` when the server gave an `ETag` / `Last-Modified`.
//! * **Fallbacks**: when the launch's image fails, its 2.3.0 thumbnail, then the rocket
//!   configuration's image; the record says which source served it.
//!
//! What is stored is listed in `<dir>/.manifest.json` (URL → file, SHA-256, size, validators),
//! written atomically.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::Semaphore;

use crate::images::{Bandwidth, file_names, prepare_dir};
use crate::ll2::Launch;
use crate::record::{ImageRecord, Outcome, Source};

mod archive;
mod check;
mod manifest;
mod source;

pub use archive::{Archived, archive_older_than};
pub use check::{Availability, check_images};
pub use manifest::{MANIFEST, MTIME_MARGIN, Manifest, StoredImage};

/// Limits and policies of [`fetch_launch_images`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FetcherConfig {
    /// Downloads in flight at once (default 16).
    pub concurrency: usize,
    /// Downloads in flight per host (default 16, as many as overall: LL2's pictures mostly come
    /// from one host; lower it to be gentler with shared hosts).
    pub per_host: usize,
    /// Bytes per second over all downloads (default: no cap).
    pub bandwidth: Option<u64>,
    /// Time to connect (default 10 s).
    pub connect_timeout: Duration,
    /// Longest wait for the next piece of a body (default 30 s).
    pub read_timeout: Duration,
    /// Time for one download attempt, first byte to file in place (default 120 s).
    pub total_timeout: Duration,
    /// Retries of a transient failure, per source (default 3).
    pub retries: u32,
    /// Delay before the first retry, doubled for each next one (default 500 ms).
    pub backoff: Duration,
    /// The longest `Retry-After` honoured; a longer one fails the source (default 30 s).
    pub max_retry_after: Duration,
    /// Largest image accepted (default 50 MiB).
    pub max_bytes: u64,
    /// Try the thumbnail and the rocket's image when the launch's image fails (default on).
    pub fallbacks: bool,
}

impl Default for FetcherConfig {
    fn default() -> Self {
        FetcherConfig {
            concurrency: 16,
            per_host: 16,
            bandwidth: None,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            total_timeout: Duration::from_secs(120),
            retries: 3,
            backoff: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(30),
            max_bytes: 50 * 1024 * 1024,
            fallbacks: true,
        }
    }
}

impl FetcherConfig {
    /// Sets the overall and per-host concurrency (each at least 1).
    pub fn concurrency(mut self, overall: usize, per_host: usize) -> Self {
        self.concurrency = overall.max(1);
        self.per_host = per_host.max(1);
        self
    }
    /// Sets the bandwidth cap in bytes per second.
    pub fn bandwidth(mut self, bytes_per_sec: Option<u64>) -> Self {
        self.bandwidth = bytes_per_sec;
        self
    }
    /// Sets the retries and the first backoff delay.
    pub fn retries(mut self, n: u32, backoff: Duration) -> Self {
        self.retries = n;
        self.backoff = backoff;
        self
    }
    /// Sets the connect, read and total timeouts.
    pub fn timeouts(mut self, connect: Duration, read: Duration, total: Duration) -> Self {
        self.connect_timeout = connect;
        self.read_timeout = read;
        self.total_timeout = total;
        self
    }
    /// Sets the size cap.
    pub fn max_bytes(mut self, n: u64) -> Self {
        self.max_bytes = n;
        self
    }
    /// Turns the fallback sources on or off.
    pub fn fallbacks(mut self, on: bool) -> Self {
        self.fallbacks = on;
        self
    }
}

/// Downloads every launch's picture into `dir` and records what happened, one record per
/// launch in launch order.
pub async fn fetch_launch_images(
    launches: &[Launch],
    dir: &Path,
    config: &FetcherConfig,
) -> Vec<ImageRecord> {
    let fetcher = match Fetcher::new(launches, dir, config).await {
        Ok(fetcher) => fetcher,
        Err(message) => {
            return launches
                .iter()
                .map(|l| failed(l, None, "io", &message))
                .collect();
        }
    };
    let fetcher = &fetcher;
    let mut done: HashMap<usize, ImageRecord> = futures::stream::iter(url_owners(launches))
        .map(|i| async move { (i, fetcher.fetch_launch(&launches[i]).await) })
        .buffer_unordered(config.concurrency.max(1))
        .collect()
        .await;
    if let Err(e) = fetcher
        .manifest
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .save(dir)
    {
        tracing::warn!("cannot write {MANIFEST}: {e}");
    }
    launches
        .iter()
        .enumerate()
        .map(|(i, l)| done.remove(&i).unwrap_or_else(|| fetcher.not_fetched(l)))
        .collect()
}

/// The launches that own a download: the first one with each distinct primary URL.
fn url_owners(launches: &[Launch]) -> Vec<usize> {
    let mut owner_of: HashMap<&str, usize> = HashMap::new();
    let mut owners = Vec::new();
    for (i, l) in launches.iter().enumerate() {
        if let Some(url) = l.image_url.as_deref()
            && !owner_of.contains_key(url)
        {
            owner_of.insert(url, i);
            owners.push(i);
        }
    }
    owners
}

struct Fetcher {
    http: reqwest::Client,
    dir: PathBuf,
    config: FetcherConfig,
    manifest: Mutex<Manifest>,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    bandwidth: Option<Bandwidth>,
    /// The file name of every URL that may be fetched, or why it has none.
    names: HashMap<String, Result<String, String>>,
}

impl Fetcher {
    /// The HTTP client, `dir` (created, stale `.part` files swept), its manifest and the file
    /// names of every URL the launches may need; or why not, in words.
    async fn new(
        launches: &[Launch],
        dir: &Path,
        config: &FetcherConfig,
    ) -> Result<Fetcher, String> {
        let http = rocket_dag::http::builder()
            .connect_timeout(config.connect_timeout)
            // reqwest's read timeout also runs while a body waits for its bandwidth share: the
            // fetcher times reads itself (`Limits::read_timeout`), only while it waits for data.
            .read_timeout(Duration::from_secs(86_400))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        prepare_dir(dir)
            .await
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        // Names for every URL that may be fetched, derived together so they cannot collide.
        let candidates: Vec<String> = launches
            .iter()
            .flat_map(|l| sources(l, true).into_iter().map(|(_, u)| u))
            .collect();
        let names = file_names(&candidates)
            .into_iter()
            .map(|(url, name)| (url, name.map_err(|e| e.to_string())))
            .collect();
        Ok(Fetcher {
            http,
            dir: dir.to_owned(),
            config: config.clone(),
            manifest: Mutex::new(Manifest::load(dir)),
            hosts: Mutex::new(HashMap::new()),
            bandwidth: config.bandwidth.map(Bandwidth::new),
            names,
        })
    }

    /// Tries the launch's sources in order until one gives a picture.
    async fn fetch_launch(&self, launch: &Launch) -> ImageRecord {
        let mut attempts = 0;
        let mut failures = Vec::new();
        let mut last: Option<ImageRecord> = None;
        for (source, url) in sources(launch, self.config.fallbacks) {
            let mut record = self.fetch_source(launch, &url).await;
            attempts += record.attempts;
            record.attempts = attempts;
            failures.append(&mut record.failed_attempts);
            failures.truncate(crate::record::MAX_FAILED_ATTEMPTS);
            record.failed_attempts = failures.clone();
            if record.outcome.is_ok() {
                record.source = Some(source);
                if source != Source::Primary {
                    tracing::info!(launch = %launch.id, %url, "served by the fallback {source:?}");
                }
                return record;
            }
            tracing::warn!(
                launch = %launch.id,
                url = %url,
                class = record.error_class.as_deref().unwrap_or(""),
                "image failed: {}",
                record.error.as_deref().unwrap_or("")
            );
            last = Some(record);
        }
        last.unwrap_or_else(|| blank(launch, None))
    }

    /// The record of a launch that made no request of its own: no image URL, or the URL of
    /// an earlier launch (pointed at the file that launch got).
    fn not_fetched(&self, l: &Launch) -> ImageRecord {
        let Some(url) = l.image_url.as_deref() else {
            return ImageRecord {
                outcome: Outcome::NoImage,
                attempts: 0,
                ..blank(l, None)
            };
        };
        let mut r = ImageRecord {
            outcome: Outcome::DuplicateUrl,
            ..blank(l, Some(url))
        };
        let manifest = self.manifest.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(stored) = manifest.images.get(url) {
            r.file_name = Some(stored.file_name.clone());
            r.sha256 = Some(stored.sha256.clone());
            r.bytes = Some(stored.bytes);
        }
        r
    }
}

/// The URLs to try for a launch, in order.
fn sources(l: &Launch, fallbacks: bool) -> Vec<(Source, String)> {
    let mut out = Vec::new();
    if let Some(u) = &l.image_url {
        out.push((Source::Primary, u.clone()));
    }
    if fallbacks {
        for (s, u) in [
            (Source::Thumbnail, &l.thumbnail_url),
            (Source::RocketConfiguration, &l.rocket_image_url),
        ] {
            if let Some(u) = u
                && !out.iter().any(|(_, o)| o == u)
            {
                out.push((s, u.clone()));
            }
        }
    }
    out
}

fn host_of(url: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
}

fn blank(l: &Launch, url: Option<&str>) -> ImageRecord {
    ImageRecord {
        launch_id: l.id.clone(),
        launch_name: l.name.clone(),
        rocket: l.rocket.clone(),
        url: url.map(str::to_owned),
        outcome: Outcome::Failed,
        error_class: None,
        error: None,
        http_status: None,
        bytes: None,
        ttfb_ms: None,
        total_ms: None,
        throughput_bps: None,
        attempts: 0,
        source: None,
        sha256: None,
        file_name: None,
        host: url.and_then(host_of),
        failed_attempts: Vec::new(),
    }
}

fn failed(l: &Launch, url: Option<&str>, class: &str, error: &str) -> ImageRecord {
    ImageRecord {
        error_class: Some(class.to_owned()),
        error: Some(error.to_owned()),
        ..blank(l, url.or(l.image_url.as_deref()))
    }
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

#[cfg(test)]
mod tests;

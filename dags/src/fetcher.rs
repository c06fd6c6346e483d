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

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::images::{Bandwidth, FetchError, Fetched, Limits, fetch_to_part, file_names};
use crate::ll2::Launch;
use crate::record::{ImageRecord, Outcome, Source};

/// Name of the manifest inside the images folder.
pub const MANIFEST: &str = ".manifest.json";

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

/// One stored picture, as the manifest remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredImage {
    /// File name in the images folder.
    pub file_name: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Its size.
    pub bytes: u64,
    /// The server's `ETag`, if it sent one.
    #[serde(default)]
    pub etag: Option<String>,
    /// The server's `Last-Modified`, if it sent one.
    #[serde(default)]
    pub last_modified: Option<String>,
    /// The file's modification time (ns since the epoch) when it was hashed and found
    /// intact, recorded only if it was then at least [`MTIME_MARGIN`] in the past: while size
    /// and time are unchanged, the copy is taken as intact without reading it again.
    #[serde(default)]
    pub mtime_ns: Option<i128>,
}

/// How old a file's modification time must be before it is trusted. File systems keep times
/// at a coarse grain (a kernel tick, up to 2 s on some): a file rewritten with the same size
/// within one grain of its last check would keep its time ("racy git"). A time older than
/// the grain at the check cannot be repeated by a later write.
pub const MTIME_MARGIN: std::time::Duration = std::time::Duration::from_secs(2);

/// A file's size and modification time (ns since the epoch).
fn stat(path: &Path) -> Option<(u64, i128)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), epoch_ns(meta.modified().ok()?)))
}

fn epoch_ns(t: std::time::SystemTime) -> i128 {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

/// `mtime` if it is old enough to be trusted later (see [`MTIME_MARGIN`]).
fn trustworthy(mtime: i128) -> Option<i128> {
    let now = epoch_ns(std::time::SystemTime::now());
    (mtime < now - MTIME_MARGIN.as_nanos() as i128).then_some(mtime)
}

/// `<dir>/.manifest.json`: what is stored, by URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// URL → the file it is stored in.
    pub images: BTreeMap<String, StoredImage>,
}

impl Manifest {
    /// Reads the manifest of `dir`; a missing or unreadable one is empty (its pictures are
    /// then downloaded again).
    pub fn load(dir: &Path) -> Manifest {
        match std::fs::read(dir.join(MANIFEST)) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!("ignoring an unreadable {MANIFEST}: {e}");
                Manifest::default()
            }),
            Err(_) => Manifest::default(),
        }
    }

    /// Writes it atomically.
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        rocket_dag::fs::write_atomically(&dir.join(MANIFEST), &bytes)
    }

    fn by_sha(&self, sha: &str) -> Option<&StoredImage> {
        self.images.values().find(|s| s.sha256 == sha)
    }
}

/// Downloads every launch's picture into `dir` and records what happened, one record per
/// launch in launch order.
pub async fn fetch_launch_images(
    launches: &[Launch],
    dir: &Path,
    config: &FetcherConfig,
) -> Vec<ImageRecord> {
    let http = match rocket_dag::http::builder()
        .connect_timeout(config.connect_timeout)
        // reqwest's read timeout also runs while a body waits for its bandwidth share: the
        // fetcher times reads itself (`Limits::read_timeout`), only while it waits for data.
        .read_timeout(Duration::from_secs(86_400))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            return launches
                .iter()
                .map(|l| failed(l, None, "io", &format!("cannot build the HTTP client: {e}")))
                .collect();
        }
    };
    if let Err(e) = tokio::fs::create_dir_all(dir).await {
        let msg = format!("cannot create {}: {e}", dir.display());
        return launches
            .iter()
            .map(|l| failed(l, None, "io", &msg))
            .collect();
    }
    // `.part` files a killed run left behind.
    let swept = dir.to_owned();
    let _ = tokio::task::spawn_blocking(move || rocket_dag::fs::sweep_stale_temps(&swept)).await;
    let fetcher = Fetcher {
        http,
        dir: dir.to_owned(),
        config: config.clone(),
        manifest: Mutex::new(Manifest::load(dir)),
        hosts: Mutex::new(HashMap::new()),
        bandwidth: config.bandwidth.map(Bandwidth::new),
        names: Mutex::new(HashMap::new()),
    };
    // Names for every URL that may be fetched, derived together so they cannot collide.
    let candidates: Vec<String> = launches
        .iter()
        .flat_map(|l| sources(l, true).into_iter().map(|(_, u)| u))
        .collect();
    *fetcher.names.lock().unwrap_or_else(PoisonError::into_inner) = file_names(&candidates)
        .into_iter()
        .map(|(url, name)| (url, name.map_err(|e| e.to_string())))
        .collect();

    // One download per distinct primary URL; its first launch owns it.
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
    let fetcher = &fetcher;
    let mut done: HashMap<usize, ImageRecord> = futures::stream::iter(owners)
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
        .map(|(i, l)| {
            if let Some(r) = done.remove(&i) {
                return r;
            }
            match l.image_url.as_deref() {
                None => ImageRecord {
                    outcome: Outcome::NoImage,
                    attempts: 0,
                    ..blank(l, None)
                },
                // A later launch with the owner's URL: no request of its own.
                Some(url) => ImageRecord {
                    outcome: Outcome::DuplicateUrl,
                    ..blank(l, Some(url))
                },
            }
        })
        .map(|mut r| {
            // Point duplicate URLs at the file their owner got.
            if r.outcome == Outcome::DuplicateUrl
                && let Some(url) = r.url.clone()
            {
                let manifest = fetcher
                    .manifest
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if let Some(stored) = manifest.images.get(&url) {
                    r.file_name = Some(stored.file_name.clone());
                    r.sha256 = Some(stored.sha256.clone());
                    r.bytes = Some(stored.bytes);
                }
            }
            r
        })
        .collect()
}

struct Fetcher {
    http: reqwest::Client,
    dir: PathBuf,
    config: FetcherConfig,
    manifest: Mutex<Manifest>,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    bandwidth: Option<Bandwidth>,
    names: Mutex<HashMap<String, Result<String, String>>>,
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

impl Fetcher {
    /// Tries the launch's sources in order until one gives a picture.
    async fn fetch_launch(&self, launch: &Launch) -> ImageRecord {
        let mut attempts = 0;
        let mut last: Option<ImageRecord> = None;
        for (source, url) in sources(launch, self.config.fallbacks) {
            let mut record = self.fetch_source(launch, &url).await;
            attempts += record.attempts;
            record.attempts = attempts;
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

    /// One URL, with retries.
    async fn fetch_source(&self, launch: &Launch, url: &str) -> ImageRecord {
        let base = blank(launch, Some(url));
        let name = match self
            .names
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(url)
            .cloned()
        {
            Some(Ok(n)) => n,
            Some(Err(e)) => return failed(launch, Some(url), "invalid_url", &e),
            None => {
                return failed(
                    launch,
                    Some(url),
                    "invalid_url",
                    "no file name for this URL",
                );
            }
        };
        // Present and intact from an earlier run?
        let known = self.present(url).await;
        if let Some(stored) = &known
            && stored.etag.is_none()
            && stored.last_modified.is_none()
        {
            return ImageRecord {
                outcome: Outcome::AlreadyPresent,
                bytes: Some(stored.bytes),
                sha256: Some(stored.sha256.clone()),
                file_name: Some(stored.file_name.clone()),
                ..base
            };
        }
        let host = host_of(url).unwrap_or_default();
        let per_host = {
            let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
            hosts
                .entry(host)
                .or_insert_with(|| Arc::new(Semaphore::new(self.config.per_host)))
                .clone()
        };
        let mut tries = 0u32;
        loop {
            tries += 1;
            let started = Instant::now();
            let result = {
                let _slot = per_host.acquire().await;
                let mut req = self.http.get(url);
                if let Some(stored) = &known {
                    if let Some(etag) = &stored.etag {
                        req = req.header(reqwest::header::IF_NONE_MATCH, etag);
                    }
                    if let Some(lm) = &stored.last_modified {
                        req = req.header(reqwest::header::IF_MODIFIED_SINCE, lm);
                    }
                }
                let limits = Limits {
                    max_bytes: self.config.max_bytes,
                    read_timeout: Some(self.config.read_timeout),
                    bandwidth: self.bandwidth.as_ref(),
                };
                match tokio::time::timeout(
                    self.config.total_timeout,
                    fetch_to_part(req, &self.dir, &name, &limits),
                )
                .await
                {
                    Ok(r) => r,
                    Err(_) => Err(FetchError::Timeout {
                        after: Some(self.config.total_timeout),
                    }),
                }
            };
            let total = started.elapsed();
            match result {
                Ok(Fetched::NotModified { ttfb }) => {
                    let stored = known
                        .clone()
                        .expect("conditional requests have a stored copy");
                    return ImageRecord {
                        outcome: Outcome::AlreadyPresent,
                        http_status: Some(304),
                        bytes: Some(stored.bytes),
                        sha256: Some(stored.sha256),
                        file_name: Some(stored.file_name),
                        ttfb_ms: Some(ms(ttfb)),
                        total_ms: Some(ms(total)),
                        attempts: tries,
                        ..base
                    };
                }
                Ok(Fetched::Body(body)) => {
                    let mut record = ImageRecord {
                        outcome: Outcome::Downloaded,
                        http_status: Some(body.status),
                        bytes: Some(body.bytes),
                        ttfb_ms: Some(ms(body.ttfb)),
                        total_ms: Some(ms(total)),
                        throughput_bps: (total.as_secs_f64() > 0.0)
                            .then(|| (body.bytes as f64 / total.as_secs_f64()).round()),
                        attempts: tries,
                        sha256: Some(body.sha256.clone()),
                        file_name: Some(name.clone()),
                        ..base.clone()
                    };
                    // Decide under the manifest's lock, so two URLs with the same bytes in
                    // this run store them once.
                    let duplicate_of = {
                        let manifest = self.manifest.lock().unwrap_or_else(PoisonError::into_inner);
                        manifest
                            .by_sha(&body.sha256)
                            .filter(|s| {
                                s.file_name != name && self.dir.join(&s.file_name).is_file()
                            })
                            .cloned()
                    };
                    if let Some(other) = duplicate_of {
                        drop(body.part); // deletes the .part file
                        record.outcome = Outcome::DuplicateContent;
                        record.file_name = Some(other.file_name.clone());
                        self.remember(url, other);
                        return record;
                    }
                    let path = self.dir.join(&name);
                    if let Err(e) = body.part.persist(&path).await {
                        return ImageRecord {
                            outcome: Outcome::Failed,
                            error_class: Some("io".into()),
                            error: Some(format!("cannot store {name}: {e}")),
                            file_name: None,
                            ..record
                        };
                    }
                    self.remember(
                        url,
                        StoredImage {
                            file_name: name.clone(),
                            sha256: body.sha256,
                            bytes: body.bytes,
                            etag: body.etag,
                            last_modified: body.last_modified,
                            // Just written: too recent to trust (hashed at the next run).
                            mtime_ns: None,
                        },
                    );
                    return record;
                }
                Err(e) => {
                    let retry_after = match &e {
                        FetchError::RateLimited { retry_after } => *retry_after,
                        _ => None,
                    };
                    let too_long = retry_after.is_some_and(|d| d > self.config.max_retry_after);
                    if e.is_transient() && tries <= self.config.retries && !too_long {
                        let backoff = rocket_dag::retry::Backoff::exponential(self.config.backoff)
                            .delay(tries);
                        let delay = retry_after.unwrap_or(backoff).max(backoff);
                        tracing::debug!(%url, class = e.class(), "retrying in {delay:?}: {e}");
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    return ImageRecord {
                        outcome: Outcome::Failed,
                        error_class: Some(e.class().to_owned()),
                        error: Some(e.to_string()),
                        http_status: match &e {
                            FetchError::Status(s) => Some(*s),
                            FetchError::RateLimited { .. } => Some(429),
                            _ => None,
                        },
                        total_ms: Some(ms(total)),
                        attempts: tries,
                        ..base
                    };
                }
            }
        }
    }

    /// The stored copy of `url`, if the manifest has one whose file is still there, with the
    /// right size and SHA-256 (a damaged file is downloaded again).
    async fn present(&self, url: &str) -> Option<StoredImage> {
        let stored = self
            .manifest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .images
            .get(url)
            .cloned()?;
        let path = self.dir.join(&stored.file_name);
        let expected = stored.clone();
        // Same size and modification time as when it was last hashed (and that time was
        // already old then): intact without reading it. Otherwise the bytes are hashed (a copy
        // touched but unchanged stays; a damaged one is downloaded again).
        let checked = tokio::task::spawn_blocking(move || {
            use sha2::Digest;
            let (size, mtime) = stat(&path)?;
            if size != expected.bytes {
                return None;
            }
            if expected.mtime_ns == Some(mtime) {
                return Some(mtime);
            }
            let bytes = std::fs::read(&path).ok()?;
            (bytes.len() as u64 == expected.bytes
                && crate::images::hex(&sha2::Sha256::digest(&bytes)) == expected.sha256)
                .then_some(mtime)
        })
        .await
        .ok()
        .flatten();
        match checked {
            None => {
                tracing::warn!(%url, file = %stored.file_name, "stored picture missing or damaged: downloading it again");
                None
            }
            Some(mtime) if stored.mtime_ns != trustworthy(mtime) => {
                let stored = StoredImage {
                    mtime_ns: trustworthy(mtime),
                    ..stored
                };
                self.remember(url, stored.clone());
                Some(stored)
            }
            Some(_) => Some(stored),
        }
    }

    fn remember(&self, url: &str, stored: StoredImage) {
        self.manifest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .images
            .insert(url.to_owned(), stored);
    }
}

/// Whether one image URL answers, from a `HEAD` request (nothing downloaded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Availability {
    /// LL2 launch id.
    pub launch_id: String,
    /// The URL checked.
    pub url: String,
    /// Whether it answered 2xx with an image content type (or none).
    pub reachable: bool,
    /// The status, when it answered.
    pub http_status: Option<u16>,
    /// Its `Content-Type`.
    pub content_type: Option<String>,
    /// Its `Content-Length`.
    pub bytes: Option<u64>,
    /// Why not, in words.
    pub error: Option<String>,
    /// Time to the answer, in milliseconds.
    pub elapsed_ms: f64,
}

/// Checks every launch's image URL with `HEAD` (concurrently, within the configured limits),
/// downloading nothing.
pub async fn check_images(launches: &[Launch], config: &FetcherConfig) -> Vec<Availability> {
    let http = rocket_dag::http::builder()
        .connect_timeout(config.connect_timeout)
        .timeout(config.total_timeout)
        .build()
        .unwrap_or_else(|_| rocket_dag::http::client());
    let http = &http;
    // One HEAD per distinct URL. Collected first: a borrowing iterator inside the stream would
    // not be `Send` for every lifetime, which a task's boxed future requires.
    let mut seen = std::collections::HashSet::new();
    let todo: Vec<(usize, String, String)> = launches
        .iter()
        .enumerate()
        .filter_map(|(i, l)| Some((i, l.id.clone(), l.image_url.clone()?)))
        .filter(|(_, _, url)| seen.insert(url.clone()))
        .collect();
    let mut out: Vec<(usize, Availability)> = futures::stream::iter(todo)
        .map(|(i, launch_id, url)| async move {
            let started = Instant::now();
            let result = http.head(&url).send().await;
            let elapsed_ms = ms(started.elapsed());
            let a = match result {
                Ok(r) => {
                    let content_type = r
                        .headers()
                        .get(reqwest::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let image_type = content_type
                        .as_deref()
                        .is_none_or(|t| t.starts_with("image/") || t == "application/octet-stream");
                    let ok = r.status().is_success() && image_type;
                    Availability {
                        launch_id,
                        url,
                        reachable: ok,
                        http_status: Some(r.status().as_u16()),
                        bytes: r.content_length(),
                        error: (!ok).then(|| match &content_type {
                            Some(t) if r.status().is_success() => format!("not an image: {t}"),
                            _ => format!("HTTP {}", r.status()),
                        }),
                        content_type,
                        elapsed_ms,
                    }
                }
                Err(e) => Availability {
                    launch_id,
                    url,
                    reachable: false,
                    http_status: None,
                    content_type: None,
                    bytes: None,
                    error: Some(FetchError::Http(e).to_string()),
                    elapsed_ms,
                },
            };
            (i, a)
        })
        .buffer_unordered(config.concurrency.max(1))
        .collect()
        .await;
    let by_url: HashMap<String, Availability> =
        out.drain(..).map(|(_, a)| (a.url.clone(), a)).collect();
    // Every launch with a URL gets its URL's answer.
    launches
        .iter()
        .filter_map(|l| {
            let a = by_url.get(l.image_url.as_deref()?)?;
            Some(Availability {
                launch_id: l.id.clone(),
                ..a.clone()
            })
        })
        .collect()
}

/// What [`archive_older_than`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Archived {
    /// The archive written, if anything was old enough.
    pub archive: Option<PathBuf>,
    /// Files moved into it.
    pub files: Vec<String>,
}

/// Retention: moves the pictures of `dir` last modified more than `days` days before `now`
/// into `dir/archive/images-<now>.tar.gz` (written to a temporary name, then renamed), then
/// deletes them and forgets them in the manifest. Hidden files are left alone.
pub fn archive_older_than(
    dir: &Path,
    days: u32,
    now: std::time::SystemTime,
) -> std::io::Result<Archived> {
    let limit = now - Duration::from_secs(u64::from(days) * 86_400);
    let mut old = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.file_type()?.is_file() {
            continue;
        }
        if entry.metadata()?.modified()? < limit {
            old.push(name);
        }
    }
    if old.is_empty() {
        return Ok(Archived {
            archive: None,
            files: old,
        });
    }
    old.sort();
    let archive_dir = dir.join("archive");
    std::fs::create_dir_all(&archive_dir)?;
    let stamp = chrono::DateTime::<chrono::Utc>::from(now).format("%Y%m%dT%H%M%SZ");
    let target = archive_dir.join(format!("images-{stamp}.tar.gz"));
    rocket_dag::fs::sweep_stale_temps(&archive_dir);
    let tmp = tempfile::Builder::new()
        .prefix(&rocket_dag::fs::temp_prefix(&format!(
            "images-{stamp}.tar.gz"
        )))
        .suffix(".tmp")
        .tempfile_in(&archive_dir)?;
    {
        let gz = flate2::write::GzEncoder::new(tmp.as_file(), flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        for name in &old {
            tar.append_path_with_name(dir.join(name), name)?;
        }
        tar.into_inner()?.finish()?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(&target).map_err(|e| e.error)?;
    // Only once the archive is in place are the originals removed.
    let mut manifest = Manifest::load(dir);
    manifest.images.retain(|_, s| !old.contains(&s.file_name));
    for name in &old {
        std::fs::remove_file(dir.join(name))?;
    }
    manifest.save(dir)?;
    Ok(Archived {
        archive: Some(target),
        files: old,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::{Fault, MockConfig, MockServer};

    fn launch(id: &str, url: Option<String>) -> Launch {
        Launch {
            id: id.into(),
            name: format!("Launch {id}"),
            net: None,
            status: None,
            provider: None,
            rocket: Some("Falcon 9".into()),
            rocket_family: None,
            rocket_image_url: None,
            pad: None,
            location: None,
            country: None,
            pad_timezone: None,
            mission: None,
            orbit: None,
            image_url: url,
            thumbnail_url: None,
        }
    }

    fn quick() -> FetcherConfig {
        FetcherConfig::default()
            .retries(2, Duration::from_millis(10))
            .timeouts(
                Duration::from_secs(2),
                Duration::from_millis(500),
                Duration::from_secs(5),
            )
    }

    /// Files in `dir` (hidden ones too), sorted.
    fn listing(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    async fn server(faults: Vec<(&str, Fault)>) -> MockServer {
        let mut config = MockConfig::default().with_image_bytes(4096);
        for (path, fault) in faults {
            config = config.with_image_fault(path, fault);
        }
        MockServer::start(config).await.unwrap()
    }

    #[tokio::test]
    async fn every_fault_has_its_outcome_and_class() {
        let s = server(vec![
            (
                "/images/flaky.png",
                Fault::FirstN(1, Box::new(Fault::Status(503))),
            ),
            ("/images/gone.png", Fault::Status(404)),
            ("/images/down.png", Fault::Status(500)),
            (
                "/images/reset.png",
                Fault::FirstN(1, Box::new(Fault::Reset)),
            ),
            ("/images/cut.png", Fault::Truncated),
            ("/images/html.png", Fault::Html),
            ("/images/huge.png", Fault::Huge(10 * 1024 * 1024)),
            ("/images/garbage.png", Fault::BadHeader),
            (
                "/images/slow.png",
                Fault::Trickle(4, Duration::from_millis(900)),
            ),
            (
                "/images/busy.png",
                Fault::FirstN(1, Box::new(Fault::RetryAfter(1))),
            ),
            (
                "/images/moved.png",
                Fault::Redirect("/images/target.png".into()),
            ),
            (
                "/images/loop.png",
                Fault::Redirect("/images/loop.png".into()),
            ),
        ])
        .await;
        let names = [
            "ok", "flaky", "gone", "down", "reset", "cut", "html", "huge", "garbage", "slow",
            "busy", "moved", "loop",
        ];
        let mut launches: Vec<Launch> = names
            .iter()
            .map(|n| launch(n, Some(s.image_url(&format!("{n}.png")))))
            .collect();
        launches.push(launch("none", None));
        launches.push(launch("again", Some(s.image_url("ok.png"))));
        launches.push(launch("bad-url", Some("ftp://example.com/x.png".into())));
        let dir = tempfile::tempdir().unwrap();
        let config = quick().max_bytes(1024 * 1024);
        let records = fetch_launch_images(&launches, dir.path(), &config).await;
        let by = |id: &str| records.iter().find(|r| r.launch_id == id).unwrap();
        let outcome = |id: &str| (by(id).outcome, by(id).error_class.as_deref());
        assert_eq!(records.len(), launches.len());
        assert_eq!(outcome("ok"), (Outcome::Downloaded, None));
        assert_eq!(by("ok").attempts, 1);
        assert_eq!(by("ok").http_status, Some(200));
        assert_eq!(by("ok").bytes, Some(4096));
        assert_eq!(by("ok").sha256.as_ref().map(String::len), Some(64));
        assert!(by("ok").ttfb_ms.is_some() && by("ok").throughput_bps.is_some());
        assert_eq!(by("ok").source, Some(Source::Primary));
        assert_eq!(by("ok").host.as_deref(), Some("127.0.0.1"));
        assert_eq!(outcome("flaky"), (Outcome::Downloaded, None));
        assert_eq!(by("flaky").attempts, 2, "a 503 is retried");
        assert_eq!(outcome("gone"), (Outcome::Failed, Some("http_4xx")));
        assert_eq!(
            (by("gone").attempts, by("gone").http_status),
            (1, Some(404)),
            "404 is not retried"
        );
        assert_eq!(outcome("down"), (Outcome::Failed, Some("http_5xx")));
        assert_eq!(by("down").attempts, 3, "1 + 2 retries");
        assert_eq!(outcome("reset"), (Outcome::Downloaded, None));
        assert_eq!(outcome("cut").1, Some("truncated"));
        assert_eq!(outcome("html"), (Outcome::Failed, Some("not_an_image")));
        assert_eq!(outcome("huge"), (Outcome::Failed, Some("too_large")));
        assert_eq!(
            outcome("garbage"),
            (Outcome::Failed, Some("not_an_image")),
            "{:?}",
            by("garbage").error
        );
        assert_eq!(
            outcome("slow").1,
            Some("timeout"),
            "a read stalls past the read timeout"
        );
        assert_eq!(outcome("busy"), (Outcome::Downloaded, None));
        assert_eq!(by("busy").attempts, 2, "429 then after Retry-After");
        assert_eq!(outcome("moved"), (Outcome::Downloaded, None));
        assert_eq!(outcome("loop"), (Outcome::Failed, Some("http")));
        assert_eq!(by("loop").attempts, 1, "a redirect loop is not retried");
        assert_eq!(outcome("none"), (Outcome::NoImage, None));
        assert_eq!(outcome("again").0, Outcome::DuplicateUrl);
        assert_eq!(by("again").file_name, by("ok").file_name);
        assert_eq!(outcome("bad-url"), (Outcome::Failed, Some("invalid_url")));
        assert_eq!(
            s.requests("/images/ok.png"),
            1,
            "one download per distinct URL"
        );
        // Only complete pictures, under their final names, and the manifest.
        let files = listing(dir.path());
        assert!(files.iter().all(|f| !f.ends_with(".part")), "{files:?}");
        let stored: Vec<&String> = files.iter().filter(|f| !f.starts_with('.')).collect();
        assert_eq!(stored.len(), 5, "ok, flaky, reset, busy, moved: {files:?}");
        assert!(files.contains(&MANIFEST.to_owned()));
    }

    #[tokio::test]
    async fn a_second_run_downloads_nothing_present_and_revalidates_with_the_etag() {
        let s = server(vec![(
            "/images/tagged.png",
            Fault::Headers(vec![("ETag".into(), "\"v1\"".into())]),
        )])
        .await;
        let launches = vec![
            launch("a", Some(s.image_url("plain.png"))),
            launch("b", Some(s.image_url("tagged.png"))),
        ];
        let dir = tempfile::tempdir().unwrap();
        let first = fetch_launch_images(&launches, dir.path(), &quick()).await;
        assert!(first.iter().all(|r| r.outcome == Outcome::Downloaded));
        let again = fetch_launch_images(&launches, dir.path(), &quick()).await;
        assert_eq!(again[0].outcome, Outcome::AlreadyPresent);
        assert_eq!(again[0].attempts, 0, "no request without validators");
        assert_eq!(s.requests("/images/plain.png"), 1);
        assert_eq!(
            (again[1].outcome, again[1].http_status),
            (Outcome::AlreadyPresent, Some(304))
        );
        assert_eq!(s.requests("/images/tagged.png"), 2, "revalidated");
        // A damaged copy is downloaded again.
        let name = first[0].file_name.clone().unwrap();
        std::fs::write(dir.path().join(&name), b"oops").unwrap();
        let third = fetch_launch_images(&launches, dir.path(), &quick()).await;
        assert_eq!(third[0].outcome, Outcome::Downloaded);
        assert_eq!(
            std::fs::metadata(dir.path().join(&name)).unwrap().len(),
            4096
        );
        // Damaged right after it was stored, without changing its size: a time that recent is
        // never trusted, so it is hashed.
        let path = dir.path().join(&name);
        std::fs::write(&path, vec![0u8; 4096]).unwrap();
        let fourth = fetch_launch_images(&launches, dir.path(), &quick()).await;
        assert_eq!(fourth[0].outcome, Outcome::Downloaded);
        assert_eq!(s.requests("/images/plain.png"), 3);
        // An hour old: hashed once, found intact, and its time recorded.
        let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
        let set_mtime = |t: std::time::SystemTime| {
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(t)
                .unwrap();
        };
        set_mtime(hour_ago);
        let fifth = fetch_launch_images(&launches, dir.path(), &quick()).await;
        assert_eq!(fifth[0].outcome, Outcome::AlreadyPresent);
        assert_eq!(s.requests("/images/plain.png"), 3);
        let stored = &Manifest::load(dir.path()).images[launches[0].image_url.as_deref().unwrap()];
        assert_eq!(stored.mtime_ns, Some(epoch_ns(hour_ago)));
        // Damaged later, same size: its time changed, so it is hashed and fetched again.
        let good = std::fs::read(&path).unwrap();
        std::fs::write(&path, vec![0u8; good.len()]).unwrap();
        set_mtime(hour_ago + Duration::from_secs(60));
        let sixth = fetch_launch_images(&launches, dir.path(), &quick()).await;
        assert_eq!(sixth[0].outcome, Outcome::Downloaded);
        assert_eq!(std::fs::read(&path).unwrap(), good);
    }

    #[tokio::test]
    async fn the_same_bytes_under_two_urls_are_stored_once() {
        let s = server(vec![(
            "/images/two.png",
            Fault::SameAs("/images/one.png".into()),
        )])
        .await;
        let launches = vec![
            launch("a", Some(s.image_url("one.png"))),
            launch("b", Some(s.image_url("two.png"))),
        ];
        let dir = tempfile::tempdir().unwrap();
        let config = quick().concurrency(1, 1);
        let r = fetch_launch_images(&launches, dir.path(), &config).await;
        assert_eq!(r[0].outcome, Outcome::Downloaded);
        assert_eq!(r[1].outcome, Outcome::DuplicateContent);
        assert_eq!(r[1].file_name, r[0].file_name);
        assert_eq!(r[1].sha256, r[0].sha256);
        let stored: Vec<String> = listing(dir.path())
            .into_iter()
            .filter(|f| !f.starts_with('.'))
            .collect();
        assert_eq!(stored.len(), 1);
    }

    #[tokio::test]
    async fn fallbacks_serve_when_the_primary_fails() {
        let s = server(vec![("/images/broken.png", Fault::Status(404))]).await;
        let mut l = launch("a", Some(s.image_url("broken.png")));
        l.thumbnail_url = Some(s.image_url("broken.png"));
        l.rocket_image_url = Some(s.image_url("rocket.png"));
        let dir = tempfile::tempdir().unwrap();
        let r = fetch_launch_images(std::slice::from_ref(&l), dir.path(), &quick()).await;
        assert_eq!(r[0].outcome, Outcome::Downloaded);
        assert_eq!(r[0].source, Some(Source::RocketConfiguration));
        assert!(r[0].url.as_deref().unwrap().ends_with("rocket.png"));
        assert_eq!(
            r[0].attempts, 2,
            "the primary (the thumbnail is the same URL), then the rocket"
        );
        let off = fetch_launch_images(
            &[l],
            tempfile::tempdir().unwrap().path(),
            &quick().fallbacks(false),
        )
        .await;
        assert_eq!(off[0].outcome, Outcome::Failed);
    }

    #[tokio::test]
    async fn per_host_and_bandwidth_limits_hold() {
        let s = MockServer::start(
            MockConfig::default()
                .with_image_bytes(20 * 1024)
                .with_latency(Duration::from_millis(50)),
        )
        .await
        .unwrap();
        let launches: Vec<Launch> = (0..12)
            .map(|i| launch(&format!("l{i}"), Some(s.image_url(&format!("i{i}.png")))))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let config = quick().concurrency(16, 3);
        let r = fetch_launch_images(&launches, dir.path(), &config).await;
        assert!(r.iter().all(|r| r.outcome.is_ok()));
        assert!(s.max_in_flight() <= 3, "per host: {}", s.max_in_flight());

        // 12 × 20 KiB at 200 KiB/s: at least ~1.2 s.
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let config = quick().concurrency(16, 16).bandwidth(Some(200 * 1024));
        let r = fetch_launch_images(&launches, dir.path(), &config).await;
        assert!(
            r.iter().all(|r| r.outcome == Outcome::Downloaded),
            "{:?}",
            r.iter()
                .map(|r| (r.outcome, r.error.clone()))
                .collect::<Vec<_>>()
        );
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(1_100), "{took:?}");
    }

    #[tokio::test]
    async fn head_checks_download_nothing() {
        let s = server(vec![("/images/gone.png", Fault::Status(404))]).await;
        let launches = vec![
            launch("a", Some(s.image_url("fine.png"))),
            launch("b", Some(s.image_url("gone.png"))),
            launch("c", None),
        ];
        let a = check_images(&launches, &quick()).await;
        assert_eq!(a.len(), 2);
        assert!(a[0].reachable);
        assert_eq!(a[0].content_type.as_deref(), Some("image/png"));
        assert!(!a[1].reachable);
        assert_eq!(a[1].http_status, Some(404));
    }

    #[tokio::test]
    async fn old_pictures_are_archived_then_removed() {
        let s = server(vec![]).await;
        let launches = vec![launch("a", Some(s.image_url("old.png")))];
        let dir = tempfile::tempdir().unwrap();
        fetch_launch_images(&launches, dir.path(), &quick()).await;
        let in_a_week = std::time::SystemTime::now() + Duration::from_secs(7 * 86_400);
        let none = archive_older_than(dir.path(), 30, in_a_week).unwrap();
        assert!(none.archive.is_none());
        let done = archive_older_than(dir.path(), 5, in_a_week).unwrap();
        assert_eq!(done.files.len(), 1);
        let archive = done.archive.unwrap();
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(
            std::fs::File::open(&archive).unwrap(),
        ));
        let names: Vec<String> = tar
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, done.files);
        assert!(Manifest::load(dir.path()).images.is_empty());
        let left: Vec<String> = listing(dir.path())
            .into_iter()
            .filter(|f| !f.starts_with('.') && f != "archive")
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}

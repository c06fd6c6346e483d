//! Downloading launch images safely: one file per distinct URL, never a partial or foreign
//! file under a final name.
//!
//! * [`file_names`] turns URLs into file names that cannot leave the target directory and do
//!   not collide with each other.
//! * [`fetch_images`] downloads them concurrently, streaming each body to a hidden `.part` file
//!   in the same directory, checks that it really is an image ([`sniff_image`]) of a sane size,
//!   and renames it into place only when complete.
//! * [`PictureRecord`] is a serializable summary of one download, for a task to return.

use std::collections::HashSet;
use std::error::Error as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncWriteExt, BufWriter};

/// Longest file name [`file_names`] produces, in bytes (most file systems allow 255).
pub const MAX_NAME_LEN: usize = 150;

/// A body larger than this streams to its `.part` file; a smaller one is written in one go.
const SPILL_BYTES: usize = 1024 * 1024;

/// Bytes [`sniff_image`] needs to recognise every supported format.
pub const SNIFF_LEN: usize = 12;

/// Why no file name could be derived from a URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The text is not an absolute URL.
    #[error("invalid URL: {reason}")]
    Invalid {
        /// What the URL parser objected to.
        reason: String,
    },
    /// The URL is not `http` or `https`.
    #[error("unsupported URL scheme `{scheme}`; expected `http` or `https`")]
    Scheme {
        /// The scheme found.
        scheme: String,
    },
}

/// Derives a safe, unique file name for each distinct URL, in first-seen order.
///
/// The name is `<stem>-<8 hex digits of a hash of the URL's host, path and query>.<ext>`, where stem and
/// extension come from the URL's last path segment, percent-decoded, without query or fragment,
/// with every byte outside `[A-Za-z0-9._-]` replaced by `_`, leading dots removed and at most
/// [`MAX_NAME_LEN`] bytes. An empty stem becomes `image`. The name depends on the URL alone, so
/// it is the same in every run, and two URLs with the same last segment (on two hosts, or two
/// paths) never share a file, in one run or across runs.
pub fn file_names(urls: &[String]) -> Vec<(String, Result<String, NameError>)> {
    let mut seen = HashSet::new();
    let distinct: Vec<&String> = urls.iter().filter(|u| seen.insert(u.as_str())).collect();
    let bases: Vec<Result<SafeName, NameError>> = distinct.iter().map(|u| base_name(u)).collect();

    let mut taken = HashSet::new();
    distinct
        .into_iter()
        .zip(bases)
        .map(|(url, base)| {
            let name = base.map(|base| {
                let hash = format!("{:08x}", fnv1a(identity(url).as_bytes()));
                let mut name = base.render(Some(&hash));
                // Two URLs whose hashes collide too (or differ only in case): number them.
                let mut n = 1;
                while !taken.insert(name.to_ascii_lowercase()) {
                    n += 1;
                    name = base.render(Some(&format!("{hash}-{n}")));
                }
                name
            });
            (url.clone(), name)
        })
        .collect()
}

/// What makes two image URLs the same image for naming: host, path and query. The scheme and
/// port are left out, so `http`/`https` of one image, or a local server on a new port each run
/// (the example's `--offline`), keep one name.
fn identity(raw: &str) -> String {
    match reqwest::Url::parse(raw) {
        Ok(u) => format!(
            "{}{}?{}",
            u.host_str().unwrap_or("").to_ascii_lowercase(),
            u.path(),
            u.query().unwrap_or("")
        ),
        Err(_) => raw.to_owned(),
    }
}

/// A sanitized file name split into stem and extension.
struct SafeName {
    stem: String,
    ext: Option<String>,
}

impl SafeName {
    /// `stem[-suffix][.ext]`, the stem shortened to fit [`MAX_NAME_LEN`].
    fn render(&self, suffix: Option<&str>) -> String {
        let tail = suffix.map_or(0, |s| s.len() + 1) + self.ext.as_ref().map_or(0, |e| e.len() + 1);
        // Sanitized names are ASCII, so any byte index is a char boundary.
        let stem = &self.stem[..self
            .stem
            .len()
            .min(MAX_NAME_LEN.saturating_sub(tail).max(1))];
        let mut name = stem.to_owned();
        for (sep, part) in [('-', suffix), ('.', self.ext.as_deref())] {
            if let Some(part) = part {
                name.push(sep);
                name.push_str(part);
            }
        }
        name
    }
}

fn base_name(raw: &str) -> Result<SafeName, NameError> {
    let url = reqwest::Url::parse(raw).map_err(|e| NameError::Invalid {
        reason: e.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(NameError::Scheme {
            scheme: url.scheme().to_owned(),
        });
    }
    // Decode only after splitting into segments, so `%2F` cannot make a new path level;
    // the `/` it decodes to is replaced below like any other unsafe character.
    let segment = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or("");
    let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
    let cleaned: String = decoded
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    // No hidden files, and never `.` or `..`.
    let cleaned = cleaned.trim_start_matches('.');
    let cleaned = if cleaned.is_empty() { "image" } else { cleaned };
    Ok(match cleaned.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && (1..=10).contains(&ext.len()) => SafeName {
            stem: stem.to_owned(),
            ext: Some(ext.to_owned()),
        },
        _ => SafeName {
            stem: cleaned.to_owned(),
            ext: None,
        },
    })
}

/// 32-bit FNV-1a: tiny and stable across Rust versions, unlike `std`'s `DefaultHasher`.
fn fnv1a(data: &[u8]) -> u32 {
    data.iter().fold(0x811c_9dc5, |hash, &b| {
        (hash ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// An image file format recognised by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    /// Portable Network Graphics.
    Png,
    /// JPEG (JFIF, Exif, …).
    Jpeg,
    /// GIF, versions 87a and 89a.
    Gif,
    /// WebP in a RIFF container.
    WebP,
}

impl ImageFormat {
    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Gif => "gif",
            Self::WebP => "webp",
        }
    }
}

/// Recognises an image by its first bytes ([`SNIFF_LEN`] are enough for every format).
pub fn sniff_image(head: &[u8]) -> Option<ImageFormat> {
    match head {
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(ImageFormat::Png),
        [0xFF, 0xD8, 0xFF, ..] => Some(ImageFormat::Jpeg),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(ImageFormat::Gif),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => Some(ImageFormat::WebP),
        _ => None,
    }
}

/// Limits for [`fetch_images`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// Most downloads in flight at once (0 is taken as 1). Default 16.
    pub concurrency: usize,
    /// Largest accepted image, in bytes. Default 50 MiB.
    pub max_bytes: u64,
    /// Time allowed for one image, from sending the request to the file being in place.
    /// Default 60 s.
    pub timeout: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            concurrency: 16,
            max_bytes: 50 * 1024 * 1024,
            timeout: Duration::from_secs(60),
        }
    }
}

/// A downloaded image, in its final place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFile {
    /// Where it was saved: the target directory joined with its file name.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Its format, from its magic bytes.
    pub format: ImageFormat,
    /// How long the download took.
    pub elapsed: Duration,
}

/// Why one image was not downloaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No file name could be derived from the URL.
    #[error(transparent)]
    InvalidUrl(#[from] NameError),
    /// The connection could not be made or was cut (refused, reset, DNS failure).
    #[error("{message}")]
    Connect {
        /// A short description, e.g. `connection refused`.
        message: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The host name did not resolve.
    #[error("{message}")]
    Dns {
        /// A short description.
        message: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The TLS handshake failed (certificate, protocol).
    #[error("{message}")]
    Tls {
        /// A short description.
        message: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// HTTP 429: the server asks to come back later.
    #[error("HTTP status 429 Too Many Requests{}", .retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// The server's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
    /// The body starts like an image but its header does not decode.
    #[error("not a valid {format:?} image: {reason}")]
    Corrupt {
        /// The format its magic bytes claim.
        format: ImageFormat,
        /// What the decoder said.
        reason: String,
    },
    /// The download took too long.
    #[error("timed out{}", .after.map(|d| format!(" after {d:?}")).unwrap_or_default())]
    Timeout {
        /// The limit that was hit, when known (`None` for a timeout set on the client).
        after: Option<Duration>,
    },
    /// The server answered with a status other than 2xx.
    #[error("HTTP status {}", status_text(*.0))]
    Status(u16),
    /// The body does not start like a PNG, JPEG, GIF or WebP image.
    #[error("not an image (content-type {})", .content_type.as_deref().unwrap_or("missing"))]
    NotAnImage {
        /// The `Content-Type` the server claimed.
        content_type: Option<String>,
    },
    /// The image is larger than [`FetchOptions::max_bytes`].
    #[error("larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The body ended before the announced `Content-Length`.
    #[error("truncated body: received {received} of {expected} bytes")]
    Truncated {
        /// The announced length.
        expected: u64,
        /// The bytes received.
        received: u64,
    },
    /// Creating, writing or renaming the file failed.
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
    /// Any other HTTP transport error.
    #[error("transport error: {}", root_cause(.0))]
    Http(#[source] reqwest::Error),
}

impl FetchError {
    /// A stable, machine-readable name of the cause: `invalid_url`, `dns`, `connect`, `tls`,
    /// `timeout`, `http_429`, `http_4xx`, `http_5xx`, `not_an_image`, `too_large`, `truncated`,
    /// `io` or `http`.
    pub fn class(&self) -> &'static str {
        match self {
            Self::InvalidUrl(_) => "invalid_url",
            Self::Dns { .. } => "dns",
            Self::Connect { .. } => "connect",
            Self::Tls { .. } => "tls",
            Self::Timeout { .. } => "timeout",
            Self::RateLimited { .. } | Self::Status(429) => "http_429",
            Self::Corrupt { .. } => "not_an_image",
            Self::Status(400..=499) => "http_4xx",
            Self::Status(500..=599) => "http_5xx",
            Self::Status(_) | Self::Http(_) => "http",
            Self::NotAnImage { .. } => "not_an_image",
            Self::TooLarge { .. } => "too_large",
            Self::Truncated { .. } => "truncated",
            Self::Io(_) => "io",
        }
    }

    /// Whether trying again may work: connection problems, timeouts, 5xx and 429 — not a
    /// refusal (other 4xx), a bad body, or a host name the DNS says does not exist.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Dns { source, .. } => rocket_dag::http::permanent_failure(source).is_none(),
            Self::Connect { .. }
            | Self::Timeout { .. }
            | Self::RateLimited { .. }
            | Self::Status(500..=599 | 429)
            | Self::Truncated { .. } => true,
            // A redirect loop stays a loop.
            Self::Http(e) => !e.is_redirect(),
            _ => false,
        }
    }

    fn from_reqwest(err: reqwest::Error) -> Self {
        if err.is_timeout() {
            return Self::Timeout { after: None };
        }
        let root = root_cause(&err);
        if err.is_connect() {
            let lower = root.to_ascii_lowercase();
            if lower.contains("dns")
                || lower.contains("failed to lookup")
                || lower.contains("name or service not known")
            {
                return Self::Dns {
                    message: format!("DNS lookup failed: {root}"),
                    source: err,
                };
            }
            if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
            {
                return Self::Tls {
                    message: format!("TLS failed: {root}"),
                    source: err,
                };
            }
        }
        let io_kind = io_error_kind(&err);
        let message = if err.is_dns() {
            Some(format!("DNS lookup failed: {}", root_cause(&err)))
        } else {
            use std::io::ErrorKind::{
                BrokenPipe, ConnectionAborted, ConnectionRefused, ConnectionReset,
            };
            match io_kind {
                Some(ConnectionRefused) => Some("connection refused".to_owned()),
                Some(ConnectionReset) => Some("connection reset by peer".to_owned()),
                Some(ConnectionAborted) => Some("connection aborted".to_owned()),
                Some(BrokenPipe) => Some("connection closed (broken pipe)".to_owned()),
                _ if err.is_connect() => Some(format!("cannot connect: {}", root_cause(&err))),
                _ => None,
            }
        };
        match message {
            Some(message) => Self::Connect {
                message,
                source: err,
            },
            None => Self::Http(err),
        }
    }
}

fn status_text(code: u16) -> String {
    match reqwest::StatusCode::from_u16(code) {
        Ok(status) => status.to_string(),
        Err(_) => code.to_string(),
    }
}

/// The innermost error of a chain: for reqwest that is the one that says what happened.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

fn io_error_kind(err: &reqwest::Error) -> Option<std::io::ErrorKind> {
    let mut source = err.source();
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        source = err.source();
    }
    None
}

/// What happened to one URL.
#[derive(Debug)]
pub struct ImageOutcome {
    /// The URL, as given.
    pub url: String,
    /// The file name it is (or would have been) saved under; `None` if the URL is invalid.
    pub file_name: Option<String>,
    /// The saved file, or why there is none.
    pub result: Result<ImageFile, FetchError>,
}

/// A serializable summary of an [`ImageOutcome`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PictureRecord {
    /// The image URL.
    pub url: String,
    /// The file name it is (or would have been) saved under.
    pub file_name: Option<String>,
    /// Size of the saved file; `None` if the download failed.
    pub bytes: Option<u64>,
    /// [`FetchError::class`] of the failure.
    pub error_class: Option<String>,
    /// The failure, in words.
    pub error: Option<String>,
}

impl PictureRecord {
    /// Whether the image was saved.
    pub fn is_ok(&self) -> bool {
        self.error.is_none()
    }
}

impl From<&ImageOutcome> for PictureRecord {
    fn from(outcome: &ImageOutcome) -> Self {
        let (bytes, error_class, error) = match &outcome.result {
            Ok(file) => (Some(file.bytes), None, None),
            Err(err) => (None, Some(err.class().to_owned()), Some(err.to_string())),
        };
        Self {
            url: outcome.url.clone(),
            file_name: outcome.file_name.clone(),
            bytes,
            error_class,
            error,
        }
    }
}

/// Downloads every distinct URL once into `dir` (created if missing), at most
/// `opts.concurrency` at a time, and reports one outcome per distinct URL, in first-seen order.
///
/// Each body is streamed to a hidden `.part` file next to its final name and renamed into
/// place only after it passed every check (2xx status, image magic bytes, size limit, complete
/// body). A failed download leaves no file behind. An existing file of the same name is
/// replaced. Failures are logged at `warn`, successes at `info`.
pub async fn fetch_images(
    client: &reqwest::Client,
    urls: &[String],
    dir: &Path,
    opts: &FetchOptions,
) -> Vec<ImageOutcome> {
    let names = file_names(urls);
    let dir_error = tokio::fs::create_dir_all(dir).await.err();
    if dir_error.is_none() {
        // `.part` files a killed run left behind.
        let swept = dir.to_owned();
        let _ =
            tokio::task::spawn_blocking(move || rocket_dag::fs::sweep_stale_temps(&swept)).await;
    }
    let mut outcomes: Vec<(usize, ImageOutcome)> = futures::stream::iter(
        names.into_iter().enumerate(),
    )
    .map(|(index, (url, name))| {
        let dir_error = dir_error.as_ref();
        async move {
            let file_name = name.as_ref().ok().cloned();
            let result = match (name, dir_error) {
                (Err(err), _) => Err(FetchError::InvalidUrl(err)),
                (Ok(_), Some(err)) => Err(FetchError::Io(std::io::Error::new(
                    err.kind(),
                    format!("cannot create {}: {err}", dir.display()),
                ))),
                (Ok(name), None) => fetch_one(client, &url, dir, &name, opts).await,
            };
            match &result {
                Ok(file) => tracing::info!(
                    url,
                    file = %file.path.display(),
                    bytes = file.bytes,
                    format = ?file.format,
                    elapsed_ms = file.elapsed.as_millis(),
                    "downloaded image"
                ),
                Err(err) => {
                    tracing::warn!(url, class = err.class(), cause = %err, "image download failed");
                }
            }
            (
                index,
                ImageOutcome {
                    url,
                    file_name,
                    result,
                },
            )
        }
    })
    .buffer_unordered(opts.concurrency.max(1))
    .collect()
    .await;
    outcomes.sort_by_key(|(index, _)| *index);
    outcomes.into_iter().map(|(_, outcome)| outcome).collect()
}

async fn fetch_one(
    client: &reqwest::Client,
    url: &str,
    dir: &Path,
    name: &str,
    opts: &FetchOptions,
) -> Result<ImageFile, FetchError> {
    let started = Instant::now();
    let download = download(client, url, dir, name, opts);
    // On timeout the download future is dropped, and with it the `.part` file.
    let (bytes, format, path) = tokio::time::timeout(opts.timeout, download)
        .await
        .map_err(|_| FetchError::Timeout {
            after: Some(opts.timeout),
        })??;
    Ok(ImageFile {
        path,
        bytes,
        format,
        elapsed: started.elapsed(),
    })
}

async fn download(
    client: &reqwest::Client,
    url: &str,
    dir: &Path,
    name: &str,
    opts: &FetchOptions,
) -> Result<(u64, ImageFormat, PathBuf), FetchError> {
    let fetched = fetch_to_part(
        client.get(url),
        dir,
        name,
        &Limits {
            max_bytes: opts.max_bytes,
            read_timeout: None,
            bandwidth: None,
        },
    )
    .await?;
    let Fetched::Body(body) = fetched else {
        unreachable!("no conditional request was made")
    };
    let path = dir.join(name);
    body.part.persist(&path).await?;
    Ok((body.bytes, body.format, path))
}

/// Limits of one download.
pub(crate) struct Limits<'a> {
    pub(crate) max_bytes: u64,
    /// Longest wait for the next piece of the body.
    pub(crate) read_timeout: Option<Duration>,
    /// A bandwidth cap shared by the downloads.
    pub(crate) bandwidth: Option<&'a Bandwidth>,
}

/// What a GET produced.
pub(crate) enum Fetched {
    /// `304 Not Modified` to a conditional request.
    NotModified {
        /// Time to the response head.
        ttfb: Duration,
    },
    /// A complete, checked image in a `.part` file, not yet in place.
    Body(Box<Body>),
}

/// A downloaded image waiting to be put in place (or dropped, which deletes it).
pub(crate) struct Body {
    pub(crate) part: PartFile,
    pub(crate) bytes: u64,
    pub(crate) format: ImageFormat,
    pub(crate) sha256: String,
    pub(crate) status: u16,
    pub(crate) ttfb: Duration,
    pub(crate) etag: Option<String>,
    pub(crate) last_modified: Option<String>,
}

/// A bandwidth cap in bytes per second, shared by every download that holds it: each piece of
/// a body waits for its share (a token bucket without burst beyond one piece).
#[derive(Debug)]
pub struct Bandwidth {
    bytes_per_sec: f64,
    next: std::sync::Mutex<tokio::time::Instant>,
}

impl Bandwidth {
    /// A cap of `bytes_per_sec` (at least 1).
    pub fn new(bytes_per_sec: u64) -> Self {
        Bandwidth {
            bytes_per_sec: bytes_per_sec.max(1) as f64,
            next: std::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// Waits until `n` more bytes fit under the cap.
    pub async fn take(&self, n: usize) {
        let wait = {
            let mut next = self
                .next
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let now = tokio::time::Instant::now();
            let start = (*next).max(now);
            *next = start + Duration::from_secs_f64(n as f64 / self.bytes_per_sec);
            start - now
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Sends `request` and streams a 2xx body into a `.part` file beside `name`, checking it on the
/// way (image magic bytes before anything is written, the size cap, the announced length, the
/// read timeout) and its header decoded at the end; hashes it with SHA-256.
pub(crate) async fn fetch_to_part(
    request: reqwest::RequestBuilder,
    dir: &Path,
    name: &str,
    limits: &Limits<'_>,
) -> Result<Fetched, FetchError> {
    use sha2::Digest;
    let sent = Instant::now();
    let mut response = request.send().await.map_err(FetchError::from_reqwest)?;
    let ttfb = sent.elapsed();
    let status = response.status();
    if status == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(Fetched::NotModified { ttfb });
    }
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        return Err(FetchError::RateLimited { retry_after });
    }
    if !status.is_success() {
        return Err(FetchError::Status(status.as_u16()));
    }
    let header = |h: reqwest::header::HeaderName| {
        response
            .headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (etag, last_modified) = (
        header(reqwest::header::ETAG),
        header(reqwest::header::LAST_MODIFIED),
    );
    let opts = limits;
    let expected = response.content_length();
    if expected.is_some_and(|len| len > opts.max_bytes) {
        return Err(FetchError::TooLarge {
            limit: opts.max_bytes,
        });
    }
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    // Most pictures are small: they stay in memory and are checked and written in one go on
    // the blocking pool (creating files is what costs on this kind of disk). A body past
    // SPILL_BYTES streams into its `.part` file instead, so memory stays bounded whatever the
    // image's size. Nothing is written before the magic bytes prove an image.
    // Sized from Content-Length up front: no copies while the buffer grows.
    let mut buffer: Vec<u8> = Vec::with_capacity(expected.map_or(64 * 1024, |n| {
        usize::try_from(n)
            .unwrap_or(SPILL_BYTES)
            .min(SPILL_BYTES + 1)
    }));
    let mut format: Option<ImageFormat> = None;
    let mut spilled: Option<PartFile> = None;
    let mut received: u64 = 0;
    let mut hasher = sha2::Sha256::new();
    let not_an_image = || FetchError::NotAnImage {
        content_type: content_type.clone(),
    };
    loop {
        let next = match opts.read_timeout {
            Some(limit) => tokio::time::timeout(limit, response.chunk())
                .await
                .map_err(|_| FetchError::Timeout { after: Some(limit) })?,
            None => response.chunk().await,
        };
        let chunk = match next {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(err) => {
                return Err(match expected {
                    // hyper reports a body cut short of its Content-Length as a body error.
                    Some(expected) if received < expected && !err.is_timeout() => {
                        FetchError::Truncated { expected, received }
                    }
                    _ => FetchError::from_reqwest(err),
                });
            }
        };
        received += chunk.len() as u64;
        if received > opts.max_bytes {
            return Err(FetchError::TooLarge {
                limit: opts.max_bytes,
            });
        }
        if let Some(cap) = opts.bandwidth {
            cap.take(chunk.len()).await;
        }
        hasher.update(&chunk);
        if let Some(part) = &mut spilled {
            part.write(&chunk).await?;
            continue;
        }
        buffer.extend_from_slice(&chunk);
        if format.is_none() && buffer.len() >= SNIFF_LEN {
            format = Some(sniff_image(&buffer).ok_or_else(not_an_image)?);
        }
        if buffer.len() > SPILL_BYTES {
            let mut part = PartFile::create(dir, name)?;
            part.write(&buffer).await?;
            buffer = Vec::new();
            spilled = Some(part);
        }
    }
    if let Some(expected) = expected
        && received != expected
    {
        return Err(FetchError::Truncated { expected, received });
    }
    // A body shorter than SNIFF_LEN: decide on what there is.
    let format = match format {
        Some(f) => f,
        None => sniff_image(&buffer).ok_or_else(not_an_image)?,
    };
    let part = match spilled {
        Some(mut part) => {
            part.finish().await?;
            check_header(&part.path, format).await?;
            part
        }
        None => {
            let (dir, name) = (dir.to_owned(), name.to_owned());
            tokio::task::spawn_blocking(move || {
                check_header_bytes(&buffer, format)?;
                Ok::<_, FetchError>(PartFile::write_new(&dir, &name, &buffer)?)
            })
            .await
            .map_err(std::io::Error::other)??
        }
    };
    Ok(Fetched::Body(Box::new(Body {
        part,
        bytes: received,
        format,
        sha256: hex(&hasher.finalize()),
        status: status.as_u16(),
        ttfb,
        etag,
        last_modified,
    })))
}

/// Decodes the image's header (dimensions and all) from the file: magic bytes followed by
/// garbage, or a header cut short, fail here.
pub(crate) async fn check_header(
    path: &Path,
    format: ImageFormat,
) -> Result<(u32, u32), FetchError> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let file = std::io::BufReader::new(std::fs::File::open(&path)?);
        decode_header(file, format)
    })
    .await
    .map_err(std::io::Error::other)?
}

/// [`check_header`] for a body in memory.
pub(crate) fn check_header_bytes(
    bytes: &[u8],
    format: ImageFormat,
) -> Result<(u32, u32), FetchError> {
    decode_header(std::io::Cursor::new(bytes), format)
}

fn decode_header<R: std::io::BufRead + std::io::Seek>(
    reader: R,
    format: ImageFormat,
) -> Result<(u32, u32), FetchError> {
    let reader = image::ImageReader::with_format(
        reader,
        match format {
            ImageFormat::Png => image::ImageFormat::Png,
            ImageFormat::Jpeg => image::ImageFormat::Jpeg,
            ImageFormat::Gif => image::ImageFormat::Gif,
            ImageFormat::WebP => image::ImageFormat::WebP,
        },
    );
    match reader.into_dimensions() {
        Ok((0, _) | (_, 0)) => Err(FetchError::Corrupt {
            format,
            reason: "zero width or height".into(),
        }),
        Ok(dims) => Ok(dims),
        Err(image::ImageError::IoError(e)) => Err(FetchError::Io(e)),
        Err(e) => Err(FetchError::Corrupt {
            format,
            reason: e.to_string(),
        }),
    }
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A temporary file beside the final one, removed when dropped unless persisted.
pub(crate) struct PartFile {
    path: PathBuf,
    writer: Option<BufWriter<tokio::fs::File>>,
}

impl PartFile {
    /// A new part file holding `bytes`, written and closed (blocking).
    fn write_new(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<Self> {
        let mut part = Self::create_std(dir, name)?;
        let result = std::io::Write::write_all(&mut part.1, bytes);
        drop(part.1);
        // On error, dropping the PartFile removes the file.
        result.map(|()| part.0)
    }

    fn create(dir: &Path, name: &str) -> std::io::Result<Self> {
        let (mut part, file) = Self::create_std(dir, name)?;
        part.writer = Some(BufWriter::with_capacity(
            64 * 1024,
            tokio::fs::File::from_std(file),
        ));
        Ok(part)
    }

    /// Creates the file under a fresh hidden name; the `PartFile` (without a writer yet) and
    /// the open file.
    fn create_std(dir: &Path, name: &str) -> std::io::Result<(Self, std::fs::File)> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!("{}{n}.part", rocket_dag::fs::temp_prefix(name)));
            // Created synchronously so that the file exists (and will be cleaned up) before
            // this future can be cancelled; `create_new` never clobbers another writer's file.
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => return Ok((Self { path, writer: None }, file)),
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(err) => return Err(err),
            }
        }
    }

    async fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        match &mut self.writer {
            Some(writer) => writer.write_all(data).await,
            None => Err(std::io::Error::other("part file already closed")),
        }
    }

    /// Flushes and closes the file (it stays where it is).
    async fn finish(&mut self) -> std::io::Result<()> {
        if let Some(mut writer) = self.writer.take() {
            writer.flush().await?;
            writer.into_inner().into_std().await;
        }
        Ok(())
    }

    /// Flushes, closes and renames the file to `to`, replacing any file there.
    pub(crate) async fn persist(mut self, to: &Path) -> std::io::Result<()> {
        self.finish().await?;
        tokio::fs::rename(&self.path, to).await?;
        // Renamed: nothing left to clean up.
        self.path = PathBuf::new();
        Ok(())
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        // Close before removing (Windows cannot delete an open file).
        drop(self.writer.take());
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::{Fault, MockConfig, MockServer};

    fn strings(urls: &[&str]) -> Vec<String> {
        urls.iter().map(|u| (*u).to_owned()).collect()
    }

    fn names(urls: &[&str]) -> Vec<String> {
        file_names(&strings(urls))
            .into_iter()
            .map(|(_, name)| name.expect("valid name"))
            .collect()
    }

    fn client() -> reqwest::Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client")
    }

    /// Names of the entries in `dir`, sorted.
    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
            .collect();
        names.sort();
        names
    }

    /// A name without its `-<8 hex>` URL hash, for assertions about the readable part.
    fn plain(name: &str) -> String {
        let is_hash = |h: &str| h.len() == 8 && h.bytes().all(|b| b.is_ascii_hexdigit());
        if let Some((stem, h)) = name.rsplit_once('-')
            && is_hash(h)
        {
            return stem.to_owned();
        }
        let (stem, ext) = name.rsplit_once('.').expect("a name with an extension");
        match stem.rsplit_once('-') {
            Some((s, h)) if is_hash(h) => format!("{s}.{ext}"),
            _ => panic!("`{name}` has no URL hash"),
        }
    }

    fn plain_names(urls: &[&str]) -> Vec<String> {
        names(urls).iter().map(|n| plain(n)).collect()
    }

    fn saved_names(outcomes: &[ImageOutcome]) -> Vec<String> {
        let mut names: Vec<String> = outcomes
            .iter()
            .filter(|o| o.result.is_ok())
            .map(|o| plain(o.file_name.as_deref().expect("name")))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn names_come_from_the_last_segment() {
        assert_eq!(
            plain_names(&[
                "https://thespacedevs-prod.nyc3.digitaloceanspaces.com/media/images/falcon2520925_image_20221009234147.png",
                "https://h/a/photo%20of%20rocket.JPG?size=large#top",
                "https://h/dir/",
                "https://h/caf%C3%A9.webp",
                "https://h/a%2Fb.gif",
            ]),
            [
                "falcon2520925_image_20221009234147.png",
                "photo_of_rocket.JPG",
                "image",
                "caf_.webp",
                "a_b.gif",
            ]
        );
        // Different strings, all named `image`: each gets its own name (`https://h` and
        // `https://h/` are one URL, so the second is numbered).
        let empty = names(&["https://h/", "https://h", "https://h/dir/"]);
        assert!(empty.iter().all(|n| n.starts_with("image-")), "{empty:?}");
        assert_eq!(empty.iter().collect::<HashSet<_>>().len(), 3);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Path segments with what attacks names: dots, slashes (raw and encoded), backslashes,
        /// NUL, unicode, spaces, long runs.
        fn segment() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("..".to_owned()),
                Just(".".to_owned()),
                Just("%2e%2e".to_owned()),
                Just("%2F..%2F".to_owned()),
                Just("a%00b.png".to_owned()),
                "[a-zA-Z0-9._~%-]{0,40}",
                "\\PC{0,30}",
                "[.]{1,5}[a-z]{0,5}",
                "[a-z]{200,300}\\.png",
            ]
        }

        fn url() -> impl Strategy<Value = String> {
            (
                prop_oneof![Just("http"), Just("https"), Just("ftp")],
                "[a-z]{1,10}(\\.[a-z]{2,3})?",
                prop::collection::vec(segment(), 0..4),
                prop::option::of("[a-z=&0-9]{0,20}"),
            )
                .prop_map(|(scheme, host, segs, query)| {
                    let mut u = format!("{scheme}://{host}/{}", segs.join("/"));
                    if let Some(q) = query {
                        u.push('?');
                        u.push_str(&q);
                    }
                    u
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn names_are_safe_single_components(urls in prop::collection::vec(url(), 1..20)) {
                let dir = Path::new("/base/images");
                for (_, name) in file_names(&urls) {
                    let Ok(name) = name else { continue };
                    prop_assert!(!name.is_empty() && name.len() <= MAX_NAME_LEN, "{name}");
                    prop_assert!(!name.starts_with('.'), "{name}");
                    prop_assert!(
                        name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)),
                        "{name}"
                    );
                    let path = dir.join(&name);
                    prop_assert_eq!(path.parent(), Some(dir));
                    prop_assert_eq!(path.components().count(), dir.components().count() + 1);
                }
            }

            #[test]
            fn distinct_urls_never_share_a_name(urls in prop::collection::vec(url(), 1..30)) {
                let names: Vec<String> = file_names(&urls)
                    .into_iter()
                    .filter_map(|(_, n)| n.ok())
                    .map(|n| n.to_ascii_lowercase())
                    .collect();
                let distinct: HashSet<&String> = names.iter().collect();
                prop_assert_eq!(distinct.len(), names.len(), "{:?}", names);
            }

            #[test]
            fn names_are_stable_across_runs_and_orders(urls in prop::collection::vec(url(), 1..15)) {
                let forward: std::collections::HashMap<String, Result<String, NameError>> =
                    file_names(&urls).into_iter().collect();
                let mut reversed = urls.clone();
                reversed.reverse();
                let backward: std::collections::HashMap<String, Result<String, NameError>> =
                    file_names(&reversed).into_iter().collect();
                // Deterministic, and independent of order except where two names collided
                // and one got numbered (a 32-bit hash collision: absent here in practice).
                prop_assert_eq!(&forward, &file_names(&urls).into_iter().collect());
                for (url, name) in &forward {
                    prop_assert_eq!(name, &backward[url], "{}", url);
                }
            }
        }
    }

    #[test]
    fn hostile_names_stay_inside_the_directory() {
        let hostile = [
            "http://h/images/..%2F..%2Fetc%2Fpasswd",
            "http://h/images/%2e%2e",
            "http://h/images/%2E%2E%2F",
            "http://h/images/..",
            "http://h/a/.hidden.png",
            "http://h/a/...",
            "http://h/a/%2e",
            "http://h/a/b%5C..%5Cc",
            "http://h/a/nul%00byte",
        ];
        for (url, name) in file_names(&strings(&hostile)) {
            let name = name.expect("valid");
            assert!(
                !name.is_empty() && name != "." && name != "..",
                "{url} -> {name}"
            );
            assert!(
                !name.contains(['/', '\\', '\0']) && !name.starts_with('.'),
                "{url} -> {name}"
            );
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            );
        }
        assert_eq!(
            plain_names(&["http://h/images/..%2F..%2Fetc%2Fpasswd"]),
            ["_.._etc_passwd"]
        );
        assert_eq!(plain_names(&["http://h/a/.hidden.png"]), ["hidden.png"]);
    }

    #[test]
    fn colliding_names_all_get_a_stable_hash() {
        let urls = [
            "http://a/x/launch.png",
            "http://b/y/launch.png",
            "http://a/x/launch.png?v=2",
            "http://a/other.png",
            "http://a/LAUNCH.png",
        ];
        let first = names(&urls);
        assert_eq!(first, names(&urls), "deterministic");
        assert_eq!(plain(&first[3]), "other.png");
        for name in [&first[0], &first[1], &first[2], &first[4]] {
            assert!(name.len() == "launch-12345678.png".len(), "{name}");
            assert!(name.to_ascii_lowercase().starts_with("launch-") && name.ends_with(".png"));
        }
        let unique: HashSet<_> = first.iter().map(|n| n.to_ascii_lowercase()).collect();
        assert_eq!(unique.len(), urls.len());
        // The hash is of the URL, not of the batch: the same URL keeps its name.
        assert_eq!(
            names(&["http://a/x/launch.png", "http://c/launch.png"])[0],
            first[0]
        );
        assert_eq!(fnv1a(b""), 0x811c_9dc5);
        assert_eq!(fnv1a(b"a"), 0xe40c_292c);
    }

    #[test]
    fn scheme_and_port_do_not_change_a_name() {
        assert_eq!(
            names(&["http://127.0.0.1:4000/images/a.png"]),
            names(&["https://127.0.0.1:5000/images/a.png"])
        );
        assert_ne!(
            names(&["http://h/images/a.png?v=1"]),
            names(&["http://h/images/a.png?v=2"])
        );
    }

    #[test]
    fn a_hashed_name_that_meets_a_literal_one_is_numbered() {
        let a = "http://a/x.png";
        let hashed = format!("x-{:08x}.png", fnv1a(identity(a).as_bytes()));
        let literal = format!("http://c/{hashed}");
        let got = names(&[a, "http://b/x.png", &literal]);
        let unique: HashSet<_> = got.iter().collect();
        assert_eq!(unique.len(), 3, "{got:?}");
    }

    #[test]
    fn long_names_are_cut_keeping_the_extension() {
        let long = format!("http://h/{}.jpeg", "r".repeat(400));
        let got = names(&[&long]);
        assert_eq!(got[0].len(), MAX_NAME_LEN);
        assert!(got[0].starts_with("rrr") && got[0].ends_with(".jpeg"));
        let twice = names(&[&long, &format!("{long}?2")]);
        assert!(
            twice
                .iter()
                .all(|n| n.len() == MAX_NAME_LEN && n.ends_with(".jpeg"))
        );
        assert_ne!(twice[0], twice[1]);
    }

    #[test]
    fn duplicates_are_reported_once_and_bad_urls_are_errors() {
        let got = file_names(&strings(&[
            "http://h/b.png",
            "not a url",
            "http://h/a.png",
            "http://h/b.png",
            "ftp://h/c.png",
            "file:///etc/passwd",
        ]));
        let urls: Vec<&str> = got.iter().map(|(u, _)| u.as_str()).collect();
        assert_eq!(
            urls,
            [
                "http://h/b.png",
                "not a url",
                "http://h/a.png",
                "ftp://h/c.png",
                "file:///etc/passwd"
            ]
        );
        assert!(matches!(got[1].1, Err(NameError::Invalid { .. })));
        assert_eq!(
            got[3].1.as_ref().expect_err("ftp").to_string(),
            "unsupported URL scheme `ftp`; expected `http` or `https`"
        );
        assert!(matches!(got[4].1, Err(NameError::Scheme { .. })));
        assert_eq!(plain(got[0].1.as_deref().expect("b")), "b.png");
    }

    #[test]
    fn sniffs_magic_bytes() {
        assert_eq!(
            sniff_image(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(ImageFormat::Png)
        );
        assert_eq!(
            sniff_image(b"\xff\xd8\xff\xe0\0\x10JFIF"),
            Some(ImageFormat::Jpeg)
        );
        assert_eq!(sniff_image(b"GIF87a"), Some(ImageFormat::Gif));
        assert_eq!(sniff_image(b"GIF89a\x01\0"), Some(ImageFormat::Gif));
        assert_eq!(
            sniff_image(b"RIFF\x24\0\0\0WEBPVP8 "),
            Some(ImageFormat::WebP)
        );
        assert_eq!(sniff_image(b"RIFF\x24\0\0\0WAVEfmt "), None);
        assert_eq!(sniff_image(b"<!DOCTYPE html>"), None);
        assert_eq!(sniff_image(b"\x89PNG"), None);
        assert_eq!(sniff_image(b""), None);
    }

    #[test]
    fn errors_read_well_and_classify() {
        assert_eq!(
            FetchError::Status(404).to_string(),
            "HTTP status 404 Not Found"
        );
        assert_eq!(FetchError::Status(404).class(), "http_4xx");
        assert_eq!(FetchError::Status(429).class(), "http_429");
        assert_eq!(FetchError::Status(503).class(), "http_5xx");
        assert_eq!(
            FetchError::NotAnImage {
                content_type: Some("text/html".into())
            }
            .to_string(),
            "not an image (content-type text/html)"
        );
        assert_eq!(
            FetchError::Timeout {
                after: Some(Duration::from_millis(1500))
            }
            .to_string(),
            "timed out after 1.5s"
        );
        assert_eq!(
            FetchError::Truncated {
                expected: 10,
                received: 4
            }
            .to_string(),
            "truncated body: received 4 of 10 bytes"
        );
    }

    #[tokio::test]
    async fn downloads_stream_to_disk_and_duplicates_are_fetched_once() {
        let server = MockServer::start(MockConfig::default().with_image_bytes(300_000))
            .await
            .expect("mock");
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("images/nested");
        let (a, b) = (server.image_url("a.png"), server.image_url("b.png"));
        let urls = vec![a.clone(), b.clone(), a.clone(), a.clone()];
        let outcomes = fetch_images(&client(), &urls, &dir, &FetchOptions::default()).await;

        assert_eq!(outcomes.len(), 2);
        assert_eq!(outcomes[0].url, a);
        assert_eq!(outcomes[1].url, b);
        for outcome in &outcomes {
            let file = outcome.result.as_ref().expect("downloaded");
            assert_eq!(file.bytes, 300_000);
            assert_eq!(file.format, ImageFormat::Png);
            let on_disk = std::fs::read(&file.path).expect("file");
            assert_eq!(on_disk.len(), 300_000);
            assert_eq!(sniff_image(&on_disk), Some(ImageFormat::Png));
            let record = PictureRecord::from(outcome);
            assert!(record.is_ok());
            assert_eq!(record.bytes, Some(300_000));
        }
        assert_eq!(server.requests("/images/a.png"), 1);
        assert_eq!(server.requests("/images/b.png"), 1);
        let plain_listing = |d: &Path| listing(d).iter().map(|n| plain(n)).collect::<Vec<_>>();
        assert_eq!(plain_listing(&dir), ["a.png", "b.png"]);

        // A second run replaces the files in place.
        let again = fetch_images(&client(), &urls, &dir, &FetchOptions::default()).await;
        assert!(again.iter().all(|o| o.result.is_ok()));
        let plain_listing = |d: &Path| listing(d).iter().map(|n| plain(n)).collect::<Vec<_>>();
        assert_eq!(plain_listing(&dir), ["a.png", "b.png"]);
    }

    #[tokio::test]
    async fn every_failure_is_classified_and_leaves_no_file() {
        let dead_port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr").port()
        };
        let server = MockServer::start(
            MockConfig::default()
                .with_image_bytes(4096)
                .with_image_fault("/images/missing.png", Fault::Status(404))
                .with_image_fault("/images/broken.png", Fault::Status(500))
                .with_image_fault("/images/throttled.png", Fault::RetryAfter(30))
                .with_image_fault("/images/portal.png", Fault::Html)
                .with_image_fault("/images/cut.png", Fault::Truncated)
                .with_image_fault("/images/huge.png", Fault::Huge(10 * 1024 * 1024))
                .with_image_fault("/images/reset.png", Fault::Reset)
                .with_image_fault("/images/slow.png", Fault::Delay(Duration::from_secs(30))),
        )
        .await
        .expect("mock");
        let cases = [
            (server.image_url("ok.png"), None),
            (server.image_url("missing.png"), Some("http_4xx")),
            (server.base_url() + "/nowhere/x.png", Some("http_4xx")),
            (server.image_url("broken.png"), Some("http_5xx")),
            (server.image_url("throttled.png"), Some("http_429")),
            (server.image_url("portal.png"), Some("not_an_image")),
            (server.image_url("cut.png"), Some("truncated")),
            (server.image_url("huge.png"), Some("too_large")),
            (server.image_url("reset.png"), Some("http")),
            (server.image_url("slow.png"), Some("timeout")),
            (
                format!("http://127.0.0.1:{dead_port}/images/x.png"),
                Some("connect"),
            ),
            ("ftp://127.0.0.1/x.png".to_owned(), Some("invalid_url")),
            ("http://".to_owned(), Some("invalid_url")),
        ];
        let urls: Vec<String> = cases.iter().map(|(u, _)| u.clone()).collect();
        let opts = FetchOptions {
            max_bytes: 1024 * 1024,
            timeout: Duration::from_secs(1),
            ..FetchOptions::default()
        };
        let tmp = tempfile::tempdir().expect("tempdir");
        let outcomes = fetch_images(&client(), &urls, tmp.path(), &opts).await;

        assert_eq!(outcomes.len(), cases.len());
        for ((url, class), outcome) in cases.iter().zip(&outcomes) {
            assert_eq!(&outcome.url, url);
            let got = outcome.result.as_ref().err().map(FetchError::class);
            assert_eq!(got, *class, "{url}: {:?}", outcome.result);
            let record = PictureRecord::from(outcome);
            assert_eq!(record.error_class.as_deref(), *class);
        }
        let error = |i: usize| outcomes[i].result.as_ref().expect_err("failed").to_string();
        assert_eq!(error(1), "HTTP status 404 Not Found");
        assert_eq!(error(5), "not an image (content-type image/png)");
        assert_eq!(error(6), "truncated body: received 2048 of 4096 bytes");
        assert_eq!(error(7), "larger than the limit of 1048576 bytes");
        assert_eq!(error(9), "timed out after 1s");
        assert_eq!(error(10), "connection refused");
        assert_eq!(
            error(8),
            "transport error: connection closed before message completed"
        );
        assert_eq!(
            listing(tmp.path())
                .iter()
                .map(|n| plain(n))
                .collect::<Vec<_>>(),
            ["ok.png"]
        );
    }

    #[tokio::test]
    async fn content_length_over_the_limit_is_refused_before_the_body() {
        let server = MockServer::start(MockConfig::default().with_image_bytes(64 * 1024))
            .await
            .expect("mock");
        let opts = FetchOptions {
            max_bytes: 1000,
            ..FetchOptions::default()
        };
        let tmp = tempfile::tempdir().expect("tempdir");
        let outcomes =
            fetch_images(&client(), &[server.image_url("big.png")], tmp.path(), &opts).await;
        assert!(matches!(
            outcomes[0].result,
            Err(FetchError::TooLarge { limit: 1000 })
        ));
        assert!(listing(tmp.path()).is_empty());
    }

    #[tokio::test]
    async fn hostile_and_colliding_names_never_escape_or_overwrite() {
        let server = MockServer::start(MockConfig::default())
            .await
            .expect("mock");
        let base = server.base_url();
        let localhost = base.replace("127.0.0.1", "localhost");
        let urls = vec![
            format!("{base}/images/..%2F..%2Fetc%2Fpasswd"),
            format!("{base}/images/%2e%2e"),
            format!("{base}/images/a/.hidden.png"),
            format!("{base}/images/x.png?v=1"),
            format!("{base}/images/x.png?v=2"),
            format!("{base}/images/a/x.png"),
            format!("{base}/images/b/x.png"),
            format!("{localhost}/images/x.png"),
            format!("{base}/images/..%5C..%5Cwin.png"),
        ];
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("out");
        let outcomes = fetch_images(&client(), &urls, &dir, &FetchOptions::default()).await;

        assert_eq!(
            listing(tmp.path()),
            ["out"],
            "nothing written beside the directory"
        );
        let saved = saved_names(&outcomes);
        // `%2e%2e` is `..` to the URL parser, so that request goes to `/` and gets a 404.
        assert_eq!(saved.len(), urls.len() - 1, "{outcomes:#?}");
        let on_disk: Vec<String> = listing(&dir).iter().map(|n| plain(n)).collect();
        assert_eq!(on_disk, saved, "one file per successful URL");
        assert_eq!(listing(&dir).len(), saved.len());
        for outcome in outcomes.iter().filter(|o| o.result.is_ok()) {
            let path = &outcome.result.as_ref().expect("ok").path;
            assert_eq!(path.parent(), Some(dir.as_path()));
        }
        assert!(saved.iter().filter(|n| *n == "x.png").count() == 5);
    }

    #[tokio::test]
    async fn concurrency_is_bounded() {
        let server = MockServer::start(
            MockConfig::default()
                .with_latency(Duration::from_millis(40))
                .with_image_bytes(1024),
        )
        .await
        .expect("mock");
        let urls: Vec<String> = (0..16)
            .map(|i| server.image_url(&format!("{i}.png")))
            .collect();
        let opts = FetchOptions {
            concurrency: 3,
            ..FetchOptions::default()
        };
        let tmp = tempfile::tempdir().expect("tempdir");
        let outcomes = fetch_images(&client(), &urls, tmp.path(), &opts).await;
        assert!(outcomes.iter().all(|o| o.result.is_ok()));
        let got: Vec<&str> = outcomes.iter().map(|o| o.url.as_str()).collect();
        assert_eq!(got, urls, "input order");
        assert!(server.max_in_flight() <= 3, "{}", server.max_in_flight());
        assert!(server.max_in_flight() >= 2, "downloads should overlap");
        assert_eq!(listing(tmp.path()).len(), 16);
    }
}

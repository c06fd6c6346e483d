//! A Launch Library 2 client that follows the API's rules: pagination by `next` (with a page
//! cap), launches de-duplicated by id, an optional API key, and the anonymous quota (15
//! requests per hour) respected.
//!
//! The API key goes only to the origin (scheme, host, port) of the URL the client was asked
//! to fetch: a `next` link to another origin is followed without it (and said so in the log),
//! and redirects never carry it to another origin either (see `rocket_dag::http::builder`).
//!
//! On `429 Too Many Requests` the client waits as long as the server says — `Retry-After`, or
//! when that header is missing the throttle endpoint's `next_use_secs` — if that fits
//! [`ClientConfig::max_throttle_wait`], and otherwise fails with [`ClientError::Throttled`],
//! whose message says when to try again. Server errors (5xx), timeouts and broken connections
//! are retried with exponential backoff; any other 4xx fails at once (asking again would get
//! the same answer), as does what cannot heal: a host name that does not exist, a URL that is
//! not http(s), a page that is too large or not a launch list.
//!
//! ```no_run
//! # async fn f() -> Result<(), dags::ll2_client::ClientError> {
//! use dags::ll2_client::{ClientConfig, Ll2Client};
//! let client = Ll2Client::new(rocket_dag::http::client(), ClientConfig::default());
//! let fetched = client
//!     .fetch_all("https://ll.thespacedevs.com/2.0.0/launch/upcoming/")
//!     .await?;
//! println!("{} launches in {} page(s)", fetched.launches.len(), fetched.pages);
//! # Ok(()) }
//! ```

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderMap, RETRY_AFTER};

use crate::ll2::{Launch, ParseError, parse_page};

/// Throttled answers (429) one request waits out in a row before it gives up.
const MAX_THROTTLED: u32 = 5;

/// Environment variable holding an LL2 API key (sent as `Authorization: Token …`).
pub const API_KEY_ENV: &str = "ROCKET_LL2_API_KEY";

/// How the client behaves.
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// An API key, sent as `Authorization: Token <key>`; never logged. Default: `$ROCKET_LL2_API_KEY`.
    pub api_key: Option<String>,
    /// Most pages followed through `next` (default 10); more are reported, not fetched.
    pub max_pages: usize,
    /// The longest wait a 429 may ask for that the client accepts (default 60 s).
    pub max_throttle_wait: Duration,
    /// Retries after a 5xx, a timeout or a broken connection (default 3).
    pub retries: u32,
    /// Delay before the first retry, doubled for each next one (default 1 s).
    pub backoff: Duration,
    /// Time allowed for one request, body included (default 60 s).
    pub timeout: Duration,
    /// Largest page accepted, in bytes (default 32 MiB).
    pub max_page_bytes: usize,
    /// The origin (`scheme://host:port`) the API key is for: the key goes to no other.
    /// Default: the origin of `$ROCKET_LAUNCHES_URL` when the operator set it, else Launch
    /// Library 2's (`https://ll.thespacedevs.com`). A URL given as a run param (which whoever
    /// triggers a run chooses) gets the key only on that origin.
    pub key_origin: Option<String>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            api_key: std::env::var(API_KEY_ENV)
                .ok()
                .filter(|k| !k.trim().is_empty()),
            max_pages: 10,
            max_throttle_wait: Duration::from_secs(60),
            retries: 3,
            backoff: Duration::from_secs(1),
            timeout: Duration::from_secs(60),
            max_page_bytes: 32 * 1024 * 1024,
            key_origin: rocket_dag::http::origin(
                &std::env::var(crate::listing_2_10::LAUNCHES_URL_ENV)
                    .ok()
                    .filter(|u| !u.trim().is_empty())
                    .unwrap_or_else(|| crate::listing_2_10::DEFAULT_LAUNCHES_URL.to_owned()),
            ),
        }
    }
}

impl ClientConfig {
    /// Sets the API key.
    pub fn api_key(mut self, key: Option<String>) -> Self {
        self.api_key = key;
        self
    }
    /// Sets the page cap (at least 1).
    pub fn max_pages(mut self, n: usize) -> Self {
        self.max_pages = n.max(1);
        self
    }
    /// Sets the longest accepted throttle wait.
    pub fn max_throttle_wait(mut self, d: Duration) -> Self {
        self.max_throttle_wait = d;
        self
    }
    /// Sets the retries and the first backoff delay.
    pub fn retries(mut self, n: u32, backoff: Duration) -> Self {
        self.retries = n;
        self.backoff = backoff;
        self
    }
    /// Sets the per-request timeout.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }
    /// Sets the largest page accepted.
    pub fn max_page_bytes(mut self, n: usize) -> Self {
        self.max_page_bytes = n;
        self
    }
    /// Sends the API key to the origin of `url` (and no other).
    pub fn key_origin(mut self, url: &str) -> Self {
        self.key_origin = rocket_dag::http::origin(url);
        self
    }

    /// Whether `url` is on the origin the API key is for.
    fn keyed(&self, url: &str) -> bool {
        self.key_origin.is_some() && rocket_dag::http::origin(url) == self.key_origin
    }
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("max_pages", &self.max_pages)
            .field("max_throttle_wait", &self.max_throttle_wait)
            .field("retries", &self.retries)
            .field("backoff", &self.backoff)
            .field("timeout", &self.timeout)
            .field("key_origin", &self.key_origin)
            .finish()
    }
}

/// Why launches could not be fetched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The API's quota is used up for longer than the client may wait.
    #[error(
        "Launch Library 2 throttled {url} (the anonymous API allows 15 requests per hour){}; set {API_KEY_ENV} for a higher quota",
        match (.retry_at, .wait) {
            (Some(at), Some(w)) => format!(": retry after {} (in {})", at.format("%Y-%m-%d %H:%M:%S UTC"), rocket_dag::duration::format(*w)),
            _ => String::new(),
        }
    )]
    Throttled {
        /// The request.
        url: String,
        /// How long the server asked to wait, when it said.
        wait: Option<Duration>,
        /// When the quota frees up, when known.
        retry_at: Option<DateTime<Utc>>,
    },
    /// A 4xx other than 429: asking again would not help.
    #[error("GET {url} answered HTTP {status}{}", body_hint(.detail))]
    Rejected {
        /// The request.
        url: String,
        /// The status.
        status: StatusCode,
        /// The API's `detail` message, if any.
        detail: Option<String>,
    },
    /// A 5xx after every retry.
    #[error("GET {url} answered HTTP {status} after {attempts} attempt(s){}", body_hint(.detail))]
    Server {
        /// The request.
        url: String,
        /// The last status.
        status: StatusCode,
        /// Attempts made.
        attempts: u32,
        /// The API's `detail` message, if any.
        detail: Option<String>,
    },
    /// The API could not be reached (DNS, refused, reset, timeout) after every retry.
    #[error("cannot reach {url} after {attempts} attempt(s): {message}")]
    Unreachable {
        /// The request.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// What went wrong, in words.
        message: String,
        /// The last transport error.
        #[source]
        source: reqwest::Error,
    },
    /// A host name that does not exist, or a URL that cannot be fetched: asking again would not
    /// help.
    #[error("cannot fetch {url}: {why}: {message}")]
    Unfetchable {
        /// The request.
        url: String,
        /// Why it cannot heal.
        why: &'static str,
        /// What went wrong, in words.
        message: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The page is not a launch list.
    #[error("the response of {url} is not a launch list: {source}")]
    Parse {
        /// The request.
        url: String,
        /// Why.
        #[source]
        source: ParseError,
    },
    /// The page is larger than [`ClientConfig::max_page_bytes`].
    #[error("the response of {url} is larger than {limit} bytes")]
    TooLarge {
        /// The request.
        url: String,
        /// The limit.
        limit: usize,
    },
}

impl ClientError {
    /// Whether a later attempt (the task's own retry) may succeed: the API was unreachable or
    /// erred; not when it refused the request, throttled it beyond the accepted wait, sent a
    /// page too large or not a launch list, or the host does not exist.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ClientError::Server { .. } | ClientError::Unreachable { .. }
        )
    }

    /// As a task's error: one the task's retries may cure when transient, else one that fails
    /// the task at once (asking again would get the same answer, and spend the quota). When
    /// the API cannot be reached, the message says how to run without the network.
    pub fn into_task_error(self) -> rocket_dag::TaskError {
        use rocket_dag::TaskError;
        let offline = matches!(
            self,
            ClientError::Unreachable { .. } | ClientError::Unfetchable { .. }
        );
        let transient = self.is_transient();
        let mut message = self.to_string();
        if offline {
            message.push_str(OFFLINE_HINT);
        }
        if transient {
            TaskError::msg(message)
        } else {
            TaskError::fail_now(message)
        }
    }
}

/// What to do when the API cannot be reached: the exact commands that run offline.
pub const OFFLINE_HINT: &str = " (no network? run `cargo run --example listing_2_10 -- --offline`, \
     or `cargo run -p dags -- --offline dags test <dag>`, against a bundled snapshot; or point \
     --launches-url / ROCKET_LAUNCHES_URL elsewhere)";

fn body_hint(detail: &Option<String>) -> String {
    detail
        .as_deref()
        .map(|d| format!(": {d}"))
        .unwrap_or_default()
}

/// Launches fetched over one or more pages.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Every launch once, in the order first seen.
    pub launches: Vec<Launch>,
    /// Pages fetched.
    pub pages: usize,
    /// Launches seen again on a later page (the list moved while paging) and left out.
    pub duplicates: usize,
    /// The `next` page not fetched because of the page cap, if any.
    pub truncated_at: Option<String>,
    /// The API's total `count`, as the first page reported it.
    pub count: Option<u64>,
    /// The first page's bytes, as served.
    pub first_page: Vec<u8>,
    /// Requests made, retries and throttle waits included.
    pub requests: u32,
}

/// The client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Ll2Client {
    http: reqwest::Client,
    config: ClientConfig,
}

impl Ll2Client {
    /// A client over `http` (build it with `rocket_dag::http::client()` or take a task's
    /// `ctx.http()`).
    pub fn new(http: reqwest::Client, config: ClientConfig) -> Self {
        Ll2Client { http, config }
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Fetches `url` and the pages its `next` links lead to, up to the page cap. The API key
    /// goes to [`ClientConfig::key_origin`] only.
    pub async fn fetch_all(&self, url: &str) -> Result<Fetched, ClientError> {
        let mut seen = HashSet::new();
        let mut out = Fetched {
            launches: Vec::new(),
            pages: 0,
            duplicates: 0,
            truncated_at: None,
            count: None,
            first_page: Vec::new(),
            requests: 0,
        };
        let mut next = Some(url.to_owned());
        while let Some(page_url) = next.take() {
            if out.pages == self.config.max_pages {
                tracing::warn!(
                    pages = out.pages,
                    "page cap reached: not following {page_url}"
                );
                out.truncated_at = Some(page_url);
                break;
            }
            let keyed = self.keyed_or_say(&page_url);
            let (body, requests) = self.request(&page_url, keyed).await?;
            out.requests += requests;
            let page = parse_page(&body).map_err(|source| ClientError::Parse {
                url: page_url.clone(),
                source,
            })?;
            if out.pages == 0 {
                out.count = page.count;
                out.first_page = body;
            }
            out.pages += 1;
            for launch in page.results {
                if seen.insert(launch.id.clone()) {
                    out.launches.push(launch);
                } else {
                    out.duplicates += 1;
                }
            }
            // A `next` pointing back at a page already fetched would loop forever.
            next = page.next.filter(|n| *n != page_url);
        }
        tracing::info!(
            launches = out.launches.len(),
            pages = out.pages,
            duplicates = out.duplicates,
            "fetched launches"
        );
        Ok(out)
    }

    /// One GET of `url` (with the API key) with the retry and throttle rules; returns the
    /// body and the requests made.
    pub async fn get(&self, url: &str) -> Result<(Vec<u8>, u32), ClientError> {
        let keyed = self.keyed_or_say(url);
        self.request(url, keyed).await
    }

    /// Whether `url` gets the API key; when there is a key it may not have, the log says so.
    fn keyed_or_say(&self, url: &str) -> bool {
        let keyed = self.config.keyed(url);
        if !keyed && self.config.api_key.is_some() {
            tracing::warn!(
                "requesting {} without the API key: it is for {}",
                rocket_dag::http::origin(url).unwrap_or_else(|| "this URL".to_owned()),
                self.config.key_origin.as_deref().unwrap_or("no origin")
            );
        }
        keyed
    }

    /// One GET, with the API key if `keyed`: waits out a 429 that asks for a wait short
    /// enough, retries server and transport errors with backoff.
    async fn request(&self, url: &str, keyed: bool) -> Result<(Vec<u8>, u32), ClientError> {
        let mut requests = 0u32;
        let mut failures = 0u32;
        let (mut throttled, mut waited) = (0u32, Duration::ZERO);
        loop {
            requests += 1;
            let why = match self.attempt(url, keyed).await {
                Ok(body) => return Ok((body, requests)),
                Err(Setback::Wait(w)) => {
                    // A server that keeps answering 429 (`Retry-After: 0`, say) is not asked
                    // for ever: the waits add up to the bound, and a few in a row at most.
                    throttled += 1;
                    waited += w;
                    if throttled > MAX_THROTTLED || waited > self.config.max_throttle_wait {
                        return Err(ClientError::Throttled {
                            url: url.to_owned(),
                            wait: Some(w),
                            retry_at: chrono::Duration::from_std(w).ok().map(|d| Utc::now() + d),
                        });
                    }
                    tracing::warn!(
                        "{url}: throttled (HTTP 429); waiting {} as the server asks",
                        rocket_dag::duration::format(w)
                    );
                    tokio::time::sleep(w).await;
                    continue;
                }
                Err(Setback::Fail(err)) => return Err(err),
                Err(Setback::Retry(why)) => why,
            };
            failures += 1;
            if failures > self.config.retries {
                return Err(why.into_error(url, failures));
            }
            let delay =
                rocket_dag::retry::Backoff::exponential(self.config.backoff).delay(failures);
            tracing::warn!(
                "{url}: {} (attempt {failures}); retrying in {}",
                why.describe(),
                rocket_dag::duration::format(delay)
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// One request: the body of a 2xx, or what stands in the way.
    async fn attempt(&self, url: &str, keyed: bool) -> Result<Vec<u8>, Setback> {
        let req = self.http.get(url).timeout(self.config.timeout);
        let response = match self.authorize(req, keyed).send().await {
            Ok(response) => response,
            Err(e) => {
                return Err(match rocket_dag::http::permanent_failure(&e) {
                    Some(why) => Setback::Fail(ClientError::Unfetchable {
                        url: url.to_owned(),
                        why,
                        message: transport_message(&e),
                        source: e,
                    }),
                    None => Setback::Retry(Retryable::Transport(e)),
                });
            }
        };
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = self.throttle_wait(url, response.headers(), keyed).await;
            return Err(match wait {
                Some(w) if w <= self.config.max_throttle_wait => Setback::Wait(w),
                _ => Setback::Fail(ClientError::Throttled {
                    url: url.to_owned(),
                    wait,
                    retry_at: wait
                        .and_then(|w| chrono::Duration::from_std(w).ok().map(|d| Utc::now() + d)),
                }),
            });
        }
        if !status.is_success() {
            let detail = detail_of(response).await;
            return Err(if status.is_server_error() {
                Setback::Retry(Retryable::Server(status, detail))
            } else {
                Setback::Fail(ClientError::Rejected {
                    url: url.to_owned(),
                    status,
                    detail,
                })
            });
        }
        read_capped(response, self.config.max_page_bytes)
            .await
            .map_err(|e| match e {
                Capped::TooLarge => Setback::Fail(ClientError::TooLarge {
                    url: url.to_owned(),
                    limit: self.config.max_page_bytes,
                }),
                Capped::Transport(e) => Setback::Retry(Retryable::Transport(e)),
            })
    }

    /// `req` with the API key if there is one and `keyed`.
    fn authorize(&self, req: reqwest::RequestBuilder, keyed: bool) -> reqwest::RequestBuilder {
        match self.config.api_key.as_ref().filter(|_| keyed) {
            Some(key) => req.header(AUTHORIZATION, format!("Token {key}")),
            None => req,
        }
    }

    /// How long a 429 asks to wait: `Retry-After` (seconds or an HTTP date), else the throttle
    /// endpoint's `next_use_secs`.
    async fn throttle_wait(&self, url: &str, headers: &HeaderMap, keyed: bool) -> Option<Duration> {
        if let Some(v) = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()) {
            if let Ok(secs) = v.trim().parse::<u64>() {
                return Some(Duration::from_secs(secs));
            }
            if let Ok(at) = DateTime::parse_from_rfc2822(v.trim()) {
                return Some(
                    (at.with_timezone(&Utc) - Utc::now())
                        .to_std()
                        .unwrap_or_default(),
                );
            }
        }
        let throttle = throttle_url(url)?;
        let req = self.http.get(&throttle).timeout(Duration::from_secs(10));
        // The throttle endpoint is on the page's own origin.
        let req = self.authorize(req, keyed);
        let body = rocket_dag::http::read_prefix(req.send().await.ok()?, SMALL_BODY).await;
        let status: serde_json::Value = serde_json::from_slice(&body).ok()?;
        status
            .get("next_use_secs")
            .and_then(serde_json::Value::as_f64)
            .map(|s| Duration::from_secs_f64(s.max(0.0)))
    }
}

/// What keeps one request from a body.
enum Setback {
    /// A 429 asking for a wait within [`ClientConfig::max_throttle_wait`]: wait, then ask again.
    Wait(Duration),
    /// A failure that may heal: retried with backoff.
    Retry(Retryable),
    /// A failure that will not heal.
    Fail(ClientError),
}

/// A failure that may heal.
enum Retryable {
    Server(StatusCode, Option<String>),
    Transport(reqwest::Error),
}

impl Retryable {
    /// For the log: `HTTP 503 Service Unavailable`, `timed out`, ….
    fn describe(&self) -> String {
        match self {
            Retryable::Server(s, _) => format!("HTTP {s}"),
            Retryable::Transport(e) => transport_message(e),
        }
    }

    /// The error once the retries are spent, after `attempts` failures.
    fn into_error(self, url: &str, attempts: u32) -> ClientError {
        match self {
            Retryable::Server(status, detail) => ClientError::Server {
                url: url.to_owned(),
                status,
                attempts,
                detail,
            },
            Retryable::Transport(source) => ClientError::Unreachable {
                url: url.to_owned(),
                attempts,
                message: transport_message(&source),
                source,
            },
        }
    }
}

enum Capped {
    TooLarge,
    Transport(reqwest::Error),
}

async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Vec<u8>, Capped> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Capped::Transport)? {
        if body.len() + chunk.len() > cap {
            return Err(Capped::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The `detail` of an LL2 error body (`{"detail": "…"}`), shortened.
async fn detail_of(response: reqwest::Response) -> Option<String> {
    let body = rocket_dag::http::read_prefix(response, SMALL_BODY).await;
    let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
    let d = v.get("detail")?.as_str()?;
    Some(d.chars().take(200).collect())
}

/// The most read of an error body or of the throttle endpoint's answer: a few fields are
/// wanted, and a body (gzip-expanded, say) of any size must not fill memory.
const SMALL_BODY: usize = 64 * 1024;

/// `https://host/2.0.0/launch/upcoming/` → `https://host/2.0.0/api-throttle/`.
pub fn throttle_url(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let version = parsed.path_segments()?.find(|s| {
        let parts: Vec<&str> = s.split('.').collect();
        parts.len() == 3
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    })?;
    let mut out = parsed.clone();
    out.set_path(&format!("/{version}/api-throttle/"));
    out.set_query(None);
    Some(out.to_string())
}

fn transport_message(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    if e.is_connect() {
        format!("cannot connect: {cur}")
    } else {
        cur.to_string()
    }
}

/// The history endpoint for a data interval: launches with `start <= net < end`, oldest first,
/// 100 per page, on the list resource of `upcoming_url` (`…/2.0.0/launch/upcoming/` →
/// `…/2.0.0/launch/?net__gte=…&net__lt=…&ordering=net&limit=100`; 2.3.0's `launches` alike).
pub fn interval_url(upcoming_url: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    let fmt = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let query = format!(
        "net__gte={}&net__lt={}&ordering=net&limit=100",
        fmt(start),
        fmt(end)
    );
    match reqwest::Url::parse(upcoming_url) {
        Ok(mut url) => {
            let segments: Vec<String> = url
                .path_segments()
                .map(|s| s.filter(|s| !s.is_empty()).map(str::to_owned).collect())
                .unwrap_or_default();
            let keep = match segments.last().map(String::as_str) {
                Some("upcoming" | "previous") => &segments[..segments.len() - 1],
                _ => &segments[..],
            };
            url.set_path(&format!("/{}/", keep.join("/")));
            url.set_query(Some(&query));
            url.to_string()
        }
        Err(_) => format!("{}?{query}", upcoming_url.trim_end_matches('/')),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::{BUNDLED_LAUNCHES_JSON, Fault, LAUNCHES_PATH, MockConfig, MockServer};

    fn client(config: ClientConfig) -> Ll2Client {
        Ll2Client::new(rocket_dag::http::client(), config)
    }

    fn quick() -> ClientConfig {
        ClientConfig::default()
            .api_key(None)
            .retries(3, Duration::from_millis(10))
            .timeout(Duration::from_secs(5))
    }

    #[tokio::test]
    async fn follows_next_up_to_the_page_cap() {
        let server = MockServer::start(MockConfig::default().with_page_size(3))
            .await
            .unwrap();
        let all = client(quick())
            .fetch_all(&server.launches_url())
            .await
            .unwrap();
        assert_eq!((all.launches.len(), all.pages, all.requests), (10, 4, 4));
        assert_eq!(all.count, Some(10));
        assert_eq!(all.truncated_at, None);
        let capped = client(quick().max_pages(2))
            .fetch_all(&server.launches_url())
            .await
            .unwrap();
        assert_eq!((capped.launches.len(), capped.pages), (6, 2));
        assert!(capped.truncated_at.unwrap().contains("offset=6"));
    }

    #[tokio::test]
    async fn launches_seen_twice_are_kept_once() {
        let mut doc: serde_json::Value = serde_json::from_str(BUNDLED_LAUNCHES_JSON).unwrap();
        let results = doc["results"].as_array_mut().unwrap();
        let again = results[..3].to_vec();
        results.extend(again);
        let server = MockServer::start(
            MockConfig::default()
                .with_launches_json(doc.to_string())
                .with_page_size(4),
        )
        .await
        .unwrap();
        let all = client(quick())
            .fetch_all(&server.launches_url())
            .await
            .unwrap();
        assert_eq!((all.launches.len(), all.duplicates), (10, 3));
        let mut ids: Vec<&str> = all.launches.iter().map(|l| l.id.as_str()).collect();
        ids.dedup();
        assert_eq!(ids.len(), 10);
    }

    #[tokio::test]
    async fn the_api_key_is_sent_and_never_shown() {
        let server = MockServer::start(MockConfig::default()).await.unwrap();
        let config = quick()
            .api_key(Some("s3cret-key".into()))
            .key_origin(&server.launches_url());
        assert!(!format!("{config:?}").contains("s3cret"));
        client(config)
            .fetch_all(&server.launches_url())
            .await
            .unwrap();
        assert_eq!(
            server.authorizations(),
            [Some("Token s3cret-key".to_owned())]
        );
    }

    #[tokio::test]
    async fn the_api_key_never_goes_to_another_origin() {
        // Host B holds a second page; host A's last page names it in `next`.
        let b = MockServer::start(MockConfig::default()).await.unwrap();
        let a = MockServer::start(
            MockConfig::default()
                .with_page_size(10)
                .with_next_page(b.launches_url()),
        )
        .await
        .unwrap();
        let config = quick()
            .api_key(Some("s3cret-key".into()))
            .key_origin(&a.launches_url());
        let all = client(config.clone())
            .fetch_all(&a.launches_url())
            .await
            .unwrap();
        assert_eq!(all.pages, 2, "B's page is followed");
        assert_eq!(a.authorizations(), [Some("Token s3cret-key".to_owned())]);
        assert_eq!(b.authorizations(), [None], "B never sees the key");
        // Asked to start at B (a URL whoever triggers a run may give as a param), the client
        // still keeps the key for A.
        client(config.clone())
            .fetch_all(&b.launches_url())
            .await
            .unwrap();
        client(config).get(&b.launches_url()).await.unwrap();
        assert_eq!(b.authorizations(), [None, None, None]);
        // With no origin set, the key is for Launch Library 2: a local server never sees it.
        let default = ClientConfig::default().api_key(Some("s3cret-key".into()));
        if std::env::var_os(crate::listing_2_10::LAUNCHES_URL_ENV).is_none() {
            assert_eq!(
                default.key_origin.as_deref(),
                Some("https://ll.thespacedevs.com:443")
            );
        }
    }

    #[tokio::test]
    async fn what_cannot_heal_is_not_asked_again() {
        // A scheme reqwest cannot fetch: one attempt, not transient.
        let err = client(quick())
            .fetch_all("file:///etc/passwd")
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::Unfetchable { .. }), "{err:?}");
        assert!(!err.is_transient());
        // A page that is not a launch list: not transient either (the task does not retry).
        let server =
            MockServer::start(MockConfig::default().with_launch_faults([Fault::MalformedJson]))
                .await
                .unwrap();
        let err = client(quick())
            .fetch_all(&server.launches_url())
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::Parse { .. }), "{err:?}");
        assert!(!err.is_transient());
        assert_eq!(server.requests(LAUNCHES_PATH), 1);
    }

    #[tokio::test]
    async fn a_429_waits_as_the_server_says_when_that_fits() {
        // Retry-After: 1 s, accepted.
        let server =
            MockServer::start(MockConfig::default().with_launch_faults([Fault::RetryAfter(1)]))
                .await
                .unwrap();
        let started = std::time::Instant::now();
        let all = client(quick())
            .fetch_all(&server.launches_url())
            .await
            .unwrap();
        assert!(started.elapsed() >= Duration::from_secs(1));
        assert_eq!((all.launches.len(), all.requests), (10, 2));

        // No Retry-After: the throttle endpoint says the quota is free again now.
        let server =
            MockServer::start(MockConfig::default().with_launch_faults([Fault::Throttled]))
                .await
                .unwrap();
        let all = client(quick())
            .fetch_all(&server.launches_url())
            .await
            .unwrap();
        assert_eq!(all.requests, 2);
        assert_eq!(server.requests("/2.0.0/api-throttle/"), 1);
    }

    #[tokio::test]
    async fn a_server_that_keeps_throttling_is_not_asked_for_ever() {
        let server = MockServer::start(
            MockConfig::default().with_launch_faults(vec![Fault::RetryAfter(0); 20]),
        )
        .await
        .unwrap();
        let err = client(quick())
            .fetch_all(&server.launches_url())
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::Throttled { .. }), "{err:?}");
        assert_eq!(server.requests(LAUNCHES_PATH), MAX_THROTTLED as usize + 1);
    }

    #[tokio::test]
    async fn a_429_longer_than_the_bound_fails_saying_when_to_retry() {
        let server = MockServer::start(
            MockConfig::default()
                .with_launch_faults([Fault::Throttled])
                .with_throttle_next_use(1234),
        )
        .await
        .unwrap();
        let err = client(quick())
            .fetch_all(&server.launches_url())
            .await
            .unwrap_err();
        assert!(!err.is_transient());
        let msg = err.to_string();
        assert!(msg.contains("15 requests per hour"), "{msg}");
        assert!(msg.contains("retry after 20"), "{msg}");
        assert!(msg.contains("(in 20m34s)"), "{msg}");
        assert!(msg.contains(API_KEY_ENV), "{msg}");
        assert_eq!(server.requests(LAUNCHES_PATH), 1, "no second request");

        let server =
            MockServer::start(MockConfig::default().with_launch_faults([Fault::RetryAfter(3600)]))
                .await
                .unwrap();
        let err = client(quick())
            .fetch_all(&server.launches_url())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("(in 1h)"), "{err}");
    }

    #[tokio::test]
    async fn server_errors_are_retried_with_backoff_and_other_4xx_are_not() {
        let server = MockServer::start(
            MockConfig::default().with_launch_faults([Fault::Status(503), Fault::Status(502)]),
        )
        .await
        .unwrap();
        let all = client(quick())
            .fetch_all(&server.launches_url())
            .await
            .unwrap();
        assert_eq!((all.launches.len(), all.requests), (10, 3));

        let server =
            MockServer::start(
                MockConfig::default().with_launch_faults(vec![Fault::Status(500); 10]),
            )
            .await
            .unwrap();
        let err = client(quick())
            .fetch_all(&server.launches_url())
            .await
            .unwrap_err();
        assert!(err.is_transient());
        assert!(
            err.to_string()
                .contains("HTTP 500 Internal Server Error after 4 attempt(s): injected fault"),
            "{err}"
        );
        assert_eq!(server.requests(LAUNCHES_PATH), 4);

        for code in [400, 401, 403, 404] {
            let server =
                MockServer::start(MockConfig::default().with_launch_faults([Fault::Status(code)]))
                    .await
                    .unwrap();
            let err = client(quick())
                .fetch_all(&server.launches_url())
                .await
                .unwrap_err();
            assert!(matches!(err, ClientError::Rejected { .. }), "{err}");
            assert!(!err.is_transient());
            assert_eq!(server.requests(LAUNCHES_PATH), 1, "{code} is not retried");
        }
    }

    #[tokio::test]
    async fn a_dead_api_is_unreachable_after_the_retries() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/2.0.0/launch/upcoming/",
            listener.local_addr().unwrap()
        );
        drop(listener);
        let err = client(quick()).fetch_all(&url).await.unwrap_err();
        assert!(err.is_transient());
        let msg = err.to_string();
        assert!(
            msg.starts_with("cannot reach") && msg.contains("after 4 attempt(s)"),
            "{msg}"
        );
    }

    #[tokio::test]
    async fn malformed_pages_are_parse_errors() {
        let server =
            MockServer::start(MockConfig::default().with_launch_faults([Fault::MalformedJson]))
                .await
                .unwrap();
        let err = client(quick())
            .fetch_all(&server.launches_url())
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::Parse { .. }), "{err}");
    }

    #[tokio::test]
    async fn an_interval_fetches_exactly_the_launches_in_it() {
        let server = MockServer::start(MockConfig::default().with_page_size(2))
            .await
            .unwrap();
        let all = crate::ll2::parse_page(BUNDLED_LAUNCHES_JSON.as_bytes()).unwrap();
        let mut nets: Vec<DateTime<Utc>> = all.results.iter().filter_map(|l| l.net).collect();
        nets.sort();
        let (start, end) = (nets[2], nets[7]);
        let url = interval_url(&server.launches_url(), start, end)
            // Small pages, so the window must carry over to the next ones.
            .replace("limit=100", "limit=2");
        let got = client(quick()).fetch_all(&url).await.unwrap();
        let expected = nets.iter().filter(|n| **n >= start && **n < end).count();
        assert_eq!(got.launches.len(), expected);
        assert!(
            got.launches
                .iter()
                .all(|l| l.net.is_some_and(|n| n >= start && n < end))
        );
        assert!(got.pages >= 2, "the window carries over to the next page");
    }

    #[test]
    fn the_interval_endpoint_is_the_list_resource() {
        let (a, b) = (
            "2024-01-01T00:00:00Z".parse().unwrap(),
            "2024-01-02T00:00:00Z".parse().unwrap(),
        );
        assert_eq!(
            interval_url(
                "https://ll.thespacedevs.com/2.0.0/launch/upcoming/?limit=5",
                a,
                b
            ),
            "https://ll.thespacedevs.com/2.0.0/launch/?net__gte=2024-01-01T00:00:00Z&net__lt=2024-01-02T00:00:00Z&ordering=net&limit=100"
        );
        assert!(
            interval_url("https://x/2.3.0/launches/upcoming/", a, b)
                .starts_with("https://x/2.3.0/launches/?net__gte=")
        );
    }

    #[test]
    fn the_throttle_endpoint_sits_under_the_api_version() {
        assert_eq!(
            throttle_url("https://ll.thespacedevs.com/2.0.0/launch/upcoming/?limit=5").as_deref(),
            Some("https://ll.thespacedevs.com/2.0.0/api-throttle/")
        );
        assert_eq!(
            throttle_url("http://127.0.0.1:81/2.3.0/launches/upcoming/").as_deref(),
            Some("http://127.0.0.1:81/2.3.0/api-throttle/")
        );
        assert_eq!(throttle_url("http://x/launches"), None);
    }
}

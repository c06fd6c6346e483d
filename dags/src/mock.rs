//! A local stand-in for the LL2 API and its image host, with fault injection.
//!
//! [`MockServer::start`] serves, on `127.0.0.1` and a free port:
//!
//! * `GET /2.0.0/launch/upcoming/` (with or without the trailing slash): a launch page built
//!   from [`MockConfig::launches_json`]. Its image URLs point back at this server, `next` and
//!   `previous` are local `?limit=&offset=` links, and `count` is the number of launches the
//!   mock holds.
//! * `GET /2.0.0/launch/` and `GET /2.0.0/launch/previous/`: the same launches, filtered by
//!   `net__gte` / `net__lt` (RFC 3339) when given and ordered by NET, paginated alike (what the
//!   history DAG asks for).
//! * `GET /2.0.0/api-throttle/`: LL2's throttle status, with [`MockConfig::throttle_next_use_secs`].
//! * `GET /images/{path}`: a small, valid PNG of [`MockConfig::image_bytes`] bytes, whatever the
//!   path.
//! * anything else: 404.
//!
//! Faults can be injected per request ([`MockConfig::launch_faults`]) or per image path
//! ([`MockConfig::image_faults`]), and the server counts requests per path and the most
//! requests it handled at once, so tests can check deduplication and concurrency limits.
//!
//! ```
//! use dags::mock::{Fault, MockConfig, MockServer};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = MockConfig::default().with_launch_faults([Fault::Status(503)]);
//! let server = MockServer::start(config).await?;
//!
//! let _ = rustls::crypto::ring::default_provider().install_default();
//! let client = reqwest::Client::builder().no_proxy().build()?;
//! let first = client.get(server.launches_url()).send().await?;
//! assert_eq!(first.status(), 503);
//! let page = client.get(server.launches_url()).send().await?.bytes().await?;
//! assert_eq!(dags::ll2::parse_page(&page)?.results.len(), 10);
//!
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The LL2 snapshot served by default: `GET /2.0.0/launch/upcoming/` of March 2026, 10 launches.
pub const BUNDLED_LAUNCHES_JSON: &str =
    include_str!("../fixtures/ll2/v2.0.0-upcoming-2026-03.json");

/// Path of the launches endpoint on the mock server.
pub const LAUNCHES_PATH: &str = "/2.0.0/launch/upcoming/";

/// A fault the mock server can inject into one response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this HTTP status and a small JSON `{"detail": …}` body.
    Status(u16),
    /// Answer with this HTTP status and `{"detail": <this text>}` (a hostile server's words).
    Detail(u16, String),
    /// Answer 200 `application/json` with a document cut off in the middle.
    MalformedJson,
    /// Answer 200 with `content-type: image/png` but an HTML body, like a captive portal.
    Html,
    /// Close the connection without sending a response.
    Reset,
    /// Wait this long, then answer normally.
    Delay(Duration),
    /// Announce the full `Content-Length`, send half the body, then close the connection.
    Truncated,
    /// Stream this many bytes (a PNG header, then zero padding) with chunked encoding and no
    /// `Content-Length`, generated on the fly.
    Huge(u64),
    /// Answer 429 with a `Retry-After` header of this many seconds.
    RetryAfter(u64),
    /// Answer 429 without `Retry-After` (the client must ask the throttle endpoint).
    Throttled,
    /// Redirect (302) to this path on the same server.
    Redirect(String),
    /// Send the body in this many pieces, pausing this long between them (a slow link).
    Trickle(usize, Duration),
    /// Answer with these extra response headers (e.g. `ETag`), body as normal; a request whose
    /// `If-None-Match` equals the given `ETag` gets `304 Not Modified`.
    Headers(Vec<(String, String)>),
    /// The inner fault for the first `n` requests of the path, then normal answers.
    FirstN(usize, Box<Fault>),
    /// Serve the same bytes as this other image path (the same picture under two URLs).
    SameAs(String),
    /// A PNG signature followed by bytes that are no PNG header (magic bytes alone would pass).
    BadHeader,
}

/// What a [`MockServer`] serves and which faults it injects.
///
/// Build it from [`Default`] and the `with_*` methods, or with struct update syntax.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// The LL2 document behind the launches endpoint. A page object (`{"results": […], …}`) is
    /// served page by page; anything else (e.g. broken JSON) is served byte for byte.
    pub launches_json: String,
    /// Point every launch's image URLs at this server's `/images/<last path segment>`, so no
    /// request leaves the machine. On by default.
    pub rewrite_images: bool,
    /// Faults for the first requests to the launches endpoint, one per request, in order;
    /// later requests are answered normally.
    pub launch_faults: Vec<Fault>,
    /// Delay added before every response.
    pub latency: Duration,
    /// Size in bytes of each generated image. Sizes below 79 (the minimal PNG plus an empty
    /// padding chunk) give the 67-byte minimal PNG.
    pub image_bytes: usize,
    /// Faults for image paths, matched against the raw request path (e.g. `"/images/a.png"`);
    /// a listed path gets its fault on every request.
    pub image_faults: Vec<(String, Fault)>,
    /// Launches per page when the client does not ask with `?limit=`; `None` serves them all.
    pub page_size: Option<usize>,
    /// `next_use_secs` of the throttle endpoint: when the anonymous quota frees up again.
    pub throttle_next_use_secs: u64,
    /// The `next` link of the last launch page, instead of none: a URL on another server (a
    /// hostile page sending the client elsewhere).
    pub next_page: Option<String>,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            launches_json: BUNDLED_LAUNCHES_JSON.to_owned(),
            rewrite_images: true,
            launch_faults: Vec::new(),
            latency: Duration::ZERO,
            image_bytes: 20 * 1024,
            image_faults: Vec::new(),
            throttle_next_use_secs: 0,
            page_size: None,
            next_page: None,
        }
    }
}

impl MockConfig {
    /// Serves this document at the launches endpoint instead of the bundled snapshot.
    #[must_use]
    pub fn with_launches_json(mut self, json: impl Into<String>) -> Self {
        self.launches_json = json.into();
        self
    }

    /// Injects these faults, in order, into the first requests to the launches endpoint.
    #[must_use]
    pub fn with_launch_faults(mut self, faults: impl IntoIterator<Item = Fault>) -> Self {
        self.launch_faults = faults.into_iter().collect();
        self
    }

    /// Injects `fault` into every request for the image at `path` (e.g. `"/images/a.png"`).
    #[must_use]
    pub fn with_image_fault(mut self, path: impl Into<String>, fault: Fault) -> Self {
        self.image_faults.push((path.into(), fault));
        self
    }

    /// Adds `latency` before every response.
    #[must_use]
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Sets the size of generated images.
    #[must_use]
    pub fn with_image_bytes(mut self, bytes: usize) -> Self {
        self.image_bytes = bytes;
        self
    }

    /// Sets [`MockConfig::throttle_next_use_secs`].
    #[must_use]
    pub fn with_throttle_next_use(mut self, secs: u64) -> Self {
        self.throttle_next_use_secs = secs;
        self
    }

    /// Makes the last launch page's `next` point at `url`.
    #[must_use]
    pub fn with_next_page(mut self, url: impl Into<String>) -> Self {
        self.next_page = Some(url.into());
        self
    }

    /// Serves `size` launches per page unless the client asks for another `?limit=`.
    #[must_use]
    pub fn with_page_size(mut self, size: usize) -> Self {
        self.page_size = Some(size);
        self
    }
}

/// A running mock LL2 server. It stops when dropped or [shut down](MockServer::shutdown).
pub struct MockServer {
    addr: SocketAddr,
    state: Arc<ServerState>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for MockServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl MockServer {
    /// Binds `127.0.0.1:0` and starts serving in a background task of the current runtime.
    ///
    /// # Errors
    ///
    /// The error of binding the listener.
    pub async fn start(config: MockConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(ServerState::new(config, format!("http://{addr}")));
        let app = Router::new()
            .route(LAUNCHES_PATH, get(launches))
            .route(LAUNCHES_PATH.trim_end_matches('/'), get(launches))
            .route("/2.0.0/launch/", get(launches))
            .route("/2.0.0/launch/previous/", get(launches))
            .route("/2.0.0/api-throttle/", get(throttle))
            .route("/images/{*path}", get(image))
            .fallback(not_found)
            .layer(middleware::from_fn_with_state(state.clone(), track))
            .with_state(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                // A dropped sender means the same as a sent signal: stop.
                let _ = stopped.await;
            });
            if let Err(err) = serve.await {
                tracing::warn!(cause = %err, "mock LL2 server stopped with an error");
            }
        });
        tracing::debug!(%addr, "mock LL2 server listening");
        Ok(Self {
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.state.base.clone()
    }

    /// URL of the launches endpoint: `{base}/2.0.0/launch/upcoming/`.
    pub fn launches_url(&self) -> String {
        format!("{}{LAUNCHES_PATH}", self.state.base)
    }

    /// URL of an image on this server: `{base}/images/{name}` (`name` is used verbatim).
    pub fn image_url(&self, name: &str) -> String {
        format!("{}/images/{name}", self.state.base)
    }

    /// How many requests arrived for this raw path (without the query string).
    pub fn requests(&self, path: &str) -> usize {
        let counts = self
            .state
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        counts.get(path).copied().unwrap_or(0)
    }

    /// How many requests arrived in total.
    pub fn total_requests(&self) -> usize {
        let counts = self
            .state
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        counts.values().sum()
    }

    /// The `Authorization` headers requests carried, in arrival order (`None` for none).
    pub fn authorizations(&self) -> Vec<Option<String>> {
        self.state
            .authorizations
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The largest number of requests the server was handling at the same time.
    ///
    /// A request counts from its arrival until its response head is ready (latency and
    /// injected delays included; streaming the body is not).
    pub fn max_in_flight(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }

    /// Stops accepting connections and waits (up to 5 s) for open ones to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            // A client that keeps a streaming response open must not hang the caller.
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

// ---- server internals ----

struct ServerState {
    base: String,
    launches: Launches,
    image: Bytes,
    launch_faults: Vec<Fault>,
    image_faults: Vec<(String, Fault)>,
    latency: Duration,
    page_size: Option<usize>,
    launch_hits: AtomicUsize,
    counts: Mutex<HashMap<String, usize>>,
    authorizations: Mutex<Vec<Option<String>>>,
    throttle_next_use_secs: u64,
    next_page: Option<String>,
    stamped: Mutex<HashMap<String, Bytes>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

enum Launches {
    /// A page document: its launches, served in slices.
    Page(Vec<Value>),
    /// Anything else, served as given.
    Raw(Bytes),
}

impl ServerState {
    fn new(config: MockConfig, base: String) -> Self {
        let launches = match serde_json::from_str::<Value>(&config.launches_json) {
            Ok(Value::Object(mut page)) if page.get("results").is_some_and(Value::is_array) => {
                let Some(Value::Array(mut results)) = page.remove("results") else {
                    unreachable!("checked above")
                };
                if config.rewrite_images {
                    for launch in &mut results {
                        localize_images(launch, &base);
                    }
                }
                Launches::Page(results)
            }
            _ => Launches::Raw(Bytes::from(config.launches_json)),
        };
        Self {
            launches,
            image: png_of_size(config.image_bytes),
            launch_faults: config.launch_faults,
            image_faults: config.image_faults,
            latency: config.latency,
            page_size: config.page_size,
            launch_hits: AtomicUsize::new(0),
            counts: Mutex::new(HashMap::new()),
            authorizations: Mutex::new(Vec::new()),
            throttle_next_use_secs: config.throttle_next_use_secs,
            next_page: config.next_page,
            stamped: Mutex::new(HashMap::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            base,
        }
    }

    fn launches_body(&self, path: &str, query: Option<&str>) -> Bytes {
        let all = match &self.launches {
            Launches::Raw(bytes) => return bytes.clone(),
            Launches::Page(results) => results,
        };
        let net = |l: &Value| {
            l.get("net")
                .and_then(Value::as_str)
                .and_then(|n| chrono::DateTime::parse_from_rfc3339(n).ok())
        };
        let bound = |key: &str| {
            query_str(query, key).and_then(|v| chrono::DateTime::parse_from_rfc3339(&v).ok())
        };
        let filtered: Vec<Value>;
        let results: &[Value] =
            if path == LAUNCHES_PATH || path == LAUNCHES_PATH.trim_end_matches('/') {
                all
            } else {
                let (gte, lt) = (bound("net__gte"), bound("net__lt"));
                let mut f: Vec<Value> = all
                    .iter()
                    .filter(|l| {
                        let n = net(l);
                        gte.is_none_or(|g| n.is_some_and(|n| n >= g))
                            && lt.is_none_or(|t| n.is_some_and(|n| n < t))
                    })
                    .cloned()
                    .collect();
                f.sort_by_key(|l| net(l));
                filtered = f;
                &filtered
            };
        let total = results.len();
        let offset = query_usize(query, "offset").unwrap_or(0).min(total);
        let limit = query_usize(query, "limit")
            .or(self.page_size)
            .unwrap_or(total)
            .max(1);
        let end = offset.saturating_add(limit).min(total);
        // Other query parameters (the NET window) carry over to the next page.
        let rest: String = query
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("limit=") && !p.starts_with("offset="))
            .map(|p| format!("&{p}"))
            .collect();
        let link =
            |offset: usize| format!("{}{path}?limit={limit}&offset={offset}{rest}", self.base);
        let page = serde_json::json!({
            "count": total,
            "next": if end < total { Some(link(end)) } else { self.next_page.clone() },
            "previous": (offset > 0).then(|| link(offset.saturating_sub(limit))),
            "results": &results[offset..end],
        });
        Bytes::from(page.to_string())
    }
}

/// Counts the request, tracks concurrency and adds the configured latency.
async fn track(State(state): State<Arc<ServerState>>, req: Request, next: Next) -> Response {
    *state
        .counts
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(req.uri().path().to_owned())
        .or_default() += 1;
    state
        .authorizations
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(
            req.headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        );
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(now, Ordering::SeqCst);
    // Decrement even if the client goes away and this future is dropped.
    let _guard = InFlight(&state.in_flight);
    if !state.latency.is_zero() {
        tokio::time::sleep(state.latency).await;
    }
    next.run(req).await
}

struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn launches(State(state): State<Arc<ServerState>>, uri: Uri) -> Response {
    let hit = state.launch_hits.fetch_add(1, Ordering::SeqCst);
    let body = state.launches_body(uri.path(), uri.query());
    let fault = state.launch_faults.get(hit);
    respond(fault, body, "application/json", &state.base, None).await
}

async fn throttle(State(state): State<Arc<ServerState>>) -> Response {
    let body = serde_json::json!({
        "your_request_limit": 15,
        "limit_frequency_secs": 3600,
        "current_use": if state.throttle_next_use_secs > 0 { 15 } else { 0 },
        "next_use_secs": state.throttle_next_use_secs,
        "ident": "127.0.0.1",
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn image(
    State(state): State<Arc<ServerState>>,
    uri: Uri,
    headers: axum::http::HeaderMap,
) -> Response {
    let hits = state
        .counts
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(uri.path())
        .copied()
        .unwrap_or(0);
    let fault = state
        .image_faults
        .iter()
        .find(|(path, _)| path == uri.path())
        .map(|(_, fault)| fault)
        .and_then(|f| match f {
            Fault::FirstN(n, inner) => (hits <= *n).then_some(&**inner),
            other => Some(other),
        });
    // Each path has its own bytes (the path is written into the padding), unless aliased.
    let stamp = match fault {
        Some(Fault::SameAs(other)) => other.as_str(),
        _ => uri.path(),
    };
    // Cached per stamp: building one costs a copy and a CRC of the whole image, which would
    // otherwise be charged to the client in a benchmark.
    let body = {
        let mut cache = state.stamped.lock().unwrap_or_else(PoisonError::into_inner);
        match cache.get(stamp) {
            Some(b) => b.clone(),
            None => {
                let b = stamped(&state.image, stamp);
                cache.insert(stamp.to_owned(), b.clone());
                b
            }
        }
    };
    respond(fault, body, "image/png", &state.base, Some(&headers)).await
}

async fn not_found() -> Response {
    detail(StatusCode::NOT_FOUND, "Not found.")
}

/// The normal response, or what `fault` makes of it.
async fn respond(
    fault: Option<&Fault>,
    body: Bytes,
    content_type: &'static str,
    base: &str,
    request: Option<&axum::http::HeaderMap>,
) -> Response {
    let normal = || ([(header::CONTENT_TYPE, content_type)], body.clone()).into_response();
    let Some(fault) = fault else {
        return normal();
    };
    match fault {
        Fault::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            detail(status, &format!("injected fault: HTTP {code}"))
        }
        Fault::Detail(code, text) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            detail(status, text)
        }
        Fault::MalformedJson => (
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"count": 10, "next": null, "results": [{"id": "#,
        )
            .into_response(),
        Fault::Html => (
            [(header::CONTENT_TYPE, "image/png")],
            "<!DOCTYPE html><html><head><title>Sign in</title></head><body>captive portal</body></html>",
        )
            .into_response(),
        Fault::Reset => {
            // hyper drops the connection when the body fails before its first byte.
            let failing = futures::stream::once(async {
                Err::<Bytes, _>(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "injected reset",
                ))
            });
            Response::new(Body::from_stream(failing))
        }
        Fault::Delay(delay) => {
            tokio::time::sleep(*delay).await;
            normal()
        }
        Fault::Truncated => {
            let half = body.slice(..body.len() / 2);
            // A stream body has no size of its own, so hyper trusts our Content-Length and
            // closes the connection when the body ends short of it. The pause lets hyper flush
            // the head and the first half before that; otherwise nothing at all is sent.
            let pause = async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(Bytes::new())
            };
            let stream = futures::stream::iter([Ok::<_, std::io::Error>(half)])
                .chain(futures::stream::once(pause));
            let mut response = Response::new(Body::from_stream(stream));
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
            response
        }
        Fault::Huge(total) => {
            let mut response = Response::new(Body::from_stream(huge_stream(*total)));
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
            response
        }
        Fault::RetryAfter(secs) => {
            let mut response = detail(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Request was throttled. Expected available in {secs} seconds."),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*secs));
            response
        }
        Fault::Throttled => detail(
            StatusCode::TOO_MANY_REQUESTS,
            "Request was throttled.",
        ),
        Fault::Redirect(to) => {
            let mut response = StatusCode::FOUND.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("{base}{to}")) {
                response.headers_mut().insert(header::LOCATION, v);
            }
            response
        }
        Fault::Trickle(pieces, pause) => {
            let pieces = (*pieces).max(1);
            let size = body.len().div_ceil(pieces).max(1);
            let chunks: Vec<Bytes> = (0..body.len())
                .step_by(size)
                .map(|i| body.slice(i..(i + size).min(body.len())))
                .collect();
            let pause = *pause;
            let stream = futures::stream::iter(chunks.into_iter().enumerate()).then(
                move |(i, chunk)| async move {
                    if i > 0 {
                        tokio::time::sleep(pause).await;
                    }
                    Ok::<_, std::io::Error>(chunk)
                },
            );
            let mut response = Response::new(Body::from_stream(stream));
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
            response
        }
        // Resolved by the image handler.
        Fault::FirstN(..) | Fault::SameAs(_) => normal(),
        Fault::BadHeader => {
            let mut bytes = MINIMAL_PNG[..8].to_vec();
            bytes.extend_from_slice(b"\x00\x00\x00\x0dNOPE this is not an IHDR chunk at all");
            ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
        }
        Fault::Headers(extra) => {
            let etag = extra
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("etag"))
                .map(|(_, v)| v.as_str());
            let asked = request
                .and_then(|h| h.get(header::IF_NONE_MATCH))
                .and_then(|v| v.to_str().ok());
            let mut response = if etag.is_some() && etag == asked {
                StatusCode::NOT_MODIFIED.into_response()
            } else {
                normal()
            };
            for (k, v) in extra {
                if let (Ok(k), Ok(v)) = (
                    axum::http::HeaderName::from_bytes(k.as_bytes()),
                    HeaderValue::from_str(v),
                ) {
                    response.headers_mut().insert(k, v);
                }
            }
            response
        }
    }
}

/// An LL2-style error body: `{"detail": "…"}`.
fn detail(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "detail": message }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `total` bytes, a PNG header then zeros, produced 64 KiB at a time.
fn huge_stream(total: u64) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    const CHUNK: usize = 64 * 1024;
    let zeros = Bytes::from(vec![0u8; CHUNK]);
    let header = Bytes::from_static(&MINIMAL_PNG[..MINIMAL_PNG.len() - 12]);
    futures::stream::unfold(0u64, move |sent| {
        let (zeros, header) = (zeros.clone(), header.clone());
        async move {
            let left = total.checked_sub(sent).filter(|&n| n > 0)?;
            let source = if sent == 0 { header } else { zeros };
            let len = usize::try_from(left).map_or(source.len(), |l| l.min(source.len()));
            Some((Ok(source.slice(..len)), sent + len as u64))
        }
    })
}

/// Rewrites `image` (a URL, or an object with `image_url`/`thumbnail_url`) to this server.
fn localize_images(launch: &mut Value, base: &str) {
    match launch.get_mut("image") {
        Some(Value::String(url)) => *url = local_image_url(url, base),
        Some(Value::Object(image)) => {
            for key in ["image_url", "thumbnail_url"] {
                if let Some(Value::String(url)) = image.get_mut(key) {
                    *url = local_image_url(url, base);
                }
            }
        }
        _ => {}
    }
}

fn local_image_url(original: &str, base: &str) -> String {
    let url = reqwest::Url::parse(original).ok();
    // The segment stays percent-encoded, so it is still a valid path.
    let segment = url
        .as_ref()
        .and_then(reqwest::Url::path_segments)
        .and_then(|mut segments| segments.next_back())
        .filter(|s| !s.is_empty())
        .unwrap_or("image");
    format!("{base}/images/{segment}")
}

fn query_str(query: Option<&str>, key: &str) -> Option<String> {
    let raw = query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)?
        .1;
    Some(
        percent_encoding::percent_decode_str(raw)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

fn query_usize(query: Option<&str>, key: &str) -> Option<usize> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.parse().ok())
}

/// A valid 1×1 RGBA PNG: signature, IHDR, IDAT, IEND.
const MINIMAL_PNG: [u8; 67] = [
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, // signature
    0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
    0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, // IHDR
    0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05,
    0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, // IDAT
    0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82, // IEND
];

/// The minimal PNG grown to `size` bytes with a private ancillary chunk (`ruSt`) before IEND,
/// which decoders skip, so the result is still a valid image.
/// `png` (from [`png_of_size`]) with `stamp` written at the start of its padding chunk, CRC
/// updated: a distinct, still valid image per stamp. Too small a PNG is returned as it is.
fn stamped(png: &Bytes, stamp: &str) -> Bytes {
    let start = MINIMAL_PNG.len() - 12; // where the padding chunk begins
    let data = start + 8;
    if png.len() < data + 4 + 12 {
        return png.clone();
    }
    let pad_len = png.len() - data - 4 - 12;
    let n = stamp.len().min(pad_len);
    let mut out = png.to_vec();
    out[data..data + n].copy_from_slice(&stamp.as_bytes()[..n]);
    let crc = crc32fast::hash(&out[start + 4..data + pad_len]);
    out[data + pad_len..data + pad_len + 4].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(out)
}

fn png_of_size(size: usize) -> Bytes {
    const CHUNK_OVERHEAD: usize = 12; // length, type, CRC
    let (head, iend) = MINIMAL_PNG.split_at(MINIMAL_PNG.len() - 12);
    let Some(pad) = size.checked_sub(MINIMAL_PNG.len() + CHUNK_OVERHEAD) else {
        return Bytes::from_static(&MINIMAL_PNG);
    };
    // PNG chunk lengths are 31-bit; the padding never needs more than that.
    let pad_len = u32::try_from(pad)
        .unwrap_or(i32::MAX as u32)
        .min(i32::MAX as u32);
    let mut chunk = Vec::with_capacity(size);
    chunk.extend_from_slice(head);
    chunk.extend_from_slice(&pad_len.to_be_bytes());
    let typed = chunk.len();
    chunk.extend_from_slice(b"ruSt");
    chunk.resize(chunk.len() + pad_len as usize, 0);
    let crc = crc32fast::hash(&chunk[typed..]);
    chunk.extend_from_slice(&crc.to_be_bytes());
    chunk.extend_from_slice(iend);
    Bytes::from(chunk)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> reqwest::Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client")
    }

    #[test]
    fn generated_png_has_valid_chunks_and_exact_size() {
        assert_eq!(crc32fast::hash(&MINIMAL_PNG[12..29]), 0x1F15_C489);
        for size in [0, 67, 78, 79, 80, 20 * 1024] {
            let png = png_of_size(size);
            assert_eq!(png.len(), if size < 79 { 67 } else { size }, "{size}");
            assert_eq!(&png[..8], &MINIMAL_PNG[..8]);
            // Walk the chunks and check every CRC.
            let mut at = 8;
            let mut types = Vec::new();
            while at < png.len() {
                let len = u32::from_be_bytes(png[at..at + 4].try_into().expect("4")) as usize;
                let crc =
                    u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().expect("4"));
                assert_eq!(crc32fast::hash(&png[at + 4..at + 8 + len]), crc);
                types.push(String::from_utf8_lossy(&png[at + 4..at + 8]).into_owned());
                at += 12 + len;
            }
            assert_eq!(at, png.len());
            assert_eq!(types.last().map(String::as_str), Some("IEND"));
        }
    }

    #[tokio::test]
    async fn launch_faults_apply_in_order_then_the_page_is_served() {
        let server = MockServer::start(
            MockConfig::default().with_launch_faults([Fault::Status(503), Fault::Status(503)]),
        )
        .await
        .expect("start");
        let client = client();
        let mut statuses = Vec::new();
        for _ in 0..3 {
            let response = client
                .get(server.launches_url())
                .send()
                .await
                .expect("send");
            statuses.push(response.status().as_u16());
        }
        assert_eq!(statuses, [503, 503, 200]);

        let image = client
            .get(server.image_url("x.png"))
            .send()
            .await
            .expect("image");
        assert_eq!(image.content_length(), Some(20 * 1024));
        assert_eq!(image.headers()[header::CONTENT_TYPE], "image/png");
        assert_eq!(server.requests(LAUNCHES_PATH), 3);
        server.shutdown().await;
    }

    #[tokio::test]
    async fn served_page_points_only_at_the_mock() {
        let server = MockServer::start(MockConfig::default())
            .await
            .expect("start");
        let body = client()
            .get(server.launches_url())
            .send()
            .await
            .expect("send")
            .bytes()
            .await
            .expect("body");
        let page = crate::ll2::parse_page(&body).expect("page");
        assert_eq!(page.results.len(), 10);
        assert_eq!(page.count, Some(10));
        assert_eq!(page.next, None);
        let base = format!("{}/images/", server.base_url());
        for launch in &page.results {
            let url = launch.image_url.as_deref().expect("image");
            assert!(url.starts_with(&base), "{url}");
        }
        assert!(
            page.results[0]
                .image_url
                .as_deref()
                .is_some_and(|u| u.ends_with("/images/falcon2520925_image_20221009234147.png"))
        );
    }

    #[tokio::test]
    async fn pages_follow_next_links() {
        let server = MockServer::start(MockConfig::default().with_page_size(4))
            .await
            .expect("start");
        let client = client();
        let (mut url, mut ids, mut pages) = (Some(server.launches_url()), Vec::new(), 0);
        while let Some(next) = url {
            let body = client
                .get(next)
                .send()
                .await
                .expect("send")
                .bytes()
                .await
                .expect("body");
            let page = crate::ll2::parse_page(&body).expect("page");
            ids.extend(page.results.into_iter().map(|l| l.id));
            url = page.next;
            pages += 1;
        }
        assert_eq!(pages, 3);
        assert_eq!(ids.len(), 10);
        let all = crate::ll2::parse_page(BUNDLED_LAUNCHES_JSON.as_bytes()).expect("snapshot");
        let expected: Vec<_> = all.results.into_iter().map(|l| l.id).collect();
        assert_eq!(ids, expected);
    }

    #[tokio::test]
    async fn transport_faults_reach_the_client_as_errors() {
        let server = MockServer::start(
            MockConfig::default()
                .with_launches_json("not json")
                .with_launch_faults([Fault::Reset, Fault::Truncated, Fault::RetryAfter(7)]),
        )
        .await
        .expect("start");
        let client = client();
        let reset = client.get(server.launches_url()).send().await;
        assert!(reset.is_err(), "reset must fail the request: {reset:?}");

        let truncated = client
            .get(server.launches_url())
            .send()
            .await
            .expect("head");
        assert_eq!(truncated.content_length(), Some(8));
        assert!(truncated.bytes().await.is_err());

        let throttled = client
            .get(server.launches_url())
            .send()
            .await
            .expect("send");
        assert_eq!(throttled.status().as_u16(), 429);
        assert_eq!(throttled.headers()[header::RETRY_AFTER], "7");

        let raw = client
            .get(server.launches_url())
            .send()
            .await
            .expect("send");
        assert_eq!(raw.text().await.expect("text"), "not json");
    }
}

//! What a mock server serves and which faults it injects: [`MockConfig`] and [`Fault`].

use std::time::Duration;

use super::{BUNDLED_LAUNCHES_JSON, BUNDLED_SPACEX_JSON};

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

/// What a [`MockServer`](super::MockServer) serves and which faults it injects.
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
    /// The r/SpaceX document behind `GET /v5/launches/upcoming`. A JSON array of launches has
    /// its `links` (patch, flickr) pointed at this server when [`MockConfig::rewrite_images`];
    /// anything else is served byte for byte.
    pub spacex_json: String,
    /// Faults for the first requests to the SpaceX endpoint, one per request, in order.
    pub spacex_faults: Vec<Fault>,
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
            spacex_json: BUNDLED_SPACEX_JSON.to_owned(),
            spacex_faults: Vec::new(),
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

    /// Serves this document at the SpaceX endpoint instead of the bundled sample.
    #[must_use]
    pub fn with_spacex_json(mut self, json: impl Into<String>) -> Self {
        self.spacex_json = json.into();
        self
    }

    /// Injects these faults, in order, into the first requests to the SpaceX endpoint.
    #[must_use]
    pub fn with_spacex_faults(mut self, faults: impl IntoIterator<Item = Fault>) -> Self {
        self.spacex_faults = faults.into_iter().collect();
        self
    }

    /// Serves `size` launches per page unless the client asks for another `?limit=`.
    #[must_use]
    pub fn with_page_size(mut self, size: usize) -> Self {
        self.page_size = Some(size);
        self
    }
}

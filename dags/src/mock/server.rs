//! The mock server: routes, request counting and concurrency tracking, the handlers.

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::faults::{detail, respond};
use super::page::{Launches, spacex_body};
use super::png::{png_of_size, stamped};
use super::{Fault, LAUNCHES_PATH, MockConfig, SPACEX_PATH};

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
        Self::start_on(config, 0).await
    }

    /// As [`start`](Self::start), on `127.0.0.1:port` (0: any free port).
    ///
    /// # Errors
    ///
    /// The error of binding the listener (the port is taken, say).
    pub async fn start_on(config: MockConfig, port: u16) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(ServerState::new(config, format!("http://{addr}")));
        let app = Router::new()
            .route(LAUNCHES_PATH, get(launches))
            .route(LAUNCHES_PATH.trim_end_matches('/'), get(launches))
            .route("/2.0.0/launch/", get(launches))
            .route("/2.0.0/launch/previous/", get(launches))
            .route("/2.0.0/api-throttle/", get(throttle))
            .route(SPACEX_PATH, get(spacex))
            .route("/v4/launches/upcoming", get(spacex))
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

    /// URL of the SpaceX endpoint: `{base}/v5/launches/upcoming`.
    pub fn spacex_url(&self) -> String {
        format!("{}{SPACEX_PATH}", self.state.base)
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

pub(super) struct ServerState {
    pub(super) base: String,
    pub(super) launches: Launches,
    image: Bytes,
    launch_faults: Vec<Fault>,
    image_faults: Vec<(String, Fault)>,
    latency: Duration,
    pub(super) page_size: Option<usize>,
    launch_hits: AtomicUsize,
    counts: Mutex<HashMap<String, usize>>,
    authorizations: Mutex<Vec<Option<String>>>,
    throttle_next_use_secs: u64,
    pub(super) next_page: Option<String>,
    spacex: Bytes,
    spacex_faults: Vec<Fault>,
    spacex_hits: AtomicUsize,
    stamped: Mutex<HashMap<String, Bytes>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl ServerState {
    fn new(config: MockConfig, base: String) -> Self {
        Self {
            spacex: spacex_body(&config.spacex_json, config.rewrite_images, &base),
            spacex_faults: config.spacex_faults,
            spacex_hits: AtomicUsize::new(0),
            launches: Launches::of(config.launches_json, config.rewrite_images, &base),
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

async fn spacex(State(state): State<Arc<ServerState>>) -> Response {
    let hit = state.spacex_hits.fetch_add(1, Ordering::SeqCst);
    let fault = state.spacex_faults.get(hit);
    respond(
        fault,
        state.spacex.clone(),
        "application/json",
        &state.base,
        None,
    )
    .await
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

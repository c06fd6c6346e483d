//! The web server: Airflow's web UI, its stable REST API (`/api/v1`) and Prometheus metrics
//! (`/metrics`), over the DAGs of one binary and the run history of one home.
//!
//! | module | owns |
//! |---|---|
//! | [`auth`] | who may ask: nobody needs to on loopback; users with argon2 password hashes (pages: a login form, API: HTTP basic auth) or a bearer token once configured |
//! | `security` | what every response carries (Content-Security-Policy, no sniffing, no framing) and what a state-changing request must show (same origin, a CSRF token) |
//! | `api` | Airflow's stable REST API v1: paths, JSON field names, states, pagination, problem JSON, the OpenAPI document |
//! | `pages` | the HTML pages (DAGs, a DAG's Grid/Graph/Gantt/Code/Details, a task instance, live updates) |
//! | `metrics` | the Prometheus text exposition |
//!
//! The server binds loopback unless authentication is configured ([`WebError::Exposed`]).

mod api;
pub mod auth;
mod metrics;
mod pages;
mod security;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::dag::Dag;
use crate::store::Store;

pub use auth::{Auth, AuthError};
pub use metrics::Metrics;

/// The port the web server listens on unless told otherwise (Airflow's).
pub const DEFAULT_PORT: u16 = 8080;

/// The largest request body accepted (a trigger's conf, a form).
pub const MAX_BODY: usize = 1 << 20;

/// Where and for whom the server listens.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// The address to bind (default `127.0.0.1:8080`).
    pub addr: SocketAddr,
    /// Who may use it.
    pub auth: Auth,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DEFAULT_PORT),
            auth: Auth::none(),
        }
    }
}

/// Why the server cannot start or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebError {
    /// A non-loopback address without authentication.
    #[error(
        "refusing to listen on {addr} without authentication: anyone who can reach it could \
         trigger and clear runs. Bind 127.0.0.1 (the default), or configure users \
         (`users add NAME`, then --users FILE) or a token (ROCKET_DAG_API_TOKEN)"
    )]
    Exposed {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("the web server failed: {0}")]
    Serve(#[source] std::io::Error),
}

/// What every handler sees.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The DAGs of this binary.
    pub(crate) dags: Vec<Dag>,
    /// The home: logs, data, exports.
    pub(crate) home: PathBuf,
    /// The run history.
    pub(crate) store: Store,
    /// Who may ask.
    pub(crate) auth: Auth,
    /// The metrics this process collects.
    pub(crate) metrics: Metrics,
    /// When the server started.
    pub(crate) started: Instant,
    /// Whether a scheduler runs in this process (`standalone`).
    pub(crate) with_scheduler: bool,
    /// Cancelled when the server stops: endless responses (a log tail) end then.
    pub(crate) shutdown: CancellationToken,
}

impl Shared {
    /// The DAG `id`, if this binary has it.
    pub(crate) fn dag(&self, id: &str) -> Option<&Dag> {
        self.dags.iter().find(|d| d.id() == id)
    }
}

/// The state handlers share.
pub(crate) type AppState = Arc<Shared>;

/// A bound web server, not yet serving.
#[derive(Debug)]
pub struct Server {
    listener: tokio::net::TcpListener,
    state: AppState,
}

impl Server {
    /// Binds `config.addr` (port 0: any free port) for `dags` over `store` and `home`.
    /// `metrics` is what the page shows at `/metrics`; give the same to the runner whose runs
    /// it should count ([`Metrics::observe`]).
    pub async fn bind(
        dags: Vec<Dag>,
        home: PathBuf,
        store: Store,
        config: WebConfig,
        metrics: Metrics,
    ) -> Result<Server, WebError> {
        if !config.addr.ip().is_loopback() && !config.auth.is_configured() {
            return Err(WebError::Exposed { addr: config.addr });
        }
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .map_err(|source| WebError::Bind {
                addr: config.addr,
                source,
            })?;
        let state = Arc::new(Shared {
            dags,
            home,
            store,
            auth: config.auth,
            metrics,
            started: Instant::now(),
            with_scheduler: false,
            shutdown: CancellationToken::new(),
        });
        Ok(Server { listener, state })
    }

    /// Says that a scheduler runs in this process (the pages show it).
    pub fn with_scheduler(mut self) -> Self {
        if let Some(s) = Arc::get_mut(&mut self.state) {
            s.with_scheduler = true;
        }
        self
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// `http://HOST:PORT/`, for people.
    pub fn url(&self) -> String {
        let addr = self.local_addr();
        // An address that any name of this host reaches: "localhost" reads best.
        let host = if addr.ip().is_unspecified() || (addr.ip().is_loopback() && addr.is_ipv4()) {
            "localhost".to_owned()
        } else {
            match addr.ip() {
                IpAddr::V6(ip) => format!("[{ip}]"),
                IpAddr::V4(ip) => ip.to_string(),
            }
        };
        format!("http://{host}:{}/", addr.port())
    }

    /// One line for the console: where, and who may use it.
    pub fn startup_line(&self) -> String {
        format!(
            "web server on {} ({})",
            self.url(),
            self.state.auth.describe()
        )
    }

    /// Serves until `stop` is cancelled; requests in flight finish.
    pub async fn run(self, stop: CancellationToken) -> Result<(), WebError> {
        let shutdown = self.state.shutdown.clone();
        let app = router(self.state);
        axum::serve(self.listener, app)
            .with_graceful_shutdown(async move {
                stop.cancelled().await;
                shutdown.cancel();
            })
            .await
            .map_err(WebError::Serve)
    }
}

/// Every route, with the layers every response goes through.
fn router(state: AppState) -> axum::Router {
    use axum::middleware::from_fn_with_state;
    axum::Router::new()
        .merge(pages::routes())
        .nest("/api/v1", api::routes())
        .merge(metrics::routes())
        .layer(from_fn_with_state(state.clone(), auth::require))
        .layer(from_fn_with_state(state.clone(), security::guard))
        .layer(from_fn_with_state(state.clone(), metrics::count_requests))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

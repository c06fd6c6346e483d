//! The web server: the REST API (api.rs), the pages in a real browser (pages.rs) and the
//! metrics (metrics.rs; load.rs: 200 clients while 100 runs run), each against a server on
//! 127.0.0.1 (random port) over a temp home,
//! with the Rocket DAGs fetching from the local fake Launch Library 2 server.

mod api;
mod load;
mod metrics;
mod pages;

use std::path::Path;

use dags::listing_2_10::LAUNCHES_URL_PARAM;
use dags::mock::{MockConfig, MockServer};
use rocket_dag::Dag;
use rocket_dag::store::Store;
use rocket_dag::web::{Auth, Metrics, Server, WebConfig};
use tokio_util::sync::CancellationToken;

/// Held by the tests that load the machine (the load test) or time what they watch (the
/// browser test), so the two never overlap: the load test's 200 clients would otherwise slow
/// the browser's page below what it waits for.
pub static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A running web server (and, for `standalone`, a scheduler) over a temp home.
pub struct Web {
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub base: String,
    /// The home.
    pub home: tempfile::TempDir,
    /// The run history.
    pub store: Store,
    /// The fake Launch Library 2 server the DAGs fetch from.
    pub mock: MockServer,
    /// What the server counts.
    pub metrics: Metrics,
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// How to start it.
pub struct Options {
    /// The DAGs [default: every Rocket DAG].
    pub dags: Vec<Dag>,
    /// Who may use it [default: nobody needs to log in].
    pub auth: Auth,
    /// Run a scheduler in the same process, as `standalone` does.
    pub scheduler: bool,
    /// The fake LL2 server's configuration.
    pub mock: MockConfig,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            dags: dags::all(),
            auth: Auth::none(),
            scheduler: true,
            mock: MockConfig::default(),
        }
    }
}

impl Web {
    /// Starts a server as `options` say.
    pub async fn start(options: Options) -> Web {
        rocket_dag::logging::init();
        let home = tempfile::tempdir().unwrap();
        let mock = MockServer::start(options.mock).await.unwrap();
        let store = Store::open_home(home.path()).await.unwrap();
        let metrics = Metrics::new();
        let config = WebConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            auth: options.auth,
        };
        let server = Server::bind(
            options.dags.clone(),
            home.path().to_owned(),
            store.clone(),
            config,
            metrics.clone(),
        )
        .await
        .unwrap();
        // The pages' header says whether a scheduler runs in the process.
        let server = if options.scheduler {
            server.with_scheduler()
        } else {
            server
        };
        let base = format!("http://{}", server.local_addr());
        let stop = CancellationToken::new();
        let mut tasks = Vec::new();
        if options.scheduler {
            let mut params = serde_json::Map::new();
            params.insert(LAUNCHES_URL_PARAM.into(), mock.launches_url().into());
            params.insert(
                dags::spacex::SPACEX_URL_PARAM.into(),
                mock.spacex_url().into(),
            );
            let runner = metrics.observe(
                rocket_dag::Runner::new(home.path())
                    .default_params(params)
                    .with_store(store.clone()),
            );
            let (dags, store, stop) = (options.dags.clone(), store.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                rocket_dag::scheduler::run(&dags, runner, store, stop)
                    .await
                    .unwrap();
            }));
        }
        let serve_stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            server.run(serve_stop).await.unwrap();
        }));
        Web {
            base,
            home,
            store,
            mock,
            metrics,
            stop,
            tasks,
        }
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The home directory.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Stops the server and the scheduler and waits for both.
    pub async fn stop(self) {
        self.stop.cancel();
        for t in self.tasks {
            t.await.unwrap();
        }
    }
}

/// A plain HTTP client (no proxy: everything stays on 127.0.0.1).
pub fn client() -> reqwest::Client {
    rocket_dag::http::builder().no_proxy().build().unwrap()
}

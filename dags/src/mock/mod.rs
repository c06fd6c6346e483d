//! A local stand-in for the LL2 API and its image host, with fault injection.
//!
//! [`MockServer::start`] serves, on `127.0.0.1` and a free port:
//!
//! * `GET /2.0.0/launch/upcoming/` (with or without the trailing slash): a launch page built
//!   from [`MockConfig::launches_json`]. Its image URLs point back at this server, `next` and
//!   `previous` are local `?limit=&offset=` links, and `count` is the number of launches the
//!   mock holds (with `?search=TERM`, only the launches whose launch, rocket or provider name
//!   contains it, as LL2 does).
//!   With `revision=N` in the query, the list as the API might show it N revisions later: the
//!   last N launches gone, the first N moved N days later, "To Be Confirmed", with a new
//!   picture and a `last_updated` (what `rocket_incremental` notices; `--offline-revision N` asks for it).
//! * `GET /2.0.0/launch/` and `GET /2.0.0/launch/previous/`: the same launches, filtered by
//!   `net__gte` / `net__lt` (RFC 3339) when given and ordered by NET, paginated alike (what the
//!   history DAG asks for).
//! * `GET /v5/launches/upcoming` (and `/v4/…`): an r/SpaceX launch list,
//!   [`MockConfig::spacex_json`] (a real recorded sample by default, [`BUNDLED_SPACEX_JSON`]),
//!   its patch and Flickr links pointed back at this server, with its own faults
//!   ([`MockConfig::spacex_faults`]).
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

mod config;
mod faults;
mod page;
mod png;
mod server;

pub use config::{Fault, MockConfig};
pub use server::MockServer;

/// The LL2 snapshot served by default: `GET /2.0.0/launch/upcoming/` of March 2026, 10 launches.
pub const BUNDLED_LAUNCHES_JSON: &str =
    include_str!("../../fixtures/ll2/v2.0.0-upcoming-2026-03.json");

/// The r/SpaceX sample served by default: two real v4 launch objects (Starlink-17, upcoming in
/// February 2021, and FalconSat), see `fixtures/spacex/SOURCES.md`.
pub const BUNDLED_SPACEX_JSON: &str =
    include_str!("../../fixtures/spacex/v4-launches-2021-02-starlink17-falconsat.json");

/// Path of the SpaceX endpoint on the mock server.
pub const SPACEX_PATH: &str = "/v5/launches/upcoming";

/// The bundled snapshot's launches repeated to `n`, each with an id and image URL of its own
/// (`launch_<i>.png`, rewritten to the server like any other): the benchmarks' feed.
pub fn repeated_launches(n: usize) -> String {
    use serde_json::Value;
    let doc: Value = serde_json::from_str(BUNDLED_LAUNCHES_JSON).expect("the bundled snapshot");
    let base = doc["results"].as_array().cloned().unwrap_or_default();
    let results: Vec<Value> = (0..n)
        .map(|i| {
            let mut l = base[i % base.len()].clone();
            l["id"] = Value::from(format!("bench-{i}"));
            l["image"] = Value::from(format!("https://images.invalid/launch_{i}.png"));
            l
        })
        .collect();
    serde_json::json!({"count": n, "next": null, "results": results}).to_string()
}

/// Path of the launches endpoint on the mock server.
pub const LAUNCHES_PATH: &str = "/2.0.0/launch/upcoming/";

#[cfg(test)]
mod tests;

//! `rocket_sources`: upcoming launches from two APIs — Launch Library 2 and the r/SpaceX API —
//! merged into one list, then the pictures and reports of `rocket_launches`.
//!
//! * `fetch_sources` asks both APIs at once, merges their launches (the same launch once, see
//!   [`crate::sources`]), and writes `launches.json` (the merged launches, each with its
//!   `sources`, and a `sources` summary) and `sources.json` (the summary alone);
//! * `fetch_images`, `write_reports` and `check_images` are `rocket_launches`' own tasks.
//!
//! **A source that fails** (unreachable, an HTTP error after the client's retries, a 429 asking
//! for too long a wait, a body that is not a launch list) does not fail the task: the other
//! source's launches are merged and written, the failure is logged (a warning naming the source)
//! and recorded in both documents (`"ok": false` and the error). The task fails only when every
//! source fails, and then it is retried like `fetch_launches`.
//!
//! | param | env | default |
//! |---|---|---|
//! | `launches_url` | `ROCKET_LAUNCHES_URL` | LL2's "upcoming" endpoint |
//! | `spacex_url` | `ROCKET_SPACEX_URL` | `https://api.spacexdata.com/v5/launches/upcoming` |
//! | `max_pages` (LL2, per query) | | 10 (at most 100) |
//! | `families`: rocket families, one LL2 query each (`search=<family>`); SpaceX's launches kept for those families only | | none: one query for every launch |
//! | `concurrency`, `per_host`, `bandwidth`, `max_failure_ratio` | | as `rocket_launches` |
//! | LL2 API key (never sent to the SpaceX host) | `ROCKET_LL2_API_KEY` | none |

use std::path::PathBuf;

use rocket_dag::prelude::*;
use serde::{Deserialize, Serialize};

use crate::assets::*;
use crate::listing_2_10::{launches_url, write_atomically};
use crate::ll2_client::{ClientConfig, ClientError, Ll2Client};
use crate::rocket_launches::{Launches, check_images, fetch_images, write_reports};
use crate::sources::{SourceLaunches, merge};
use crate::spacex::{DEFAULT_SPACEX_URL, SPACEX_URL_ENV, SPACEX_URL_PARAM};

/// The most LL2 pages a run's `max_pages` may ask for.
const MAX_PAGES_LIMIT: usize = 100;
/// The most rocket families `families` may list (one LL2 query each).
pub const MAX_FAMILIES: usize = 10;

/// How one source fared in a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStatus {
    /// `ll2` or `spacex`.
    pub name: String,
    /// The rocket family this LL2 query asked for (`families`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// What was asked.
    pub url: String,
    /// Whether its launches were read.
    pub ok: bool,
    /// Launches it gave (before merging).
    pub launches: usize,
    /// Pages read.
    pub pages: usize,
    /// Requests made, retries included.
    pub requests: u32,
    /// Why it failed.
    pub error: Option<String>,
}

/// The SpaceX URL: the `spacex_url` param, else `$ROCKET_SPACEX_URL`, else the public API.
pub fn spacex_url(ctx: &TaskContext) -> String {
    ctx.param::<String>(SPACEX_URL_PARAM)
        .or_else(|| {
            std::env::var(SPACEX_URL_ENV)
                .ok()
                .filter(|s| !s.trim().is_empty())
        })
        .unwrap_or_else(|| DEFAULT_SPACEX_URL.to_owned())
}

fn client_config(ctx: &TaskContext) -> ClientConfig {
    let mut c = ClientConfig::default();
    if cfg!(test) {
        // The unit tests' faults are retried in milliseconds, not seconds.
        c = c.retries(3, std::time::Duration::from_millis(10));
    }
    if let Some(n) = ctx.param::<usize>("max_pages") {
        c = c.max_pages(n.min(MAX_PAGES_LIMIT));
    }
    c
}

/// An error in words, without LL2's wording for a SpaceX throttle.
fn describe(source: &str, err: &ClientError) -> String {
    match err {
        ClientError::Throttled { url, .. } if source != "ll2" => {
            format!("{url} throttled the requests (HTTP 429) for longer than the client waits")
        }
        other => other.to_string(),
    }
}

/// The `families` param: rocket families (`Falcon,Electron`), one LL2 query each; none means
/// one query for every launch.
///
/// # Errors
///
/// More than [`MAX_FAMILIES`] families, or a family that is empty, longer than 40 characters
/// or not letters, digits, spaces, `-` and `.`.
pub fn families(ctx: &TaskContext) -> Result<Vec<String>, TaskError> {
    let Some(raw) = ctx.param::<String>("families") else {
        return Ok(Vec::new());
    };
    let mut out: Vec<String> = Vec::new();
    for f in raw.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        let fine = f.chars().count() <= 40
            && f.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '.'));
        if !fine {
            return Err(TaskError::fail_now(format!(
                "families: {f:?} is not a rocket family (letters, digits, spaces, `-` and `.`, at most 40)"
            )));
        }
        if !out.iter().any(|o| o.eq_ignore_ascii_case(f)) {
            out.push(f.to_owned());
        }
    }
    if out.len() > MAX_FAMILIES {
        return Err(TaskError::fail_now(format!(
            "families: at most {MAX_FAMILIES}, not {}",
            out.len()
        )));
    }
    Ok(out)
}

/// The LL2 query for one family: `url` with `search=<family>` (LL2 searches launch, rocket and
/// provider names).
pub fn family_url(url: &str, family: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            u.query_pairs_mut().append_pair("search", family);
            u.to_string()
        }
        Err(_) => url.to_owned(),
    }
}

/// Whether a launch's rocket is of one of `families` (its family or rocket name contains one,
/// case ignored).
fn of_families(l: &crate::ll2::Launch, families: &[String]) -> bool {
    let names = [l.rocket_family.as_deref(), l.rocket.as_deref()];
    families.iter().any(|f| {
        let f = f.to_lowercase();
        names
            .iter()
            .flatten()
            .any(|n| n.to_lowercase().contains(&f))
    })
}

/// Fetch the upcoming launches of every source at once, merge them (each launch once, with the
/// sources it came from) and store them as `launches.json`, with `sources.json` saying how each
/// source fared. With `families` (`-p families=Falcon,Electron`), LL2 is asked once per family
/// and SpaceX's launches are kept for those families only. Fails only when every source fails.
#[task(
    retries = 3,
    retry_delay = "5s",
    retry_exponential_backoff = true,
    execution_timeout = "10m",
    layer = "source",
    reads = [LL2_API, SPACEX_API],
    writes = [LAUNCHES_JSON, SOURCES_JSON]
)]
pub async fn fetch_sources(ctx: &TaskContext) -> Result<Launches, TaskError> {
    let (ll2_url, sx_url) = (launches_url(ctx), spacex_url(ctx));
    let families = families(ctx)?;
    let queries: Vec<(Option<String>, String)> = if families.is_empty() {
        vec![(None, ll2_url.clone())]
    } else {
        families
            .iter()
            .map(|f| (Some(f.clone()), family_url(&ll2_url, f)))
            .collect()
    };
    let ll2 = Ll2Client::new(ctx.http().clone(), client_config(ctx));
    let (ll2_got, sx_got) = tokio::join!(
        futures::future::join_all(queries.iter().map(|(_, url)| ll2.fetch_all(url))),
        crate::spacex::fetch(ctx.http().clone(), &sx_url, client_config(ctx)),
    );
    let mut statuses = Vec::new();
    let mut failures = Vec::new();
    let (mut pages, mut requests) = (0, 0);
    let mut ll2_launches: Vec<crate::ll2::Launch> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for ((family, url), got) in queries.iter().zip(ll2_got) {
        match got {
            Ok(f) => {
                statuses.push(SourceStatus {
                    name: "ll2".into(),
                    family: family.clone(),
                    url: url.clone(),
                    ok: true,
                    launches: f.launches.len(),
                    pages: f.pages,
                    requests: f.requests,
                    error: None,
                });
                pages += f.pages;
                requests += f.requests;
                // One launch per id across the family queries.
                ll2_launches.extend(f.launches.into_iter().filter(|l| seen.insert(l.id.clone())));
            }
            Err(e) => {
                let error = describe("ll2", &e);
                tracing::warn!("source ll2 failed: {error}");
                let mut status = failed("ll2", url, &error);
                status.family = family.clone();
                statuses.push(status);
                failures.push(e);
            }
        }
    }
    let mut lists = vec![SourceLaunches::new("ll2", ll2_launches)];
    match sx_got {
        Ok(f) => {
            let before = f.launches.len();
            let kept: Vec<_> = f
                .launches
                .into_iter()
                .filter(|s| families.is_empty() || of_families(&s.launch, &families))
                .collect();
            if kept.len() < before {
                tracing::info!(
                    left_out = before - kept.len(),
                    "SpaceX launches of other rocket families left out"
                );
            }
            statuses.push(SourceStatus {
                name: crate::spacex::SOURCE.into(),
                family: None,
                url: sx_url.clone(),
                ok: true,
                launches: kept.len(),
                pages: 1,
                requests: f.requests,
                error: None,
            });
            pages += 1;
            requests += f.requests;
            lists.push(SourceLaunches {
                name: crate::spacex::SOURCE.into(),
                launches: kept
                    .into_iter()
                    .map(|s| (s.launch, s.launch_library_id))
                    .collect(),
            });
        }
        Err(e) => {
            let error = describe(crate::spacex::SOURCE, &e);
            tracing::warn!("source spacex failed: {error}");
            statuses.push(failed(crate::spacex::SOURCE, &sx_url, &error));
            failures.push(e);
        }
    }
    if failures.len() == statuses.len() {
        let all: Vec<String> = statuses
            .iter()
            .map(|s| format!("{}: {}", s.name, s.error.as_deref().unwrap_or("?")))
            .collect();
        let message = format!("every launch source failed ({})", all.join("; "));
        // Retried only if some source may heal.
        return Err(if failures.iter().any(ClientError::is_transient) {
            TaskError::msg(message)
        } else {
            TaskError::fail_now(message)
        });
    }
    let launches = merge(lists);
    let both = launches.iter().filter(|l| l.sources.len() > 1).count();
    for s in statuses.iter().filter(|s| s.ok) {
        tracing::info!(
            source = %s.name,
            family = s.family.as_deref().unwrap_or("all"),
            launches = s.launches,
            requests = s.requests,
            "source read"
        );
    }
    tracing::info!(
        launches = launches.len(),
        in_several_sources = both,
        "sources merged"
    );
    let doc = serde_json::json!({
        "count": launches.len(),
        "sources": &statuses,
        "results": &launches,
    });
    let path = ctx.data_dir().join("launches.json");
    write_atomically(&path, &serde_json::to_vec_pretty(&doc)?)
        .await
        .with_context(|| format!("storing {}", path.display()))?;
    let summary = ctx.data_dir().join("sources.json");
    let summary_doc = serde_json::json!({
        "run_id": ctx.run_id(),
        "launches": launches.len(),
        "in_several_sources": both,
        "sources": &statuses,
    });
    write_atomically(&summary, &serde_json::to_vec_pretty(&summary_doc)?)
        .await
        .with_context(|| format!("storing {}", summary.display()))?;
    Ok(Launches {
        launches,
        pages,
        requests,
        path,
    })
}

fn failed(name: &str, url: &str, error: &str) -> SourceStatus {
    SourceStatus {
        name: name.into(),
        family: None,
        url: url.into(),
        ok: false,
        launches: 0,
        pages: 0,
        requests: 0,
        error: Some(error.into()),
    }
}

/// `<home>/data/rocket_sources/sources.json` of a home.
pub fn sources_path(home: &std::path::Path) -> PathBuf {
    home.join("data")
        .join("rocket_sources")
        .join("sources.json")
}

/// Upcoming launches from several APIs, merged, with their pictures and reports.
///
/// **Task statement.** Each day, collect the upcoming rocket launches from Launch Library 2 and
/// from the r/SpaceX API, merge them into one list in which a launch both APIs know appears
/// once (recording which sources reported it), and download a picture of each launch and write
/// the reports as `rocket_launches` does. A source that is down or sends garbage must not cost
/// the other source's launches: the run names the failed source and carries on.
///
/// | task | does | layer |
/// |---|---|---|
/// | `fetch_sources` | LL2 and r/SpaceX at once, merged → `launches.json`, `sources.json` | source |
/// | `fetch_images` | one picture per launch → `images/`, with a manifest | storage |
/// | `write_reports` | launch, download and history reports (JSON, CSV, Markdown) | business |
/// | `check_images` | notifications when pictures are missing or failing | business |
#[dag(
    schedule = "@daily",
    start_date = "2024-01-01",
    catchup = false,
    tags = ["rocket", "sources"]
)]
pub fn rocket_sources() {
    let launches = fetch_sources();
    let images = fetch_images(launches);
    write_reports(launches, images);
    check_images(images);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::{Fault, MockConfig, MockServer};
    use rocket_dag::{DagRunReport, RunRequest, RunState, Runner};
    use serde_json::Value;

    fn date() -> chrono::DateTime<chrono::Utc> {
        rocket_dag::cli::parse_date("2026-03-05").unwrap()
    }

    async fn run(home: &std::path::Path, ll2: &str, spacex: &str) -> DagRunReport {
        rocket_dag::logging::init();
        let request = RunRequest::new(date())
            .param("launches_url", ll2)
            .param("spacex_url", spacex);
        Runner::new(home).run(&rocket_sources(), request).await
    }

    fn launches_doc(home: &std::path::Path) -> Value {
        let path = home.join("data/rocket_sources/launches.json");
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
    }

    fn fetch_log(r: &DagRunReport) -> String {
        let t = r.task("fetch_sources").unwrap();
        std::fs::read_to_string(&t.attempts.last().unwrap().log_path).unwrap_or_default()
    }

    /// A URL nobody listens on: a port bound, then let go.
    fn dead_url() -> String {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        format!("http://127.0.0.1:{port}/v5/launches/upcoming")
    }

    fn source<'a>(doc: &'a Value, name: &str) -> &'a Value {
        doc["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()
    }

    #[tokio::test]
    async fn both_sources_are_merged_and_their_pictures_fetched() {
        let server = MockServer::start(MockConfig::default()).await.unwrap();
        let home = tempfile::tempdir().unwrap();
        let r = run(home.path(), &server.launches_url(), &server.spacex_url()).await;
        assert_eq!(r.state, RunState::Success, "{}", r.summary_table());
        let doc = launches_doc(home.path());
        assert_eq!(doc["count"], 12, "10 from LL2, 2 from SpaceX, none shared");
        assert_eq!(source(&doc, "ll2")["ok"], true);
        assert_eq!(source(&doc, "spacex")["ok"], true);
        assert_eq!(source(&doc, "spacex")["launches"], 2);
        let results = doc["results"].as_array().unwrap();
        let from = |s: &str| {
            results
                .iter()
                .filter(|l| l["sources"].as_array().unwrap().iter().any(|x| x == s))
                .count()
        };
        assert_eq!((from("ll2"), from("spacex")), (10, 2));
        let summary: Value =
            serde_json::from_slice(&std::fs::read(sources_path(home.path())).unwrap()).unwrap();
        assert_eq!(summary["launches"], 12);
        // Both SpaceX patches came from the mock.
        let images: Vec<crate::record::ImageRecord> =
            r.task("fetch_images").unwrap().output().unwrap();
        assert_eq!(images.len(), 12);
        assert!(images.iter().all(|i| i.outcome.is_ok()), "{images:?}");
        assert_eq!(server.requests("/images/573IfGk.png"), 1);
        assert!(
            home.path()
                .join("data/rocket_sources/reports")
                .join(&r.run_id)
                .join("launches.md")
                .is_file()
        );
    }

    #[tokio::test]
    async fn a_dead_second_source_costs_nothing_of_ll2() {
        let server = MockServer::start(MockConfig::default()).await.unwrap();
        let home = tempfile::tempdir().unwrap();
        let r = run(home.path(), &server.launches_url(), &dead_url()).await;
        assert_eq!(r.state, RunState::Success, "{}", r.summary_table());
        let doc = launches_doc(home.path());
        assert_eq!(doc["count"], 10);
        let sx = source(&doc, "spacex");
        assert_eq!(sx["ok"], false);
        assert!(
            sx["error"].as_str().unwrap().contains("cannot reach"),
            "{sx}"
        );
        assert!(
            fetch_log(&r).contains("source spacex failed"),
            "{}",
            fetch_log(&r)
        );
        let out = r
            .task("fetch_sources")
            .unwrap()
            .output::<Launches>()
            .unwrap();
        assert_eq!(out.launches.len(), 10);
    }

    #[tokio::test]
    async fn malformed_json_from_the_second_source_is_a_failed_source() {
        let server =
            MockServer::start(MockConfig::default().with_spacex_faults([Fault::MalformedJson]))
                .await
                .unwrap();
        let home = tempfile::tempdir().unwrap();
        let r = run(home.path(), &server.launches_url(), &server.spacex_url()).await;
        assert_eq!(r.state, RunState::Success, "{}", r.summary_table());
        let doc = launches_doc(home.path());
        assert_eq!(doc["count"], 10);
        let sx = source(&doc, "spacex");
        assert_eq!(sx["ok"], false);
        assert!(
            sx["error"].as_str().unwrap().contains("not a launch list"),
            "{sx}"
        );
        assert_eq!(server.requests(crate::mock::SPACEX_PATH), 1, "not retried");
    }

    #[tokio::test]
    async fn server_errors_and_429s_follow_the_client_policy() {
        // 500 then 429 with Retry-After: 0 — retried, waited out, then read.
        let server = MockServer::start(
            MockConfig::default().with_spacex_faults([Fault::Status(500), Fault::RetryAfter(0)]),
        )
        .await
        .unwrap();
        let home = tempfile::tempdir().unwrap();
        let r = run(home.path(), &server.launches_url(), &server.spacex_url()).await;
        assert_eq!(r.state, RunState::Success, "{}", r.summary_table());
        let doc = launches_doc(home.path());
        assert_eq!(source(&doc, "spacex")["ok"], true);
        assert_eq!(source(&doc, "spacex")["requests"], 3);
        assert_eq!(doc["count"], 12);

        // 429 without Retry-After: SpaceX has no throttle endpoint, so the wait is unknown and
        // the source fails at once, named.
        let server =
            MockServer::start(MockConfig::default().with_spacex_faults([Fault::Throttled]))
                .await
                .unwrap();
        let home = tempfile::tempdir().unwrap();
        let r = run(home.path(), &server.launches_url(), &server.spacex_url()).await;
        assert_eq!(r.state, RunState::Success, "{}", r.summary_table());
        let doc = launches_doc(home.path());
        let sx = source(&doc, "spacex");
        assert_eq!(sx["ok"], false);
        let error = sx["error"].as_str().unwrap();
        assert!(
            error.contains("429") && !error.contains("Launch Library"),
            "{error}"
        );
        assert_eq!(doc["count"], 10);

        // 500 every time: retried by the client (3 retries), then a failed source.
        let server =
            MockServer::start(
                MockConfig::default().with_spacex_faults(vec![Fault::Status(500); 10]),
            )
            .await
            .unwrap();
        let home = tempfile::tempdir().unwrap();
        let r = run(home.path(), &server.launches_url(), &server.spacex_url()).await;
        assert_eq!(r.state, RunState::Success, "{}", r.summary_table());
        let sx = launches_doc(home.path())["sources"][1].clone();
        assert_eq!(
            (sx["name"].as_str(), sx["ok"].as_bool()),
            (Some("spacex"), Some(false))
        );
        assert!(sx["error"].as_str().unwrap().contains("HTTP 500"), "{sx}");
        assert_eq!(server.requests(crate::mock::SPACEX_PATH), 4);
    }

    #[tokio::test]
    async fn ll2_down_keeps_spacex_and_every_source_down_fails_the_task() {
        let server =
            MockServer::start(MockConfig::default().with_launch_faults([Fault::Status(404)]))
                .await
                .unwrap();
        let home = tempfile::tempdir().unwrap();
        let r = run(home.path(), &server.launches_url(), &server.spacex_url()).await;
        assert_eq!(r.state, RunState::Success, "{}", r.summary_table());
        let doc = launches_doc(home.path());
        assert_eq!(doc["count"], 2);
        assert_eq!(source(&doc, "ll2")["ok"], false);

        // Neither: the task fails (at once: neither failure heals), naming both.
        let server = MockServer::start(
            MockConfig::default()
                .with_launch_faults([Fault::Status(404)])
                .with_spacex_faults([Fault::MalformedJson]),
        )
        .await
        .unwrap();
        let home = tempfile::tempdir().unwrap();
        let r = run(home.path(), &server.launches_url(), &server.spacex_url()).await;
        assert_eq!(r.state, RunState::Failed, "{}", r.summary_table());
        let t = r.task("fetch_sources").unwrap();
        assert_eq!(t.attempts.len(), 1, "fail_now: no retry");
        let log = fetch_log(&r);
        assert!(
            log.contains("every launch source failed")
                && log.contains("ll2:")
                && log.contains("spacex:"),
            "{log}"
        );
        assert!(
            !home
                .path()
                .join("data/rocket_sources/launches.json")
                .exists()
        );
    }

    #[tokio::test]
    async fn families_ask_ll2_once_each_and_keep_spacex_launches_of_those_families() {
        rocket_dag::logging::init();
        let server = MockServer::start(MockConfig::default()).await.unwrap();
        let run_with = |families: &str| {
            let home = tempfile::tempdir().unwrap();
            let request = RunRequest::new(date())
                .param("launches_url", server.launches_url())
                .param("spacex_url", server.spacex_url())
                .param("families", families);
            async move {
                let r = Runner::new(home.path())
                    .run(&rocket_sources(), request)
                    .await;
                (r, home)
            }
        };
        // Falcon: 7 LL2 launches and both SpaceX ones (Falcon 9, Falcon 1); Alpha: Firefly's.
        let (r, home) = run_with("Falcon, Alpha ,falcon").await;
        assert_eq!(r.state, RunState::Success, "{}", r.summary_table());
        let doc = launches_doc(home.path());
        let ll2: Vec<&Value> = doc["sources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["name"] == "ll2")
            .collect();
        assert_eq!(ll2.len(), 2, "one query per family, `falcon` once: {doc}");
        assert_eq!(ll2[0]["family"], "Falcon");
        assert!(ll2[0]["url"].as_str().unwrap().ends_with("?search=Falcon"));
        assert_eq!(
            (ll2[0]["launches"].as_u64(), ll2[1]["launches"].as_u64()),
            (Some(7), Some(1))
        );
        assert_eq!(source(&doc, "spacex")["launches"], 2);
        assert_eq!(doc["count"], 10);

        // Only Alpha: SpaceX's Falcons are left out.
        let (r, home) = run_with("Alpha").await;
        assert_eq!(r.state, RunState::Success, "{}", r.summary_table());
        let doc = launches_doc(home.path());
        assert_eq!(source(&doc, "spacex")["launches"], 0);
        assert_eq!(doc["count"], 1);

        // Not a family: the task fails at once.
        let (r, _home) = run_with("Falcon; rm -rf /").await;
        assert_eq!(r.state, RunState::Failed);
        assert_eq!(r.task("fetch_sources").unwrap().attempts.len(), 1);
        let many: Vec<String> = (0..=MAX_FAMILIES).map(|i| format!("F{i}")).collect();
        let (r, _home) = run_with(&many.join(",")).await;
        assert_eq!(r.state, RunState::Failed);
    }

    #[tokio::test]
    async fn the_ll2_key_never_reaches_the_spacex_host() {
        let server = MockServer::start(MockConfig::default()).await.unwrap();
        // Even a config whose key origin is the SpaceX host itself sends no key there.
        let config = ClientConfig::default()
            .api_key(Some("s3cret-key".into()))
            .key_origin(&server.spacex_url());
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let got = crate::spacex::fetch(http, &server.spacex_url(), config)
            .await
            .unwrap();
        assert_eq!(got.launches.len(), 2);
        assert_eq!(server.authorizations(), [None]);
    }
}

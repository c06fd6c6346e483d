//! Tests of the resilient fetcher against the mock server: every fault, the manifest across
//! runs, de-duplication, fallbacks, limits, HEAD checks, retention.

use std::time::Instant;

use super::manifest::epoch_ns;
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
        last_updated: None,
        sources: Vec::new(),
        source_ids: Default::default(),
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
        "ok", "flaky", "gone", "down", "reset", "cut", "html", "huge", "garbage", "slow", "busy",
        "moved", "loop",
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
    // Each failed request is kept, in order, with its cause.
    let flaky = &by("flaky").failed_attempts;
    assert_eq!(flaky.len(), 1, "{flaky:?}");
    assert_eq!(
        (flaky[0].error_class.as_str(), flaky[0].http_status),
        ("http_5xx", Some(503))
    );
    assert!(flaky[0].url.ends_with("flaky.png"));
    assert!(by("ok").failed_attempts.is_empty());
    assert_eq!(outcome("gone"), (Outcome::Failed, Some("http_4xx")));
    assert_eq!(
        (by("gone").attempts, by("gone").http_status),
        (1, Some(404)),
        "404 is not retried"
    );
    assert_eq!(outcome("down"), (Outcome::Failed, Some("http_5xx")));
    assert_eq!(by("down").attempts, 3, "1 + 2 retries");
    assert_eq!(by("down").failed_attempts.len(), 3);
    assert!(
        by("down")
            .failed_attempts
            .iter()
            .all(|a| a.error_class == "http_5xx" && a.ms >= 0.0)
    );
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
    // The primary's 404 is kept on the record the fallback completed.
    let failed = &r[0].failed_attempts;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].url.ends_with("broken.png"));
    assert_eq!(failed[0].http_status, Some(404));
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

//! The Rocket DAG (listing 2.10) end to end against a local fault-injecting server, each task
//! called directly as a unit test would, and the DAG's graph as a snapshot. Nothing here
//! reaches the internet.

use std::path::Path;
use std::time::Duration;

use dags::listing_2_10::{
    Pictures, download_launches, get_pictures, images_dir, listing_2_10, notify,
};
use dags::mock::{Fault, MockConfig, MockServer};
use rocket_dag::TaskOptions;
use rocket_dag::prelude::*;
use serde_json::{Value, json};

fn date() -> chrono::DateTime<chrono::Utc> {
    rocket_dag::cli::parse_date("2024-01-01").unwrap()
}

/// The book DAG with retries shortened so a test does not wait seconds.
fn fast_dag() -> Dag {
    let mut dag = listing_2_10();
    dag.override_task_options(
        "download_launches",
        TaskOptions::new().retry_delay(Duration::from_millis(10)),
    )
    .unwrap();
    dag
}

async fn run_against(url: &str, home: &Path) -> DagRunReport {
    Runner::new(home)
        .run(
            &fast_dag(),
            RunRequest::new(date()).param("launches_url", url),
        )
        .await
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

#[test]
fn the_graph_of_listing_2_10() {
    let dag = listing_2_10();
    assert_eq!(
        dag.topological_ids(),
        ["download_launches", "get_pictures", "notify"]
    );
    assert_eq!(dag.options().schedule.as_str(), "@daily");
    let dl = dag.task("download_launches").unwrap().options();
    assert_eq!(dl.retries, 3);
    assert_eq!(dl.retry_delay, Duration::from_secs(2));
    assert!(dl.retry_exponential_backoff);
    insta::assert_snapshot!(dag.to_mermaid());
}

#[tokio::test]
async fn api_answers_503_twice_then_the_run_succeeds_on_the_third_attempt() {
    let server = MockServer::start(
        MockConfig::default().with_launch_faults([Fault::Status(503), Fault::Status(503)]),
    )
    .await
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let r = run_against(&server.launches_url(), home.path()).await;
    assert_eq!(r.state, RunState::Success, "{}", r.summary_table());
    let dl = r.task("download_launches").unwrap();
    assert_eq!(dl.tries(), 3);
    assert!(dl.attempts[0].error.as_deref().unwrap().contains("503"));
    assert_eq!(server.requests(dags::mock::LAUNCHES_PATH), 3);
    // Three attempts, three logs, each saying how it ended.
    for (n, a) in dl.attempts.iter().enumerate() {
        let log = std::fs::read_to_string(&a.log_path).unwrap();
        assert!(log.contains(&format!("starting attempt {} of 4", n + 1)));
        if n < 2 {
            assert!(log.contains("503"), "attempt {} log: {log}", n + 1);
        } else {
            assert!(log.contains("marking task as SUCCESS"), "{log}");
        }
    }
    let pictures: Pictures = r.task("get_pictures").unwrap().output().unwrap();
    assert_eq!(pictures.failed(), 0);
    let n: usize = r.task("notify").unwrap().output().unwrap();
    assert_eq!(n, pictures.downloaded());
    assert!(n > 0);
    let data = home.path().join("data/listing_2_10");
    let stored: Value =
        serde_json::from_slice(&std::fs::read(data.join("launches.json")).unwrap()).unwrap();
    assert!(stored["results"].is_array());
    assert!(
        files(&data)
            .iter()
            .all(|f| !f.contains(".part") && !f.ends_with(".tmp"))
    );
}

#[tokio::test]
async fn malformed_json_fails_the_run_clearly_and_never_replaces_launches_json() {
    let server = MockServer::start(
        MockConfig::default().with_launch_faults(std::iter::repeat_n(Fault::MalformedJson, 4)),
    )
    .await
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("data/listing_2_10");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("launches.json"), b"{\"results\": []}").unwrap();

    let r = run_against(&server.launches_url(), home.path()).await;
    assert_eq!(r.state, RunState::Failed);
    let dl = r.task("download_launches").unwrap();
    assert_eq!((dl.state, dl.tries()), (TaskState::Failed, 4));
    let reason = dl.reason.as_deref().unwrap();
    assert!(
        reason.contains("malformed launches JSON at line"),
        "{reason}"
    );
    assert!(
        reason.contains(&server.launches_url()),
        "names the URL: {reason}"
    );
    assert_eq!(
        r.task("get_pictures").unwrap().state,
        TaskState::UpstreamFailed
    );
    assert_eq!(r.task("notify").unwrap().state, TaskState::UpstreamFailed);
    // The previous good document is untouched and no temporary file is left.
    assert_eq!(
        std::fs::read(data.join("launches.json")).unwrap(),
        b"{\"results\": []}"
    );
    assert_eq!(files(&data), ["launches.json"]);
}

#[tokio::test]
async fn an_unreachable_api_fails_with_a_hint() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/2.0.0/launch/upcoming/",
        dead.local_addr().unwrap()
    );
    drop(dead);
    let home = tempfile::tempdir().unwrap();
    let r = run_against(&url, home.path()).await;
    let reason = r.task("download_launches").unwrap().reason.clone().unwrap();
    assert!(
        reason.contains("cannot reach the Launch Library API"),
        "{reason}"
    );
    assert!(reason.contains("--offline"), "{reason}");
}

/// Launches whose images exercise every fault; the images live on their own server so their
/// paths stay exactly as written.
async fn faulty_image_servers() -> (MockServer, MockServer, String) {
    let images = MockServer::start(
        MockConfig::default()
            .with_image_fault("/images/missing.png", Fault::Status(404))
            .with_image_fault("/images/broken.png", Fault::Status(500))
            .with_image_fault("/images/portal.png", Fault::Html)
            .with_image_fault("/images/cut.png", Fault::Truncated),
    )
    .await
    .unwrap();
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}/images/refused.png", dead.local_addr().unwrap());
    drop(dead);
    let base = images.base_url();
    let image_urls = [
        Value::from(format!("{base}/images/good.png")),
        Value::from(format!("{base}/images/good.png")), // the same URL again
        Value::from(format!("{base}/images/missing.png")),
        Value::from(format!("{base}/images/broken.png")),
        Value::from(format!("{base}/images/portal.png")),
        Value::from(format!("{base}/images/cut.png")),
        Value::from(dead_url),
        Value::from("not a url at all"),
        Value::from("ftp://example.invalid/x.png"),
        Value::from(format!("{base}/images/..%2F..%2F..%2Fevil.png")),
        Value::from(format!("{base}/images/a/same.png")),
        Value::from(format!("{base}/images/b/same.png")),
        Value::Null,
    ];
    let results: Vec<Value> = image_urls
        .iter()
        .enumerate()
        .map(|(i, image)| {
            json!({"id": format!("launch-{i}"), "name": format!("Launch {i}"), "image": image})
        })
        .collect();
    let doc = json!({"count": results.len(), "next": null, "results": results}).to_string();
    let api = MockServer::start(MockConfig {
        rewrite_images: false,
        ..MockConfig::default().with_launches_json(doc)
    })
    .await
    .unwrap();
    let url = api.launches_url();
    (api, images, url)
}

#[tokio::test]
async fn bad_images_are_logged_with_their_cause_and_never_fail_the_task() {
    let (_api, images, url) = faulty_image_servers().await;
    let home = tempfile::tempdir().unwrap();
    let r = run_against(&url, home.path()).await;
    assert_eq!(r.state, RunState::Success, "{}", r.summary_table());

    let pictures: Pictures = r.task("get_pictures").unwrap().output().unwrap();
    assert_eq!(pictures.launches_without_image, 1);
    assert_eq!(pictures.records.len(), 11, "12 image URLs, one repeated");
    let class_of = |suffix: &str| {
        pictures
            .records
            .iter()
            .find(|r| r.url.ends_with(suffix))
            .unwrap_or_else(|| panic!("no record for {suffix}"))
            .error_class
            .clone()
    };
    assert_eq!(class_of("/good.png"), None);
    assert_eq!(class_of("/missing.png").as_deref(), Some("http_4xx"));
    assert_eq!(class_of("/broken.png").as_deref(), Some("http_5xx"));
    assert_eq!(class_of("/portal.png").as_deref(), Some("not_an_image"));
    assert_eq!(class_of("/cut.png").as_deref(), Some("truncated"));
    assert_eq!(class_of("/refused.png").as_deref(), Some("connect"));
    assert_eq!(class_of("not a url at all").as_deref(), Some("invalid_url"));
    assert_eq!(
        class_of("ftp://example.invalid/x.png").as_deref(),
        Some("invalid_url")
    );
    assert_eq!(
        images.requests("/images/good.png"),
        1,
        "each distinct URL once"
    );

    // Only real, complete images, under safe names, inside images/.
    let dir = home.path().join("data/listing_2_10/images");
    let stored = files(&dir);
    assert_eq!(stored.len(), 4, "{stored:?}");
    assert!(stored.iter().any(|f| f.starts_with("good-")), "{stored:?}");
    assert!(
        stored.iter().filter(|f| f.starts_with("same-")).count() == 2,
        "{stored:?}"
    );
    for f in &stored {
        assert!(!f.contains('/') && !f.starts_with('.'), "{f}");
        let bytes = std::fs::read(dir.join(f)).unwrap();
        assert!(
            dags::images::sniff_image(&bytes).is_some(),
            "{f} is an image"
        );
    }
    assert!(!home.path().join("data/evil.png").exists());
    assert!(
        files(home.path())
            .iter()
            .all(|f| f.starts_with("data/") || f.starts_with("logs/"))
    );

    // notify counts what is in the folder, as the book does.
    assert_eq!(r.task("notify").unwrap().output::<usize>(), Some(4));
    // Each failure is in the log with its cause.
    let log =
        std::fs::read_to_string(&r.task("get_pictures").unwrap().attempts[0].log_path).unwrap();
    for cause in ["404", "500", "not an image", "refused"] {
        assert!(log.contains(cause), "log lacks {cause}: {log}");
    }
}

#[tokio::test]
async fn each_task_can_be_called_directly() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let ctx = TaskContext::builder("listing_2_10", "download_launches")
        .home(home.path())
        .param("launches_url", server.launches_url())
        .build();
    let launches = download_launches(&ctx).await.unwrap();
    assert_eq!(launches.len(), 10);
    assert!(ctx.data_dir().join("launches.json").is_file());

    let pictures = get_pictures(&ctx, launches.clone()).await.unwrap();
    let with_images = launches.iter().filter_map(|l| l.image_url.as_ref());
    let distinct: std::collections::HashSet<_> = with_images.collect();
    assert_eq!(pictures.downloaded(), distinct.len());
    assert_eq!(files(&images_dir(&ctx)).len(), distinct.len());

    let n = notify(&ctx, pictures).await.unwrap();
    assert_eq!(n, distinct.len());
    // Running again replaces the files: the count stays the same.
    let again = get_pictures(&ctx, launches).await.unwrap();
    assert_eq!(notify(&ctx, again).await.unwrap(), n);
}

#[tokio::test]
async fn an_error_document_served_with_200_is_not_a_launch_list() {
    let server = MockServer::start(
        MockConfig::default().with_launches_json(r#"{"detail": "Request was throttled."}"#),
    )
    .await
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let r = run_against(&server.launches_url(), home.path()).await;
    let reason = r.task("download_launches").unwrap().reason.clone().unwrap();
    assert!(reason.contains("missing field `results`"), "{reason}");
    assert!(!home.path().join("data/listing_2_10/launches.json").exists());
}

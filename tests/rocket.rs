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

/// A runner with the console and attempt log files installed, as the command line does.
fn logged_runner(home: impl Into<std::path::PathBuf>) -> Runner {
    rocket_dag::logging::init();
    Runner::new(home)
}

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
    run_dag_against(&fast_dag(), url, home).await
}

/// One run of `dag` for [`date`] with its launches from `url`.
async fn run_dag_against(dag: &Dag, url: &str, home: &Path) -> DagRunReport {
    logged_runner(home)
        .run(dag, RunRequest::new(date()).param("launches_url", url))
        .await
}

/// The JSON document at `url`.
async fn get_json(url: &str) -> Value {
    rocket_dag::http::client()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
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
    insta::assert_snapshot!(rocket_dag::viz::mermaid(&dag));
}

#[test]
fn the_rocket_dags_as_dot_and_mermaid() {
    insta::assert_snapshot!("listing_2_10_dot", rocket_dag::viz::dot(&listing_2_10()));
    let mapped = dags::listing_2_10_mapped::listing_2_10_mapped();
    insta::assert_snapshot!("listing_2_10_mapped_dot", rocket_dag::viz::dot(&mapped));
    insta::assert_snapshot!(
        "listing_2_10_mapped_mermaid",
        rocket_dag::viz::mermaid(&mapped)
    );
    insta::assert_snapshot!(
        "rocket_launches_dot",
        rocket_dag::viz::dot(&dags::rocket_launches::rocket_launches())
    );
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
    // A malformed document cannot heal: one attempt, one request, no retry spent on it.
    assert_eq!((dl.state, dl.tries()), (TaskState::Failed, 1));
    assert_eq!(server.requests(dags::mock::LAUNCHES_PATH), 1);
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
    assert!(reason.contains(&format!("cannot reach {url}")), "{reason}");
    // The exact command, with the `--` that keeps `--offline` from Cargo.
    assert!(
        reason.contains("`cargo run --example listing_2_10 -- --offline`"),
        "{reason}"
    );
}

/// The book's operators: `curl` and `ls | wc -l` as shell tasks around the async `get_pictures`.
fn fast_bash_dag() -> Dag {
    let mut dag = dags::listing_2_10_bash::listing_2_10_bash();
    dag.override_task_options(
        "download_launches",
        TaskOptions::new().retry_delay(Duration::from_millis(10)),
    )
    .unwrap();
    dag
}

#[tokio::test]
async fn the_shell_version_retries_curl_stores_the_document_and_counts_with_ls() {
    let server = MockServer::start(MockConfig::default().with_launch_faults([Fault::Status(503)]))
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let r = run_dag_against(&fast_bash_dag(), &server.launches_url(), home.path()).await;
    assert_eq!(r.state, RunState::Success, "{}", r.summary_table());
    let dl = r.task("download_launches").unwrap();
    // curl --fail turns the 503 into a failed attempt, which the task's retries repeat.
    assert_eq!(dl.tries(), 2);
    assert_eq!(server.requests(dags::mock::LAUNCHES_PATH), 2);
    let first = std::fs::read_to_string(&dl.attempts[0].log_path).unwrap();
    assert!(first.contains("503"), "{first}");
    let pictures: Pictures = r.task("get_pictures").unwrap().output().unwrap();
    assert!(pictures.downloaded() > 0);
    assert_eq!(pictures.failed(), 0);
    // The shell task's output is its last line of stdout.
    let said: String = r.task("notify").unwrap().output().unwrap();
    assert_eq!(
        said,
        format!("There are now {} images.", pictures.downloaded())
    );
    let data = home.path().join("data/listing_2_10_bash");
    let stored: Value =
        serde_json::from_slice(&std::fs::read(data.join("launches.json")).unwrap()).unwrap();
    assert!(stored["results"].is_array());
    assert!(files(&data).iter().all(|f| !f.contains(".part")));
}

#[tokio::test]
async fn the_shell_version_fetches_only_http_urls() {
    let home = tempfile::tempdir().unwrap();
    let secret = home.path().join("secret.json");
    std::fs::write(&secret, br#"{"results": [], "token": "s3cr3t"}"#).unwrap();
    for url in [
        format!("file://{}", secret.display()),
        "-K/etc/passwd".to_owned(),
    ] {
        let r = run_dag_against(&fast_bash_dag(), &url, home.path()).await;
        assert_eq!(r.state, RunState::Failed, "{url}: {}", r.summary_table());
        assert_eq!(
            r.task("download_launches").unwrap().state,
            TaskState::Failed,
            "{url}"
        );
    }
    // Nothing was copied into the data folder.
    let data = home.path().join("data/listing_2_10_bash");
    assert!(!data.join("launches.json").exists());
    assert!(
        files(&data).iter().all(|f| !f.contains("launches")),
        "{:?}",
        files(&data)
    );
}

#[tokio::test]
async fn the_shell_version_never_reads_a_malformed_document_as_launches() {
    let server =
        MockServer::start(MockConfig::default().with_launch_faults([Fault::MalformedJson]))
            .await
            .unwrap();
    let home = tempfile::tempdir().unwrap();
    let r = run_dag_against(&fast_bash_dag(), &server.launches_url(), home.path()).await;
    assert_eq!(r.state, RunState::Failed);
    // curl stores whatever a 200 carries; the async task that reads it refuses it at once.
    let gp = r.task("get_pictures").unwrap();
    assert_eq!((gp.state, gp.tries()), (TaskState::Failed, 1));
    let reason = gp.reason.as_deref().unwrap();
    assert!(
        reason.contains("launches.json is not a launch list"),
        "{reason}"
    );
    assert_eq!(r.task("notify").unwrap().state, TaskState::UpstreamFailed);
}

/// The incremental DAG: everything new, then nothing, then the API's revision (one moved with
/// a new picture, one gone) — with the picture too slow once, so the run fails and the state
/// stays as it was; the next run processes the same change and commits. A corrupt state stops
/// the run with the file's name and is left alone.
#[tokio::test]
async fn rocket_incremental_processes_only_changes_and_commits_only_finished_runs() {
    use dags::incremental::{STATE_FILE, SyncState};
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    // The revised launch's new picture answers after 2 s.
    let first = get_json(&format!("{}?revision=1", server.launches_url())).await;
    let revised = first["results"][0]["image"].as_str().unwrap().to_owned();
    let path = revised.split("/images/").nth(1).unwrap().to_owned();
    assert!(path.starts_with("revised-1-"), "{revised}");
    drop(server);
    let server = MockServer::start(MockConfig::default().with_image_fault(
        format!("/images/{path}"),
        Fault::Delay(Duration::from_secs(2)),
    ))
    .await
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let dag = dags::rocket_incremental::rocket_incremental();
    let mut impatient = dags::rocket_incremental::rocket_incremental();
    impatient
        .override_task_options(
            "fetch_changed_images",
            TaskOptions::new().execution_timeout(Duration::from_millis(300)),
        )
        .unwrap();
    let state_file = home.path().join("data/rocket_incremental").join(STATE_FILE);
    let run = |dag: Dag, day: u32, revision: Option<u32>| {
        let url = match revision {
            Some(r) => format!("{}?revision={r}", server.launches_url()),
            None => server.launches_url(),
        };
        let home = home.path().to_owned();
        async move {
            let date = rocket_dag::cli::parse_date(&format!("2026-03-{day:02}")).unwrap();
            logged_runner(home)
                .run(&dag, RunRequest::new(date).param("launches_url", url))
                .await
        }
    };
    let changes = |r: &DagRunReport| -> (usize, usize, usize, usize) {
        let sync: dags::rocket_incremental::Sync =
            r.task("detect_changes").unwrap().output().unwrap();
        let c = sync.changes;
        (c.new, c.changed, c.unchanged, c.gone)
    };

    let r1 = run(dag.clone(), 5, None).await;
    assert_eq!(r1.state, RunState::Success, "{}", r1.summary_table());
    assert_eq!(changes(&r1), (10, 0, 0, 0));
    assert_eq!(SyncState::load(&state_file).unwrap().launches.len(), 10);

    let r2 = run(dag.clone(), 6, None).await;
    assert_eq!(changes(&r2), (0, 0, 10, 0));
    let images: Vec<dags::record::ImageRecord> =
        r2.task("fetch_changed_images").unwrap().output().unwrap();
    assert!(images.is_empty(), "nothing to fetch: {images:?}");
    let committed = std::fs::read(&state_file).unwrap();

    // The change's picture is too slow for the run: it fails before the commit.
    let r3 = run(impatient, 7, Some(1)).await;
    assert_eq!(r3.state, RunState::Failed, "{}", r3.summary_table());
    assert_eq!(changes(&r3), (0, 1, 8, 1));
    assert_eq!(
        r3.task("commit_state").unwrap().state,
        TaskState::UpstreamFailed
    );
    assert_eq!(
        std::fs::read(&state_file).unwrap(),
        committed,
        "the state did not move"
    );
    let md = std::fs::read_to_string(
        home.path()
            .join("data/rocket_incremental/reports/manual__2026-03-07T00:00:00+00:00/changes.md"),
    )
    .unwrap();
    assert!(
        md.contains("| changed | net status image last_updated |"),
        "{md}"
    );
    assert!(md.contains("| gone |"), "{md}");

    // The next run finds the same change, fetches the picture and commits.
    let r4 = run(dag.clone(), 8, Some(1)).await;
    assert_eq!(r4.state, RunState::Success, "{}", r4.summary_table());
    assert_eq!(changes(&r4), (0, 1, 8, 1));
    let images: Vec<dags::record::ImageRecord> =
        r4.task("fetch_changed_images").unwrap().output().unwrap();
    assert_eq!(images.len(), 1);
    // Stored by now: here, or by the timed-out try, whose download finished within the grace
    // a cancelled task gets.
    assert!(images[0].outcome.is_ok(), "{:?}", images[0]);
    let state = SyncState::load(&state_file).unwrap();
    assert_eq!(state.launches.len(), 9);
    assert_eq!(
        state.run_id.as_deref(),
        Some("manual__2026-03-08T00:00:00+00:00")
    );
    let r5 = run(dag.clone(), 9, Some(1)).await;
    assert_eq!(changes(&r5), (0, 0, 9, 0));

    // Another run commits between this run's detect_changes and its commit: no commit over it.
    let mut racing = dags::rocket_incremental::rocket_incremental();
    racing
        .override_task_options(
            "fetch_changed_images",
            TaskOptions::new().execution_timeout(Duration::from_secs(30)),
        )
        .unwrap();
    let before = SyncState::load(&state_file).unwrap();
    let mut other = before.clone();
    other.run_id = Some("someone_else".into());
    // The revised picture takes 2 s: time enough to commit "another run" meanwhile.
    std::fs::remove_dir_all(home.path().join("data/rocket_incremental/images")).unwrap();
    let state_path = state_file.clone();
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(800)).await;
        other.save(&state_path).unwrap();
    });
    let mut moved = before.clone();
    moved.launches.clear();
    moved.save(&state_file).unwrap();
    let raced = run(racing, 11, Some(1)).await;
    writer.await.unwrap();
    let commit = raced.task("commit_state").unwrap();
    assert_eq!(commit.state, TaskState::Failed, "{}", raced.summary_table());
    assert!(
        commit.reason.as_deref().unwrap().contains("someone_else"),
        "{:?}",
        commit.reason
    );
    assert_eq!(
        SyncState::load(&state_file).unwrap().run_id.as_deref(),
        Some("someone_else")
    );

    // A corrupt state: the run stops, naming the file, and the file is left as it is.
    std::fs::write(&state_file, b"{ not json").unwrap();
    let r6 = run(dag, 10, Some(1)).await;
    let dc = r6.task("detect_changes").unwrap();
    assert_eq!((dc.state, dc.tries()), (TaskState::Failed, 1));
    let reason = dc.reason.as_deref().unwrap();
    assert!(
        reason.contains("state/launches.json") && reason.contains("not a state file"),
        "{reason}"
    );
    assert_eq!(std::fs::read(&state_file).unwrap(), b"{ not json");
}

/// A picture several launches share fails: every one of those launches is held back from the
/// state (not only the one whose record says `failed`), so the next run processes them again.
#[tokio::test]
async fn rocket_incremental_holds_back_every_launch_of_a_failed_shared_picture() {
    use dags::incremental::{STATE_FILE, SyncState};
    let probe = MockServer::start(MockConfig::default()).await.unwrap();
    let page = get_json(&probe.launches_url()).await;
    let images: Vec<&str> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["image"].as_str())
        .collect();
    let shared = images[0].to_owned();
    let sharing = images.iter().filter(|u| **u == shared).count();
    assert!(
        sharing >= 2,
        "the snapshot's first picture is shared: {images:?}"
    );
    let path = format!("/images/{}", shared.split("/images/").nth(1).unwrap());
    drop(probe);
    let server =
        MockServer::start(MockConfig::default().with_image_fault(path, Fault::Status(404)))
            .await
            .unwrap();
    let home = tempfile::tempdir().unwrap();
    let r = run_dag_against(
        &dags::rocket_incremental::rocket_incremental(),
        &server.launches_url(),
        home.path(),
    )
    .await;
    assert_eq!(r.state, RunState::Success, "{}", r.summary_table());
    let state =
        SyncState::load(&home.path().join("data/rocket_incremental").join(STATE_FILE)).unwrap();
    assert_eq!(state.launches.len(), images.len() - sharing);
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

// ---------------------------------------------------------------- rocket_launches, rocket_history

/// The pipeline with its store, and a command notifier appending every event to `events`.
async fn run_pipeline(dag: &Dag, home: &Path, events: &Path, request: RunRequest) -> DagRunReport {
    use rocket_dag::notify::{CommandConfig, Notifiers, NotifyConfig};
    let store = rocket_dag::store::Store::open_home(home).await.unwrap();
    let mut config = NotifyConfig::default();
    config.commands.push(CommandConfig::new(
        "sh",
        [
            "-c".to_owned(),
            r#"cat >> "$1"; echo >> "$1""#.to_owned(),
            "sh".to_owned(),
            events.display().to_string(),
        ],
    ));
    logged_runner(home)
        .with_store(store)
        .with_notifications(Notifiers::from_config(&config).unwrap())
        .run(dag, request)
        .await
}

fn event_kinds(events: &Path) -> Vec<String> {
    std::fs::read_to_string(events)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn rocket_launches_fetches_every_page_stores_pictures_and_writes_reports() {
    // 10 launches over 4 pages; one picture gone, with no fallback.
    let page = dags::ll2::parse_page(dags::mock::BUNDLED_LAUNCHES_JSON.as_bytes()).unwrap();
    let first = page
        .results
        .iter()
        .find_map(|l| l.image_url.clone())
        .unwrap();
    let gone = format!("/images/{}", first.rsplit('/').next().unwrap());
    let server = MockServer::start(
        MockConfig::default()
            .with_page_size(3)
            .with_image_fault(&gone, Fault::Status(404)),
    )
    .await
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let events = home.path().join("events.jsonl");
    let dag = dags::rocket_launches::rocket_launches();
    let request = || RunRequest::new(date()).param("launches_url", server.launches_url());
    let r = run_pipeline(&dag, home.path(), &events, request()).await;
    assert_eq!(r.state, RunState::Success, "{}", r.summary_table());
    let launches = r.task("fetch_launches").unwrap().output::<Value>().unwrap();
    assert_eq!(launches["launches"].as_array().unwrap().len(), 10);
    assert_eq!(launches["pages"], 4);
    let images: Vec<dags::record::ImageRecord> = r.task("fetch_images").unwrap().output().unwrap();
    assert_eq!(images.len(), 10, "one record per launch");
    let failed: Vec<_> = images
        .iter()
        .filter(|i| i.outcome == dags::record::Outcome::Failed)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].error_class.as_deref(), Some("http_4xx"));
    // Every report, in three formats, under reports/<run>/.
    let dir = home
        .path()
        .join("data/rocket_launches/reports")
        .join(&r.run_id);
    for f in [
        "launches.json",
        "launches.csv",
        "launches.md",
        "downloads.json",
        "downloads.csv",
        "downloads.md",
        "history.json",
        "history.md",
    ] {
        assert!(dir.join(f).is_file(), "{f}: {:?}", files(&dir));
    }
    let downloads: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("downloads.json")).unwrap())
            .unwrap();
    assert!(downloads.to_string().contains("http_4xx"));
    assert_eq!(event_kinds(&events), ["run_finished"]);

    // Again: nothing downloaded twice, the picture still missing is asked again.
    let before = server.total_requests();
    // This time with one event per picture, four at most (then one saying how many more).
    let again = run_pipeline(
        &dag,
        home.path(),
        &events,
        request().run_id("again").param("image_events", 4),
    )
    .await;
    assert_eq!(again.state, RunState::Success);
    let kinds = event_kinds(&events);
    assert_eq!(
        kinds[1..],
        [
            "image_status",
            "image_status",
            "image_status",
            "image_status",
            "image_status",
            "run_finished"
        ]
    );
    let last_image: Value = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .rfind(|e| e["kind"] == "image_status")
        .unwrap();
    assert_eq!(last_image["data"]["left_out"], 6, "{last_image}");
    let images: Vec<dags::record::ImageRecord> =
        again.task("fetch_images").unwrap().output().unwrap();
    assert!(
        images
            .iter()
            .all(|i| i.outcome != dags::record::Outcome::Downloaded),
        "{images:?}"
    );
    assert_eq!(
        server.total_requests() - before,
        4 + 1,
        "4 pages and the missing picture"
    );

    // A run where most pictures fail raises image_failures and fails `check_images`.
    let broken =
        MockServer::start(MockConfig::default().with_image_fault(&gone, Fault::Status(404)))
            .await
            .unwrap();
    let home = tempfile::tempdir().unwrap();
    let events = home.path().join("events.jsonl");
    let r = run_pipeline(
        &dag,
        home.path(),
        &events,
        RunRequest::new(date())
            .param("launches_url", broken.launches_url())
            .param("max_failure_ratio", 0.05),
    )
    .await;
    assert_eq!(r.task("check_images").unwrap().state, TaskState::Failed);
    assert_eq!(
        event_kinds(&events),
        ["image_failures", "task_failed", "run_finished"]
    );
}

#[tokio::test]
async fn rocket_history_collects_exactly_its_interval() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let page = dags::ll2::parse_page(dags::mock::BUNDLED_LAUNCHES_JSON.as_bytes()).unwrap();
    let mut nets: Vec<chrono::DateTime<chrono::Utc>> =
        page.results.iter().filter_map(|l| l.net).collect();
    nets.sort();
    // The day of the earliest launch.
    let day = nets[0].date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let expected = nets
        .iter()
        .filter(|n| **n >= day && **n < day + chrono::Duration::days(1))
        .count();
    let home = tempfile::tempdir().unwrap();
    let events = home.path().join("events.jsonl");
    let dag = dags::rocket_launches::rocket_history();
    let r = run_pipeline(
        &dag,
        home.path(),
        &events,
        RunRequest::new(day).param("launches_url", server.launches_url()),
    )
    .await;
    assert_eq!(r.state, RunState::Success, "{}", r.summary_table());
    let got = r.task("fetch_history").unwrap().output::<Value>().unwrap();
    assert_eq!(got["launches"].as_array().unwrap().len(), expected);
    let file = dags::rocket_launches::history_path(
        &home.path().join("data/rocket_history"),
        day,
        day + chrono::Duration::days(1),
    );
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(stored["count"], expected);
}

#[tokio::test]
async fn image_check_uses_head_only_and_retention_archives_old_pictures() {
    let page = dags::ll2::parse_page(dags::mock::BUNDLED_LAUNCHES_JSON.as_bytes()).unwrap();
    let first = page
        .results
        .iter()
        .find_map(|l| l.image_url.clone())
        .unwrap();
    let gone = format!("/images/{}", first.rsplit('/').next().unwrap());
    let server =
        MockServer::start(MockConfig::default().with_image_fault(&gone, Fault::Status(404)))
            .await
            .unwrap();
    let home = tempfile::tempdir().unwrap();
    let events = home.path().join("events.jsonl");
    let r = run_pipeline(
        &dags::rocket_launches::rocket_image_check(),
        home.path(),
        &events,
        RunRequest::new(date()).param("launches_url", server.launches_url()),
    )
    .await;
    assert_eq!(r.state, RunState::Success, "{}", r.summary_table());
    let found: Vec<Value> = r.task("check_availability").unwrap().output().unwrap();
    let unreachable: Vec<&Value> = found.iter().filter(|a| a["reachable"] == false).collect();
    // Several launches share the missing picture: each reports it, one HEAD asked.
    assert!(!unreachable.is_empty());
    assert!(
        unreachable
            .iter()
            .all(|a| a["http_status"] == 404 && a["url"].as_str().unwrap().ends_with(&gone))
    );
    assert_eq!(
        found.len() - unreachable.len(),
        found.iter().filter(|a| a["reachable"] == true).count()
    );
    assert_eq!(server.requests(&gone), 1);
    assert!(
        !home.path().join("data/rocket_image_check/images").exists(),
        "nothing downloaded"
    );

    // An old picture left by an earlier run is archived, the fresh ones stay.
    let images = home.path().join("data/rocket_launches/images");
    std::fs::create_dir_all(&images).unwrap();
    let old = images.join("old-launch.png");
    std::fs::write(&old, b"old").unwrap();
    let forty_days_ago = std::time::SystemTime::now() - Duration::from_secs(40 * 86_400);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(forty_days_ago)
        .unwrap();
    let r = run_pipeline(
        &dags::rocket_launches::rocket_launches(),
        home.path(),
        &events,
        RunRequest::new(date())
            .param("launches_url", server.launches_url())
            .param("retention_days", 30),
    )
    .await;
    let archived: Vec<String> = r.task("archive_images").unwrap().output().unwrap();
    assert_eq!(archived, ["old-launch.png"]);
    assert!(!old.exists());
    let archives: Vec<_> = std::fs::read_dir(images.join("archive")).unwrap().collect();
    assert_eq!(archives.len(), 1);
    let stored: Vec<dags::record::ImageRecord> = r.task("fetch_images").unwrap().output().unwrap();
    let downloaded = stored
        .iter()
        .filter(|i| i.outcome == dags::record::Outcome::Downloaded)
        .count();
    assert!(downloaded > 0);
    let left = files(&images)
        .into_iter()
        .filter(|f| !f.starts_with('.') && !f.starts_with("archive"))
        .count();
    assert_eq!(left, downloaded, "this run's pictures stay");
}

//! The CLI end to end: the `rocket-dag` binary spawned, its JSON output parsed, its exit codes.

use std::process::{Command, Output};

use dags::mock::{MockConfig, MockServer};
use serde_json::Value;

fn cli(home: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rocket-dag"))
        .args(args)
        .env("ROCKET_DAG_HOME", home)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

/// [`cli`] off the async runtime, so a test's local server keeps serving meanwhile.
async fn run_cli(home: &std::path::Path, args: &[&str]) -> Output {
    let home = home.to_owned();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cli(&home, &args)
    })
    .await
    .expect("the CLI thread")
}

fn json(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Tasks may print lines of their own (notify prints "There are now N images."); the
    // document is what follows them.
    let start = stdout.find(['{', '[']).expect("a JSON document on stdout");
    serde_json::from_str(&stdout[start..]).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn list_show_and_next_execution() {
    let home = tempfile::tempdir().unwrap();
    let out = cli(home.path(), &["--output", "json", "dags", "list"]);
    assert!(out.status.success());
    let list = json(&out);
    assert_eq!(list[0]["dag_id"], "listing_2_10");
    assert_eq!(list[0]["schedule"], "@daily");

    let out = cli(
        home.path(),
        &["dags", "show", "listing_2_10", "--output", "json"],
    );
    let show = json(&out);
    let tasks: Vec<&str> = show["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task_id"].as_str().unwrap())
        .collect();
    assert_eq!(tasks, ["download_launches", "get_pictures", "notify"]);
    assert_eq!(show["edges"][0]["from"], "download_launches");
    assert_eq!(show["tasks"][0]["retries"], 3);

    let out = cli(
        home.path(),
        &["dags", "next-execution", "listing_2_10", "--output", "json"],
    );
    let next = json(&out);
    let start =
        chrono::DateTime::parse_from_rfc3339(next["next"]["start"].as_str().unwrap()).unwrap();
    let end = chrono::DateTime::parse_from_rfc3339(next["next"]["end"].as_str().unwrap()).unwrap();
    assert_eq!(end - start, chrono::Duration::days(1));

    let dot = cli(
        home.path(),
        &["dags", "show", "listing_2_10", "--format", "dot"],
    );
    let dot = String::from_utf8_lossy(&dot.stdout);
    assert!(
        dot.starts_with("digraph \"listing_2_10\" {") && dot.contains("t0 -> t1;"),
        "{dot}"
    );
    let mermaid = cli(
        home.path(),
        &["dags", "show", "listing_2_10", "--format", "mermaid"],
    );
    assert!(String::from_utf8_lossy(&mermaid.stdout).contains("flowchart LR"));

    let text = cli(home.path(), &["tasks", "list", "listing_2_10"]);
    assert_eq!(
        String::from_utf8_lossy(&text.stdout),
        "download_launches\nget_pictures\nnotify\n"
    );
}

#[test]
fn unknown_names_are_usage_errors() {
    let home = tempfile::tempdir().unwrap();
    let out = cli(home.path(), &["dags", "show", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no DAG `nope`; known DAGs: listing_2_10")
    );
    let out = cli(home.path(), &["tasks", "test", "listing_2_10", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    let out = cli(home.path(), &["dags", "test", "listing_2_10", "not-a-date"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid date `not-a-date`"));
}

#[tokio::test]
async fn test_a_dag_then_read_its_logs_and_test_one_task() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let param = format!("launches_url={}", server.launches_url());
    let out = run_cli(
        home.path(),
        &[
            "--output",
            "json",
            "dags",
            "test",
            "listing_2_10",
            "2024-01-01",
            "-p",
            &param,
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    assert_eq!(report["state"], "success");
    assert_eq!(report["run_id"], "manual__2024-01-01T00:00:00+00:00");
    assert_eq!(report["tasks"][0]["attempts"][0]["try_number"], 1);

    let logs = run_cli(
        home.path(),
        &[
            "logs",
            "listing_2_10",
            "--run",
            "manual__2024-01-01T00:00:00+00:00",
            "download_launches",
        ],
    )
    .await;
    assert!(logs.status.success());
    assert!(String::from_utf8_lossy(&logs.stdout).contains("stored the launches"));
    // `--run latest` is the run that started last, wherever `--run` is taken.
    let latest = cli(
        home.path(),
        &[
            "logs",
            "listing_2_10",
            "--run",
            "latest",
            "download_launches",
        ],
    );
    assert_eq!(latest.stdout, logs.stdout);
    let state = cli(
        home.path(),
        &[
            "tasks",
            "state",
            "listing_2_10",
            "--run",
            "latest",
            "notify",
        ],
    );
    assert!(
        String::from_utf8_lossy(&state.stdout).contains("success"),
        "{}{}",
        String::from_utf8_lossy(&state.stdout),
        String::from_utf8_lossy(&state.stderr)
    );
    let none = cli(
        home.path(),
        &[
            "tasks",
            "state",
            "rocket_history",
            "--run",
            "latest",
            "fetch_history",
        ],
    );
    assert_eq!(none.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&none.stderr)
            .contains("DAG `rocket_history` has no recorded run (`--run latest`)"),
        "{}",
        String::from_utf8_lossy(&none.stderr)
    );

    let one = run_cli(
        home.path(),
        &[
            "--output",
            "json",
            "tasks",
            "test",
            "listing_2_10",
            "download_launches",
            "-p",
            &param,
        ],
    )
    .await;
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    let r = json(&one);
    assert_eq!(r["state"], "success");
    assert_eq!(r["output"].as_array().unwrap().len(), 10);

    // A task that takes upstream outputs reads them from the recorded run of that date.
    let notify = run_cli(
        home.path(),
        &[
            "--output",
            "json",
            "tasks",
            "test",
            "listing_2_10",
            "notify",
            "2024-01-01",
        ],
    )
    .await;
    assert!(
        notify.status.success(),
        "{}",
        String::from_utf8_lossy(&notify.stderr)
    );
    assert_eq!(json(&notify)["output"], 5);
    let none = cli(
        home.path(),
        &["tasks", "test", "listing_2_10", "notify", "2030-01-01"],
    );
    assert_eq!(none.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&none.stderr).contains("no recorded output of `get_pictures`"),
        "{}",
        String::from_utf8_lossy(&none.stderr)
    );

    // A failing run exits 1.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("launches_url=http://{}/x", dead.local_addr().unwrap());
    drop(dead);
    let failed = run_cli(
        home.path(),
        &[
            "tasks",
            "test",
            "listing_2_10",
            "download_launches",
            "-p",
            &url,
        ],
    )
    .await;
    assert_eq!(failed.status.code(), Some(1));
}

#[tokio::test]
async fn kill_9_during_get_pictures_then_run_again() {
    // Every request takes 1.5 s, so the first process is surely inside get_pictures when
    // the image requests have started.
    let server = MockServer::start(
        MockConfig::default().with_latency(std::time::Duration::from_millis(1500)),
    )
    .await
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let param = format!("launches_url={}", server.launches_url());
    let args = [
        "--output",
        "json",
        "dags",
        "test",
        "listing_2_10",
        "2024-01-01",
        "-p",
        &param,
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_rocket-dag"))
        .args(args)
        .env("ROCKET_DAG_HOME", home.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while server.total_requests() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "get_pictures never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(server.requests(dags::mock::LAUNCHES_PATH), 1);

    let out = run_cli(home.path(), &args).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    // download_launches succeeded before the kill: not run again.
    assert_eq!(server.requests(dags::mock::LAUNCHES_PATH), 1);
    let tasks = report["tasks"].as_array().unwrap();
    let tries = |id: &str| -> Vec<(u64, String)> {
        tasks.iter().find(|t| t["task_id"] == id).unwrap()["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["try_number"].as_u64().unwrap(),
                    a["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(tries("download_launches"), [(1, "success".to_owned())]);
    assert_eq!(
        tries("get_pictures"),
        [(1, "failed".to_owned()), (2, "success".to_owned())],
        "the killed attempt is a failed try"
    );
    // Only complete images under final names.
    let dir = home.path().join("data/listing_2_10/images");
    for e in std::fs::read_dir(&dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        if !name.starts_with('.') {
            let bytes = std::fs::read(e.path()).unwrap();
            assert!(dags::images::sniff_image(&bytes).is_some(), "{name}");
            assert_eq!(bytes.len(), 20 * 1024, "{name} is complete");
        }
    }
    let runs = cli(
        home.path(),
        &["--output", "json", "runs", "list", "listing_2_10"],
    );
    let runs = json(&runs);
    assert_eq!(runs[0]["state"], "success");
    let state = cli(
        home.path(),
        &[
            "tasks",
            "state",
            "listing_2_10",
            "--run",
            "manual__2024-01-01T00:00:00+00:00",
            "get_pictures",
        ],
    );
    assert_eq!(String::from_utf8_lossy(&state.stdout).trim(), "success");
}

#[tokio::test]
async fn clear_with_downstream_runs_those_tasks_again() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let param = format!("launches_url={}", server.launches_url());
    let args = [
        "--output",
        "json",
        "dags",
        "test",
        "listing_2_10",
        "2024-01-01",
        "-p",
        &param,
    ];
    let first = run_cli(home.path(), &args).await;
    assert!(first.status.success());
    let images_first = server.total_requests() - 1;
    let cleared = cli(
        home.path(),
        &[
            "tasks",
            "clear",
            "listing_2_10",
            "--run",
            "manual__2024-01-01T00:00:00+00:00",
            "get_pictures",
            "--downstream",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&cleared.stdout).trim(),
        "cleared: get_pictures, notify"
    );
    let again = run_cli(home.path(), &args).await;
    assert!(again.status.success());
    assert_eq!(
        server.requests(dags::mock::LAUNCHES_PATH),
        1,
        "download_launches kept"
    );
    assert_eq!(
        server.total_requests() - 1,
        2 * images_first,
        "pictures fetched again"
    );
}

#[tokio::test]
async fn export_writes_records_logs_and_data_in_one_archive() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let param = format!("launches_url={}", server.launches_url());
    let out = run_cli(
        home.path(),
        &["dags", "test", "listing_2_10", "2024-01-01", "-p", &param],
    )
    .await;
    assert!(out.status.success());
    let archive = home.path().join("exports/run.tar.gz");
    let out = cli(
        home.path(),
        &[
            "--output",
            "json",
            "export",
            "listing_2_10",
            "--out",
            archive.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&out)["runs"], 1);

    let file = std::fs::File::open(&archive).unwrap();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut names = Vec::new();
    let mut runs_json = String::new();
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        if name == "listing_2_10/runs.json" {
            std::io::Read::read_to_string(&mut entry, &mut runs_json).unwrap();
        }
        names.push(name);
    }
    let runs: Value = serde_json::from_str(&runs_json).unwrap();
    assert_eq!(runs[0]["run_id"], "manual__2024-01-01T00:00:00+00:00");
    assert_eq!(runs[0]["task_instances"].as_array().unwrap().len(), 3);
    let prefix = "listing_2_10/logs/run_id=manual__2024-01-01T00:00:00+00:00/";
    for task in ["download_launches", "get_pictures", "notify"] {
        assert!(
            names.contains(&format!("{prefix}task_id={task}/attempt=1.log")),
            "{names:?}"
        );
    }
    assert!(names.contains(&"listing_2_10/data/launches.json".to_owned()));
    assert!(
        names
            .iter()
            .filter(|n| n.starts_with("listing_2_10/data/images/"))
            .count()
            >= 5
    );
    // Nothing else left beside the archive.
    let left: Vec<_> = std::fs::read_dir(home.path().join("exports"))
        .unwrap()
        .collect();
    assert_eq!(left.len(), 1);

    let missing = cli(
        home.path(),
        &[
            "export",
            "listing_2_10",
            "--run",
            "nope",
            "--out",
            "x.tar.gz",
        ],
    );
    assert_eq!(missing.status.code(), Some(2));
}

#[tokio::test]
async fn a_mapped_run_records_each_picture_and_a_marked_element_is_not_fetched_again() {
    // The first launch's picture is gone (404): its instance fails at once (no retry).
    let page = dags::ll2::parse_page(dags::mock::BUNDLED_LAUNCHES_JSON.as_bytes()).unwrap();
    let first = page
        .results
        .iter()
        .find_map(|l| l.image_url.clone())
        .unwrap();
    let segment = first.rsplit('/').next().unwrap().to_owned();
    let missing = format!("/images/{segment}");
    let config = MockConfig::default().with_image_fault(&missing, dags::mock::Fault::Status(404));
    let server = MockServer::start(config).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let param = format!("launches_url={}", server.launches_url());
    let run = "manual__2024-01-01T00:00:00+00:00";
    let args = [
        "--output",
        "json",
        "dags",
        "test",
        "listing_2_10_mapped",
        "2024-01-01",
        "-p",
        &param,
    ];
    let out = run_cli(home.path(), &args).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "a picture failed: the run failed"
    );
    let report = json(&out);
    let get_picture = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task_id"] == "get_picture")
        .unwrap();
    let elements = get_picture["mapped"].as_array().unwrap();
    assert!(elements.len() >= 5, "{get_picture}");
    let failed: Vec<&Value> = elements.iter().filter(|e| e["state"] == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["map_index"], 0);
    assert_eq!(failed[0]["attempts"].as_array().unwrap().len(), 1);
    let notify = report["tasks"].as_array().unwrap().last().unwrap();
    assert_eq!(
        (notify["task_id"].as_str(), notify["state"].as_str()),
        (Some("notify_mapped"), Some("success")),
        "all_done: notify runs with the pictures that succeeded"
    );

    let state = cli(
        home.path(),
        &[
            "--output",
            "json",
            "tasks",
            "state",
            "listing_2_10_mapped",
            "--run",
            run,
            "get_picture",
        ],
    );
    let state = json(&state);
    assert_eq!(state["state"], "failed");
    let show = json(&cli(
        home.path(),
        &["--output", "json", "dags", "show", "listing_2_10_mapped"],
    ));
    let shown = show["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task_id"] == "get_picture")
        .unwrap();
    assert_eq!(shown["mapped_over"], serde_json::json!(["image_urls"]));
    assert_eq!(state["states"]["failed"], 1);
    assert_eq!(state["map_indexes"], elements.len());
    let one = cli(
        home.path(),
        &[
            "tasks",
            "state",
            "listing_2_10_mapped",
            "--run",
            run,
            "get_picture",
            "--map-index",
            "1",
        ],
    );
    assert_eq!(String::from_utf8_lossy(&one.stdout).trim(), "success");
    let log = cli(
        home.path(),
        &[
            "logs",
            "listing_2_10_mapped",
            "--run",
            run,
            "get_picture",
            "--map-index",
            "0",
        ],
    );
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(log.contains("404"), "{log}");
    // `--follow` on an attempt that has ended prints it and returns.
    let followed = cli(
        home.path(),
        &[
            "logs",
            "listing_2_10_mapped",
            "--run",
            run,
            "get_picture",
            "--map-index",
            "0",
            "-f",
        ],
    );
    assert!(followed.status.success());
    assert_eq!(String::from_utf8_lossy(&followed.stdout), log);

    // Accept the missing picture: mark that element success; the resumed run then succeeds
    // without fetching anything again.
    let marked = cli(
        home.path(),
        &[
            "tasks",
            "mark",
            "listing_2_10_mapped",
            "--run",
            run,
            "get_picture",
            "--map-index",
            "0",
            "--state",
            "success",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&marked.stdout).trim(),
        "marked success: get_picture[0]"
    );
    let images_before = server.total_requests();
    let again = run_cli(home.path(), &args).await;
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(
        server.total_requests(),
        images_before,
        "nothing fetched again"
    );
    assert_eq!(server.requests(&missing), 1);

    let marked = cli(
        home.path(),
        &[
            "runs",
            "mark",
            "listing_2_10_mapped",
            "--run",
            run,
            "--state",
            "failed",
        ],
    );
    assert!(marked.status.success());
    let runs = json(&cli(
        home.path(),
        &["--output", "json", "runs", "list", "listing_2_10_mapped"],
    ));
    assert_eq!(runs[0]["state"], "failed");
}

#[tokio::test]
async fn logs_follow_prints_a_running_attempt_until_it_ends() {
    // One slow picture keeps get_pictures running for a while.
    let page = dags::ll2::parse_page(dags::mock::BUNDLED_LAUNCHES_JSON.as_bytes()).unwrap();
    let first = page
        .results
        .iter()
        .find_map(|l| l.image_url.clone())
        .unwrap();
    let slow = format!("/images/{}", first.rsplit('/').next().unwrap());
    let config = MockConfig::default().with_image_fault(
        &slow,
        dags::mock::Fault::Delay(std::time::Duration::from_millis(1500)),
    );
    let server = MockServer::start(config).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let param = format!("launches_url={}", server.launches_url());
    let mut run = Command::new(env!("CARGO_BIN_EXE_rocket-dag"))
        .args(["dags", "test", "listing_2_10", "2024-01-01", "-p", &param])
        .env("ROCKET_DAG_HOME", home.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let log = home.path().join(
        "logs/dag_id=listing_2_10/run_id=manual__2024-01-01T00:00:00+00:00/task_id=get_pictures/attempt=1.log",
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !log.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "get_pictures never started"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let started = std::time::Instant::now();
    let followed = run_cli(
        home.path(),
        &[
            "logs",
            "listing_2_10",
            "--run",
            "manual__2024-01-01T00:00:00+00:00",
            "get_pictures",
            "--follow",
        ],
    )
    .await;
    let waited = started.elapsed();
    assert!(followed.status.success());
    let text = String::from_utf8_lossy(&followed.stdout);
    assert!(text.contains("starting attempt 1"), "{text}");
    assert!(
        text.contains("pictures done"),
        "followed to the end: {text}"
    );
    assert!(
        waited >= std::time::Duration::from_millis(500),
        "it waited for the attempt ({waited:?})"
    );
    assert!(
        tokio::task::spawn_blocking(move || run.wait().unwrap())
            .await
            .unwrap()
            .success()
    );
    assert_eq!(
        text,
        std::fs::read_to_string(&log).unwrap(),
        "nothing lost or repeated"
    );
}

#[test]
fn offline_runs_the_complete_pipeline_on_a_local_snapshot() {
    let home = tempfile::tempdir().unwrap();
    let out = cli(
        home.path(),
        &[
            "--offline",
            "--output",
            "json",
            "dags",
            "test",
            "rocket_launches",
            "2024-01-01",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&out)["state"], "success");
    let reports = home
        .path()
        .join("data/rocket_launches/reports/manual__2024-01-01T00:00:00+00:00");
    for f in ["launches.md", "downloads.md", "history.md"] {
        assert!(reports.join(f).is_file(), "{f}");
    }

    // The pictures of that run, each from one command.
    let dir = home.path().join("pictures");
    let file = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let ok = |args: &[&str]| {
        let out = cli(home.path(), args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    ok(&[
        "dags",
        "show",
        "rocket_launches",
        "--format",
        "svg",
        "--run",
        "latest",
        "--out",
        &file("graph.svg"),
    ]);
    let graph = read("graph.svg");
    assert!(graph.starts_with("<svg") && graph.ends_with("</svg>"));
    assert_eq!(graph.matches(r#"class="node task""#).count(), 5);
    assert_eq!(
        graph.matches(r#"data-state="success""#).count(),
        5,
        "{graph}"
    );
    // To stdout without --out.
    assert!(ok(&["dags", "show", "listing_2_10", "--format", "svg"]).contains("download_launches"));
    ok(&[
        "dags",
        "show",
        "rocket_launches",
        "--format",
        "drawio",
        "--out",
        &file("dag.drawio"),
    ]);
    let drawio = read("dag.drawio");
    assert!(
        drawio.contains("<mxfile") && drawio.contains("swimlane"),
        "{drawio}"
    );
    for t in [
        "fetch_launches",
        "fetch_images",
        "write_reports",
        "check_images",
        "archive_images",
    ] {
        assert!(drawio.contains(t), "{t}");
    }
    ok(&[
        "architecture",
        "rocket_launches",
        "--out",
        &file("architecture.drawio"),
    ]);
    let arch = read("architecture.drawio");
    for asset in [
        "Launch Library 2 API",
        "launches.json",
        "images/",
        // An HTML label (draw.io's `html=1`) in an XML attribute: escaped twice.
        "Launch &amp;amp; download reports",
    ] {
        assert!(arch.contains(asset), "{asset}: {arch}");
    }
    ok(&["architecture", "--out", &file("architecture.svg")]);
    assert!(read("architecture.svg").contains("rocket_history"));
    ok(&["gantt", "rocket_launches", "--out", &file("gantt.html")]);
    let gantt = read("gantt.html");
    assert!(gantt.contains("fetch_images") && gantt.contains("<svg"));
    ok(&[
        "gantt",
        "rocket_launches",
        "--run",
        "manual__2024-01-01T00:00:00+00:00",
        "--out",
        &file("gantt.svg"),
    ]);
    assert!(read("gantt.svg").starts_with("<svg"));
    ok(&[
        "durations",
        "rocket_launches",
        "--last",
        "5",
        "--out",
        &file("durations.html"),
    ]);
    assert!(read("durations.html").contains("write_reports"));
    ok(&["report", "rocket_launches", "--out", &file("report.html")]);
    let report = read("report.html");
    for section in [
        "statement",
        "code",
        "graph",
        "lanes",
        "architecture",
        "gantt",
        "logs",
        "results",
    ] {
        assert!(
            report.contains(&format!(r#"<section id="{section}""#)),
            "{section}"
        );
    }
    assert!(report.contains("Task statement"));
    // The source as written, comments included.
    assert!(report.contains("pub async fn fetch_images("));

    // Mistakes are usage errors that say what to do.
    let out = cli(
        home.path(),
        &["gantt", "rocket_launches", "--out", &file("gantt.png")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(".svg or .html"));
    let out = cli(
        home.path(),
        &["gantt", "listing_2_10", "--out", &file("g.svg")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has no run"));
    let out = cli(
        home.path(),
        &[
            "dags",
            "show",
            "listing_2_10",
            "--format",
            "dot",
            "--run",
            "x",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    // --pdf without a browser: the HTML is written, the PDF says what is missing.
    let out = Command::new(env!("CARGO_BIN_EXE_rocket-dag"))
        .args([
            "report",
            "rocket_launches",
            "--out",
            &file("r2.html"),
            "--pdf",
            &file("r2.pdf"),
        ])
        .env("ROCKET_DAG_HOME", home.path())
        .env("ROCKET_DAG_CHROMIUM", home.path().join("no-such-browser"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(dir.join("r2.html").is_file());
    assert!(!dir.join("r2.pdf").exists());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("chromium"),
        "{out:?}"
    );
}

#[tokio::test]
async fn rocket_sources_sends_the_ll2_key_to_ll2_and_never_to_the_spacex_host() {
    // LL2 on one server (the key's origin, as `ROCKET_LAUNCHES_URL` says), SpaceX on another.
    let ll2 = MockServer::start(MockConfig::default()).await.unwrap();
    let spacex = MockServer::start(MockConfig::default()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let (home_path, ll2_url) = (home.path().to_owned(), ll2.launches_url());
    let param = format!("spacex_url={}", spacex.spacex_url());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_rocket-dag"))
            .args([
                "--output",
                "json",
                "dags",
                "test",
                "rocket_sources",
                "2026-03-05",
                "-p",
                &param,
            ])
            .env("ROCKET_DAG_HOME", &home_path)
            .env("NO_COLOR", "1")
            .env("ROCKET_LL2_API_KEY", "s3cret-key")
            .env("ROCKET_LAUNCHES_URL", &ll2_url)
            .output()
            .expect("the binary runs")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&out)["state"], "success");
    assert!(
        ll2.authorizations()
            .contains(&Some("Token s3cret-key".to_owned())),
        "{:?}",
        ll2.authorizations()
    );
    let to_spacex = spacex.authorizations();
    assert!(!to_spacex.is_empty(), "SpaceX was asked");
    assert!(to_spacex.iter().all(Option::is_none), "{to_spacex:?}");
    let sources: Value = serde_json::from_slice(
        &std::fs::read(dags::rocket_sources::sources_path(home.path())).unwrap(),
    )
    .unwrap();
    assert_eq!(sources["launches"], 12);
}

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
    let h = home.path().to_owned();
    let p = param.clone();
    let out = tokio::task::spawn_blocking(move || {
        cli(
            &h,
            &[
                "--output",
                "json",
                "dags",
                "test",
                "listing_2_10",
                "2024-01-01",
                "-p",
                &p,
            ],
        )
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    assert_eq!(report["state"], "success");
    assert_eq!(report["run_id"], "manual__2024-01-01T00:00:00+00:00");
    assert_eq!(report["tasks"][0]["attempts"][0]["try_number"], 1);

    let h = home.path().to_owned();
    let logs = tokio::task::spawn_blocking(move || {
        cli(
            &h,
            &[
                "logs",
                "listing_2_10",
                "--run",
                "manual__2024-01-01T00:00:00+00:00",
                "download_launches",
            ],
        )
    })
    .await
    .unwrap();
    assert!(logs.status.success());
    assert!(String::from_utf8_lossy(&logs.stdout).contains("stored the launches"));

    let h = home.path().to_owned();
    let one = tokio::task::spawn_blocking(move || {
        cli(
            &h,
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
    })
    .await
    .unwrap();
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    let r = json(&one);
    assert_eq!(r["state"], "success");
    assert_eq!(r["output"].as_array().unwrap().len(), 10);

    // A failing run exits 1.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("launches_url=http://{}/x", dead.local_addr().unwrap());
    drop(dead);
    let h = home.path().to_owned();
    let failed = tokio::task::spawn_blocking(move || {
        cli(
            &h,
            &[
                "tasks",
                "test",
                "listing_2_10",
                "download_launches",
                "-p",
                &url,
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(failed.status.code(), Some(1));
}

//! `tasks run` as Airflow's workers call it, without Airflow: each try a process of its own,
//! the history the only thing they share, mapped elements run at once.

use std::process::{Command, Output};

use dags::mock::{Fault, MockConfig, MockServer};
use rocket_dag::store::{RunStateRecord, Store, TaskInstanceRecord};

const RUN: &str = "manual__2024-01-01T00:00:00+00:00";
const DATE: &str = "2024-01-01T00:00:00+00:00";

/// One `tasks run` try, as the generated Airflow task runs it.
fn try_task(
    home: &std::path::Path,
    server: &MockServer,
    dag: &str,
    task: &str,
    try_number: u32,
    map_index: Option<u32>,
) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rocket-dag"));
    cmd.args([
        "tasks",
        "run",
        dag,
        task,
        "--run-id",
        RUN,
        "--logical-date",
        DATE,
    ])
    .args(["--try", &try_number.to_string(), "--conf", "{}"])
    .env("ROCKET_DAG_HOME", home)
    .env("ROCKET_LAUNCHES_URL", server.launches_url())
    .env("NO_COLOR", "1");
    if let Some(i) = map_index {
        cmd.args(["--map-index", &i.to_string()]);
    }
    cmd.output().expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn tries(home: &std::path::Path, dag: &str) -> Vec<TaskInstanceRecord> {
    let store = Store::open_home(home).await.unwrap();
    let tis = store.task_instances(dag, RUN).await.unwrap();
    store.close().await;
    tis
}

async fn run_state(home: &std::path::Path, dag: &str) -> RunStateRecord {
    let store = Store::open_home(home).await.unwrap();
    let run = store
        .get_run(dag, RUN)
        .await
        .unwrap()
        .expect("the run is recorded");
    store.close().await;
    run.state
}

/// The latest try of each instance as `task[i]=state#try`.
fn latest(tis: &[TaskInstanceRecord]) -> Vec<String> {
    let mut by: std::collections::BTreeMap<(String, i32), &TaskInstanceRecord> = Default::default();
    for t in tis {
        let e = by.entry((t.task_id.clone(), t.map_index)).or_insert(t);
        if t.try_number > e.try_number {
            *e = t;
        }
    }
    by.values()
        .map(|t| format!("{}={}#{}", t.label(), t.state.as_str(), t.try_number))
        .collect()
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_mapped_run_spread_over_processes_agrees_with_itself() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_owned();
    let dag = "listing_2_10_mapped";

    let (h2, s) = (h.clone(), server.launches_url());
    let out = blocking(move || {
        let server_url = s;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rocket-dag"));
        cmd.args(["tasks", "run", dag, "download_launches", "--run-id", RUN])
            .args(["--logical-date", DATE, "--try", "1"])
            .env("ROCKET_DAG_HOME", &h2)
            .env("ROCKET_LAUNCHES_URL", server_url)
            .env("NO_COLOR", "1");
        cmd.output().unwrap()
    })
    .await;
    assert!(
        out.status.success(),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    // Its log is on stdout, for Airflow's log view; it publishes nothing (nobody maps over it).
    let text = stdout(&out);
    assert!(text.contains("stored the launches"), "{text}");
    assert!(!text.trim_end().ends_with(']'), "{text}");

    let out = try_task(&h, &server, dag, "image_urls", 1, None);
    assert!(out.status.success(), "{}", stdout(&out));
    let text = stdout(&out);
    let last = text.lines().last().unwrap();
    let indexes: Vec<usize> = serde_json::from_str(last).expect("the last line is the indexes");
    let n = indexes.len();
    assert!(n >= 2, "{text}");
    assert_eq!(indexes, (0..n).collect::<Vec<_>>());

    // Every element in a process of its own, all at once on one SQLite file.
    let mut children = Vec::new();
    for i in 0..n {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rocket-dag"));
        cmd.args(["tasks", "run", dag, "get_picture", "--run-id", RUN])
            .args([
                "--logical-date",
                DATE,
                "--try",
                "1",
                "--map-index",
                &i.to_string(),
            ])
            .env("ROCKET_DAG_HOME", &h)
            .env("ROCKET_LAUNCHES_URL", server.launches_url())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        children.push(cmd.spawn().unwrap());
    }
    let outs = blocking(move || {
        children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect::<Vec<_>>()
    })
    .await;
    for (i, out) in outs.iter().enumerate() {
        assert!(
            out.status.success(),
            "element {i}: {}{}",
            stdout(out),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(run_state(&h, dag).await, RunStateRecord::Running);

    let out = try_task(&h, &server, dag, "notify_mapped", 1, None);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains(&format!("There are now {n} images.")),
        "{}",
        stdout(&out)
    );

    let tis = tries(&h, dag).await;
    let mut want = vec![
        "download_launches=success#1".to_owned(),
        "image_urls=success#1".to_owned(),
        "notify_mapped=success#1".to_owned(),
    ];
    want.extend((0..n).map(|i| format!("get_picture[{i}]=success#1")));
    want.sort();
    let mut got = latest(&tis);
    got.sort();
    assert_eq!(got, want);
    assert_eq!(tis.len(), n + 3, "one row per try, no more");
    assert_eq!(run_state(&h, dag).await, RunStateRecord::Success);
    // Each try's log is also in the usual layout.
    let log = h.join(format!(
        "logs/dag_id={dag}/run_id={RUN}/task_id=get_picture/map_index=0/attempt=1.log"
    ));
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("get_picture")
    );

    // The run is Airflow's: rocket-dag does not execute it itself.
    let (h2, s) = (h.clone(), server.launches_url());
    let out = blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_rocket-dag"))
            .args(["dags", "test", dag, DATE])
            .env("ROCKET_DAG_HOME", &h2)
            .env("ROCKET_LAUNCHES_URL", s)
            .output()
            .unwrap()
    })
    .await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("scheduled by airflow")
            || stdout(&out).contains("scheduled by airflow"),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    // Nor clears it: a rocket-dag scheduler would then run it. Airflow clears it.
    let out = Command::new(env!("CARGO_BIN_EXE_rocket-dag"))
        .args(["tasks", "clear", dag, "--run", RUN, "notify_mapped"])
        .env("ROCKET_DAG_HOME", &h)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("clear it there"));
    assert_eq!(run_state(&h, dag).await, RunStateRecord::Success);
}

#[tokio::test(flavor = "multi_thread")]
async fn tries_and_retries_are_airflow_s() {
    let config = MockConfig::default().with_launch_faults([Fault::Status(503), Fault::Status(503)]);
    let server = MockServer::start(config).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_owned();
    let dag = "listing_2_10";
    let mut codes = Vec::new();
    for n in 1..=3 {
        let (h, url) = (h.clone(), server.launches_url());
        let out = blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_rocket-dag"))
                .args(["tasks", "run", dag, "download_launches", "--run-id", RUN])
                .args(["--logical-date", DATE, "--try", &n.to_string()])
                .env("ROCKET_DAG_HOME", &h)
                .env("ROCKET_LAUNCHES_URL", url)
                .output()
                .unwrap()
        })
        .await;
        codes.push(out.status.code());
    }
    // 1: failed, retry left; 0: success.
    assert_eq!(codes, [Some(1), Some(1), Some(0)]);
    let tis = tries(&h, dag).await;
    let states: Vec<(u32, &str)> = tis
        .iter()
        .filter(|t| t.task_id == "download_launches")
        .map(|t| (t.try_number, t.state.as_str()))
        .collect();
    assert_eq!(
        states,
        [(1, "up_for_retry"), (2, "up_for_retry"), (3, "success")]
    );
    assert!(
        tis[0].error.as_deref().unwrap().contains("503"),
        "{:?}",
        tis[0].error
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_for_good_decides_the_downstream_tasks() {
    let config = MockConfig::default().with_launch_faults([Fault::MalformedJson]);
    let server = MockServer::start(config).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_owned();
    let url = server.launches_url();
    let out = blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_rocket-dag"))
            .args([
                "tasks",
                "run",
                "listing_2_10",
                "download_launches",
                "--run-id",
                RUN,
            ])
            .args(["--logical-date", DATE, "--try", "1"])
            .env("ROCKET_DAG_HOME", &h)
            .env("ROCKET_LAUNCHES_URL", url)
            .output()
            .unwrap()
    })
    .await;
    // Malformed JSON is not retried: Airflow is told so (AirflowFailException).
    assert_eq!(out.status.code(), Some(98), "{}", stdout(&out));
    let h = home.path();
    let mut got = latest(&tries(h, "listing_2_10").await);
    got.sort();
    assert_eq!(
        got,
        [
            "download_launches=failed#1",
            "get_pictures=upstream_failed#0",
            "notify=upstream_failed#0"
        ]
    );
    assert_eq!(run_state(h, "listing_2_10").await, RunStateRecord::Failed);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_list_skips_the_mapped_task_and_what_needs_it() {
    let empty = r#"{"count": 0, "next": null, "previous": null, "results": []}"#;
    let server = MockServer::start(MockConfig::default().with_launches_json(empty))
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_owned();
    let dag = "listing_2_10_mapped";
    for task in ["download_launches", "image_urls"] {
        let out = try_task(&h, &server, dag, task, 1, None);
        assert!(out.status.success(), "{task}: {}", stdout(&out));
    }
    // Airflow expands get_picture over `[]` (skipped, no worker called) and calls
    // notify_mapped (all_done), which skips: its input was skipped.
    let out = try_task(&h, &server, dag, "notify_mapped", 1, None);
    assert_eq!(out.status.code(), Some(99), "{}", stdout(&out));
    let mut got = latest(&tries(&h, dag).await);
    got.sort();
    assert_eq!(
        got,
        [
            "download_launches=success#1",
            "get_picture=skipped#0",
            "image_urls=success#1",
            "notify_mapped=skipped#1"
        ]
    );
    assert_eq!(run_state(&h, dag).await, RunStateRecord::Success);
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_name_what_is_wrong() {
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_owned();
    // An input nobody recorded: the history is not shared, or the order is wrong.
    let out = try_task(&h, &server, "listing_2_10", "notify", 1, None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("every worker must share one history"), "{err}");
    // A map index on a task that is not mapped, none on one that is.
    let out = try_task(&h, &server, "listing_2_10", "download_launches", 1, Some(0));
    assert_eq!(out.status.code(), Some(2));
    let out = try_task(&h, &server, "listing_2_10_mapped", "get_picture", 1, None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("map index"));
    // Ids are checked before anything is recorded.
    let out = Command::new(env!("CARGO_BIN_EXE_rocket-dag"))
        .args(["tasks", "run", "listing_2_10", "notify", "--run-id", "../x"])
        .args(["--logical-date", DATE])
        .env("ROCKET_DAG_HOME", &h)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_try_number_given_again_is_the_next_try_and_the_last_fails_for_good() {
    // `airflow dags test` gives every try the number 1: each is recorded as the next try, and
    // the one past the tries allowed tells Airflow to stop (98), whatever it counted.
    let config = MockConfig::default().with_launch_faults(vec![Fault::Status(503); 3]);
    let server = MockServer::start(config).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_owned();
    let mut codes = Vec::new();
    for _ in 0..2 {
        let (h, url) = (h.clone(), server.launches_url());
        let out = blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_rocket-dag"))
                .args([
                    "tasks",
                    "run",
                    "listing_2_10",
                    "download_launches",
                    "--run-id",
                    RUN,
                ])
                .args(["--logical-date", DATE, "--try", "1", "--max-tries", "2"])
                .env("ROCKET_DAG_HOME", &h)
                .env("ROCKET_LAUNCHES_URL", url)
                .output()
                .unwrap()
        })
        .await;
        codes.push(out.status.code());
    }
    assert_eq!(codes, [Some(1), Some(98)]);
    let states: Vec<(u32, String)> = tries(&h, "listing_2_10")
        .await
        .into_iter()
        .filter(|t| t.task_id == "download_launches")
        .map(|t| (t.try_number, t.state.as_str().to_owned()))
        .collect();
    assert_eq!(
        states,
        [(1, "up_for_retry".to_owned()), (2, "failed".to_owned())]
    );
    assert_eq!(run_state(&h, "listing_2_10").await, RunStateRecord::Failed);
}

//! The Rocket DAGs exported and run by Apache Airflow 2.8.1 (`airflow dags test`, and its
//! scheduler with the LocalExecutor), each try a `tasks run` process: Airflow's states and
//! tries must equal the rocket-dag history's, faults included.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use dags::mock::{Fault, MockConfig, MockServer};

use super::engine::{Airflow, history, text};

/// `airflow dags test DAG DATE` with the workers pointed at `server` and the history at
/// `home`.
fn dags_test(airflow: &Airflow, dag: &str, date: &str, home: &Path, server: &MockServer) -> Output {
    airflow
        .cmd(&["dags", "test", dag, date])
        .env("ROCKET_DAG_HOME", home)
        .env("ROCKET_LAUNCHES_URL", server.launches_url())
        .output()
        .unwrap()
}

/// `airflow dags test` runs every try of a task as try 1 and keeps no count in its metadata
/// (Airflow 2.8.1): its states are compared, and the tries are counted in its log.
fn without_tries(
    run: (Option<String>, BTreeMap<String, String>),
) -> (Option<String>, BTreeMap<String, String>) {
    let tis = run
        .1
        .into_iter()
        .map(|(k, v)| (k, v.split('#').next().unwrap_or("").to_owned()))
        .collect();
    (run.0, tis)
}

fn states(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_rocket_dags_run_on_airflow_as_they_run_here() {
    let Some(airflow) = Airflow::new("the_rocket_dags_run_on_airflow_as_they_run_here") else {
        return;
    };
    let server = MockServer::start(MockConfig::default()).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let dags = ["listing_2_10", "listing_2_10_mapped", "rocket_launches"];
    airflow.export(&dags);
    airflow.migrate();
    let errors = airflow.ok(&["dags", "list-import-errors", "-o", "json"]);
    // Airflow logs its plugins on stdout first: the document is the last line.
    let listed = text(&errors.stdout);
    assert_eq!(
        listed.lines().last(),
        Some("[]"),
        "{listed}{}",
        text(&errors.stderr)
    );

    let run_id = "manual__2024-01-01T00:00:00+00:00";
    for dag in dags {
        let (h, a) = (home.path().to_owned(), &airflow);
        let out = tokio::task::block_in_place(|| dags_test(a, dag, "2024-01-01", &h, &server));
        let log = format!("{}{}", text(&out.stdout), text(&out.stderr));
        let theirs = without_tries(airflow.run(dag, run_id));
        let ours = history(home.path(), None, dag, run_id).await;
        assert_eq!(theirs.0.as_deref(), Some("success"), "{dag}: {log}");
        assert_eq!(
            theirs,
            without_tries(ours.clone()),
            "{dag}: Airflow's states, then rocket-dag's"
        );
        assert!(ours.1.values().all(|s| s == "success#1"), "{dag}: {ours:?}");
        match dag {
            "listing_2_10" => {
                // The task's own log lines are in Airflow's log of the task.
                assert!(log.contains("pictures done"), "{log}");
                assert!(log.contains("There are now"), "{log}");
            }
            "listing_2_10_mapped" => {
                let mapped = theirs
                    .1
                    .keys()
                    .filter(|k| k.starts_with("get_picture["))
                    .count();
                assert!(mapped >= 2, "{:?}", theirs.1);
            }
            _ => {}
        }
    }
    let images = home.path().join("data/listing_2_10/images");
    assert!(std::fs::read_dir(&images).unwrap().count() >= 2);
    let reports = home
        .path()
        .join("data/rocket_launches/reports")
        .join(run_id);
    assert!(std::fs::read_dir(&reports).unwrap().count() >= 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_failures_and_skips_are_airflow_s_and_recorded_alike() {
    let Some(airflow) = Airflow::new("retries_failures_and_skips_are_airflow_s_and_recorded_alike")
    else {
        return;
    };
    airflow.export(&["listing_2_10", "listing_2_10_mapped"]);
    airflow.migrate();

    // The API answers 503 twice: Airflow runs download_launches three times. (`dags test`
    // retries at once and numbers every try 1; the scheduler test below checks the backoff
    // and Airflow's own try numbers.)
    let flaky = MockConfig::default().with_launch_faults([Fault::Status(503), Fault::Status(503)]);
    let server = MockServer::start(flaky).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let run_id = "manual__2024-01-02T00:00:00+00:00";
    let out = tokio::task::block_in_place(|| {
        dags_test(&airflow, "listing_2_10", "2024-01-02", home.path(), &server)
    });
    let log = format!("{}{}", text(&out.stdout), text(&out.stderr));
    let want = states(&[
        ("download_launches", "success#3"),
        ("get_pictures", "success#1"),
        ("notify", "success#1"),
    ]);
    let ours = history(home.path(), None, "listing_2_10", run_id).await;
    assert_eq!(ours, (Some("success".into()), want), "{log}");
    assert_eq!(
        without_tries(airflow.run("listing_2_10", run_id)),
        without_tries(ours)
    );
    let store = rocket_dag::store::Store::open_home(home.path())
        .await
        .unwrap();
    let tries: Vec<(u32, String)> = store
        .task_instances("listing_2_10", run_id)
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.task_id == "download_launches")
        .map(|t| (t.try_number, t.state.as_str().to_owned()))
        .collect();
    store.close().await;
    let tries: Vec<(u32, &str)> = tries.iter().map(|(n, s)| (*n, s.as_str())).collect();
    assert_eq!(
        tries,
        [(1, "up_for_retry"), (2, "up_for_retry"), (3, "success")]
    );
    // Airflow ran the task three times: its log shows each try's own lines.
    let started = log
        .lines()
        .filter(|l| l.contains("[download_launches] starting attempt"))
        .count();
    assert!(started >= 3, "{log}");
    assert_eq!(server.requests("/2.0.0/launch/upcoming/"), 3);

    // A malformed document fails download_launches for good (no retry): what follows is
    // upstream_failed in Airflow, and here.
    let broken = MockConfig::default().with_launch_faults([Fault::MalformedJson]);
    let server = MockServer::start(broken).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let run_id = "manual__2024-01-03T00:00:00+00:00";
    tokio::task::block_in_place(|| {
        dags_test(&airflow, "listing_2_10", "2024-01-03", home.path(), &server)
    });
    let ours = history(home.path(), None, "listing_2_10", run_id).await;
    assert_eq!(
        ours,
        (
            Some("failed".into()),
            states(&[
                ("download_launches", "failed#1"),
                ("get_pictures", "upstream_failed#0"),
                ("notify", "upstream_failed#0"),
            ])
        )
    );
    assert_eq!(
        without_tries(airflow.run("listing_2_10", run_id)),
        without_tries(ours)
    );
    assert_eq!(server.requests("/2.0.0/launch/upcoming/"), 1, "no retry");

    // No launches: Airflow expands get_picture over nothing (skipped), and notify_mapped
    // (all_done) skips itself: its input was skipped. Skipped in both.
    let empty = r#"{"count": 0, "next": null, "previous": null, "results": []}"#;
    let server = MockServer::start(MockConfig::default().with_launches_json(empty))
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let run_id = "manual__2024-01-04T00:00:00+00:00";
    tokio::task::block_in_place(|| {
        dags_test(
            &airflow,
            "listing_2_10_mapped",
            "2024-01-04",
            home.path(),
            &server,
        )
    });
    let ours = history(home.path(), None, "listing_2_10_mapped", run_id).await;
    assert_eq!(
        ours,
        (
            Some("success".into()),
            states(&[
                ("download_launches", "success#1"),
                ("image_urls", "success#1"),
                ("get_picture", "skipped#0"),
                ("notify_mapped", "skipped#1"),
            ])
        )
    );
    assert_eq!(
        without_tries(airflow.run("listing_2_10_mapped", run_id)),
        without_tries(ours)
    );
}

/// Both PostgreSQL databases of the scheduler test: Airflow's metadata, and the rocket-dag
/// history; `None` (skipped) when they are not given and not required.
fn postgres_urls() -> Option<(String, String)> {
    match (
        std::env::var("ROCKET_DAG_TEST_AIRFLOW_DB"),
        std::env::var("ROCKET_DAG_TEST_POSTGRES_URL"),
    ) {
        (Ok(a), Ok(h)) => Some((a, h)),
        _ => {
            assert!(
                std::env::var("ROCKET_DAG_REQUIRE_AIRFLOW").as_deref() != Ok("1"),
                "the scheduler test needs ROCKET_DAG_TEST_AIRFLOW_DB and \
                 ROCKET_DAG_TEST_POSTGRES_URL (.ci/run sets both)"
            );
            eprintln!("the scheduler test is skipped: no PostgreSQL databases given");
            None
        }
    }
}

/// Stops a process group (the scheduler and the LocalExecutor's workers) when dropped.
struct Group(std::process::Child);

impl Drop for Group {
    fn drop(&mut self) {
        use nix::sys::signal::{Signal, killpg};
        use nix::unistd::Pid;
        let pgid = Pid::from_raw(self.0.id() as i32);
        let _ = killpg(pgid, Signal::SIGTERM);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        let _ = killpg(pgid, Signal::SIGKILL);
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_run_spread_over_local_executor_workers_with_the_history_on_postgresql() {
    let name = "one_run_spread_over_local_executor_workers_with_the_history_on_postgresql";
    let Some(mut airflow) = Airflow::new(name) else {
        return;
    };
    let Some((airflow_db, history_url)) = postgres_urls() else {
        return;
    };
    // The API answers 503 twice: Airflow's scheduler retries download_launches with the
    // backoff the task declares, and counts its tries itself.
    let flaky = MockConfig::default().with_launch_faults([Fault::Status(503), Fault::Status(503)]);
    let server = MockServer::start(flaky).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let dag = "listing_2_10_mapped";
    airflow
        .set("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", airflow_db)
        .set("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")
        .set("AIRFLOW__CORE__PARALLELISM", "8")
        // Only the run this test triggers: no scheduled run for the DAG's latest interval.
        .set("AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE", "False")
        .set("AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC", "1")
        .set("AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL", "5")
        .set("AIRFLOW__SCHEDULER__PARSING_PROCESSES", "1")
        .set("ROCKET_DAG_DATABASE_URL", history_url.clone())
        .set("ROCKET_DAG_HOME", home.path().display().to_string())
        .set("ROCKET_LAUNCHES_URL", server.launches_url());
    airflow.export(&[dag]);
    airflow.migrate();
    airflow.ok(&["dags", "reserialize"]);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let run_id = format!("manual__ci_{}_{nanos}", std::process::id());
    airflow.ok(&["dags", "trigger", dag, "-r", &run_id]);
    airflow.ok(&["dags", "unpause", dag]);

    let log = std::fs::File::create(airflow.home().join("scheduler.out")).unwrap();
    let scheduler = {
        use std::os::unix::process::CommandExt;
        let mut cmd = airflow.cmd(&["scheduler"]);
        cmd.stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0);
        Group(cmd.spawn().unwrap())
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    let theirs = loop {
        let now = tokio::task::block_in_place(|| airflow.run(dag, &run_id));
        if matches!(now.0.as_deref(), Some("success" | "failed")) {
            break now;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run did not end in 5 minutes: {now:?}\n{}",
            std::fs::read_to_string(airflow.home().join("scheduler.out")).unwrap_or_default()
        );
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    };
    drop(scheduler);

    assert_eq!(theirs.0.as_deref(), Some("success"), "{theirs:?}");
    assert_eq!(theirs.1["download_launches"], "success#3", "{theirs:?}");
    assert!(
        theirs
            .1
            .iter()
            .all(|(k, s)| k == "download_launches" || s == "success#1"),
        "{theirs:?}"
    );
    let mapped = theirs
        .1
        .keys()
        .filter(|k| k.starts_with("get_picture["))
        .count();
    assert!(mapped >= 2, "{theirs:?}");
    let ours = history(home.path(), Some(&history_url), dag, &run_id).await;
    assert_eq!(theirs, ours, "Airflow's states, then rocket-dag's");

    // Every try ran in a process of its own, and read what the others wrote.
    let store = rocket_dag::store::Store::open(&history_url).await.unwrap();
    let tries = store.task_instances(dag, &run_id).await.unwrap();
    store.close().await;
    let pids: std::collections::BTreeSet<u32> = tries.iter().filter_map(|t| t.pid).collect();
    assert_eq!(pids.len(), tries.len(), "{tries:?}");
    // Airflow's exponential backoff from 2 s: at least 2 s before try 2, 4 s before try 3.
    let retried: Vec<_> = tries
        .iter()
        .filter(|t| t.task_id == "download_launches")
        .collect();
    let gap = |a: usize| (retried[a + 1].start - retried[a].end.unwrap()).num_milliseconds();
    assert!(
        gap(0) >= 2000 && gap(1) >= 4000,
        "{} ms, {} ms",
        gap(0),
        gap(1)
    );
    let images = home.path().join(format!("data/{dag}/images"));
    assert_eq!(std::fs::read_dir(&images).unwrap().count(), mapped);
    // Airflow's log of one mapped instance holds the task's own lines.
    let task_log = airflow.home().join(format!(
        "logs/dag_id={dag}/run_id={run_id}/task_id=get_picture/map_index=0/attempt=1.log"
    ));
    let task_log = std::fs::read_to_string(&task_log).unwrap();
    assert!(
        task_log.contains("[get_picture[0]] starting attempt 1"),
        "{task_log}"
    );
}

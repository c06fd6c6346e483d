//! What `tasks run` adds per task instance when Airflow runs a DAG: the process starting, the
//! history opened, the try recorded as running, its upstream outputs read, its state and output
//! written, the run settled. Measured on `image_urls` of `listing_2_10_mapped`, a task that does
//! next to nothing (it lists the distinct image URLs of the launches): each iteration its first
//! try in a run of its own, in a process of its own, as Airflow's BashOperator starts it.
//!
//! `process_start` is the floor: the same binary printing its version.
//!
//! Airflow 2.8.1 on this machine, for comparison (`cargo bench -p dags --bench airflow`):
//! `airflow tasks run` of an EmptyOperator takes seconds per task instance.
//!
//! `cargo bench -p dags --bench worker`; with `ROCKET_DAG_TEST_POSTGRES_URL` set, also with the
//! history on that PostgreSQL server.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use dags::mock::{MockConfig, MockServer};

const BIN: &str = env!("CARGO_BIN_EXE_rocket-dag");
const DAG: &str = "listing_2_10_mapped";
const DATE: &str = "2024-01-01T00:00:00+00:00";

fn tasks_run(envs: &[(&str, String)], run_id: &str, task: &str, try_number: u32) {
    let status = Command::new(BIN)
        .args([
            "tasks",
            "run",
            DAG,
            task,
            "--run-id",
            run_id,
            "--logical-date",
            DATE,
        ])
        .args(["--try", &try_number.to_string(), "--conf", "{}"])
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "tasks run {task} try {try_number} failed");
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(async { MockServer::start(MockConfig::default()).await.unwrap() });
    let home = tempfile::tempdir().unwrap();
    let mut histories = vec![("sqlite", None)];
    if let Ok(url) = std::env::var("ROCKET_DAG_TEST_POSTGRES_URL") {
        histories.push(("postgres", Some(url)));
    }
    let mut group = c.benchmark_group("tasks_run");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    group.bench_function("process_start", |b| {
        b.iter(|| {
            let status = Command::new(BIN)
                .arg("--version")
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success());
        })
    });
    let nonce = std::process::id();
    for (name, url) in histories {
        let mut envs = vec![
            ("ROCKET_DAG_HOME", home.path().display().to_string()),
            ("ROCKET_LAUNCHES_URL", server.launches_url()),
            ("NO_COLOR", "1".to_owned()),
        ];
        if let Some(url) = url {
            envs.push(("ROCKET_DAG_DATABASE_URL", url));
        }
        // Each iteration a run of its own, as Airflow's runs are: its first task untimed, then
        // the no-op task's first try timed (a task instance's cost with a realistic history;
        // try after try of one instance would measure a history no run has).
        let runs = AtomicU32::new(0);
        group.bench_function(format!("noop_task_{name}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let n = runs.fetch_add(1, Ordering::Relaxed);
                    let run_id = format!("manual__bench-{name}-{nonce}-{n}");
                    tasks_run(&envs, &run_id, "download_launches", 1);
                    let start = Instant::now();
                    tasks_run(&envs, &run_id, "image_urls", 1);
                    total += start.elapsed();
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

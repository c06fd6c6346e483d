//! The Rocket DAG end to end against a local server: 100 launches, 100 distinct 200 KiB images,
//! 20 ms latency on every request. The book's sequential Python loop takes about 2.8 s for this
//! (100 × (20 ms + transfer)); rocket-dag downloads concurrently (16 at a time by default), so
//! the latency floor is about 20 ms for the launches plus ceil(100 / 16) × 20 ms = 140 ms for the
//! images, plus the transfer and writing 20 MB to disk.
//!
//! The same with `listing_2_10_mapped` (one task instance per image), and with
//! `listing_2_10_bash` (the book's operators: `curl` and `ls | wc -l` as shell tasks).
//!
//! `trigger_to_success`: the book DAG from `dags trigger` (the CLI command, in process) to the
//! run recorded `success` by a running scheduler, with the run history and the attempt logs on
//! disk, against a local server without added latency (the bundled launches, 20 KiB images):
//! the scheduling path, not the network. Airflow 2.8.1 here: about 14 s.
//!
//! `cargo bench --bench rocket`

use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use dags::listing_2_10::listing_2_10;
use dags::mock::{MockConfig, MockServer};
use rocket_dag::prelude::*;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

const LAUNCHES: usize = 100;

fn bench(c: &mut Criterion) {
    tracing_subscriber::registry()
        .with(rocket_dag::logging::attempt_log_layer())
        .init();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(async {
        MockServer::start(
            MockConfig::default()
                .with_launches_json(dags::mock::repeated_launches(LAUNCHES))
                .with_image_bytes(200 * 1024)
                .with_latency(Duration::from_millis(20)),
        )
        .await
        .unwrap()
    });
    let dag = listing_2_10();
    let date = rocket_dag::cli::parse_date("2024-01-01").unwrap();
    let mut group = c.benchmark_group("listing_2_10");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("100_launches_200KiB_20ms", |b| {
        b.iter_batched(
            // A fresh home each time, so every image is downloaded again.
            || tempfile::tempdir().unwrap(),
            |home| {
                let req = RunRequest::new(date).param("launches_url", server.launches_url());
                let r = rt.block_on(Runner::new(home.path()).run(&dag, req));
                assert_eq!(r.state, RunState::Success);
                assert_eq!(r.task("notify").unwrap().output::<usize>(), Some(LAUNCHES));
                home
            },
            BatchSize::PerIteration,
        )
    });
    // The book's operators: `curl` and `ls | wc -l` as shell tasks around the async downloads.
    let bash = dags::listing_2_10_bash::listing_2_10_bash();
    group.bench_function("bash_100_launches_200KiB_20ms", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |home| {
                let req = RunRequest::new(date).param("launches_url", server.launches_url());
                let r = rt.block_on(Runner::new(home.path()).run(&bash, req));
                assert_eq!(r.state, RunState::Success);
                assert_eq!(
                    r.task("notify").unwrap().output::<String>().as_deref(),
                    Some(format!("There are now {LAUNCHES} images.").as_str())
                );
                home
            },
            BatchSize::PerIteration,
        )
    });
    let mapped = dags::listing_2_10_mapped::listing_2_10_mapped();
    group.bench_function("mapped_100_launches_200KiB_20ms", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |home| {
                let req = RunRequest::new(date).param("launches_url", server.launches_url());
                let r = rt.block_on(Runner::new(home.path()).run(&mapped, req));
                assert_eq!(r.state, RunState::Success);
                assert_eq!(r.task("get_picture").unwrap().mapped.len(), LAUNCHES);
                home
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
    trigger_to_success(c, &rt);
}

fn trigger_to_success(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    use rocket_dag::cli::{Command, DagsCommand, GlobalArgs, Output};
    use rocket_dag::store::{RunStateRecord, RunType, Store};
    let server = rt.block_on(async { MockServer::start(MockConfig::default()).await.unwrap() });
    let mut group = c.benchmark_group("scheduler");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("trigger_to_success_listing_2_10", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                total += rt.block_on(async {
                    // A fresh home with an idle scheduler running on it.
                    let home = tempfile::tempdir().unwrap();
                    let store = Store::open_home(home.path()).await.unwrap();
                    // Unscheduled: the scheduler only starts what is triggered.
                    let mut dag = listing_2_10();
                    dag.override_options(|o| o.schedule = rocket_dag::Schedule::None);
                    let dags = vec![dag];
                    let runner = Runner::new(home.path()).with_store(store.clone());
                    let stop = runner.cancellation_token();
                    let scheduler = tokio::spawn({
                        let (store, dags) = (store.clone(), dags.clone());
                        async move { rocket_dag::scheduler::run(&dags, runner, store, stop).await }
                    });
                    let done = |kind| {
                        let store = store.clone();
                        async move {
                            loop {
                                let runs = store
                                    .list_runs(
                                        Some("listing_2_10"),
                                        Some(RunStateRecord::Success),
                                        10,
                                    )
                                    .await
                                    .unwrap();
                                if runs.iter().any(|r| r.run_type == kind) {
                                    return;
                                }
                                tokio::time::sleep(Duration::from_millis(1)).await;
                            }
                        }
                    };
                    while !rocket_dag::scheduler::wake_socket(home.path()).exists() {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    let global = GlobalArgs {
                        home: Some(home.path().to_owned()),
                        output: Output::Text,
                        ..Default::default()
                    };
                    let trigger = Command::Dags(DagsCommand::Trigger {
                        dag: "listing_2_10".into(),
                        conf: Some(
                            serde_json::json!({"launches_url": server.launches_url()}).to_string(),
                        ),
                        params: Vec::new(),
                    });
                    let start = std::time::Instant::now();
                    assert_eq!(
                        rocket_dag::cli::execute(&dags, trigger, &global).await,
                        std::process::ExitCode::SUCCESS
                    );
                    done(RunType::Manual).await;
                    let elapsed = start.elapsed();
                    store.close().await;
                    scheduler.abort();
                    elapsed
                });
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

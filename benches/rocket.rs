//! The Rocket DAG end to end against a local server: 100 launches, 100 distinct 200 KiB images,
//! 20 ms latency on every request. The book's sequential Python loop takes about 2.8 s for this
//! (100 × (20 ms + transfer)); rocket-dag downloads concurrently (16 at a time by default), so
//! the latency floor is about 20 ms for the launches plus ceil(100 / 16) × 20 ms = 140 ms for the
//! images, plus the transfer and writing 20 MB to disk.
//!
//! `cargo bench --bench rocket`

use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use dags::listing_2_10::listing_2_10;
use dags::mock::{BUNDLED_LAUNCHES_JSON, MockConfig, MockServer};
use rocket_dag::prelude::*;
use serde_json::Value;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

const LAUNCHES: usize = 100;

/// The bundled snapshot's launches repeated to `n`, each with its own image URL.
fn launches_doc(n: usize) -> String {
    let doc: Value = serde_json::from_str(BUNDLED_LAUNCHES_JSON).unwrap();
    let base = doc["results"].as_array().unwrap().clone();
    let results: Vec<Value> = (0..n)
        .map(|i| {
            let mut l = base[i % base.len()].clone();
            l["id"] = Value::from(format!("bench-{i}"));
            l["image"] = Value::from(format!("https://images.invalid/launch_{i}.png"));
            l
        })
        .collect();
    serde_json::json!({"count": n, "next": null, "results": results}).to_string()
}

fn bench(c: &mut Criterion) {
    tracing_subscriber::registry()
        .with(rocket_dag::logging::attempt_log_layer())
        .init();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt.block_on(async {
        MockServer::start(
            MockConfig::default()
                .with_launches_json(launches_doc(LAUNCHES))
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
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

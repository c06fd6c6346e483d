//! The web server's pages, measured end to end over loopback (request, queries, rendering,
//! response) against a SQLite home holding a large history.
//!
//! - `pages_dags_1000_runs`: the DAGs page (`/`) while `listing_2_10` has 1,000 runs of 3 tasks;
//! - `pages_grid_1000_runs`: its Grid showing all 1,000 runs × 3 tasks (`?runs=1000`);
//! - `pages_grid_mapped_1000`: the Grid of `listing_2_10_mapped` with one run whose mapped task
//!   has 1,000 elements.
//!
//! The goal is under 50 ms each. `cargo bench --bench web -- pages_`.

use std::time::Duration;

use chrono::{TimeDelta, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use rocket_dag::store::{
    DagRunRecord, NOT_MAPPED, RunStateRecord, RunType, Store, TaskInstanceRecord, TaskStateRecord,
};
use rocket_dag::web::{Metrics, Server, WebConfig};
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

fn run(dag: &str, i: i64) -> DagRunRecord {
    let at = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap() + TimeDelta::days(i);
    DagRunRecord {
        dag_id: dag.into(),
        run_id: format!("scheduled__{}", at.to_rfc3339()),
        run_type: RunType::Scheduled,
        logical_date: at,
        data_interval_start: at,
        data_interval_end: at + TimeDelta::days(1),
        state: RunStateRecord::Success,
        start: at,
        end: Some(at + TimeDelta::seconds(30)),
        conf: serde_json::json!({}),
    }
}

fn attempt(r: &DagRunRecord, task: &str, map_index: i32) -> TaskInstanceRecord {
    TaskInstanceRecord {
        dag_id: r.dag_id.clone(),
        run_id: r.run_id.clone(),
        task_id: task.into(),
        map_index,
        try_number: 1,
        state: TaskStateRecord::Success,
        start: r.start,
        end: r.end,
        duration: Some(Duration::from_secs(10)),
        hostname: "bench".into(),
        pid: None,
        log_path: None,
        error: None,
    }
}

/// A home with the history described above, and a server over it: its base URL.
async fn serve(home: &std::path::Path, stop: CancellationToken) -> String {
    let store = Store::open_home(home).await.unwrap();
    for i in 0..1000 {
        let r = run("listing_2_10", i);
        store.upsert_run(&r).await.unwrap();
        for task in ["download_launches", "get_pictures", "notify"] {
            store
                .upsert_task_instance(&attempt(&r, task, NOT_MAPPED))
                .await
                .unwrap();
        }
    }
    let r = run("listing_2_10_mapped", 0);
    store.upsert_run(&r).await.unwrap();
    for task in ["download_launches", "image_urls", "notify_mapped"] {
        store
            .upsert_task_instance(&attempt(&r, task, NOT_MAPPED))
            .await
            .unwrap();
    }
    for m in 0..1000 {
        store
            .upsert_task_instance(&attempt(&r, "get_picture", m))
            .await
            .unwrap();
    }
    let config = WebConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..WebConfig::default()
    };
    let server = Server::bind(dags::all(), home.to_owned(), store, config, Metrics::new())
        .await
        .unwrap();
    let base = format!("http://{}", server.local_addr());
    tokio::spawn(server.run(stop));
    base
}

fn pages(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let home = tempfile::tempdir().unwrap();
    let stop = CancellationToken::new();
    let base = rt.block_on(serve(home.path(), stop.clone()));
    let http = rocket_dag::http::builder().no_proxy().build().unwrap();
    let mut group = c.benchmark_group("web");
    group.sample_size(20);
    for (name, path) in [
        ("pages_dags_1000_runs", "/"),
        ("pages_grid_1000_runs", "/dags/listing_2_10/grid?runs=1000"),
        ("pages_grid_mapped_1000", "/dags/listing_2_10_mapped/grid"),
    ] {
        let url = format!("{base}{path}");
        group.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    let r = http.get(&url).send().await.unwrap();
                    assert!(r.status().is_success());
                    r.bytes().await.unwrap().len()
                })
            })
        });
    }
    group.finish();
    stop.cancel();
}

criterion_group!(benches, pages);
criterion_main!(benches);

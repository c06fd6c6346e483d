//! A bounded load test: 200 concurrent clients for 20 s against the server (loopback only)
//! while its scheduler runs 100 triggered runs of a 3-task DAG. No response may be an error,
//! and no run may be lost or run twice. Prints p50/p99 latency and requests per second.

use std::time::{Duration, Instant};

use rocket_dag::control::{self, Trigger};
use rocket_dag::prelude::*;
use rocket_dag::store::{DagRunRecord, RunStateRecord, TaskStateRecord};

use super::metrics::{sample, scrape, sum, wait_for_runs};
use super::{Options, Web, client};

/// What the clients ask for, round robin: Airflow's REST API (the DAGs, the DAG's runs and
/// task instances as they change, one run's instances, health), the metrics, and the pages a
/// person watching would load (the DAGs page, the Grid).
const TARGETS: &[&str] = &[
    "/api/v1/dags",
    "/api/v1/dags/load_small/dagRuns?limit=20&order_by=-execution_date",
    "/api/v1/dags/load_small/dagRuns/~/taskInstances?limit=50",
    "/api/v1/health",
    "/metrics",
    "/",
    "/dags/load_small/grid",
];
/// Concurrent clients, each with its own connection pool.
const CLIENTS: usize = 200;
/// How long they ask.
const LOAD_FOR: Duration = Duration::from_secs(20);
/// Runs triggered while they do.
const RUNS: usize = 100;

#[task]
async fn extract() -> Result<u32, TaskError> {
    Ok(1)
}

#[task]
async fn transform(n: u32) -> Result<u32, TaskError> {
    Ok(n + 1)
}

#[task]
async fn publish(n: u32) -> Result<u32, TaskError> {
    Ok(n * 2)
}

#[dag(schedule = None)]
fn load_small() {
    let n = extract();
    let m = transform(n);
    publish(m);
}

/// One client's requests until `until`: each latency, and every failure in words.
async fn ask(i: usize, base: String, until: Instant) -> (Vec<Duration>, Vec<String>) {
    let http = client();
    let (mut latencies, mut errors) = (Vec::new(), Vec::new());
    let mut n = i;
    while Instant::now() < until {
        let path = TARGETS[n % TARGETS.len()];
        n += 1;
        let start = Instant::now();
        let outcome = match http.get(format!("{base}{path}")).send().await {
            Ok(r) => {
                let status = r.status();
                match r.bytes().await {
                    Ok(_) if status.is_success() => Ok(()),
                    Ok(_) => Err(format!("{path}: HTTP {status}")),
                    Err(e) => Err(format!("{path}: body: {e}")),
                }
            }
            Err(e) => Err(format!("{path}: {e}")),
        };
        latencies.push(start.elapsed());
        if let Err(e) = outcome {
            errors.push(e);
        }
    }
    (latencies, errors)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Queues the runs, one logical date and run id each.
async fn trigger_runs(web: &Web, dag: &Dag) {
    let base: chrono::DateTime<chrono::Utc> = "2025-01-01T00:00:00Z".parse().unwrap();
    for i in 0..RUNS {
        let trigger = Trigger {
            logical_date: Some(base + chrono::Duration::seconds(i as i64)),
            run_id: Some(format!("load__{i:03}")),
            ..Trigger::default()
        };
        control::trigger(&web.store, web.home(), dag, trigger)
            .await
            .unwrap();
    }
}

/// No run lost or run twice: exactly the hundred, each task once, on its first try.
async fn check_runs(web: &Web, runs: &[DagRunRecord]) {
    assert_eq!(runs.len(), RUNS);
    for r in runs {
        assert_eq!(r.state, RunStateRecord::Success, "{}", r.run_id);
        let tis = web.store.task_instances("load_small", &r.run_id).await;
        let tis = tis.unwrap();
        let mut ids: Vec<&str> = tis.iter().map(|t| t.task_id.as_str()).collect();
        ids.sort_unstable();
        assert_eq!(ids, ["extract", "publish", "transform"], "{}", r.run_id);
        let first_try = tis.iter().all(|t| t.try_number == 1);
        assert!(first_try && tis.iter().all(|t| t.state == TaskStateRecord::Success));
    }
}

/// The server counted every request the clients made, every run and every task instance.
async fn check_counted(web: &Web, requests: usize) {
    let (_, text) = scrape(web, None).await;
    let counted = sum(
        &text,
        "rocket_dag_http_requests_total",
        &[("status", "200")],
    );
    assert_eq!(counted as usize, requests, "requests counted vs made");
    // By route template, not by the path asked.
    let grid = [("route", "/dags/{dag_id}/grid"), ("status", "200")];
    assert!(sample(&text, "rocket_dag_http_requests_total", &grid).unwrap() > 0.0);
    assert!(!text.contains("route=\"/dags/load_small"), "{text}");
    let dag_l = [("dag_id", "load_small")];
    let started = sample(&text, "rocket_dag_dag_runs_started_total", &dag_l);
    assert_eq!(started, Some(RUNS as f64));
    for task in ["extract", "transform", "publish"] {
        let l = [
            ("dag_id", "load_small"),
            ("task_id", task),
            ("state", "success"),
        ];
        let n = sample(&text, "rocket_dag_task_instances_finished_total", &l);
        assert_eq!(n, Some(RUNS as f64), "{task}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_clients_while_a_hundred_runs_run() {
    let _heavy = crate::HEAVY.lock().await;
    let dag = load_small();
    let web = Web::start(Options {
        dags: vec![dag.clone()],
        ..Options::default()
    })
    .await;
    let (started, wall) = (Instant::now(), chrono::Utc::now());
    let until = started + LOAD_FOR;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| tokio::spawn(ask(i, web.base.clone(), until)))
        .collect();
    trigger_runs(&web, &dag).await;
    let runs = wait_for_runs(&web.store, "load_small", RUNS, Duration::from_secs(120)).await;
    // When the last run ended, by its own record (the wait above polls).
    let last_end = runs.iter().filter_map(|r| r.end).max().unwrap();
    let runs_took = (last_end - wall).to_std().unwrap_or_default();
    let (mut latencies, mut errors) = (Vec::new(), Vec::new());
    for c in clients {
        let (l, e) = c.await.unwrap();
        latencies.extend(l);
        errors.extend(e);
    }
    let elapsed = started.elapsed();
    check_runs(&web, &runs).await;
    let some = &errors[..errors.len().min(5)];
    assert!(
        errors.is_empty(),
        "{} failed request(s), e.g. {some:?}",
        errors.len()
    );
    check_counted(&web, latencies.len()).await;

    latencies.sort_unstable();
    let requests = latencies.len();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "load: {CLIENTS} clients for {:.1}s on {TARGETS:?}: {requests} requests, {:.0} req/s, \
         p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; the {RUNS} runs ended within {:.1}s",
        elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64(),
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().unwrap()),
        runs_took.as_secs_f64(),
    );
    web.stop().await;
}

//! Runtime overhead per task on no-op DAGs: chains and fan-outs of 10 to 10,000 tasks.
//!
//! Two settings: `logs_off` is the scheduler itself (states, trigger rules, spawning attempts,
//! passing outputs, tracing spans); `logs_on` adds what a real run does per attempt, creating
//! `logs/dag_id=…/run_id=…/task_id=…/attempt=1.log` and writing its lines (on the log writer
//! thread; the run waits for it to finish).
//!
//! `cargo bench --bench runtime`; per task = time per iteration / task count (criterion also
//! prints it as throughput, in tasks per second).

use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rocket_dag::prelude::*;
use rocket_dag::{Dag, DagBuilder, DagOptions};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[task]
async fn noop() -> Result<(), TaskError> {
    Ok(())
}

fn chain(n: usize) -> Dag {
    let mut b = DagBuilder::new(format!("chain_{n}"));
    let mut prev = b.add_with_id::<noop>("t0");
    for i in 1..n {
        let next = b.add_with_id::<noop>(format!("t{i}"));
        b.edge(prev, next);
        prev = next;
    }
    b.build().unwrap()
}

/// One root, `n - 2` tasks in parallel, one join.
fn fan_out(n: usize) -> Dag {
    let mut b =
        DagBuilder::new(format!("fan_{n}")).options(DagOptions::default().max_active_tasks(64));
    let root = b.add_with_id::<noop>("root");
    let join = b.add_with_id::<noop>("join");
    for i in 0..n.saturating_sub(2) {
        let t = b.add_with_id::<noop>(format!("t{i}"));
        b.edge(root, t);
        b.edge(t, join);
    }
    b.build().unwrap()
}

fn bench(c: &mut Criterion) {
    // Attempt log files on, console off: what a scheduled run costs.
    tracing_subscriber::registry()
        .with(rocket_dag::logging::attempt_log_layer())
        .init();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let date = rocket_dag::cli::parse_date("2024-01-01").unwrap();

    for ((shape, build), logs) in [("chain", chain as fn(usize) -> Dag), ("fan_out", fan_out)]
        .into_iter()
        .flat_map(|s| [(s, false), (s, true)])
    {
        let label = if logs { "logs_on" } else { "logs_off" };
        let mut group = c.benchmark_group(format!("no_op_{shape}_{label}"));
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(8));
        for n in [10usize, 100, 1_000, 10_000] {
            let dag = build(n);
            group.throughput(Throughput::Elements(n as u64));
            group.bench_with_input(BenchmarkId::from_parameter(n), &dag, |b, dag| {
                b.iter_batched(
                    // A fresh home per run (removed outside the timing), so every attempt
                    // creates its log file as in a real run and the disk does not fill up.
                    || tempfile::tempdir().unwrap(),
                    |home| {
                        let runner = Runner::new(home.path()).attempt_logs(logs);
                        let r = rt.block_on(runner.run(dag, RunRequest::new(date)));
                        assert_eq!(r.state, RunState::Success);
                        home
                    },
                    BatchSize::PerIteration,
                )
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

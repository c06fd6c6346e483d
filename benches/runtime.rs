//! Runtime overhead per task on no-op DAGs: chains and fan-outs of 10 to 10,000 tasks.
//!
//! Three settings:
//! - `logs_off`: the scheduler itself (states, trigger rules, spawning attempts, passing outputs,
//!   tracing spans and events), no attempt log files;
//! - `logs_tmpfs`: plus what a real run does per attempt — create
//!   `logs/dag_id=…/run_id=…/task_id=…/attempt=1.log` and write its lines (on the log writer
//!   thread; the run waits for it) — with the home on tmpfs (`/dev/shm`), so the figure is our
//!   cost, not the disk's;
//! - `logs_disk`: the same on the disk under the system temp directory (10 to 1,000 tasks: one
//!   directory and one file per task make this bound by the disk's metadata latency);
//! - `store_disk`: no log files, but every run, try and output recorded in the SQLite run
//!   history on disk (10 and 100 tasks; each state change is an fsync'd write).
//!
//! - `mapped_1000`: one task mapped over a 1,000-element list (1,000 task instances, their
//!   outputs collected for one downstream task), without and with the run history on disk.
//!
//! - `task_kind_chain_10`: ten no-op tasks in a chain, as async tasks and as shell tasks
//!   (`bash -c true`, Airflow's `BashOperator`), attempt logs on.
//!
//! `cargo bench --bench runtime`; per task = time per iteration / task count (criterion also
//! prints it as throughput, in tasks per second).

use std::time::Duration;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rocket_dag::prelude::*;
use rocket_dag::store::Store;
use rocket_dag::{Dag, DagBuilder, DagOptions};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[task]
async fn noop() -> Result<(), TaskError> {
    Ok(())
}

#[task(shell)]
fn shell_noop() -> String {
    "true".into()
}

#[task]
async fn elements(ctx: &TaskContext) -> Vec<u32> {
    (0..ctx.param::<u32>("n").unwrap_or(0)).collect()
}

#[task]
async fn each(x: u32) -> u32 {
    x
}

#[task]
async fn collect(xs: Vec<u32>) -> usize {
    xs.len()
}

#[dag(max_active_tasks = 64)]
fn mapped() {
    let xs = elements();
    let ys = each.expand(xs);
    collect(ys);
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

    let tmpfs = std::path::Path::new("/dev/shm");
    // (label, log files, home under, largest size, run history)
    let settings: [(&str, bool, Option<&std::path::Path>, usize, bool); 4] = [
        ("logs_off", false, None, 10_000, false),
        (
            "logs_tmpfs",
            true,
            tmpfs.is_dir().then_some(tmpfs),
            10_000,
            false,
        ),
        ("logs_disk", true, None, 1_000, false),
        ("store_disk", false, None, 10_000, true),
    ];
    for (shape, build) in [("chain", chain as fn(usize) -> Dag), ("fan_out", fan_out)] {
        for (label, logs, base, max, with_store) in settings {
            if label == "logs_tmpfs" && base.is_none() {
                continue;
            }
            let mut group = c.benchmark_group(format!("no_op_{shape}_{label}"));
            group
                .sample_size(10)
                .measurement_time(Duration::from_secs(6));
            // One run history per group, opened outside the timing, on the disk.
            let store_home = tempfile::tempdir().unwrap();
            let store =
                with_store.then(|| rt.block_on(Store::open_home(store_home.path())).unwrap());
            let mut runs = 0u64;
            for n in [10usize, 100, 1_000, 10_000]
                .into_iter()
                .filter(|&n| n <= max)
            {
                let dag = build(n);
                group.throughput(Throughput::Elements(n as u64));
                group.bench_with_input(BenchmarkId::from_parameter(n), &dag, |b, dag| {
                    b.iter_batched(
                        // A fresh home per run (removed outside the timing), so every attempt
                        // creates its log file as in a real run and the disk does not fill up.
                        || match base {
                            Some(dir) => tempfile::tempdir_in(dir).unwrap(),
                            None => tempfile::tempdir().unwrap(),
                        },
                        |home| {
                            let r = rt.block_on(async {
                                let mut runner = Runner::new(home.path()).attempt_logs(logs);
                                if let Some(store) = &store {
                                    runner = runner.with_store(store.clone());
                                }
                                // A new run id each time: the same one would resume a finished run.
                                runs += 1;
                                runner
                                    .run(dag, RunRequest::new(date).run_id(format!("bench_{runs}")))
                                    .await
                            });
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
}

/// `n` tasks in a chain, each a shell task (`bash -c true`) or an async no-op.
fn kind_chain<T: rocket_dag::Task>(name: &str, n: usize) -> Dag {
    let mut b = DagBuilder::new(format!("{name}_{n}"));
    let mut prev = b.add_with_id::<T>("t0");
    for i in 1..n {
        let next = b.add_with_id::<T>(format!("t{i}"));
        b.edge(prev, next);
        prev = next;
    }
    b.build().unwrap()
}

/// A shell task against an async task doing nothing: the cost of `BashOperator`'s way (a
/// `bash` process per task) beside a task in the runtime's own process, with attempt logs on.
fn bench_shell(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let date = rocket_dag::cli::parse_date("2024-01-01").unwrap();
    let mut group = c.benchmark_group("task_kind_chain_10");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(6))
        .throughput(Throughput::Elements(10));
    let mut runs = 0u64;
    for (label, dag) in [
        ("async", kind_chain::<noop>("async", 10)),
        ("shell", kind_chain::<shell_noop>("shell", 10)),
    ] {
        group.bench_function(label, |b| {
            b.iter_batched(
                || tempfile::tempdir().unwrap(),
                |home| {
                    runs += 1;
                    let r = rt.block_on(
                        Runner::new(home.path())
                            .run(&dag, RunRequest::new(date).run_id(format!("kind_{runs}"))),
                    );
                    assert_eq!(r.state, RunState::Success);
                    home
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn bench_mapped(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let date = rocket_dag::cli::parse_date("2024-01-01").unwrap();
    let dag = mapped();
    let mut group = c.benchmark_group("mapped_1000");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(6))
        .throughput(Throughput::Elements(1_000));
    let store_home = tempfile::tempdir().unwrap();
    let store = rt.block_on(Store::open_home(store_home.path())).unwrap();
    let mut runs = 0u64;
    for (label, with_store) in [("store_off", false), ("store_disk", true)] {
        group.bench_function(label, |b| {
            b.iter_batched(
                || tempfile::tempdir().unwrap(),
                |home| {
                    runs += 1;
                    let r = rt.block_on(async {
                        let mut runner = Runner::new(home.path()).attempt_logs(false);
                        if with_store {
                            runner = runner.with_store(store.clone());
                        }
                        let req = RunRequest::new(date)
                            .param("n", 1_000)
                            .run_id(format!("mapped_{runs}"));
                        runner.run(&dag, req).await
                    });
                    assert_eq!(r.state, RunState::Success);
                    assert_eq!(r.task("collect").unwrap().output::<usize>(), Some(1_000));
                    home
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench, bench_mapped, bench_shell);
criterion_main!(benches);

//! Rendering pictures of runs: the Gantt chart of a run with 1,000 task instances.
//!
//! The synthetic run has 10 tasks: 9 unmapped ones (every third retried once: a failed attempt,
//! then a success) around one task mapped over 991 elements (every tenth element retried), so
//! 1,000 task instances, 1,103 attempts and 1,000 rows. `gantt_svg` draws the chart alone;
//! `gantt_html` adds the page and a table of every attempt. The goal is under 100 ms each.
//!
//! `cargo bench --bench viz`.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rocket_dag::store::{
    DagRunRecord, NOT_MAPPED, RunStateRecord, RunType, TaskInstanceRecord, TaskStateRecord,
};
use rocket_dag::viz::RunHistory;
use rocket_dag::viz::gantt::{gantt_html, gantt_svg};
use rocket_dag::{Dag, DagBuilder, prelude::*};

const RUN_ID: &str = "scheduled__2024-01-01T00:00:00+00:00";
const MAPPED: i32 = 991;

fn at(base: DateTime<Utc>, ms: i64) -> DateTime<Utc> {
    base + TimeDelta::milliseconds(ms)
}

fn attempt(
    base: DateTime<Utc>,
    task: &str,
    map_index: i32,
    try_number: u32,
    state: TaskStateRecord,
    start_ms: i64,
    end_ms: i64,
) -> TaskInstanceRecord {
    let (start, end) = (at(base, start_ms), at(base, end_ms));
    TaskInstanceRecord {
        dag_id: "bench".into(),
        run_id: RUN_ID.into(),
        task_id: task.into(),
        map_index,
        try_number,
        state,
        start,
        end: Some(end),
        duration: Some(Duration::from_millis((end_ms - start_ms) as u64)),
        hostname: "bench-host".into(),
        pid: Some(4242),
        log_path: Some(format!("logs/{task}/{map_index}/attempt={try_number}.log")),
        error: (state == TaskStateRecord::Failed)
            .then(|| "HTTP 503 Service Unavailable\ncaused by: connection reset".to_owned()),
    }
}

/// One run: `t0`…`t3`, then `each` mapped over 991 elements (16 at a time), then `t4`…`t8`.
fn synthetic_run() -> RunHistory {
    use TaskStateRecord::{Failed, Success};
    let base = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let mut tries = Vec::with_capacity(1_200);
    let mut t = 0;
    let unmapped = |tries: &mut Vec<TaskInstanceRecord>, i: usize, t: &mut i64| {
        let task = format!("t{i}");
        if i.is_multiple_of(3) {
            tries.push(attempt(base, &task, NOT_MAPPED, 1, Failed, *t, *t + 400));
            *t += 1_400;
            tries.push(attempt(base, &task, NOT_MAPPED, 2, Success, *t, *t + 900));
        } else {
            tries.push(attempt(base, &task, NOT_MAPPED, 1, Success, *t, *t + 700));
        }
        *t += 1_000;
    };
    for i in 0..4 {
        unmapped(&mut tries, i, &mut t);
    }
    for m in 0..MAPPED {
        let start = t + i64::from(m / 16) * 120;
        if m % 10 == 0 {
            tries.push(attempt(base, "each", m, 1, Failed, start, start + 30));
            tries.push(attempt(
                base,
                "each",
                m,
                2,
                Success,
                start + 60,
                start + 110,
            ));
        } else {
            tries.push(attempt(base, "each", m, 1, Success, start, start + 100));
        }
    }
    t += i64::from(MAPPED / 16 + 1) * 120;
    for i in 4..9 {
        unmapped(&mut tries, i, &mut t);
    }
    RunHistory {
        run: DagRunRecord {
            dag_id: "bench".into(),
            run_id: RUN_ID.into(),
            run_type: RunType::Scheduled,
            logical_date: base,
            data_interval_start: base,
            data_interval_end: base + TimeDelta::days(1),
            state: RunStateRecord::Success,
            start: base,
            end: Some(at(base, t + 50)),
            conf: serde_json::Value::Null,
        },
        tries,
    }
}

#[task]
async fn noop() -> Result<(), TaskError> {
    Ok(())
}

/// The synthetic run's DAG, declared in reverse so the rows follow its order, not the ids'.
fn synthetic_dag() -> Dag {
    let mut b = DagBuilder::new("bench");
    let ids: Vec<String> = ["t8", "t7", "t6", "t5", "t4", "each", "t3", "t2", "t1", "t0"]
        .map(String::from)
        .to_vec();
    let handles: Vec<_> = ids.iter().map(|id| b.add_with_id::<noop>(id)).collect();
    for w in handles.windows(2).rev() {
        b.edge(w[1], w[0]);
    }
    b.build().unwrap()
}

fn bench_gantt(c: &mut Criterion) {
    let run = synthetic_run();
    let instances = {
        let mut keys: Vec<(&str, i32)> = run
            .tries
            .iter()
            .map(|t| (t.task_id.as_str(), t.map_index))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys.len()
    };
    assert_eq!(instances, 1_000);
    let svg = gantt_svg(&run, None);
    assert_eq!(svg.matches("class=\"attempt\"").count(), run.tries.len());
    println!(
        "{instances} task instances, {} attempts: SVG {} KiB, HTML {} KiB",
        run.tries.len(),
        svg.len() / 1024,
        gantt_html(&run, None).len() / 1024
    );

    let mut group = c.benchmark_group("gantt");
    group.throughput(Throughput::Elements(instances as u64));
    group.bench_function("svg_1000_instances", |b| b.iter(|| gantt_svg(&run, None)));
    group.bench_function("html_1000_instances", |b| b.iter(|| gantt_html(&run, None)));
    let dag = synthetic_dag();
    group.bench_function("svg_1000_instances_dag_order", |b| {
        b.iter(|| gantt_svg(&run, Some(&dag)))
    });
    group.finish();
}

criterion_group!(benches, bench_gantt);
criterion_main!(benches);

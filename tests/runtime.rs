//! The runtime on tokio's paused clock: retries and backoff, timeouts, trigger rules,
//! upstream_failed propagation, the concurrency bound, panics, skips, cancellation, logs; and
//! shell tasks on the real clock.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use rocket_dag::prelude::*;
use rocket_dag::{DagBuilder, DagOptions, TaskOptions};
use tokio::time::Instant;

/// A runner with the console and attempt log files installed, as the command line does.
fn logged_runner(home: impl Into<std::path::PathBuf>) -> Runner {
    rocket_dag::logging::init();
    Runner::new(home)
}

fn date() -> chrono::DateTime<chrono::Utc> {
    rocket_dag::cli::parse_date("2024-01-01").unwrap()
}

async fn run(dag: &Dag) -> (DagRunReport, tempfile::TempDir) {
    let home = tempfile::tempdir().unwrap();
    let report = logged_runner(home.path())
        .run(dag, RunRequest::new(date()))
        .await;
    (report, home)
}

fn state(r: &DagRunReport, task: &str) -> TaskState {
    r.task(task)
        .unwrap_or_else(|| panic!("no task {task}"))
        .state
}

// ---------------------------------------------------------------- retries and backoff

static FLAKY_CALLS: Mutex<Vec<Instant>> = Mutex::new(Vec::new());

#[task(retries = 3, retry_delay = "2s", retry_exponential_backoff = true)]
async fn flaky(ctx: &TaskContext) -> Result<u32, TaskError> {
    FLAKY_CALLS.lock().unwrap().push(Instant::now());
    if ctx.try_number() < 3 {
        return Err(TaskError::msg(format!(
            "API answered 503 on try {}",
            ctx.try_number()
        )));
    }
    Ok(ctx.try_number())
}

#[dag]
fn retry_dag() {
    flaky();
}

#[tokio::test(start_paused = true)]
async fn retries_wait_the_backoff_delays_then_succeed() {
    let dag = retry_dag();
    let (r, home) = run(&dag).await;
    let t = r.task("flaky").unwrap();
    assert_eq!(r.state, RunState::Success);
    assert_eq!(t.state, TaskState::Success);
    assert_eq!(t.tries(), 3);
    assert_eq!(t.output::<u32>(), Some(3));
    let states: Vec<TaskState> = t.attempts.iter().map(|a| a.state).collect();
    assert_eq!(
        states,
        [
            TaskState::UpForRetry,
            TaskState::UpForRetry,
            TaskState::Success
        ]
    );
    assert!(
        t.attempts[0]
            .error
            .as_deref()
            .unwrap()
            .contains("503 on try 1")
    );

    // The gaps between attempts are exactly the documented delays.
    let calls = FLAKY_CALLS.lock().unwrap().clone();
    let opts = *dag.task("flaky").unwrap().options();
    for (i, pair) in calls.windows(2).enumerate() {
        let expected =
            rocket_dag::retry::delay(&opts, "retry_dag", "flaky", &r.run_id, i as u32 + 1);
        let base = Duration::from_secs(2 << i);
        assert!(expected >= base && expected < 2 * base, "{expected:?}");
        assert_eq!(pair[1] - pair[0], expected, "delay before try {}", i + 2);
    }

    // One log file per attempt, in Airflow's layout.
    for n in 1..=3 {
        let log = home.path().join(format!(
            "logs/dag_id=retry_dag/run_id={}/task_id=flaky/attempt={n}.log",
            r.run_id
        ));
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            text.contains(&format!("starting attempt {n} of 4")),
            "{text}"
        );
    }
    assert!(
        !home
            .path()
            .join(format!(
                "logs/dag_id=retry_dag/run_id={}/task_id=flaky/attempt=4.log",
                r.run_id
            ))
            .exists()
    );
}

#[task(retries = 2, retry_delay = "1s")]
async fn always_fails(ctx: &TaskContext) -> Result<(), TaskError> {
    Err(TaskError::msg(format!("boom {}", ctx.try_number())))
}

#[task]
async fn after_fail() -> Result<(), TaskError> {
    Ok(())
}

#[task(trigger_rule = "all_done")]
async fn cleanup() -> Result<(), TaskError> {
    Ok(())
}

#[task(retries = 5, retry_delay = "1s")]
async fn gives_up() -> Result<(), TaskError> {
    Err(TaskError::fail_now("bad credentials: retrying cannot help"))
}

#[dag]
fn failing_dag() {
    let a = always_fails();
    let b = after_fail();
    let c = cleanup();
    let d = gives_up();
    a >> b >> c;
    d >> c;
}

#[tokio::test(start_paused = true)]
async fn failures_exhaust_retries_and_propagate_upstream_failed() {
    let (r, _home) = run(&failing_dag()).await;
    assert_eq!(r.state, RunState::Failed);
    let a = r.task("always_fails").unwrap();
    assert_eq!((a.state, a.tries()), (TaskState::Failed, 3));
    assert_eq!(a.reason.as_deref(), Some("boom 3 (after 3 attempts)"));
    assert_eq!(state(&r, "after_fail"), TaskState::UpstreamFailed);
    assert_eq!(r.task("after_fail").unwrap().tries(), 0);
    // all_done runs once everything upstream is finished, whatever the states.
    assert_eq!(state(&r, "cleanup"), TaskState::Success);
    let d = r.task("gives_up").unwrap();
    assert_eq!(
        (d.state, d.tries()),
        (TaskState::Failed, 1),
        "fail_now skips retries"
    );
    let table = r.summary_table();
    assert!(table.contains("always_fails  failed"), "{table}");
    assert!(table.contains("after_fail    upstream_failed"), "{table}");
}

// ---------------------------------------------------------------- timeouts

static SAW_TIMEOUT: AtomicU32 = AtomicU32::new(0);

#[task(execution_timeout = "1s", retries = 1, retry_delay = "10s")]
async fn slow(ctx: &TaskContext) -> Result<(), TaskError> {
    if ctx.try_number() == 1 {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
            // A cooperative task sees the timeout and can clean up.
            _ = ctx.cancelled() => { SAW_TIMEOUT.fetch_add(1, Ordering::SeqCst); }
        }
    }
    Ok(())
}

#[task(execution_timeout = "1s")]
async fn stubborn() -> Result<(), TaskError> {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    Ok(())
}

#[dag]
fn stubborn_dag() {
    stubborn();
}

#[tokio::test(start_paused = true)]
async fn a_task_ignoring_cancellation_is_dropped_after_the_grace_period() {
    let home = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let r = logged_runner(home.path())
        .cancel_grace(Duration::from_secs(2))
        .run(&stubborn_dag(), RunRequest::new(date()))
        .await;
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(3),
        "1 s timeout + 2 s grace"
    );
    assert_eq!(r.task("stubborn").unwrap().state, TaskState::Failed);
}

#[dag]
fn timeout_dag() {
    slow();
}

#[tokio::test(start_paused = true)]
async fn execution_timeout_cancels_the_attempt_and_it_is_retried() {
    let start = Instant::now();
    let (r, _home) = run(&timeout_dag()).await;
    let t = r.task("slow").unwrap();
    assert_eq!(t.state, TaskState::Success);
    assert_eq!(t.tries(), 2);
    assert_eq!(
        t.attempts[0].error.as_deref(),
        Some("attempt exceeded its execution_timeout of 1s")
    );
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(11),
        "1 s timeout + 10 s retry delay"
    );
    assert_eq!(SAW_TIMEOUT.load(Ordering::SeqCst), 1);
}

// ---------------------------------------------------------------- panics and skips

#[task]
async fn panics() -> Result<(), TaskError> {
    panic!("index out of bounds in a task")
}

#[task]
async fn independent() -> Result<String, TaskError> {
    Ok("still fine".into())
}

#[task]
async fn skips() -> Result<u32, TaskError> {
    Err(TaskError::skip("no new launches today"))
}

#[task]
async fn after_skip(n: u32) -> Result<u32, TaskError> {
    Ok(n)
}

#[dag]
fn panic_dag() {
    panics();
    independent();
    let s = skips();
    after_skip(s);
}

#[tokio::test(start_paused = true)]
async fn a_panic_fails_its_attempt_only_and_skips_propagate() {
    let (r, _home) = run(&panic_dag()).await;
    let p = r.task("panics").unwrap();
    assert_eq!(p.state, TaskState::Failed);
    assert_eq!(
        p.reason.as_deref(),
        Some("task panicked: index out of bounds in a task")
    );
    assert_eq!(state(&r, "independent"), TaskState::Success);
    assert_eq!(state(&r, "skips"), TaskState::Skipped);
    assert_eq!(state(&r, "after_skip"), TaskState::Skipped);
    assert_eq!(r.state, RunState::Failed);
}

// ---------------------------------------------------------------- trigger rules

#[task]
async fn ok() -> Result<(), TaskError> {
    Ok(())
}
#[task]
async fn fail() -> Result<(), TaskError> {
    Err(TaskError::msg("fails"))
}
#[task]
async fn skip() -> Result<(), TaskError> {
    Err(TaskError::skip("skips"))
}

macro_rules! probes {
    ($($name:ident = $rule:literal),* $(,)?) => {
        $(
            #[task(trigger_rule = $rule)]
            async fn $name() -> Result<(), TaskError> { Ok(()) }
        )*
        /// Adds one probe per rule downstream of `ups`.
        fn add_probes(b: &mut DagBuilder, ups: &[rocket_dag::Handle<()>]) {
            $(
                let p = b.add::<$name>();
                for u in ups { b.edge(*u, p); }
            )*
        }
        const RULES: &[&str] = &[$(stringify!($name)),*];
    };
}

probes!(
    all_success = "all_success",
    all_failed = "all_failed",
    all_done = "all_done",
    all_skipped = "all_skipped",
    one_success = "one_success",
    one_failed = "one_failed",
    one_done = "one_done",
    none_failed = "none_failed",
    none_failed_min_one_success = "none_failed_min_one_success",
    none_skipped = "none_skipped",
    always = "always",
);

#[tokio::test(start_paused = true)]
async fn every_trigger_rule_against_every_mix_of_upstream_states() {
    use TaskState::{Skipped as S, Success as R, UpstreamFailed as U};
    // Upstream mixes: ok+ok, ok+fail, fail+fail, ok+skip, skip+skip, fail+skip.
    let mixes: [&[&str]; 6] = [
        &["ok", "ok"],
        &["ok", "fail"],
        &["fail", "fail"],
        &["ok", "skip"],
        &["skip", "skip"],
        &["fail", "skip"],
    ];
    let expected: &[(&str, [TaskState; 6])] = &[
        ("all_success", [R, U, U, S, S, U]),
        ("all_failed", [S, S, R, S, S, S]),
        ("all_done", [R, R, R, R, R, R]),
        ("all_skipped", [S, S, S, S, R, S]),
        ("one_success", [R, R, U, R, S, U]),
        ("one_failed", [S, R, R, S, S, R]),
        ("one_done", [R, R, R, R, S, R]),
        ("none_failed", [R, U, U, R, R, U]),
        ("none_failed_min_one_success", [R, U, U, R, S, U]),
        ("none_skipped", [R, R, R, S, S, S]),
        ("always", [R, R, R, R, R, R]),
    ];
    assert_eq!(expected.len(), RULES.len());
    for (m, mix) in mixes.iter().enumerate() {
        let mut b = DagBuilder::new(format!("rules_{m}"));
        let ups: Vec<_> = mix
            .iter()
            .enumerate()
            .map(|(i, kind)| {
                let id = format!("{kind}_{i}");
                match *kind {
                    "ok" => b.add_with_id::<ok>(id),
                    "fail" => b.add_with_id::<fail>(id),
                    _ => b.add_with_id::<skip>(id),
                }
            })
            .collect();
        add_probes(&mut b, &ups);
        let (r, _home) = run(&b.build().unwrap()).await;
        for (rule, states) in expected {
            assert_eq!(
                state(&r, rule),
                states[m],
                "rule {rule} with upstream {mix:?}"
            );
        }
    }
}

// ---------------------------------------------------------------- concurrency

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static MAX_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

#[task]
async fn busy() -> Result<(), TaskError> {
    let now = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
    MAX_IN_FLIGHT.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(1)).await;
    IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn independent_tasks_run_concurrently_up_to_max_active_tasks() {
    let mut b = DagBuilder::new("wide").options(DagOptions::default().max_active_tasks(3));
    for i in 0..10 {
        b.add_with_id::<busy>(format!("busy_{i}"));
    }
    let start = Instant::now();
    let (r, _home) = run(&b.build().unwrap()).await;
    assert_eq!(r.state, RunState::Success);
    assert_eq!(MAX_IN_FLIGHT.load(Ordering::SeqCst), 3);
    // ceil(10 / 3) waves of 1 s each.
    assert_eq!(start.elapsed(), Duration::from_secs(4));
}

// ---------------------------------------------------------------- cancellation

static LONG_STARTED: AtomicU32 = AtomicU32::new(0);

#[task(retries = 3)]
async fn long_running(ctx: &TaskContext) -> Result<(), TaskError> {
    LONG_STARTED.fetch_add(1, Ordering::SeqCst);
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs(3600)) => Ok(()),
        _ = ctx.cancelled() => Err(TaskError::msg("saw the cancellation")),
    }
}

#[task]
async fn never_started() -> Result<(), TaskError> {
    Ok(())
}

#[dag]
fn cancel_dag() {
    let a = long_running();
    let b = never_started();
    a >> b;
}

#[tokio::test(start_paused = true)]
async fn cancelling_a_run_stops_running_tasks_and_starts_nothing_new() {
    let home = tempfile::tempdir().unwrap();
    let runner = logged_runner(home.path());
    let token = runner.cancellation_token();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        token.cancel();
    });
    let start = Instant::now();
    let r = runner.run(&cancel_dag(), RunRequest::new(date())).await;
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert!(r.interrupted);
    assert_eq!(r.state, RunState::Failed);
    let a = r.task("long_running").unwrap();
    assert_eq!(a.state, TaskState::Failed);
    assert_eq!(a.tries(), 1, "an interrupted attempt is not retried");
    assert_eq!(a.attempts[0].duration, Duration::from_secs(5));
    assert_eq!(LONG_STARTED.load(Ordering::SeqCst), 1);
    assert!(a.reason.as_deref().unwrap().contains("interrupted"));
    assert!(
        a.reason
            .as_deref()
            .unwrap()
            .contains("saw the cancellation"),
        "the task saw ctx.cancelled(): {:?}",
        a.reason
    );
    assert_eq!(state(&r, "never_started"), TaskState::NoStatus);
    assert!(r.summary_table().contains("(interrupted)"));
}

// ---------------------------------------------------------------- context and params

#[task]
async fn context_values(ctx: &TaskContext) -> Result<Vec<String>, TaskError> {
    Ok(vec![
        ctx.dag_id().into(),
        ctx.task_id().into(),
        ctx.run_id().into(),
        ctx.ds(),
        ctx.data_interval_start().to_rfc3339(),
        ctx.data_interval_end().to_rfc3339(),
        ctx.param::<String>("who").unwrap_or_default(),
        ctx.data_dir().ends_with("data/ctx_dag").to_string(),
    ])
}

#[dag(schedule = "@daily")]
fn ctx_dag() {
    context_values();
}

#[tokio::test]
async fn the_context_carries_ids_dates_interval_and_params() {
    let home = tempfile::tempdir().unwrap();
    let r = logged_runner(home.path())
        .run(&ctx_dag(), RunRequest::new(date()).param("who", "rocket"))
        .await;
    let v: Vec<String> = r.task("context_values").unwrap().output().unwrap();
    assert_eq!(
        v,
        [
            "ctx_dag",
            "context_values",
            "manual__2024-01-01T00:00:00+00:00",
            "2024-01-01",
            "2024-01-01T00:00:00+00:00",
            "2024-01-02T00:00:00+00:00",
            "rocket",
            "true"
        ]
    );
}

// ---------------------------------------------------------------- same task twice, outputs typed

#[task]
async fn number(ctx: &TaskContext) -> Result<u64, TaskError> {
    Ok(ctx.task_id().len() as u64)
}

#[task]
async fn add(a: u64, b: u64) -> Result<u64, TaskError> {
    Ok(a + b)
}

#[dag]
fn twice_dag() {
    let a = number();
    let b = number().task_id("number_again");
    add(a, b);
}

#[tokio::test]
async fn one_task_twice_under_two_ids() {
    let dag = twice_dag();
    assert_eq!(dag.topological_ids(), ["number", "number_again", "add"]);
    let (r, _home) = run(&dag).await;
    assert_eq!(r.task("add").unwrap().output::<u64>(), Some(6 + 12));
}

#[test]
fn builder_rejects_cycles_and_duplicates() {
    let mut b = DagBuilder::new("cyclic");
    let x = b.add_with_id::<ok>("x");
    let y = b.add_with_id::<ok>("y");
    let z = b.add_with_id::<ok>("z");
    b.edge(x, y);
    b.edge(y, z);
    b.edge(z, x);
    let err = b.build().unwrap_err();
    assert_eq!(
        err.to_string(),
        "DAG `cyclic` has a cycle: x -> y -> z -> x"
    );
    let mut b = DagBuilder::new("dup");
    b.add::<ok>();
    b.add::<ok>();
    assert_eq!(
        b.build().unwrap_err().to_string(),
        "DAG `dup` has two tasks with the id `ok`"
    );
    let mut b = DagBuilder::new("hostile");
    b.add_with_id::<ok>("../../etc");
    assert_eq!(
        b.build().unwrap_err().to_string(),
        "DAG `hostile`: invalid task id `../../etc`: use letters, digits, `_`, `-` and `.`"
    );
    let mut b = DagBuilder::new("no_inputs");
    b.add::<add>();
    assert_eq!(
        b.build().unwrap_err().to_string(),
        "DAG `no_inputs`: task `add` takes 2 upstream output(s) but was given 0"
    );
    let opts = TaskOptions::new().retries(1);
    assert_eq!(opts.resolve().max_tries(), 2);
}

// ---------------------------------------------------------------- shell tasks (real clock)

#[task(shell)]
fn print_context() -> String {
    "echo \"{{ ds }} {{ run_id }}\" && echo {{ params.evil }} && echo 'done'".into()
}

#[task(shell, execution_timeout = "500ms")]
fn sleeps_with_children() -> String {
    // A grandchild in the background: a timeout must kill the whole process group.
    "sleep 30 & echo $! > child.pid; wait".into()
}

#[task(shell)]
fn exits_nonzero() -> String {
    "echo about to fail >&2; exit 3".into()
}

#[dag]
fn shell_dag() {
    print_context();
    sleeps_with_children();
    exits_nonzero();
}

#[tokio::test]
async fn shell_tasks_template_safely_stream_output_and_die_with_their_group() {
    let home = tempfile::tempdir().unwrap();
    let evil = "$(touch pwned); touch pwned2 `touch pwned3`";
    let r = logged_runner(home.path())
        .run(&shell_dag(), RunRequest::new(date()).param("evil", evil))
        .await;
    assert_eq!(state(&r, "print_context"), TaskState::Success);
    assert_eq!(
        r.task("print_context")
            .unwrap()
            .output::<String>()
            .as_deref(),
        Some("done")
    );
    let data = home.path().join("data/shell_dag");
    for f in ["pwned", "pwned2", "pwned3"] {
        assert!(!data.join(f).exists(), "{f} was created: injection");
    }
    let log =
        std::fs::read_to_string(&r.task("print_context").unwrap().attempts[0].log_path).unwrap();
    assert!(
        log.contains("2024-01-01 manual__2024-01-01T00:00:00+00:00"),
        "{log}"
    );
    assert!(log.contains(evil), "the value is printed literally: {log}");

    let e = r.task("exits_nonzero").unwrap();
    assert_eq!(e.state, TaskState::Failed);
    assert_eq!(e.reason.as_deref(), Some("command exited with status 3"));
    let elog = std::fs::read_to_string(&e.attempts[0].log_path).unwrap();
    assert!(
        elog.contains("about to fail"),
        "stderr goes to the log: {elog}"
    );

    let s = r.task("sleeps_with_children").unwrap();
    assert_eq!(s.state, TaskState::Failed);
    assert!(
        s.reason
            .as_deref()
            .unwrap()
            .contains("execution_timeout of 500ms")
    );
    let pid: i32 = std::fs::read_to_string(data.join("child.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Give the kernel a moment to reap, then the grandchild must be gone.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let alive = std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ");
    assert!(!alive, "background child {pid} survived the timeout");
}

#[tokio::test(start_paused = true)]
async fn tasks_without_upstream_run_whatever_their_trigger_rule() {
    let mut b = DagBuilder::new("roots");
    add_probes(&mut b, &[]);
    let (r, _home) = run(&b.build().unwrap()).await;
    for rule in RULES {
        assert_eq!(
            state(&r, rule),
            TaskState::Success,
            "root task with rule {rule}"
        );
    }
}

#[task(
    retries = 2,
    retry_delay = "10s",
    retry_exponential_backoff = true,
    max_retry_delay = "3s"
)]
async fn capped() -> Result<(), TaskError> {
    Err(TaskError::msg("still down"))
}

#[dag]
fn capped_dag() {
    capped();
}

#[tokio::test(start_paused = true)]
async fn max_retry_delay_caps_the_backoff() {
    let start = Instant::now();
    let (r, _home) = run(&capped_dag()).await;
    assert_eq!(r.task("capped").unwrap().tries(), 3);
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(6),
        "two retries, 3 s each"
    );
}

#[tokio::test(start_paused = true)]
async fn progress_reports_every_task_once_finished() {
    let events = std::sync::Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let home = tempfile::tempdir().unwrap();
    let r = logged_runner(home.path())
        .on_progress(move |p| {
            seen.lock()
                .unwrap()
                .push((p.task_id.to_owned(), p.state, p.finished, p.total));
        })
        .run(&failing_dag(), RunRequest::new(date()))
        .await;
    let events = events.lock().unwrap();
    let last = events.last().unwrap();
    assert_eq!((last.2, last.3), (4, 4), "{events:?}");
    // Each task reaches one final state, reported once; upstream_failed counts too.
    let finals: Vec<_> = events.iter().filter(|e| e.1.is_finished()).collect();
    assert_eq!(finals.len(), r.tasks.len(), "{events:?}");
    assert!(
        events
            .iter()
            .any(|e| e.0 == "after_fail" && e.1 == TaskState::UpstreamFailed)
    );
}

// ---------------------------------------------------------------- dynamic task mapping

#[task]
async fn numbers(ctx: &TaskContext) -> Vec<u32> {
    ctx.param::<Vec<u32>>("numbers").unwrap_or_default()
}

static DOUBLE_CALLS: Mutex<Vec<(u32, u32)>> = Mutex::new(Vec::new());

/// Fails its first attempt for 3 (a transient error), and for 13 always.
#[task(retries = 2, retry_delay = "5s")]
async fn double(ctx: &TaskContext, n: u32) -> Result<u32, TaskError> {
    DOUBLE_CALLS.lock().unwrap().push((n, ctx.try_number()));
    assert!(ctx.map_index().is_some());
    match n {
        3 if ctx.try_number() == 1 => Err(TaskError::msg("flaky element")),
        13 => Err(TaskError::fail_now("element 13 is bad")),
        n => Ok(n * 2),
    }
}

#[task]
async fn total(doubled: Vec<u32>) -> Vec<u32> {
    doubled
}

#[task(trigger_rule = "all_done")]
async fn total_anyway(doubled: Vec<u32>) -> Vec<u32> {
    doubled
}

#[dag]
fn mapped_dag() {
    let ns = numbers();
    let doubled = double.expand(ns);
    total(doubled);
    total_anyway(doubled);
}

async fn run_mapped(numbers: &[u32]) -> (DagRunReport, tempfile::TempDir) {
    let home = tempfile::tempdir().unwrap();
    let report = logged_runner(home.path())
        .run(
            &mapped_dag(),
            RunRequest::new(date()).param("numbers", numbers.to_vec()),
        )
        .await;
    (report, home)
}

#[tokio::test(start_paused = true)]
async fn a_mapped_task_runs_once_per_element_and_hands_on_the_outputs_in_order() {
    let (r, home) = run_mapped(&[50, 10, 3, 80]).await;
    assert_eq!(r.state, RunState::Success, "{}", r.summary_table());
    let d = r.task("double").unwrap();
    assert_eq!(d.state, TaskState::Success);
    assert_eq!(d.mapped.len(), 4);
    let indexes: Vec<Option<u32>> = d.mapped.iter().map(|m| m.map_index).collect();
    assert_eq!(indexes, [Some(0), Some(1), Some(2), Some(3)]);
    assert_eq!(
        r.task("total").unwrap().output::<Vec<u32>>(),
        Some(vec![100, 20, 6, 160])
    );
    // The element that failed once was retried alone, after its own delay.
    let el = d.element(2).unwrap();
    assert_eq!(el.label(), "double[2]");
    assert_eq!(el.tries(), 2);
    assert_eq!(el.attempts[0].state, TaskState::UpForRetry);
    for i in [0, 1, 3] {
        assert_eq!(d.element(i).unwrap().tries(), 1);
    }
    assert_eq!(d.tries(), 5);
    // (Other tests map `double` over other numbers, concurrently.)
    let calls: Vec<(u32, u32)> = DOUBLE_CALLS
        .lock()
        .unwrap()
        .iter()
        .copied()
        .filter(|(n, _)| [50, 10, 3, 80].contains(n))
        .collect();
    assert_eq!(calls.iter().filter(|(n, _)| *n == 3).count(), 2);
    assert_eq!(calls.len(), 5);
    // Airflow's log layout, one folder per element.
    let log = &el.attempts[1].log_path;
    assert!(
        log.ends_with("task_id=double/map_index=2/attempt=2.log"),
        "{}",
        log.display()
    );
    let text = std::fs::read_to_string(log).unwrap();
    assert!(text.contains("marking task as SUCCESS"), "{text}");
    assert!(home.path().join("logs").exists());
    assert!(
        r.summary_table().contains("double [4]"),
        "{}",
        r.summary_table()
    );
}

#[tokio::test(start_paused = true)]
async fn an_empty_list_skips_the_mapped_task_and_what_needs_it() {
    let (r, _home) = run_mapped(&[]).await;
    let d = r.task("double").unwrap();
    assert_eq!(d.state, TaskState::Skipped);
    assert!(d.mapped.is_empty());
    assert!(d.reason.as_deref().unwrap().contains("empty list"));
    assert_eq!(state(&r, "total"), TaskState::Skipped);
    assert_eq!(r.state, RunState::Success);
}

#[tokio::test(start_paused = true)]
async fn a_failed_element_fails_the_mapped_task_and_all_done_gets_the_rest() {
    let (r, _home) = run_mapped(&[1, 13, 2]).await;
    assert_eq!(r.state, RunState::Failed);
    let d = r.task("double").unwrap();
    assert_eq!(d.state, TaskState::Failed);
    let bad = d.element(1).unwrap();
    assert_eq!(
        (bad.state, bad.tries()),
        (TaskState::Failed, 1),
        "fail_now is not retried"
    );
    assert!(
        d.reason
            .as_deref()
            .unwrap()
            .contains("1 of 3 mapped instance(s) failed: [1] element 13 is bad")
    );
    assert_eq!(state(&r, "total"), TaskState::UpstreamFailed);
    let anyway = r.task("total_anyway").unwrap();
    assert_eq!(anyway.state, TaskState::Success);
    assert_eq!(anyway.output::<Vec<u32>>(), Some(vec![2, 4]));
}

#[task]
async fn words() -> Vec<String> {
    vec!["a".into(), "b".into()]
}

#[task]
async fn counts() -> Vec<u8> {
    vec![1, 2, 3]
}

#[task]
async fn separator() -> String {
    "-".into()
}

#[task]
async fn join(sep: String, word: String, count: u8) -> String {
    format!("{word}{sep}{count}")
}

#[dag]
fn cross_dag() {
    let sep = separator();
    let w = words();
    let joined = join.partial(sep).expand(w, counts());
    total_strings(joined);
}

#[task]
async fn total_strings(all: Vec<String>) -> String {
    all.join(",")
}

#[tokio::test(start_paused = true)]
async fn partial_fixes_arguments_and_several_lists_map_over_their_cross_product() {
    let dag = cross_dag();
    assert!(dag.task("join").unwrap().is_mapped());
    assert_eq!(
        dag.task("join").unwrap().mapped_inputs(),
        [false, true, true]
    );
    assert!(
        rocket_dag::viz::mermaid(&dag).contains("[[\"join [ ]\"]]"),
        "{}",
        rocket_dag::viz::mermaid(&dag)
    );
    let (r, _home) = run(&dag).await;
    assert_eq!(
        r.task("total_strings")
            .unwrap()
            .output::<String>()
            .as_deref(),
        Some("a-1,a-2,a-3,b-1,b-2,b-3")
    );
    assert_eq!(r.task("join").unwrap().mapped.len(), 6);
}

#[tokio::test]
async fn tasks_test_runs_one_element_of_a_mapped_task() {
    let home = tempfile::tempdir().unwrap();
    let runner = logged_runner(home.path());
    let dag = cross_dag();
    let inputs = vec![
        rocket_dag::XCom::encode(&"+").unwrap(),
        rocket_dag::XCom::encode(&vec!["x", "y"]).unwrap(),
        rocket_dag::XCom::encode(&vec![7u8, 9]).unwrap(),
    ];
    let r = runner
        .run_task(
            &dag,
            "join",
            Some(3),
            RunRequest::new(date()),
            inputs.clone(),
        )
        .await
        .unwrap();
    assert_eq!(r.output::<String>().as_deref(), Some("y+9"));
    let err = runner
        .run_task(&dag, "join", None, RunRequest::new(date()), inputs.clone())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("mapped"), "{err}");
    let err = runner
        .run_task(&dag, "join", Some(4), RunRequest::new(date()), inputs)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("out of range"), "{err}");
}

// ---------------------------------------------------------------- what cannot heal

static DENIED: AtomicU32 = AtomicU32::new(0);

#[task(retries = 3, retry_delay = "1s")]
async fn write_denied() -> Result<(), TaskError> {
    DENIED.fetch_add(1, Ordering::SeqCst);
    // As `std::fs::write` into a folder this user may not write.
    Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied))?;
    Ok(())
}

#[dag]
fn denied_dag() {
    write_denied();
}

#[tokio::test(start_paused = true)]
async fn an_error_retrying_cannot_cure_is_not_retried() {
    let (r, _home) = run(&denied_dag()).await;
    let t = r.task("write_denied").unwrap();
    assert_eq!(t.state, TaskState::Failed);
    assert_eq!(t.tries(), 1, "no retry");
    assert_eq!(DENIED.load(Ordering::SeqCst), 1);
    let reason = t.reason.as_deref().unwrap();
    assert!(reason.contains("not retried"), "{reason}");
}

#[task(retries = 2, retry_delay = "300ms")]
async fn fails_twice(ctx: &TaskContext) -> Result<(), TaskError> {
    if ctx.try_number() < 3 {
        return Err(TaskError::msg("not yet"));
    }
    Ok(())
}

#[dag]
fn slow_retry_dag() {
    fails_twice();
}

// On the real clock: attempts are dated by the system clock.
#[tokio::test]
async fn the_summary_duration_covers_every_attempt_and_the_waits() {
    let (r, _home) = run(&slow_retry_dag()).await;
    let t = r.task("fails_twice").unwrap();
    assert_eq!(t.tries(), 3);
    let wall = t.wall_time(r.start);
    assert!(
        wall >= Duration::from_millis(600),
        "two 300 ms waits: {wall:?}"
    );
    assert!(
        t.duration() < Duration::from_millis(300),
        "the attempts alone are quick"
    );
    let line = r
        .summary_table()
        .lines()
        .find(|l| l.starts_with("fails_twice"))
        .unwrap()
        .to_owned();
    let shown: f64 = line
        .split_whitespace()
        .last()
        .unwrap()
        .trim_end_matches('s')
        .parse()
        .unwrap();
    assert!(shown >= 0.6, "{line}");
}

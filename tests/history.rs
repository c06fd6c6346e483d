//! Run history: every run, try and output recorded in the metadata store (SQLite in a temp
//! home); a failed run resumed without redoing finished work; attempts of a dead process.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use rocket_dag::prelude::*;
use rocket_dag::store::{
    DagRunRecord, NOT_MAPPED, RunStateRecord, RunType, Store, TaskInstanceRecord, TaskStateRecord,
};

/// A runner with the console and attempt log files installed, as the command line does.
fn logged_runner(home: impl Into<std::path::PathBuf>) -> Runner {
    rocket_dag::logging::init();
    Runner::new(home)
}

fn date() -> chrono::DateTime<chrono::Utc> {
    rocket_dag::cli::parse_date("2024-01-01").unwrap()
}

static FETCHES: AtomicU32 = AtomicU32::new(0);
static REPORT_FAILS: AtomicBool = AtomicBool::new(true);
static REPORTS: AtomicU32 = AtomicU32::new(0);

#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq)]
struct Launches {
    names: Vec<String>,
}

#[task]
async fn fetch() -> Result<Launches, TaskError> {
    FETCHES.fetch_add(1, Ordering::SeqCst);
    Ok(Launches {
        names: vec!["Falcon 9".into(), "Electron".into()],
    })
}

#[task(retries = 1, retry_delay = "10ms")]
async fn report(launches: Launches) -> Result<usize, TaskError> {
    REPORTS.fetch_add(1, Ordering::SeqCst);
    if REPORT_FAILS.load(Ordering::SeqCst) {
        return Err(TaskError::msg("report server down"));
    }
    Ok(launches.names.len())
}

#[task]
async fn after(n: usize) -> Result<usize, TaskError> {
    Ok(n * 10)
}

#[dag]
fn history_dag() {
    let l = fetch();
    let n = report(l);
    after(n);
}

#[tokio::test]
async fn a_failed_run_resumes_without_redoing_what_succeeded() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open_home(home.path()).await.unwrap();
    let runner = logged_runner(home.path()).with_store(store.clone());

    let first = runner.run(&history_dag(), RunRequest::new(date())).await;
    assert_eq!(first.state, RunState::Failed);
    assert_eq!(FETCHES.load(Ordering::SeqCst), 1);
    assert_eq!(REPORTS.load(Ordering::SeqCst), 2, "one retry");

    let run = store
        .get_run("history_dag", &first.run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.state, RunStateRecord::Failed);
    assert_eq!(run.run_type, RunType::Manual);
    let tis = store
        .task_instances("history_dag", &first.run_id)
        .await
        .unwrap();
    let report_tries: Vec<(u32, TaskStateRecord)> = tis
        .iter()
        .filter(|t| t.task_id == "report")
        .map(|t| (t.try_number, t.state))
        .collect();
    assert_eq!(
        report_tries,
        [
            (1, TaskStateRecord::UpForRetry),
            (2, TaskStateRecord::Failed)
        ]
    );
    assert!(
        tis.iter()
            .any(|t| t.task_id == "after" && t.state == TaskStateRecord::UpstreamFailed)
    );

    // Fix the cause and run the same run again: fetch is not run, its output is read back.
    REPORT_FAILS.store(false, Ordering::SeqCst);
    let second = runner.run(&history_dag(), RunRequest::new(date())).await;
    assert_eq!(
        second.state,
        RunState::Success,
        "{}",
        second.summary_table()
    );
    assert_eq!(
        FETCHES.load(Ordering::SeqCst),
        1,
        "fetch succeeded before: not run again"
    );
    assert_eq!(second.task("after").unwrap().output::<usize>(), Some(20));
    let report = second.task("report").unwrap();
    let tries: Vec<u32> = report.attempts.iter().map(|a| a.try_number).collect();
    assert_eq!(tries, [1, 2, 3], "try numbers continue");
    assert!(report.attempts[2].log_path.ends_with("attempt=3.log"));
    let run = store
        .get_run("history_dag", &second.run_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.state, RunStateRecord::Success);
    let xcoms = store
        .load_xcoms("history_dag", &second.run_id)
        .await
        .unwrap();
    assert!(
        xcoms
            .iter()
            .any(|(t, m, v)| t == "after" && *m == NOT_MAPPED && v == "20")
    );
}

static SLOW_CALLS: AtomicU32 = AtomicU32::new(0);

#[task]
async fn crashed() -> Result<u32, TaskError> {
    SLOW_CALLS.fetch_add(1, Ordering::SeqCst);
    Ok(7)
}

#[dag]
fn crash_dag() {
    crashed();
}

#[tokio::test]
async fn an_attempt_left_running_by_a_dead_process_becomes_a_failed_try() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open_home(home.path()).await.unwrap();
    let run_id = "manual__2024-01-01T00:00:00+00:00";
    // What a process killed with -9 during the attempt leaves behind.
    store
        .upsert_run(&DagRunRecord {
            dag_id: "crash_dag".into(),
            run_id: run_id.into(),
            run_type: RunType::Manual,
            logical_date: date(),
            data_interval_start: date(),
            data_interval_end: date(),
            state: RunStateRecord::Running,
            start: date(),
            end: None,
            conf: serde_json::json!({}),
        })
        .await
        .unwrap();
    store
        .upsert_task_instance(&TaskInstanceRecord {
            dag_id: "crash_dag".into(),
            run_id: run_id.into(),
            task_id: "crashed".into(),
            map_index: NOT_MAPPED,
            try_number: 1,
            state: TaskStateRecord::Running,
            start: date(),
            end: None,
            duration: None,
            hostname: "h".into(),
            pid: Some(1),
            log_path: None,
            error: None,
        })
        .await
        .unwrap();
    let r = logged_runner(home.path())
        .with_store(store.clone())
        .run(&crash_dag(), RunRequest::new(date()))
        .await;
    assert_eq!(r.state, RunState::Success);
    let t = r.task("crashed").unwrap();
    assert_eq!(t.tries(), 2);
    assert_eq!(t.attempts[0].state, TaskState::Failed);
    assert!(t.attempts[0].error.as_deref().unwrap().contains("kill -9"));
    assert_eq!(t.attempts[1].try_number, 2);
    assert_eq!(SLOW_CALLS.load(Ordering::SeqCst), 1);
}

static DAILY_RUNS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Records which data interval it was asked to process.
#[task]
async fn daily(ctx: &TaskContext) -> Result<(), TaskError> {
    DAILY_RUNS.lock().unwrap().push(format!(
        "{} {}",
        ctx.data_interval_start().format("%Y-%m-%d"),
        ctx.data_interval_end().format("%Y-%m-%d")
    ));
    Ok(())
}

#[dag(schedule = "@daily", start_date = "2024-01-01", max_active_runs = 2)]
fn daily_dag() {
    daily();
}

#[tokio::test]
async fn backfill_runs_each_interval_once_and_is_idempotent() {
    use rocket_dag::cli::{Command, DagsCommand, GlobalArgs, Output};
    let home = tempfile::tempdir().unwrap();
    let global = GlobalArgs {
        home: Some(home.path().to_owned()),
        output: Output::Json,
        ..Default::default()
    };
    let backfill = |reset: bool| {
        Command::Dags(DagsCommand::Backfill(rocket_dag::cli::BackfillArgs {
            dag: "daily_dag".into(),
            start: "2024-01-01".into(),
            end: "2024-01-03".into(),
            reset,
            params: Vec::new(),
            conf: None,
        }))
    };
    let dags = [daily_dag()];
    let code = rocket_dag::cli::execute(&dags, backfill(false), &global).await;
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let mut seen = DAILY_RUNS.lock().unwrap().clone();
    seen.sort();
    assert_eq!(
        seen,
        [
            "2024-01-01 2024-01-02",
            "2024-01-02 2024-01-03",
            "2024-01-03 2024-01-04"
        ]
    );
    let store = Store::open_home(home.path()).await.unwrap();
    let runs = store.list_runs(Some("daily_dag"), None, 10).await.unwrap();
    let ids: Vec<&str> = runs.iter().map(|r| r.run_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "backfill__2024-01-03T00:00:00+00:00",
            "backfill__2024-01-02T00:00:00+00:00",
            "backfill__2024-01-01T00:00:00+00:00"
        ]
    );
    assert!(
        runs.iter()
            .all(|r| r.run_type == RunType::Backfill && r.state == RunStateRecord::Success)
    );

    // Again: nothing runs.
    rocket_dag::cli::execute(&dags, backfill(false), &global).await;
    assert_eq!(DAILY_RUNS.lock().unwrap().len(), 3);
    // --reset runs them all again, as new tries.
    rocket_dag::cli::execute(&dags, backfill(true), &global).await;
    assert_eq!(DAILY_RUNS.lock().unwrap().len(), 6);
    let tis = store
        .task_instances("daily_dag", "backfill__2024-01-02T00:00:00+00:00")
        .await
        .unwrap();
    let tries: Vec<u32> = tis.iter().map(|t| t.try_number).collect();
    assert_eq!(tries, [1, 2]);
}

static SCHEDULED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

#[task]
async fn scheduled_task(ctx: &TaskContext) -> Result<(), TaskError> {
    SCHEDULED.lock().unwrap().push(ctx.run_id().to_owned());
    Ok(())
}

#[dag(
    schedule = "@daily",
    start_date = "2024-01-01",
    end_date = "2024-01-03",
    catchup = true,
    max_active_runs = 1
)]
fn scheduled_dag() {
    scheduled_task();
}

#[tokio::test]
async fn the_scheduler_catches_up_in_order_and_a_second_one_refuses_to_start() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open_home(home.path()).await.unwrap();
    let runner = logged_runner(home.path()).with_store(store.clone());
    let stop = runner.cancellation_token();
    let dags = vec![scheduled_dag()];
    let scheduler = tokio::spawn({
        let (store, stop) = (store.clone(), stop.clone());
        async move { rocket_dag::scheduler::run(&dags, runner, store, stop).await }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let done = store
            .list_runs(Some("scheduled_dag"), Some(RunStateRecord::Success), 10)
            .await
            .unwrap();
        if done.len() == 3 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{done:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // While it runs, the home is taken.
    let second = rocket_dag::scheduler::SchedulerLock::acquire(home.path()).unwrap_err();
    assert!(
        second
            .to_string()
            .contains("another scheduler is already running"),
        "{second}"
    );
    stop.cancel();
    scheduler.await.unwrap().unwrap();
    assert_eq!(
        *SCHEDULED.lock().unwrap(),
        [
            "scheduled__2024-01-01T00:00:00+00:00",
            "scheduled__2024-01-02T00:00:00+00:00",
            "scheduled__2024-01-03T00:00:00+00:00"
        ],
        "one run per interval up to end_date, oldest first"
    );
    let runs = store
        .list_runs(Some("scheduled_dag"), None, 10)
        .await
        .unwrap();
    assert!(runs.iter().all(|r| r.run_type == RunType::Scheduled));
    assert_eq!(
        runs[0].data_interval_end,
        rocket_dag::cli::parse_date("2024-01-04").unwrap()
    );
    // Stopped: the lock is free again.
    rocket_dag::scheduler::SchedulerLock::acquire(home.path()).unwrap();
}

static TRIGGERED_WITH: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

#[task]
async fn on_demand(ctx: &TaskContext) -> Result<(), TaskError> {
    TRIGGERED_WITH
        .lock()
        .unwrap()
        .push(ctx.param::<String>("who").unwrap_or_default());
    Ok(())
}

#[dag]
fn on_demand_dag() {
    on_demand();
}

#[tokio::test]
async fn a_triggered_run_is_queued_and_the_scheduler_starts_it() {
    use rocket_dag::cli::{Command, DagsCommand, GlobalArgs, Output};
    let home = tempfile::tempdir().unwrap();
    let global = GlobalArgs {
        home: Some(home.path().to_owned()),
        output: Output::Text,
        ..Default::default()
    };
    let dags = vec![on_demand_dag()];
    let trigger = Command::Dags(DagsCommand::Trigger {
        dag: "on_demand_dag".into(),
        conf: Some(r#"{"who": "course"}"#.into()),
        params: Vec::new(),
    });
    assert_eq!(
        rocket_dag::cli::execute(&dags, trigger, &global).await,
        std::process::ExitCode::SUCCESS
    );
    let store = Store::open_home(home.path()).await.unwrap();
    let queued = store
        .list_runs(Some("on_demand_dag"), Some(RunStateRecord::Queued), 10)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1);
    assert!(
        TRIGGERED_WITH.lock().unwrap().is_empty(),
        "nothing runs without a scheduler"
    );

    let runner = logged_runner(home.path()).with_store(store.clone());
    let stop = runner.cancellation_token();
    let scheduler = tokio::spawn({
        let (store, stop) = (store.clone(), stop.clone());
        async move { rocket_dag::scheduler::run(&dags, runner, store, stop).await }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while store
        .list_runs(Some("on_demand_dag"), Some(RunStateRecord::Success), 10)
        .await
        .unwrap()
        .is_empty()
    {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The scheduler now sleeps (no schedule, nothing queued); a new trigger wakes it at once
    // instead of at its next look, MAX_SLEEP later.
    let started = std::time::Instant::now();
    let again = Command::Dags(DagsCommand::Trigger {
        dag: "on_demand_dag".into(),
        conf: Some(r#"{"who": "again"}"#.into()),
        params: Vec::new(),
    });
    assert_eq!(
        rocket_dag::cli::execute(&[on_demand_dag()], again, &global).await,
        std::process::ExitCode::SUCCESS
    );
    while store
        .list_runs(Some("on_demand_dag"), Some(RunStateRecord::Success), 10)
        .await
        .unwrap()
        .len()
        < 2
    {
        assert!(
            started.elapsed() < rocket_dag::scheduler::MAX_SLEEP / 2,
            "the trigger did not wake the scheduler"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // Clearing a task puts its run back to queued (as Airflow does): the scheduler runs that
    // task again, as a second try with the run's own params.
    let first = &queued[0].run_id;
    let d = on_demand_dag();
    let cleared = rocket_dag::control::clear(
        &store,
        home.path(),
        "on_demand_dag",
        first,
        &["on_demand"],
        "the test",
    )
    .await
    .unwrap();
    assert_eq!(cleared, ["on_demand"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let run = store
            .get_run("on_demand_dag", first)
            .await
            .unwrap()
            .unwrap();
        let tries = store.task_instances("on_demand_dag", first).await.unwrap();
        if run.state == RunStateRecord::Success && tries.len() == 2 {
            assert_eq!(tries[1].try_number, 2);
            assert_eq!(tries[1].state, TaskStateRecord::Success);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{run:?} {tries:?}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(matches!(
        rocket_dag::control::clear(
            &store,
            home.path(),
            "on_demand_dag",
            "nope",
            &["on_demand"],
            "x"
        )
        .await,
        Err(rocket_dag::control::ControlError::NoRun { .. })
    ));
    assert!(matches!(
        rocket_dag::control::trigger(
            &store,
            home.path(),
            &d,
            rocket_dag::control::Trigger {
                run_id: Some(first.clone()),
                ..Default::default()
            }
        )
        .await,
        Err(rocket_dag::control::ControlError::RunExists { .. })
    ));
    stop.cancel();
    scheduler.await.unwrap().unwrap();
    assert_eq!(
        *TRIGGERED_WITH.lock().unwrap(),
        ["course", "again", "course"]
    );
    assert!(!rocket_dag::scheduler::wake_socket(home.path()).exists());
}

// ---------------------------------------------------------------- mapped tasks

static ITEMS_CALLS: AtomicU32 = AtomicU32::new(0);
static SQUARE_CALLS: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());
static SEVEN_FAILS: AtomicBool = AtomicBool::new(true);

#[task]
async fn items() -> Vec<u32> {
    ITEMS_CALLS.fetch_add(1, Ordering::SeqCst);
    vec![2, 7, 4]
}

#[task]
async fn square(n: u32) -> Result<u32, TaskError> {
    SQUARE_CALLS.lock().unwrap().push(n);
    if n == 7 && SEVEN_FAILS.load(Ordering::SeqCst) {
        return Err(TaskError::fail_now("7 is unlucky today"));
    }
    Ok(n * n)
}

#[task]
async fn sum(squares: Vec<u32>) -> u32 {
    squares.iter().sum()
}

#[dag]
fn mapped_history_dag() {
    let xs = items();
    let squares = square.expand(xs);
    sum(squares);
}

#[tokio::test]
async fn a_resumed_run_reruns_only_the_mapped_elements_that_failed() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open_home(home.path()).await.unwrap();
    let runner = logged_runner(home.path()).with_store(store.clone());
    let first = runner
        .run(&mapped_history_dag(), RunRequest::new(date()))
        .await;
    assert_eq!(first.state, RunState::Failed);
    let tis = store
        .task_instances("mapped_history_dag", &first.run_id)
        .await
        .unwrap();
    let rows: Vec<(i32, u32, TaskStateRecord)> = tis
        .iter()
        .filter(|t| t.task_id == "square")
        .map(|t| (t.map_index, t.try_number, t.state))
        .collect();
    assert_eq!(
        rows,
        [
            (0, 1, TaskStateRecord::Success),
            (1, 1, TaskStateRecord::Failed),
            (2, 1, TaskStateRecord::Success)
        ]
    );
    assert!(
        tis.iter()
            .any(|t| t.task_id == "sum" && t.state == TaskStateRecord::UpstreamFailed)
    );
    let xcoms = store
        .load_xcoms("mapped_history_dag", &first.run_id)
        .await
        .unwrap();
    let squares: Vec<(i32, &str)> = xcoms
        .iter()
        .filter(|(t, _, _)| t == "square")
        .map(|(_, m, v)| (*m, v.as_str()))
        .collect();
    assert_eq!(squares, [(0, "4"), (2, "16")]);

    SEVEN_FAILS.store(false, Ordering::SeqCst);
    let second = runner
        .run(&mapped_history_dag(), RunRequest::new(date()))
        .await;
    assert_eq!(
        second.state,
        RunState::Success,
        "{}",
        second.summary_table()
    );
    assert_eq!(ITEMS_CALLS.load(Ordering::SeqCst), 1);
    assert_eq!(
        *SQUARE_CALLS.lock().unwrap(),
        [2, 7, 4, 7],
        "only 7 ran again"
    );
    assert_eq!(
        second.task("sum").unwrap().output::<u32>(),
        Some(4 + 49 + 16)
    );
    let again = second.task("square").unwrap().element(1).unwrap();
    let tries: Vec<u32> = again.attempts.iter().map(|a| a.try_number).collect();
    assert_eq!(tries, [1, 2], "the element's try numbers continue");
    assert!(
        again.attempts[1]
            .log_path
            .ends_with("task_id=square/map_index=1/attempt=2.log")
    );
}

static SHARED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
static SHARED_NOW: AtomicU32 = AtomicU32::new(0);
static SHARED_MOST: AtomicU32 = AtomicU32::new(0);

#[task]
async fn shared_task(ctx: &TaskContext) -> Result<(), TaskError> {
    SHARED.lock().unwrap().push(ctx.run_id().to_owned());
    let now = SHARED_NOW.fetch_add(1, Ordering::SeqCst) + 1;
    SHARED_MOST.fetch_max(now, Ordering::SeqCst);
    // Long enough that both schedulers look at the store while runs are in flight.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    SHARED_NOW.fetch_sub(1, Ordering::SeqCst);
    Ok(())
}

#[dag(
    schedule = "@daily",
    start_date = "2024-01-01",
    end_date = "2024-01-12",
    catchup = true,
    max_active_runs = 3
)]
fn shared_dag() {
    shared_task();
}

#[tokio::test]
async fn two_schedulers_sharing_one_database_run_each_interval_once() {
    // Two homes (two machines), one database: what ROCKET_DAG_DATABASE_URL shares.
    let db = tempfile::tempdir().unwrap();
    let url = Store::home_url(db.path());
    let homes = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut stops = Vec::new();
    let mut schedulers = Vec::new();
    for home in &homes {
        let store = Store::open(&url).await.unwrap();
        let runner = logged_runner(home.path()).with_store(store.clone());
        stops.push(runner.cancellation_token());
        let stop = runner.cancellation_token();
        schedulers.push(tokio::spawn(async move {
            rocket_dag::scheduler::run(&[shared_dag()], runner, store, stop).await
        }));
    }
    let store = Store::open(&url).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while store
        .list_runs(Some("shared_dag"), Some(RunStateRecord::Success), 100)
        .await
        .unwrap()
        .len()
        < 12
    {
        assert!(std::time::Instant::now() < deadline);
        // Wake both when slots free up, as their timers would, so both look for work.
        for home in &homes {
            rocket_dag::scheduler::wake(home.path());
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    for stop in stops {
        stop.cancel();
    }
    for s in schedulers {
        s.await.unwrap().unwrap();
    }
    let mut ran = SHARED.lock().unwrap().clone();
    assert_eq!(ran.len(), 12, "each interval ran once: {ran:?}");
    ran.sort();
    ran.dedup();
    assert_eq!(ran.len(), 12);
    // max_active_runs holds across both schedulers (Airflow counts every running run).
    assert!(
        SHARED_MOST.load(Ordering::SeqCst) <= 3,
        "{} runs at once",
        SHARED_MOST.load(Ordering::SeqCst)
    );
}

// ---------------------------------------------------------------- a history that cannot be written

static BROKEN_STORE: std::sync::OnceLock<Store> = std::sync::OnceLock::new();
static AFTER_BREAK: AtomicU32 = AtomicU32::new(0);

/// Closes the run's own store under it, as a database that stops accepting writes.
#[task]
async fn break_the_store() -> Result<u32, TaskError> {
    BROKEN_STORE.get().unwrap().close().await;
    Ok(1)
}

#[task]
async fn after_the_break(n: u32) -> Result<u32, TaskError> {
    AFTER_BREAK.fetch_add(1, Ordering::SeqCst);
    Ok(n)
}

#[dag]
fn broken_store_dag() {
    after_the_break(break_the_store());
}

#[tokio::test]
async fn a_run_whose_history_cannot_be_written_stops_and_fails() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open_home(home.path()).await.unwrap();
    BROKEN_STORE.set(store.clone()).unwrap();
    let report = logged_runner(home.path())
        .with_store(store)
        .run(&broken_store_dag(), RunRequest::new(date()))
        .await;
    assert_eq!(report.state, RunState::Failed);
    match &report.error {
        Some(rocket_dag::RunError::History { message }) => {
            assert!(message.contains("cannot save"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        AFTER_BREAK.load(Ordering::SeqCst),
        0,
        "nothing starts once the history cannot be written"
    );
    assert!(
        report
            .summary_table()
            .contains("the run history could not be recorded")
    );
}

// ---------------------------------------------------------------- backfill and the DAG's dates

static ENDING: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

#[task]
async fn ending_task(ctx: &TaskContext) -> Result<String, TaskError> {
    ENDING.lock().unwrap().push(ctx.ds());
    Ok(ctx.param::<String>("who").unwrap_or_default())
}

#[dag(
    schedule = "@daily",
    start_date = "2024-01-01",
    end_date = "2024-01-02"
)]
fn ending_dag() {
    ending_task();
}

#[tokio::test]
async fn backfill_creates_no_run_after_the_end_date_and_process_params_reach_every_run() {
    use rocket_dag::cli::{Command, DagsCommand, GlobalArgs, Output};
    let home = tempfile::tempdir().unwrap();
    let mut global = GlobalArgs {
        home: Some(home.path().to_owned()),
        output: Output::Json,
        ..Default::default()
    };
    // A setting of the process (as the example's --launches-url), not of one subcommand.
    global.params.insert("who".into(), "process".into());
    let backfill = Command::Dags(DagsCommand::Backfill(rocket_dag::cli::BackfillArgs {
        dag: "ending_dag".into(),
        start: "2024-01-01".into(),
        end: "2024-01-05".into(),
        reset: false,
        params: Vec::new(),
        conf: None,
    }));
    let code = rocket_dag::cli::execute(&[ending_dag()], backfill, &global).await;
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let mut ran = ENDING.lock().unwrap().clone();
    ran.sort();
    assert_eq!(ran, ["2024-01-01", "2024-01-02"], "nothing after end_date");
    let store = Store::open_home(home.path()).await.unwrap();
    let runs = store.list_runs(Some("ending_dag"), None, 10).await.unwrap();
    assert_eq!(runs.len(), 2);
    let outputs = store
        .load_xcoms("ending_dag", "backfill__2024-01-01T00:00:00+00:00")
        .await
        .unwrap();
    assert_eq!(outputs[0].2, "\"process\"");

    // A run's own param wins over the process's.
    let test = Command::Dags(DagsCommand::Test {
        dag: "ending_dag".into(),
        run: rocket_dag::cli::RunArgs {
            logical_date: Some("2024-01-01".into()),
            params: vec!["who=run".into()],
            conf: None,
        },
        wait: false,
    });
    let code = rocket_dag::cli::execute(&[ending_dag()], test, &global).await;
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let outputs = store
        .load_xcoms("ending_dag", "manual__2024-01-01T00:00:00+00:00")
        .await
        .unwrap();
    assert_eq!(outputs[0].2, "\"run\"");
}

// ---------------------------------------------------------------- the scheduler on a test clock

/// A clock the test moves.
struct TestClock(std::sync::Mutex<chrono::DateTime<chrono::Utc>>);

impl rocket_dag::scheduler::Clock for TestClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        *self.0.lock().unwrap()
    }
}

static TICKS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

#[task]
async fn tick(ctx: &TaskContext) -> Result<(), TaskError> {
    TICKS.lock().unwrap().push(ctx.ds());
    Ok(())
}

#[dag(schedule = "@daily", start_date = "2024-01-01", catchup = false)]
fn ticking_dag() {
    tick();
}

#[tokio::test]
async fn the_scheduler_runs_each_interval_when_its_clock_passes_the_end() {
    let home = tempfile::tempdir().unwrap();
    let store = Store::open_home(home.path()).await.unwrap();
    let runner = logged_runner(home.path()).with_store(store.clone());
    let stop = runner.cancellation_token();
    let at = |s: &str| rocket_dag::cli::parse_date(s).unwrap();
    let clock = std::sync::Arc::new(TestClock(std::sync::Mutex::new(at("2024-01-02T00:00:01"))));
    let scheduler = tokio::spawn({
        let (store, stop, clock) = (store.clone(), stop.clone(), clock.clone());
        async move {
            let dags = [ticking_dag()];
            rocket_dag::scheduler::run_with_clock(&dags, runner, store, stop, &*clock).await
        }
    });
    let wait_for = |n: usize| {
        let store = store.clone();
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while store
                .list_runs(Some("ticking_dag"), Some(RunStateRecord::Success), 10)
                .await
                .unwrap()
                .len()
                < n
            {
                assert!(std::time::Instant::now() < deadline);
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }
    };
    // One second past midnight of the 2nd: the 1st's interval is due, nothing else.
    wait_for(1).await;
    assert_eq!(*TICKS.lock().unwrap(), ["2024-01-01"]);
    // A day later (no real day waited): the next one.
    *clock.0.lock().unwrap() = at("2024-01-03T00:00:01");
    rocket_dag::scheduler::wake(home.path());
    wait_for(2).await;
    assert_eq!(*TICKS.lock().unwrap(), ["2024-01-01", "2024-01-02"]);
    stop.cancel();
    scheduler.await.unwrap().unwrap();
}

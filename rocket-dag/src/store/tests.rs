//! Tests on temporary SQLite files; the round trip also runs on PostgreSQL when
//! `ROCKET_DAG_TEST_POSTGRES_URL` is set.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use tempfile::TempDir;

use super::open::{env_url, parse_busy_timeout, redact, sqlite_pragmas, sqlite_url};
use super::*;
use sqlx::AssertSqlSafe;

fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339).unwrap().to_utc()
}

/// Now, at the store's microsecond precision, so round trips compare equal.
fn now_us() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap()
}

fn file_url(dir: &TempDir) -> String {
    sqlite_url(&dir.path().join(DATABASE_FILE))
}

async fn temp_store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&file_url(&dir)).await.unwrap();
    (dir, store)
}

fn run(dag: &str, run_id: &str, logical: &str, state: RunStateRecord) -> DagRunRecord {
    let logical = at(logical);
    DagRunRecord {
        dag_id: dag.into(),
        run_id: run_id.into(),
        run_type: RunType::Scheduled,
        logical_date: logical,
        data_interval_start: logical,
        data_interval_end: logical + chrono::Duration::days(1),
        state,
        start: now_us(),
        end: None,
        conf: json!({}),
    }
}

fn ti(
    run: &DagRunRecord,
    task: &str,
    try_number: u32,
    state: TaskStateRecord,
) -> TaskInstanceRecord {
    TaskInstanceRecord {
        dag_id: run.dag_id.clone(),
        run_id: run.run_id.clone(),
        task_id: task.into(),
        map_index: NOT_MAPPED,
        try_number,
        state,
        start: now_us(),
        end: None,
        duration: None,
        hostname: "worker-1".into(),
        pid: Some(4242),
        log_path: Some(format!("logs/{task}/attempt={try_number}.log")),
        error: None,
    }
}

async fn migration_versions(store: &Store) -> Vec<i64> {
    sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT version FROM {} ORDER BY version",
        schema::MIGRATIONS_TABLE
    )))
    .fetch_all(&store.pool)
    .await
    .unwrap()
}

/// Writes a run with every kind of row and reads it back; `dag` keeps runs on a shared
/// PostgreSQL database apart.
async fn round_trip(store: &Store, dag: &str) {
    let mut r = run(
        dag,
        "manual__2024-01-01",
        "2024-01-01T00:00:00Z",
        RunStateRecord::Running,
    );
    r.run_type = RunType::Manual;
    r.conf = json!({"launches": 3, "name": "ünïcode ✓", "nested": {"a": [1, 2]}});
    store.upsert_run(&r).await.unwrap();
    assert_eq!(
        store.get_run(dag, &r.run_id).await.unwrap(),
        Some(r.clone())
    );
    assert_eq!(store.get_run(dag, "nope").await.unwrap(), None);

    let mut first = ti(&r, "download_launches", 1, TaskStateRecord::UpForRetry);
    first.end = Some(first.start + chrono::Duration::milliseconds(1500));
    first.duration = Some(Duration::from_micros(1_500_000));
    first.error = Some("connection refused".into());
    let mut second = ti(&r, "download_launches", 2, TaskStateRecord::Success);
    second.end = Some(second.start);
    second.duration = Some(Duration::ZERO);
    let mut mapped = ti(&r, "get_pictures", 1, TaskStateRecord::Running);
    mapped.map_index = 0;
    mapped.pid = None;
    mapped.log_path = None;
    let skipped = ti(&r, "notify", 1, TaskStateRecord::UpstreamFailed);
    for t in [&skipped, &mapped, &second, &first] {
        store.upsert_task_instance(t).await.unwrap();
    }
    let expected = vec![
        first.clone(),
        second.clone(),
        mapped.clone(),
        skipped.clone(),
    ];
    assert_eq!(
        store.task_instances(dag, &r.run_id).await.unwrap(),
        expected
    );

    // Outputs go with their tries.
    let mut mapped_b = ti(&r, "get_pictures", 1, TaskStateRecord::Success);
    mapped_b.map_index = 1;
    let mut mapped_a = ti(&r, "get_pictures", 1, TaskStateRecord::Success);
    mapped_a.map_index = 2;
    store
        .record_tries(&[
            (second.clone(), Some(r#"{"count":3}"#)),
            (mapped_b.clone(), Some("\"b.png\"")),
            (mapped_a.clone(), Some("\"a.png\"")),
        ])
        .await
        .unwrap();
    assert_eq!(
        store.load_xcoms(dag, &r.run_id).await.unwrap(),
        vec![
            (
                "download_launches".to_owned(),
                -1,
                r#"{"count":3}"#.to_owned()
            ),
            ("get_pictures".to_owned(), 1, "\"b.png\"".to_owned()),
            ("get_pictures".to_owned(), 2, "\"a.png\"".to_owned()),
        ]
    );
    // Only some tasks' outputs: what one task instance reads as its inputs.
    assert_eq!(
        store
            .load_xcoms_of(dag, &r.run_id, &["get_pictures", "nope"])
            .await
            .unwrap(),
        vec![
            ("get_pictures".to_owned(), 1, "\"b.png\"".to_owned()),
            ("get_pictures".to_owned(), 2, "\"a.png\"".to_owned()),
        ]
    );
    assert_eq!(
        store
            .load_xcoms_of(dag, &r.run_id, &["download_launches"])
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        store
            .load_xcoms_of(dag, &r.run_id, &[])
            .await
            .unwrap()
            .is_empty()
    );
    store
        .delete_xcom(dag, &r.run_id, "get_pictures")
        .await
        .unwrap();
    assert_eq!(store.load_xcoms(dag, &r.run_id).await.unwrap().len(), 1);

    let end = now_us();
    assert!(
        store
            .set_run_state(dag, &r.run_id, RunStateRecord::Success, Some(end))
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_run_state(dag, "nope", RunStateRecord::Success, None)
            .await
            .unwrap()
    );
    let read = store.get_run(dag, &r.run_id).await.unwrap().unwrap();
    assert_eq!((read.state, read.end), (RunStateRecord::Success, Some(end)));

    assert!(!store.is_paused(dag).await.unwrap());
    store.set_paused(dag, true).await.unwrap();
    assert!(store.is_paused(dag).await.unwrap());
    store.set_paused(dag, false).await.unwrap();
    assert!(!store.is_paused(dag).await.unwrap());

    // Crash recovery on the same backend.
    let failed = store
        .mark_running_as_failed(dag, &r.run_id, "worker died")
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (failed[0].task_id.as_str(), failed[0].state),
        ("get_pictures", TaskStateRecord::Failed)
    );

    // A task instance needs its run (foreign key).
    let orphan = ti(
        &run(
            dag,
            "missing",
            "2024-01-01T00:00:00Z",
            RunStateRecord::Queued,
        ),
        "t",
        1,
        TaskStateRecord::Queued,
    );
    let err = store.upsert_task_instance(&orphan).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot save try 1 of task `t` in run `missing`"),
        "{err}"
    );
}

#[tokio::test]
async fn round_trip_sqlite() {
    let (_dir, store) = temp_store().await;
    assert_eq!(store.backend(), Backend::Sqlite);
    round_trip(&store, "rocket").await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn round_trip_postgres() {
    let Ok(url) = std::env::var("ROCKET_DAG_TEST_POSTGRES_URL") else {
        println!("skipped: set ROCKET_DAG_TEST_POSTGRES_URL=postgres://… to run on PostgreSQL");
        return;
    };
    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.backend(), Backend::Postgres);
    // Opening again finds the schema applied.
    Store::open(&url).await.unwrap();
    assert_eq!(
        migration_versions(&store).await,
        (1..=schema::LATEST_VERSION).collect::<Vec<_>>()
    );
    let dag = format!(
        "rocket_{}_{}",
        std::process::id(),
        Utc::now().timestamp_micros()
    );
    round_trip(&store, &dag).await;
    record_external_run_on(&store, &format!("{dag}_external")).await;
    list_filters_and_order_on(&store, &format!("{dag}_list")).await;
    claims_on(&store, &format!("{dag}_claims")).await;
    api_listings_on(&store, &format!("{dag}_d"), &format!("{dag}_e"), false).await;
}

#[tokio::test]
async fn migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let url = file_url(&dir);
    let first = Store::open(&url).await.unwrap();
    first
        .upsert_run(&run(
            "d",
            "r",
            "2024-01-01T00:00:00Z",
            RunStateRecord::Queued,
        ))
        .await
        .unwrap();
    first.close().await;
    for _ in 0..2 {
        let again = Store::open(&url).await.unwrap();
        assert_eq!(
            migration_versions(&again).await,
            (1..=schema::LATEST_VERSION).collect::<Vec<_>>()
        );
        assert!(again.get_run("d", "r").await.unwrap().is_some());
        again.close().await;
    }
}

#[tokio::test]
async fn a_newer_schema_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let url = file_url(&dir);
    let store = Store::open(&url).await.unwrap();
    // What a later rocket-dag would have recorded.
    sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO {} (version, description, success, checksum, execution_time) \
         VALUES (999, 'from the future', 1, x'00', 0)",
        schema::MIGRATIONS_TABLE
    )))
    .execute(&store.pool)
    .await
    .unwrap();
    store.close().await;

    let err = Store::open(&url).await.unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::SchemaTooNew {
                found: 999,
                supported: schema::LATEST_VERSION,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.starts_with("the metadata store at sqlite://"), "{msg}");
    assert!(
        msg.contains(&format!(
            "schema version 999, newer than version {}",
            schema::LATEST_VERSION
        )),
        "{msg}"
    );
}

#[tokio::test]
async fn upserts_overwrite() {
    let (_dir, store) = temp_store().await;
    let mut r = run("d", "r", "2024-01-01T00:00:00Z", RunStateRecord::Running);
    store.upsert_run(&r).await.unwrap();
    let mut t = ti(&r, "a", 1, TaskStateRecord::Running);
    store.upsert_task_instance(&t).await.unwrap();
    store.record_tries(&[(t.clone(), Some("1"))]).await.unwrap();

    r.state = RunStateRecord::Failed;
    r.end = Some(now_us());
    r.conf = json!({"retry": true});
    r.run_type = RunType::Backfill;
    store.upsert_run(&r).await.unwrap();
    t.state = TaskStateRecord::Failed;
    t.end = Some(now_us());
    t.duration = Some(Duration::from_millis(12));
    t.error = Some("boom".into());
    store.record_tries(&[(t.clone(), Some("2"))]).await.unwrap();

    assert_eq!(store.get_run("d", "r").await.unwrap(), Some(r));
    // Overwriting the run did not cascade-delete its children.
    assert_eq!(store.task_instances("d", "r").await.unwrap(), vec![t]);
    assert_eq!(
        store.load_xcoms("d", "r").await.unwrap(),
        vec![("a".into(), -1, "2".into())]
    );
    assert_eq!(store.list_runs(None, None, 10).await.unwrap().len(), 1);
}

async fn list_filters_and_order_on(store: &Store, dag: &str) {
    let other = format!("{dag}_other");
    let mut runs = vec![
        run(dag, "r1", "2024-01-01T00:00:00Z", RunStateRecord::Success),
        run(dag, "r3", "2024-01-03T00:00:00Z", RunStateRecord::Failed),
        run(dag, "r2", "2024-01-02T00:00:00Z", RunStateRecord::Success),
        run(
            &other,
            "o1",
            "2024-01-05T00:00:00Z",
            RunStateRecord::Running,
        ),
    ];
    runs[1].run_type = RunType::Manual;
    for r in &runs {
        store.upsert_run(r).await.unwrap();
    }
    let ids = |runs: Vec<DagRunRecord>| runs.into_iter().map(|r| r.run_id).collect::<Vec<_>>();

    assert_eq!(
        ids(store.list_runs(Some(dag), None, 10).await.unwrap()),
        ["r3", "r2", "r1"]
    );
    assert_eq!(
        ids(store.list_runs(Some(dag), None, 2).await.unwrap()),
        ["r3", "r2"]
    );
    assert_eq!(
        ids(store
            .list_runs(Some(dag), Some(RunStateRecord::Success), 10)
            .await
            .unwrap()),
        ["r2", "r1"]
    );
    assert_eq!(
        ids(store
            .list_runs(Some(&other), Some(RunStateRecord::Success), 10)
            .await
            .unwrap()),
        Vec::<String>::new()
    );
    let running = store
        .list_runs(None, Some(RunStateRecord::Running), 100)
        .await
        .unwrap();
    assert!(running.iter().any(|r| r.run_id == "o1"));
    assert!(running.iter().all(|r| r.state == RunStateRecord::Running));

    assert_eq!(
        store.last_run(dag, None).await.unwrap().unwrap().run_id,
        "r3"
    );
    assert_eq!(
        store
            .last_run(dag, Some(RunType::Scheduled))
            .await
            .unwrap()
            .unwrap()
            .run_id,
        "r2"
    );
    assert_eq!(
        store.last_run(dag, Some(RunType::Backfill)).await.unwrap(),
        None
    );
    assert_eq!(store.last_run("no_such_dag", None).await.unwrap(), None);
}

#[tokio::test]
async fn list_filters_and_order() {
    let (_dir, store) = temp_store().await;
    list_filters_and_order_on(&store, "dag").await;
    let all = store.list_runs(None, None, 100).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.run_id.as_str()).collect::<Vec<_>>(),
        ["o1", "r3", "r2", "r1"]
    );
}

#[tokio::test]
async fn crash_recovery_fails_running_tries() {
    let (_dir, store) = temp_store().await;
    let r = run("d", "r", "2024-01-01T00:00:00Z", RunStateRecord::Running);
    store.upsert_run(&r).await.unwrap();
    let mut b = ti(&r, "b", 2, TaskStateRecord::Running);
    b.start = now_us() - chrono::Duration::seconds(3);
    let a = ti(&r, "a", 1, TaskStateRecord::Running);
    let done = ti(&r, "c", 1, TaskStateRecord::Success);
    let mut future = ti(&r, "d", 1, TaskStateRecord::Running);
    // A clock that stepped back must not give a negative duration.
    future.start = now_us() + chrono::Duration::hours(1);
    for t in [&b, &a, &done, &future] {
        store.upsert_task_instance(t).await.unwrap();
    }
    let before = now_us();

    let failed = store
        .mark_running_as_failed("d", "r", "the scheduler restarted")
        .await
        .unwrap();
    assert_eq!(
        failed
            .iter()
            .map(|t| t.task_id.as_str())
            .collect::<Vec<_>>(),
        ["a", "b", "d"]
    );
    for t in &failed {
        assert_eq!(t.state, TaskStateRecord::Failed);
        assert_eq!(t.error.as_deref(), Some("the scheduler restarted"));
        assert!(t.end.unwrap() >= before);
    }
    assert!(failed[1].duration.unwrap() >= Duration::from_secs(3));
    assert_eq!(failed[2].duration, Some(Duration::ZERO));
    // What was returned is what is stored; the finished task is untouched.
    let stored = store.task_instances("d", "r").await.unwrap();
    assert_eq!(
        stored
            .iter()
            .filter(|t| t.state == TaskStateRecord::Failed)
            .count(),
        3
    );
    assert!(stored.contains(&done));
    assert!(stored.contains(&failed[0]));
    // Nothing left to recover.
    assert!(
        store
            .mark_running_as_failed("d", "r", "again")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn two_stores_on_one_file_see_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let url = file_url(&dir);
    let (one, two) = (
        Store::open(&url).await.unwrap(),
        Store::open(&url).await.unwrap(),
    );
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&one.pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");

    one.upsert_run(&run(
        "d",
        "r",
        "2024-01-01T00:00:00Z",
        RunStateRecord::Running,
    ))
    .await
    .unwrap();
    assert!(two.get_run("d", "r").await.unwrap().is_some());
    two.set_run_state("d", "r", RunStateRecord::Success, Some(now_us()))
        .await
        .unwrap();
    assert_eq!(
        one.get_run("d", "r").await.unwrap().unwrap().state,
        RunStateRecord::Success
    );

    // Concurrent writers wait for each other (busy timeout) instead of failing.
    let writes = (0..20).map(|i| {
        let store = if i % 2 == 0 { one.clone() } else { two.clone() };
        tokio::spawn(async move {
            let r = run(
                "d",
                &format!("c{i}"),
                "2024-02-01T00:00:00Z",
                RunStateRecord::Queued,
            );
            store.upsert_run(&r).await
        })
    });
    for write in writes.collect::<Vec<_>>() {
        write.await.unwrap().unwrap();
    }
    assert_eq!(two.list_runs(Some("d"), None, 100).await.unwrap().len(), 21);
}

#[tokio::test]
async fn writes_are_durable_when_the_method_returns() {
    let dir = tempfile::tempdir().unwrap();
    let url = file_url(&dir);
    let store = Store::open(&url).await.unwrap();
    let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(
        synchronous, 1,
        "synchronous=NORMAL (WAL: durable when the process dies)"
    );
    let ten_s = DEFAULT_SQLITE_BUSY_TIMEOUT;
    assert!(sqlite_pragmas(Some("full"), ten_s).contains("synchronous = FULL"));
    assert!(sqlite_pragmas(Some("off"), ten_s).contains("synchronous = NORMAL"));
    assert!(sqlite_pragmas(None, ten_s).contains("synchronous = NORMAL"));
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(foreign_keys, 1);

    let r = run("d", "r", "2024-01-01T00:00:00Z", RunStateRecord::Running);
    store.upsert_run(&r).await.unwrap();
    let t = ti(&r, "a", 1, TaskStateRecord::Success);
    store
        .record_tries(&[(t.clone(), Some("42"))])
        .await
        .unwrap();
    store.set_paused("d", true).await.unwrap();
    // `store` stays open (nothing flushed by closing it): a fresh store must see every write.
    let fresh = Store::open(&url).await.unwrap();
    assert_eq!(fresh.get_run("d", "r").await.unwrap(), Some(r));
    assert_eq!(fresh.task_instances("d", "r").await.unwrap(), vec![t]);
    assert_eq!(
        fresh.load_xcoms("d", "r").await.unwrap(),
        vec![("a".into(), -1, "42".into())]
    );
    assert!(fresh.is_paused("d").await.unwrap());
}

#[tokio::test]
async fn in_memory_store_keeps_its_data() {
    let store = Store::open("sqlite::memory:").await.unwrap();
    store
        .upsert_run(&run(
            "d",
            "r",
            "2024-01-01T00:00:00Z",
            RunStateRecord::Queued,
        ))
        .await
        .unwrap();
    assert!(store.get_run("d", "r").await.unwrap().is_some());
}

#[tokio::test]
async fn open_errors_name_the_store() {
    let err = Store::open("mysql://localhost/db").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported metadata store URL `mysql://localhost/db`: expected `sqlite://PATH` or \
         `postgres://HOST/DB`"
    );
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}/missing/dir/x.db?mode=rwc",
        dir.path().display()
    );
    let err = Store::open(&url).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("cannot open the metadata store at {url}: ")),
        "{err}"
    );
}

#[tokio::test]
async fn open_home_creates_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("a home #1 ?x%");
    if env_url().is_some() {
        println!("skipped: {DATABASE_URL_ENV} is set");
        return;
    }
    let store = Store::open_home(&home).await.unwrap();
    store.set_paused("d", true).await.unwrap();
    assert!(home.join(DATABASE_FILE).is_file());
    assert!(store.url().starts_with("sqlite:///"));
    assert!(
        Store::open(&Store::home_url(&home))
            .await
            .unwrap()
            .is_paused("d")
            .await
            .unwrap()
    );
}

#[test]
fn urls() {
    assert_eq!(Backend::from_url("sqlite://x.db"), Some(Backend::Sqlite));
    assert_eq!(Backend::from_url("sqlite::memory:"), Some(Backend::Sqlite));
    assert_eq!(
        Backend::from_url("postgresql://h/db"),
        Some(Backend::Postgres)
    );
    assert_eq!(
        Backend::from_url("POSTGRES://h/db"),
        Some(Backend::Postgres)
    );
    assert_eq!(Backend::from_url("mysql://h/db"), None);
    assert_eq!(Backend::from_url("no scheme"), None);

    assert_eq!(
        sqlite_url(&std::path::Path::new("/srv/my home#1").join(DATABASE_FILE)),
        "sqlite:///srv/my%20home%231/rocket-dag.db?mode=rwc"
    );
    assert!(sqlite_url(&std::path::Path::new("rel").join(DATABASE_FILE)).starts_with("sqlite:///"));

    assert_eq!(
        redact("postgres://me:s3cr@t@db:5432/x?sslmode=require"),
        "postgres://me:***@db:5432/x?sslmode=require"
    );
    assert_eq!(redact("postgres://me@db/x"), "postgres://me@db/x");
    assert_eq!(
        redact("postgres://db/x?user=me&password=pw&x=1"),
        "postgres://db/x?user=me&password=***&x=1"
    );
    assert_eq!(
        redact("sqlite:///a/b.db?mode=rwc"),
        "sqlite:///a/b.db?mode=rwc"
    );
}

#[test]
fn state_names_round_trip() {
    for s in TaskStateRecord::ALL {
        assert_eq!(s.as_str().parse::<TaskStateRecord>(), Ok(*s));
        assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
    }
    for s in RunStateRecord::ALL {
        assert_eq!(s.as_str().parse::<RunStateRecord>(), Ok(*s));
    }
    for t in RunType::ALL {
        assert_eq!(t.as_str().parse::<RunType>(), Ok(*t));
    }
    assert_eq!(
        "paused".parse::<TaskStateRecord>().unwrap_err().to_string(),
        "unknown task state `paused`"
    );
}

#[tokio::test]
async fn unknown_state_in_the_database_is_reported() {
    let (_dir, store) = temp_store().await;
    store
        .upsert_run(&run(
            "d",
            "r",
            "2024-01-01T00:00:00Z",
            RunStateRecord::Queued,
        ))
        .await
        .unwrap();
    sqlx::query("UPDATE dag_runs SET state = 'deferred'")
        .execute(&store.pool)
        .await
        .unwrap();
    let err = store.get_run("d", "r").await.unwrap_err().to_string();
    assert!(err.starts_with("cannot read run `r` of DAG `d`: "), "{err}");
    assert!(err.contains("unknown run state `deferred`"), "{err}");
}

#[test]
fn records_serialize_for_the_cli() {
    let r = run("d", "r", "2024-01-01T00:00:00Z", RunStateRecord::Success);
    let mut t = ti(&r, "a", 1, TaskStateRecord::UpForRetry);
    t.duration = Some(Duration::from_millis(1500));
    let v = serde_json::to_value(&t).unwrap();
    assert_eq!(v["state"], "up_for_retry");
    assert_eq!(v["duration"], 1.5);
    assert_eq!(v["map_index"], -1);
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["logical_date"], "2024-01-01T00:00:00Z");
    assert_eq!(v["run_type"], "scheduled");
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn unreachable_postgres_fails_at_once_with_the_cause() {
    let started = std::time::Instant::now();
    // Nothing listens on port 1; the password must not show in the message.
    let err = Store::open("postgres://me:secret@127.0.0.1:1/db")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("cannot open the metadata store at postgres://me:***@127.0.0.1:1/db: "),
        "{err}"
    );
    assert!(
        !err.contains("secret") && !err.contains("timed out"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// Processes started together on a new home (scheduler and CLI) must not fail to migrate.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_opens_all_succeed() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let url = file_url(&dir);
        let opens: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move { Store::open(&url).await })
            })
            .collect();
        for open in opens {
            let store = open.await.unwrap().unwrap();
            assert_eq!(
                migration_versions(&store).await,
                (1..=schema::LATEST_VERSION).collect::<Vec<_>>()
            );
        }
    }
}

#[tokio::test]
async fn version_2_moves_the_outputs_of_a_version_1_database_onto_their_tries() {
    let dir = tempfile::tempdir().unwrap();
    let url = file_url(&dir);
    {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        schema::migrator_up_to(1).run(&pool).await.unwrap();
        for sql in [
            "INSERT INTO dag_runs VALUES ('d', 'r', 'manual', 0, 0, 0, 'failed', 0, NULL, '{}')",
            "INSERT INTO task_instances (dag_id, run_id, task_id, map_index, try_number, state, \
             start_us, hostname) VALUES ('d', 'r', 'a', -1, 1, 'failed', 0, 'h'), \
             ('d', 'r', 'a', -1, 2, 'success', 0, 'h'), ('d', 'r', 'm', 0, 1, 'success', 0, 'h')",
            "INSERT INTO xcom VALUES ('d', 'r', 'a', -1, '42'), ('d', 'r', 'm', 0, '\"x\"')",
        ] {
            sqlx::query(AssertSqlSafe(sql))
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
    }
    let store = Store::open(&url).await.unwrap();
    assert_eq!(
        migration_versions(&store).await,
        (1..=schema::LATEST_VERSION).collect::<Vec<_>>()
    );
    assert_eq!(
        store.load_xcoms("d", "r").await.unwrap(),
        vec![
            ("a".to_owned(), -1, "42".to_owned()),
            ("m".to_owned(), 0, "\"x\"".to_owned())
        ]
    );
    assert_eq!(store.task_instances("d", "r").await.unwrap().len(), 3);
}

/// A process of this host that is gone: one spawned and waited for.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[tokio::test]
async fn one_process_at_a_time_executes_a_run() {
    let (_dir, store) = temp_store().await;
    claims_on(&store, "d").await;
}

/// Claims, heartbeats, releases and orphans on `store`, with runs of DAG `dag`.
async fn claims_on(store: &Store, dag: &str) {
    let r = run(
        dag,
        "manual__1",
        "2024-01-01T00:00:00Z",
        RunStateRecord::Running,
    );
    let me = RunOwner::this_process();
    // A new run is created claimed; claiming it again is fine for its owner.
    assert_eq!(
        store.claim_execution(&r, &me).await.unwrap(),
        Claim::Claimed
    );
    assert_eq!(
        store.claim_execution(&r, &me).await.unwrap(),
        Claim::Claimed
    );
    // A live process of this host (pid 1 always lives) is refused with who has it.
    let init = RunOwner {
        hostname: me.hostname.clone(),
        pid: 1,
    };
    match store.claim_execution(&r, &init).await.unwrap() {
        Claim::Busy { owner, heartbeat } => {
            assert_eq!(owner, me);
            assert!(heartbeat.is_some());
        }
        other => panic!("{other:?}"),
    }
    // Released, anyone may take it.
    store.release(dag, "manual__1", &me).await.unwrap();
    assert_eq!(
        store.claim_execution(&r, &init).await.unwrap(),
        Claim::Claimed
    );
    assert!(
        !store.heartbeat(dag, "manual__1", &me).await.unwrap(),
        "no longer mine"
    );
    assert!(store.heartbeat(dag, "manual__1", &init).await.unwrap());
    store.release(dag, "manual__1", &init).await.unwrap();
    store
        .set_run_state(dag, "manual__1", RunStateRecord::Success, Some(now_us()))
        .await
        .unwrap();

    let dead = RunOwner {
        hostname: me.hostname.clone(),
        pid: dead_pid(),
    };
    let r = run(
        dag,
        "scheduled__1",
        "2024-01-01T00:00:00Z",
        RunStateRecord::Running,
    );
    assert_eq!(
        store.claim_execution(&r, &dead).await.unwrap(),
        Claim::Claimed
    );
    // Another host's owner with a fresh heartbeat lives; one whose heartbeat stopped does not.
    let away = RunOwner {
        hostname: "elsewhere".into(),
        pid: 7,
    };
    let fresh = run(
        dag,
        "scheduled__2",
        "2024-01-02T00:00:00Z",
        RunStateRecord::Running,
    );
    assert_eq!(
        store.claim_execution(&fresh, &away).await.unwrap(),
        Claim::Claimed
    );
    let stale = run(
        dag,
        "scheduled__3",
        "2024-01-03T00:00:00Z",
        RunStateRecord::Running,
    );
    assert_eq!(
        store.claim_execution(&stale, &away).await.unwrap(),
        Claim::Claimed
    );
    sqlx::query("UPDATE dag_runs SET heartbeat_us = 0 WHERE dag_id = $1 AND run_id = $2")
        .bind(dag)
        .bind("scheduled__3")
        .execute(&store.pool)
        .await
        .unwrap();
    // A run that finished is no orphan, whatever its owner.
    let done = run(
        dag,
        "scheduled__4",
        "2024-01-04T00:00:00Z",
        RunStateRecord::Success,
    );
    assert_eq!(
        store.claim_execution(&done, &dead).await.unwrap(),
        Claim::Claimed
    );

    let orphans: Vec<String> = store
        .orphaned_runs(&[dag])
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.run_id)
        .collect();
    assert_eq!(orphans, ["scheduled__1", "scheduled__3"]);
    assert!(
        store
            .orphaned_runs(&["no_such_dag"])
            .await
            .unwrap()
            .is_empty()
    );
    // Taking one over: exactly one of two contenders gets it.
    assert_eq!(
        store.claim_execution(&r, &me).await.unwrap(),
        Claim::Claimed
    );
    assert!(matches!(
        store.claim_execution(&r, &init).await.unwrap(),
        Claim::Busy { .. }
    ));
    assert!(matches!(
        store.claim_execution(&fresh, &me).await.unwrap(),
        Claim::Busy { .. }
    ));
}

#[cfg(not(feature = "postgres"))]
#[tokio::test]
async fn postgres_without_its_feature_says_so() {
    let err = Store::open("postgres://me:secret@127.0.0.1:1/db")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::PostgresNotBuilt { .. }), "{err}");
    assert!(err.to_string().contains("`postgres` feature"), "{err}");
    assert!(!err.to_string().contains("secret"), "{err}");
}

#[tokio::test]
async fn ids_that_cannot_be_paths_are_not_recorded() {
    let (_dir, store) = temp_store().await;
    let bad = run(
        "d",
        "manual__x/../../y",
        "2024-01-01T00:00:00Z",
        RunStateRecord::Running,
    );
    assert!(matches!(
        store.upsert_run(&bad).await,
        Err(StoreError::InvalidId(_))
    ));
    let good = run(
        "d",
        "manual__x",
        "2024-01-01T00:00:00Z",
        RunStateRecord::Running,
    );
    store.upsert_run(&good).await.unwrap();
    let mut t = ti(&good, "../t", 1, TaskStateRecord::Running);
    assert!(matches!(
        store.record_tries(&[(t.clone(), None)]).await,
        Err(StoreError::InvalidId(_))
    ));
    t.task_id = "t".into();
    store.record_tries(&[(t, None)]).await.unwrap();
}

#[tokio::test]
async fn what_is_no_database_is_reported_not_opened() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(DATABASE_FILE);
    std::fs::write(&file, b"").unwrap();
    let e = Store::open_home(dir.path()).await.unwrap_err();
    assert!(e.to_string().contains("is empty (0 bytes)"), "{e}");
    std::fs::write(&file, b"PK\x03\x04 a zip, say").unwrap();
    let e = Store::open_home(dir.path()).await.unwrap_err();
    assert!(e.to_string().contains("SQLite's header"), "{e}");
    assert_eq!(std::fs::read(&file).unwrap(), b"PK\x03\x04 a zip, say");
    // A home that is a file.
    let e = Store::open_home(&file).await.unwrap_err();
    assert!(matches!(e, StoreError::HomeNotADirectory { .. }), "{e}");
    // A new home: the database appears whole, with nothing left beside it.
    let fresh = dir.path().join("fresh");
    let store = Store::open_home(&fresh).await.unwrap();
    store.close().await;
    let names: Vec<String> = std::fs::read_dir(&fresh)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(".new"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[tokio::test]
async fn api_listings_give_every_run_and_the_latest_try_of_each_instance() {
    let (_dir, store) = temp_store().await;
    api_listings_on(&store, "d", "e", true).await;
}

/// The API's and the pages' listings over DAGs `d` and `e`; `alone`: no other DAG's runs are
/// in the store (so listings over every DAG can be checked too).
async fn api_listings_on(store: &Store, d: &str, e: &str, alone: bool) {
    let a = run(d, "a", "2024-01-02T00:00:00Z", RunStateRecord::Success);
    let b = run(d, "b", "2024-01-01T00:00:00Z", RunStateRecord::Running);
    let other = run(e, "c", "2024-01-03T00:00:00Z", RunStateRecord::Queued);
    for r in [&a, &b, &other] {
        store.upsert_run(r).await.unwrap();
    }
    let ids = |runs: Vec<DagRunRecord>| runs.into_iter().map(|r| r.run_id).collect::<Vec<_>>();
    assert_eq!(ids(store.all_runs(Some(d)).await.unwrap()), ["b", "a"]);
    if alone {
        assert_eq!(ids(store.all_runs(None).await.unwrap()), ["b", "a", "c"]);
    }
    let mut mapped = ti(&a, "m", 1, TaskStateRecord::Success);
    mapped.map_index = 0;
    for t in [
        ti(&a, "x", 1, TaskStateRecord::Failed),
        ti(&a, "x", 2, TaskStateRecord::Success),
        ti(&b, "x", 1, TaskStateRecord::Running),
        ti(&other, "y", 1, TaskStateRecord::Queued),
        mapped,
    ] {
        store.upsert_task_instance(&t).await.unwrap();
    }
    let latest = store.latest_task_instances(Some(d), None).await.unwrap();
    let got: Vec<_> = latest
        .iter()
        .map(|t| (t.run_id.as_str(), t.label(), t.try_number))
        .collect();
    assert_eq!(
        got,
        [
            ("a", "m[0]".to_owned(), 1),
            ("a", "x".to_owned(), 2),
            ("b", "x".to_owned(), 1),
        ]
    );
    if alone {
        assert_eq!(
            store.latest_task_instances(None, None).await.unwrap().len(),
            4
        );
    }
    let counts = store
        .instance_counts(d, None, &["x", "gone"])
        .await
        .unwrap();
    assert_eq!(
        counts["a"],
        InstanceCount {
            instances: 2,
            known_tasks: 1
        }
    );
    assert_eq!(counts["b"].instances, 1);
    assert_eq!(
        store
            .instance_counts(d, Some("b"), &[])
            .await
            .unwrap()
            .len(),
        1
    );
    let one = store
        .latest_task_instances(Some(d), Some("a"))
        .await
        .unwrap();
    assert_eq!(one.len(), 2);
    // The Grid's query: the tries of the DAG's last runs.
    let recent = store.recent_task_instances(d, 10).await.unwrap();
    assert_eq!(recent.len(), 4, "{recent:?}");
}

/// `record_external_run` creates a run once, then leaves it alone; a run rocket-dag itself
/// executes stays its own; an external run is never claimed. On `store`.
async fn record_external_run_on(store: &Store, dag: &str) {
    let r = run(
        dag,
        "manual__1",
        "2024-01-01T00:00:00Z",
        RunStateRecord::Running,
    );
    let first = store.record_external_run(&r, "airflow").await.unwrap();
    assert!(first.created);
    assert_eq!(
        (first.run, first.executor.as_deref()),
        (r.clone(), Some("airflow"))
    );
    let mut other = r.clone();
    other.state = RunStateRecord::Queued;
    other.conf = json!({"changed": true});
    let again = store.record_external_run(&other, "airflow").await.unwrap();
    assert!(!again.created);
    assert_eq!(again.run, r);
    // Never claimed, resumed or adopted by a rocket-dag process.
    let me = RunOwner::this_process();
    assert_eq!(
        store.claim_execution(&r, &me).await.unwrap(),
        Claim::External {
            executor: "airflow".into()
        }
    );
    assert!(store.orphaned_runs(&[dag]).await.unwrap().is_empty());
    assert_eq!(
        store
            .run_executor(dag, "manual__1")
            .await
            .unwrap()
            .as_deref(),
        Some("airflow")
    );
    // A run of rocket-dag's own is not taken over by the engine.
    let own = run(
        dag,
        "manual__2",
        "2024-01-02T00:00:00Z",
        RunStateRecord::Queued,
    );
    assert!(store.queue_run(&own).await.unwrap());
    let theirs = store.record_external_run(&own, "airflow").await.unwrap();
    assert_eq!((theirs.created, theirs.executor), (false, None));
    assert_eq!(store.list_runs(Some(dag), None, 10).await.unwrap().len(), 2);
}

#[tokio::test]
async fn external_runs_are_recorded_once_and_never_claimed() {
    let (_dir, store) = temp_store().await;
    record_external_run_on(&store, "d").await;
}

#[test]
fn the_busy_timeout_comes_from_the_environment() {
    assert_eq!(parse_busy_timeout(None), Duration::from_secs(10));
    assert_eq!(parse_busy_timeout(Some(" ")), Duration::from_secs(10));
    assert_eq!(parse_busy_timeout(Some("250")), Duration::from_millis(250));
    assert_eq!(parse_busy_timeout(Some("0")), Duration::ZERO);
    assert_eq!(parse_busy_timeout(Some("ten")), Duration::from_secs(10));
    assert_eq!(parse_busy_timeout(Some("-5")), Duration::from_secs(10));
    assert_eq!(
        parse_busy_timeout(Some("4294967295")),
        Duration::from_secs(10)
    );
    assert!(
        sqlite_pragmas(None, Duration::from_millis(250)).starts_with("PRAGMA busy_timeout = 250;")
    );
}

/// Environment variables telling a re-executed test binary which part it plays.
const CHILD_ROLE_ENV: &str = "ROCKET_DAG_TEST_CHILD_ROLE";
const CHILD_INDEX_ENV: &str = "ROCKET_DAG_TEST_CHILD_INDEX";
const CHILD_HOME_ENV: &str = "ROCKET_DAG_TEST_CHILD_HOME";
const CHILD_START_ENV: &str = "ROCKET_DAG_TEST_CHILD_START_US";

/// What a child process reports, on stdout after this prefix (the test harness may print
/// before it on the line), as JSON.
const CHILD_REPORT: &str = "CHILD-REPORT ";

/// This test binary, to run only the test `name` of this module as a child process playing
/// `role` on the home `home`: the store as a separate process sees it (file locks and all).
fn child(name: &str, role: &str, home: &std::path::Path) -> tokio::process::Command {
    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
    let mut cmd = tokio::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        &format!("{module}::{name}"),
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ROLE_ENV, role)
    .env(CHILD_HOME_ENV, home)
    .env_remove(DATABASE_URL_ENV)
    .env_remove(SQLITE_BUSY_TIMEOUT_ENV)
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .kill_on_drop(true);
    cmd
}

/// The child's report, or a panic with what it printed if it failed.
fn child_report(out: &std::process::Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = stdout
        .lines()
        .find_map(|l| l.split_once(CHILD_REPORT).map(|(_, report)| report))
        .filter(|_| out.status.success());
    match report {
        Some(r) => serde_json::from_str(r).unwrap(),
        None => panic!(
            "child failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// The run every writer process works on.
fn shared_run() -> DagRunRecord {
    run(
        "workers",
        "manual__2024-01-01",
        "2024-01-01T00:00:00Z",
        RunStateRecord::Running,
    )
}

/// Tasks each writer process records (one try each, running then success with an output).
const WRITER_TASKS: usize = 200;
/// Every this many tasks, a mapped one with [`WRITER_MAP_WIDTH`] elements.
const WRITER_MAPPED_EVERY: usize = 20;
const WRITER_MAP_WIDTH: i32 = 5;
/// Elements of the mapped task each writer records in one batch at the end: more than one
/// statement holds, so one transaction.
const WRITER_BATCH: i32 = tries::ROWS_PER_STATEMENT as i32 + 100;

/// The instances `(task, map index)` writer `w` records one at a time.
fn writer_instances(w: usize) -> Vec<(String, i32)> {
    let mut out = Vec::new();
    for k in 0..WRITER_TASKS {
        let task = format!("w{w}_t{k:03}");
        if k % WRITER_MAPPED_EVERY == 0 {
            out.extend((0..WRITER_MAP_WIDTH).map(|m| (task.clone(), m)));
        } else {
            out.push((task, NOT_MAPPED));
        }
    }
    out
}

fn writer_output(w: usize, task: &str, map_index: i32) -> String {
    json!({"writer": w, "task": task, "map_index": map_index}).to_string()
}

/// A worker process: opens the (maybe new) home as the CLI does, makes sure the run exists,
/// records its tries as fast as it can, reading the run's outputs and tries in between.
async fn writer_child(w: usize, home: &std::path::Path, start_us: i64) -> serde_json::Value {
    // Start together with the others, so the first opens race on the new home too.
    let wait = start_us - Utc::now().timestamp_micros();
    if wait > 0 {
        tokio::time::sleep(Duration::from_micros(wait as u64)).await;
    }
    let started = std::time::Instant::now();
    let store = Store::open_home(home).await.unwrap();
    let opened_ms = started.elapsed().as_secs_f64() * 1e3;
    let r = shared_run();
    let inserted = store
        .record_external_run(&r, "airflow")
        .await
        .unwrap()
        .created;
    let mut statements = 1usize;
    let mut reads = 0usize;
    let mut read_time = Duration::ZERO;
    let instances = writer_instances(w);
    for (i, (task, m)) in instances.iter().enumerate() {
        let mut t = ti(&r, task, 1, TaskStateRecord::Running);
        t.map_index = *m;
        t.pid = Some(std::process::id());
        // Both ways the runner and the CLI write a try.
        if i % 2 == 0 {
            store.upsert_task_instance(&t).await.unwrap();
        } else {
            store.record_tries(&[(t.clone(), None)]).await.unwrap();
        }
        t.state = TaskStateRecord::Success;
        t.end = Some(now_us());
        t.duration = Some(Duration::from_micros(1));
        let output = writer_output(w, task, *m);
        store.record_tries(&[(t, Some(&output))]).await.unwrap();
        statements += 2;
        if i % 50 == 49 {
            let reading = std::time::Instant::now();
            // This process's own writes so far are all there, whatever the others do.
            let xcoms = store.load_xcoms(&r.dag_id, &r.run_id).await.unwrap();
            let mine: Vec<_> = xcoms
                .iter()
                .filter(|(t, _, _)| t.starts_with(&format!("w{w}_")))
                .collect();
            assert_eq!(mine.len(), i + 1, "writer {w} after {} writes", i + 1);
            let tis = store.task_instances(&r.dag_id, &r.run_id).await.unwrap();
            assert!(tis.iter().all(|t| t.try_number == 1));
            reads += 2;
            read_time += reading.elapsed();
        }
    }
    let batch: Vec<(TaskInstanceRecord, Option<String>)> = (0..WRITER_BATCH)
        .map(|m| {
            let task = format!("w{w}_batch");
            let mut t = ti(&r, &task, 1, TaskStateRecord::Success);
            t.map_index = m;
            let output = writer_output(w, &task, m);
            (t, Some(output))
        })
        .collect();
    let batch: Vec<(TaskInstanceRecord, Option<&str>)> = batch
        .iter()
        .map(|(t, o)| (t.clone(), o.as_deref()))
        .collect();
    store.record_tries(&batch).await.unwrap();
    statements += 1;
    store.close().await;
    json!({
        "writer": w,
        "inserted": inserted,
        "statements": statements,
        "rows": instances.len() * 2 + batch.len(),
        "reads": reads,
        "open_ms": opened_ms,
        "read_ms": read_time.as_secs_f64() * 1e3,
        "ms": started.elapsed().as_secs_f64() * 1e3,
    })
}

/// Several processes (Airflow's LocalExecutor running one worker per task) share one new
/// SQLite home: every open succeeds, exactly one creates the run, every try and output lands
/// exactly once, and the file is sound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_processes_share_one_sqlite_file() {
    const NAME: &str = "worker_processes_share_one_sqlite_file";
    if std::env::var(CHILD_ROLE_ENV).as_deref() == Ok("writer") {
        let w: usize = std::env::var(CHILD_INDEX_ENV).unwrap().parse().unwrap();
        let home = std::path::PathBuf::from(std::env::var_os(CHILD_HOME_ENV).unwrap());
        let start: i64 = std::env::var(CHILD_START_ENV).unwrap().parse().unwrap();
        let report = writer_child(w, &home, start).await;
        println!("{CHILD_REPORT}{report}");
        return;
    }
    const WRITERS: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let started = std::time::Instant::now();
    // Far enough ahead that every process is up before any opens the home.
    let start = Utc::now().timestamp_micros() + 300_000;
    let children: Vec<_> = (0..WRITERS)
        .map(|w| {
            child(NAME, "writer", &home)
                .env(CHILD_INDEX_ENV, w.to_string())
                .env(CHILD_START_ENV, start.to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut reports = Vec::new();
    for c in children {
        let out = tokio::time::timeout(Duration::from_secs(60), c.wait_with_output())
            .await
            .expect("a writer process hung")
            .unwrap();
        reports.push(child_report(&out));
    }
    let elapsed = started.elapsed();

    let inserted = reports.iter().filter(|r| r["inserted"] == true).count();
    assert_eq!(
        inserted, 1,
        "exactly one process creates the run: {reports:?}"
    );
    let store = Store::open(&sqlite_url(&home.join(DATABASE_FILE)))
        .await
        .unwrap();
    let r = shared_run();
    assert_eq!(
        store
            .list_runs(Some(&r.dag_id), None, 10)
            .await
            .unwrap()
            .len(),
        1
    );
    let tis = store.task_instances(&r.dag_id, &r.run_id).await.unwrap();
    let xcoms: std::collections::HashMap<(String, i32), String> = store
        .load_xcoms(&r.dag_id, &r.run_id)
        .await
        .unwrap()
        .into_iter()
        .map(|(t, m, o)| ((t, m), o))
        .collect();
    let mut expected = std::collections::HashSet::new();
    for w in 0..WRITERS {
        for (task, m) in writer_instances(w) {
            expected.insert((task, m, w));
        }
        expected.extend((0..WRITER_BATCH).map(|m| (format!("w{w}_batch"), m, w)));
    }
    assert_eq!(
        tis.len(),
        expected.len(),
        "one row per instance, none lost or doubled"
    );
    assert_eq!(xcoms.len(), expected.len());
    for (task, m, w) in &expected {
        let found: Vec<_> = tis
            .binary_search_by(|t| (t.task_id.as_str(), t.map_index).cmp(&(task.as_str(), *m)))
            .map(|i| &tis[i])
            .into_iter()
            .collect();
        let [t] = found[..] else {
            panic!("{task}[{m}] is missing");
        };
        assert_eq!(
            (t.state, t.try_number),
            (TaskStateRecord::Success, 1),
            "{t:?}"
        );
        assert_eq!(xcoms[&(task.clone(), *m)], writer_output(*w, task, *m));
    }
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    let leftovers: Vec<_> = std::fs::read_dir(&home)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".new-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let statements: u64 = reports
        .iter()
        .map(|r| r["statements"].as_u64().unwrap())
        .sum();
    let rows: u64 = reports.iter().map(|r| r["rows"].as_u64().unwrap()).sum();
    let slowest = reports
        .iter()
        .map(|r| r["ms"].as_f64().unwrap())
        .fold(0.0, f64::max);
    let open_ms: Vec<f64> = reports
        .iter()
        .map(|r| r["open_ms"].as_f64().unwrap())
        .collect();
    let read_ms: Vec<f64> = reports
        .iter()
        .map(|r| r["read_ms"].as_f64().unwrap())
        .collect();
    println!(
        "{WRITERS} processes: {statements} write statements ({rows} rows) in {:.2} s of wall \
         time, slowest process {:.0} ms from open to close ({:.0} statements/s, {:.0} rows/s \
         across processes); opens took {open_ms:.0?} ms; reads took {read_ms:.0?} ms",
        elapsed.as_secs_f64(),
        slowest,
        statements as f64 / (slowest / 1e3),
        rows as f64 / (slowest / 1e3),
    );
}

/// A write that finds the database locked for longer than the busy timeout fails after about
/// that long, saying what holds it and what to do; released, the write succeeds and what the
/// lock holder had not committed is gone.
#[tokio::test]
async fn a_lock_held_past_the_busy_timeout_is_a_clear_error() {
    const NAME: &str = "a_lock_held_past_the_busy_timeout_is_a_clear_error";
    let r = run("d", "r", "2024-01-01T00:00:00Z", RunStateRecord::Running);
    let blocked = || {
        let mut t = ti(&r, "blocked", 1, TaskStateRecord::Success);
        t.start = at("2024-01-01T00:00:00Z");
        t
    };
    if std::env::var(CHILD_ROLE_ENV).as_deref() == Ok("blocked") {
        let home = std::path::PathBuf::from(std::env::var_os(CHILD_HOME_ENV).unwrap());
        let store = Store::open_home(&home).await.unwrap();
        let started = std::time::Instant::now();
        let err = store
            .record_tries(&[(blocked(), Some("1"))])
            .await
            .unwrap_err();
        let ms = started.elapsed().as_secs_f64() * 1e3;
        println!(
            "{CHILD_REPORT}{}",
            json!({"ms": ms, "error": err.to_string()})
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = file_url(&dir);
    let store = Store::open(&url).await.unwrap();
    store.record_external_run(&r, "airflow").await.unwrap();

    // Another connection (a tool, a stuck process) holds a write transaction.
    let mut holder = sqlx::AnyConnection::connect(&url).await.unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .unwrap();
    let held = ti(&r, "held", 1, TaskStateRecord::Running);
    tries::upsert_task_instance(&mut holder, &held)
        .await
        .unwrap();

    let started = std::time::Instant::now();
    let out = child(NAME, "blocked", dir.path())
        .env(SQLITE_BUSY_TIMEOUT_ENV, "300")
        .output()
        .await
        .unwrap();
    let process_ms = started.elapsed().as_millis();
    let report = child_report(&out);
    let (ms, err) = (
        report["ms"].as_f64().unwrap(),
        report["error"].as_str().unwrap(),
    );
    println!("failed after {ms:.0} ms: {err}");
    assert!((250.0..3000.0).contains(&ms), "failed after {ms} ms: {err}");
    assert!(process_ms < 10_000, "the child took {process_ms} ms");
    for part in [
        "cannot save try 1 of task `blocked` in run `r` of DAG `d`: ",
        "database is locked",
        "(the database stayed locked by another process for more than 300 ms: another \
         rocket-dag process or a tool holds a write transaction; try again, raise \
         ROCKET_DAG_SQLITE_BUSY_TIMEOUT_MS, or move the history to PostgreSQL with \
         ROCKET_DAG_DATABASE_URL)",
    ] {
        assert!(err.contains(part), "{err}");
    }

    // Released (rolled back), the same write goes through; nothing half-written remains.
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut holder)
        .await
        .unwrap();
    store.record_tries(&[(blocked(), Some("1"))]).await.unwrap();
    assert_eq!(
        store.task_instances("d", "r").await.unwrap(),
        vec![blocked()]
    );
    assert_eq!(
        store.load_xcoms("d", "r").await.unwrap(),
        vec![("blocked".into(), NOT_MAPPED, "1".into())]
    );
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&store.pool)
        .await
        .unwrap();
    assert_eq!(check, "ok");
}

#[test]
fn busy_errors_name_the_timeout() {
    use super::error::{busy_hint, hint};
    assert!(busy_hint(Duration::from_secs(10)).contains("for more than 10 s: "));
    assert!(busy_hint(Duration::from_millis(1500)).contains("for more than 1500 ms: "));
    // Not a database error: no hint.
    assert_eq!(
        &*hint(&sqlx::Error::RowNotFound, None, Duration::from_secs(10)),
        ""
    );
}

//! The scheduler: runs DAGs on their schedules, catching up as Airflow does, and sleeps until
//! the next run is due.
//!
//! One scheduler per home: a second one on the same home refuses to start (an exclusive lock on
//! `<home>/scheduler.lock`, released by the kernel if the process dies), so nothing runs twice.
//! Schedulers on several homes or machines may share one database (PostgreSQL): each scheduled
//! run is created by exactly one of them (an insert that does nothing when the run exists), and
//! each triggered run is moved from queued to running by exactly one.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::dag::Dag;
use crate::runner::{RunRequest, Runner};
use crate::store::{DagRunRecord, RunStateRecord, RunType, Store, StoreError};
use crate::timetable::{DataInterval, due_intervals, next_interval};

/// How long the scheduler sleeps at most between looks, so that runs queued where no wake-up
/// reaches it (another machine sharing a PostgreSQL store) are noticed without a busy loop.
/// On one machine, `dags trigger` and `dags unpause` wake it at once (see [`wake`]).
pub const MAX_SLEEP: Duration = Duration::from_secs(10);

/// The socket a scheduler listens on for wake-ups: `<home>/scheduler.sock`.
pub fn wake_socket(home: &Path) -> PathBuf {
    home.join("scheduler.sock")
}

/// Wakes the scheduler running on `home`, if any, so it looks at queued runs and pause states
/// now rather than at its next timer. Best effort: without a scheduler nothing happens.
pub fn wake(home: &Path) {
    if let Ok(sock) = std::os::unix::net::UnixDatagram::unbound() {
        let _ = sock.send_to(b"wake", wake_socket(home));
    }
}

/// Why the scheduler cannot run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchedulerError {
    /// Another scheduler holds the lock of this home.
    #[error(
        "another scheduler is already running on {home} (it holds {lock}); refusing to start a second one"
    )]
    AlreadyRunning {
        /// The home.
        home: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// The lock file cannot be created.
    #[error("cannot create the scheduler lock {lock}: {source}")]
    Lock {
        /// The lock file.
        lock: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The run history failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The lock held while a scheduler runs.
#[derive(Debug)]
pub struct SchedulerLock {
    _lock: nix::fcntl::Flock<File>,
}

impl SchedulerLock {
    /// Takes the home's scheduler lock, or says who holds it.
    pub fn acquire(home: &Path) -> Result<SchedulerLock, SchedulerError> {
        let lock = home.join("scheduler.lock");
        let err = |source| SchedulerError::Lock {
            lock: lock.clone(),
            source,
        };
        std::fs::create_dir_all(home).map_err(err)?;
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock)
            .map_err(err)?;
        match nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock) {
            Ok(l) => Ok(SchedulerLock { _lock: l }),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => Err(SchedulerError::AlreadyRunning {
                home: home.to_owned(),
                lock,
            }),
            Err((_, e)) => Err(err(std::io::Error::from(e))),
        }
    }
}

/// Runs `dags` on their schedules until `stop` is cancelled: runs queued by `dags trigger` start
/// at once; every due interval of every unpaused DAG gets a `scheduled__…` run (oldest first, at most `max_active_runs` of a DAG at
/// once), then the scheduler sleeps until the next interval ends. Runs in progress when `stop`
/// fires are interrupted as by Ctrl-C.
pub async fn run(
    dags: &[Dag],
    runner: Runner,
    store: Store,
    stop: CancellationToken,
) -> Result<(), SchedulerError> {
    let _lock = SchedulerLock::acquire(runner.home())?;
    // Holding the lock, a socket file left by a dead scheduler is ours to replace.
    let sock_path = wake_socket(runner.home());
    let _ = std::fs::remove_file(&sock_path);
    let wakeups = match tokio::net::UnixDatagram::bind(&sock_path) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(
                "cannot listen on {} ({e}): triggered runs start within {}s instead of at once",
                sock_path.display(),
                MAX_SLEEP.as_secs()
            );
            None
        }
    };
    let mut buf = [0u8; 16];
    tracing::info!(
        dags = dags.len(),
        "scheduler started on {}",
        runner.home().display()
    );
    // The runs this scheduler executes (with their interval, for scheduled ones), so that a
    // long run is neither started nor adopted twice.
    let mut ours: HashMap<(String, String), Option<DataInterval>> = HashMap::new();
    let mut running: JoinSet<(String, String)> = JoinSet::new();
    let dag_ids: Vec<&str> = dags.iter().map(Dag::id).collect();
    loop {
        let now = Utc::now();
        let mut wake = now + chrono::Duration::from_std(MAX_SLEEP).expect("small");
        // Runs left `running` by a process that is gone (killed, crashed): resumed here, as
        // `dags test` of that run would, whatever the DAG's pause state (as Airflow finishes a
        // paused DAG's running runs).
        for orphan in store.orphaned_runs(&dag_ids).await? {
            let key = (orphan.dag_id.clone(), orphan.run_id.clone());
            if ours.contains_key(&key) {
                continue;
            }
            let Some(dag) = dags.iter().find(|d| d.id() == orphan.dag_id) else {
                continue;
            };
            tracing::warn!(
                "run {} of {} was left running by a process that is gone: resuming it",
                orphan.run_id,
                orphan.dag_id
            );
            let interval = (orphan.run_type == RunType::Scheduled).then_some(DataInterval {
                start: orphan.data_interval_start,
                end: orphan.data_interval_end,
            });
            ours.insert(key, interval);
            spawn_run(&mut running, dag, &runner, request_for(&orphan), "resumed");
        }
        for dag in dags {
            // A paused DAG starts nothing new (its triggered runs wait for the unpause).
            if store.is_paused(dag.id()).await? {
                continue;
            }
            // Triggered runs (`dags trigger`) first, as they were queued.
            let mut queued = store
                .list_runs(Some(dag.id()), Some(RunStateRecord::Queued), 100)
                .await?;
            queued.reverse();
            for q in queued {
                let key = (q.dag_id.clone(), q.run_id.clone());
                if !ours.contains_key(&key) && store.claim_queued_run(&q.dag_id, &q.run_id).await? {
                    ours.insert(key, None);
                    spawn_run(&mut running, dag, &runner, request_for(&q), "triggered");
                }
            }
            let last = store
                .last_run(dag.id(), Some(RunType::Scheduled))
                .await?
                .map(|r| DataInterval {
                    start: r.data_interval_start,
                    end: r.data_interval_end,
                });
            let last = last_of(&ours, dag.id()).max(last);
            // Every running run of the DAG counts, whoever executes it.
            let active = store
                .list_runs(Some(dag.id()), Some(RunStateRecord::Running), u32::MAX)
                .await?
                .len();
            let free = dag.options().max_active_runs.saturating_sub(active);
            for interval in due_intervals(dag.options(), last, now)
                .into_iter()
                .take(free)
            {
                // Another scheduler sharing the database may have created this run already.
                let record = DagRunRecord {
                    dag_id: dag.id().to_owned(),
                    run_id: crate::runner::run_id(RunType::Scheduled.as_str(), interval.start),
                    run_type: RunType::Scheduled,
                    logical_date: interval.start,
                    data_interval_start: interval.start,
                    data_interval_end: interval.end,
                    state: RunStateRecord::Running,
                    start: Utc::now(),
                    end: None,
                    conf: serde_json::Value::Object(Default::default()),
                };
                if !store.claim_run(&record).await? {
                    tracing::debug!("run {} exists already: not starting it", record.run_id);
                    continue;
                }
                ours.insert(
                    (record.dag_id.clone(), record.run_id.clone()),
                    Some(interval),
                );
                let request = RunRequest::new(interval.start).run_type(RunType::Scheduled);
                spawn_run(&mut running, dag, &runner, request, "scheduled");
            }
            let last = last_of(&ours, dag.id()).max(last);
            // Wake when the next interval ends; one already due but held back by
            // max_active_runs starts when a run finishes (the join below), not by polling.
            if let Some(next) = next_interval(dag.options(), last.as_ref(), now)
                && next.end > now
            {
                wake = wake.min(next.end);
            }
        }
        let sleep = (wake - Utc::now()).to_std().unwrap_or(Duration::ZERO);
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(sleep) => {}
            Ok(_) = async { wakeups.as_ref().expect("guarded").recv(&mut buf).await }, if wakeups.is_some() => {}
            Some(done) = running.join_next(), if !running.is_empty() => {
                if let Ok(key) = done {
                    ours.remove(&key);
                }
            }
        }
    }
    let _ = std::fs::remove_file(&sock_path);
    tracing::info!("scheduler stopping: interrupting {} run(s)", running.len());
    runner.cancellation_token().cancel();
    while running.join_next().await.is_some() {}
    Ok(())
}

/// The latest interval among the scheduled runs this scheduler executes for `dag`.
fn last_of(
    ours: &HashMap<(String, String), Option<DataInterval>>,
    dag: &str,
) -> Option<DataInterval> {
    ours.iter()
        .filter(|((d, _), _)| d == dag)
        .filter_map(|(_, i)| *i)
        .max()
}

/// The request that runs a recorded run again: its id, type, logical date and params.
fn request_for(run: &DagRunRecord) -> RunRequest {
    let conf = match &run.conf {
        serde_json::Value::Object(m) => m.clone(),
        _ => Default::default(),
    };
    RunRequest::new(run.logical_date)
        .run_type(run.run_type)
        .run_id(run.run_id.clone())
        .params(conf)
}

/// Runs `request` of `dag` in the background; the join yields its ids.
fn spawn_run(
    running: &mut JoinSet<(String, String)>,
    dag: &Dag,
    runner: &Runner,
    request: RunRequest,
    what: &'static str,
) {
    let (dag, runner) = (dag.clone(), runner.clone());
    running.spawn(async move {
        let report = runner.run(&dag, request).await;
        match &report.error {
            Some(e) => tracing::info!("{what} run {} of {}: not run: {e}", report.run_id, dag.id()),
            None => tracing::info!(
                "{what} run {} of {}: {}",
                report.run_id,
                dag.id(),
                report.state
            ),
        }
        (dag.id().to_owned(), report.run_id)
    });
}

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

use chrono::{DateTime, Utc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::dag::Dag;
use crate::runner::{RunRequest, Runner, SchedulerPass};
use crate::store::{DagRunRecord, RunStateRecord, RunType, Store, StoreError};
use crate::timetable::{DataInterval, due_intervals, next_interval};

/// How long the scheduler sleeps at most between looks, so that runs queued where no wake-up
/// reaches it (another machine sharing a PostgreSQL store) are noticed without a busy loop.
/// On one machine, `dags trigger` and `dags unpause` wake it at once (see [`wake`]).
pub const MAX_SLEEP: Duration = Duration::from_secs(10);

pub use crate::control::{wake, wake_socket};

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

/// What tells the scheduler the time: the system clock in production ([`SystemClock`]); a
/// test sets its own and wakes the scheduler ([`wake`]) when it moves it.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Runs `dags` on their schedules until `stop` is cancelled: runs queued by `dags trigger` start
/// at once; every due interval of every unpaused DAG gets a `scheduled__…` run (oldest first, at
/// most `max_active_runs` of a DAG at once, counting every process's runs), then the scheduler
/// sleeps until the next interval ends. Runs left `running` by a process that is gone are
/// resumed. Runs in progress when `stop` fires are interrupted as by Ctrl-C.
pub async fn run(
    dags: &[Dag],
    runner: Runner,
    store: Store,
    stop: CancellationToken,
) -> Result<(), SchedulerError> {
    run_with_clock(dags, runner, store, stop, &SystemClock).await
}

/// [`run`] with the time from `clock`.
pub async fn run_with_clock(
    dags: &[Dag],
    runner: Runner,
    store: Store,
    stop: CancellationToken,
    clock: &dyn Clock,
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
    let mut pass = Pass {
        dags,
        runner: &runner,
        store: &store,
        ours: HashMap::new(),
        running: JoinSet::new(),
        queued: 0,
    };
    // When the previous pass meant the next one to run: how late each pass is, for observers.
    let mut due: Option<DateTime<Utc>> = None;
    loop {
        let now = clock.now();
        let wake = pass.look(now).await?;
        if let Some(o) = runner.observer() {
            let lag = due.and_then(|d| (now - d).to_std().ok());
            o.scheduler_pass(&SchedulerPass::new(lag.unwrap_or_default(), pass.queued));
        }
        due = Some(wake);
        let sleep = (wake - clock.now()).to_std().unwrap_or(Duration::ZERO);
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(sleep) => {}
            Ok(_) = async { wakeups.as_ref().expect("guarded").recv(&mut buf).await }, if wakeups.is_some() => {}
            Some(done) = pass.running.join_next(), if !pass.running.is_empty() => {
                if let Ok(key) = done {
                    pass.ours.remove(&key);
                }
            }
        }
    }
    let _ = std::fs::remove_file(&sock_path);
    tracing::info!(
        "scheduler stopping: interrupting {} run(s)",
        pass.running.len()
    );
    runner.cancellation_token().cancel();
    while pass.running.join_next().await.is_some() {}
    Ok(())
}

/// One look at the store: what to adopt, what to start.
struct Pass<'a> {
    dags: &'a [Dag],
    runner: &'a Runner,
    store: &'a Store,
    /// The runs this scheduler executes (with their interval, for scheduled ones), so that a
    /// long run is neither started nor adopted twice.
    ours: HashMap<(String, String), Option<DataInterval>>,
    running: JoinSet<(String, String)>,
    /// Runs found queued by the latest look.
    queued: usize,
}

impl Pass<'_> {
    /// Starts what is due as of `now`; returns when to look again at the latest.
    async fn look(&mut self, now: DateTime<Utc>) -> Result<DateTime<Utc>, StoreError> {
        let mut wake = now + chrono::Duration::from_std(MAX_SLEEP).expect("small");
        self.queued = 0;
        self.adopt_orphans().await?;
        for dag in self.dags {
            // A paused DAG starts nothing new (its triggered runs wait for the unpause).
            if self.store.is_paused(dag.id()).await? {
                continue;
            }
            self.start_triggered(dag).await?;
            if let Some(next) = self.start_due(dag, now).await? {
                wake = wake.min(next);
            }
        }
        Ok(wake)
    }

    /// Runs left `running` by a process that is gone (killed, crashed): resumed here, as
    /// `dags test` of that run would, whatever the DAG's pause state (as Airflow finishes a
    /// paused DAG's running runs).
    async fn adopt_orphans(&mut self) -> Result<(), StoreError> {
        let dag_ids: Vec<&str> = self.dags.iter().map(Dag::id).collect();
        for orphan in self.store.orphaned_runs(&dag_ids).await? {
            let key = (orphan.dag_id.clone(), orphan.run_id.clone());
            if self.ours.contains_key(&key) {
                continue;
            }
            let Some(dag) = self.dags.iter().find(|d| d.id() == orphan.dag_id) else {
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
            self.ours.insert(key, interval);
            self.spawn(dag, request_for(&orphan), "resumed");
        }
        Ok(())
    }

    /// Triggered runs (`dags trigger`), as they were queued.
    async fn start_triggered(&mut self, dag: &Dag) -> Result<(), StoreError> {
        let mut queued = self
            .store
            .list_runs(Some(dag.id()), Some(RunStateRecord::Queued), 100)
            .await?;
        queued.reverse();
        self.queued += queued.len();
        for q in queued {
            let key = (q.dag_id.clone(), q.run_id.clone());
            if !self.ours.contains_key(&key)
                && self.store.claim_queued_run(&q.dag_id, &q.run_id).await?
            {
                self.ours.insert(key, None);
                self.spawn(dag, request_for(&q), "triggered");
            }
        }
        Ok(())
    }

    /// The due intervals of `dag` that `max_active_runs` leaves room for; returns when the
    /// next interval ends (one already due but held back starts when a run finishes, not by
    /// polling).
    async fn start_due(
        &mut self,
        dag: &Dag,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let last = self
            .store
            .last_run(dag.id(), Some(RunType::Scheduled))
            .await?
            .map(|r| DataInterval {
                start: r.data_interval_start,
                end: r.data_interval_end,
            });
        let last = last_of(&self.ours, dag.id()).max(last);
        // Every running run of the DAG counts, whoever executes it.
        let active = self
            .store
            .list_runs(Some(dag.id()), Some(RunStateRecord::Running), u32::MAX)
            .await?
            .len();
        let free = dag.options().max_active_runs.saturating_sub(active);
        for interval in due_intervals(dag.options(), last, now)
            .into_iter()
            .take(free)
        {
            // Another scheduler sharing the database may have created this run already.
            let record = scheduled_run(dag, interval);
            if !self.store.claim_run(&record).await? {
                tracing::debug!("run {} exists already: not starting it", record.run_id);
                continue;
            }
            self.ours
                .insert((record.dag_id, record.run_id), Some(interval));
            let request = RunRequest::new(interval.start).run_type(RunType::Scheduled);
            self.spawn(dag, request, "scheduled");
        }
        let last = last_of(&self.ours, dag.id()).max(last);
        Ok(next_interval(dag.options(), last.as_ref(), now)
            .map(|next| next.end)
            .filter(|end| *end > now))
    }

    /// Runs `request` of `dag` in the background; the join yields its ids.
    fn spawn(&mut self, dag: &Dag, request: RunRequest, what: &'static str) {
        let (dag, runner) = (dag.clone(), self.runner.clone());
        self.running.spawn(async move {
            let report = runner.run(&dag, request).await;
            match &report.error {
                Some(e) => {
                    tracing::info!("{what} run {} of {}: not run: {e}", report.run_id, dag.id())
                }
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
}

/// The record of the scheduled run of `interval`.
fn scheduled_run(dag: &Dag, interval: DataInterval) -> DagRunRecord {
    DagRunRecord {
        dag_id: dag.id().to_owned(),
        run_id: crate::run::run_id(RunType::Scheduled.as_str(), interval.start),
        run_type: RunType::Scheduled,
        logical_date: interval.start,
        data_interval_start: interval.start,
        data_interval_end: interval.end,
        state: RunStateRecord::Running,
        start: Utc::now(),
        end: None,
        conf: serde_json::Value::Object(Default::default()),
    }
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

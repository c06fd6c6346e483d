//! The metadata store: run history that survives the process (Airflow's metadata database).
//!
//! One code path serves an embedded SQLite file (the default, `<home>/rocket-dag.db`) and
//! PostgreSQL (for several schedulers and workers): a sqlx `AnyPool` whose backend is chosen by
//! the URL, SQL that both accept, instants stored as epoch microseconds. The schema is created
//! and upgraded by versioned migrations when the store is opened.
//!
//! Every method is one statement or one transaction, so each is atomic on its own; it returns
//! once the change is committed, so a state written before a dependent task starts survives a
//! crash of the process (on SQLite, see [`SQLITE_SYNCHRONOUS_ENV`] for power cuts).

mod claims;
mod records;
mod schema;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::MigrateError;
use sqlx::{AnyConnection, AssertSqlSafe, Connection, Row};

pub use claims::{Claim, HEARTBEAT_EVERY, RunOwner, STALE_AFTER, owner_gone};
pub use records::{
    DagRunRecord, NOT_MAPPED, RunStateRecord, RunType, TaskInstanceRecord, TaskStateRecord,
    UnknownName, latest_tries, mapped_state,
};

use records::{
    RUN_COLUMNS, TASK_INSTANCE_COLUMNS, duration_to_us, run_from_row, task_instance_from_row, to_us,
};

/// Environment variable that overrides the database URL of [`Store::open_home`].
pub const DATABASE_URL_ENV: &str = "ROCKET_DAG_DATABASE_URL";

/// Name of the SQLite file [`Store::open_home`] uses inside the home directory.
pub const DATABASE_FILE: &str = "rocket-dag.db";

/// Environment variable choosing SQLite's `synchronous` setting: `NORMAL` (the default) or
/// `FULL`.
pub const SQLITE_SYNCHRONOUS_ENV: &str = "ROCKET_DAG_SQLITE_SYNCHRONOUS";

/// Run on every new SQLite connection (these settings are per connection, except WAL which
/// sticks to the file). The busy timeout comes first, so switching to WAL waits for other
/// processes; WAL lets readers and a writer work at once; foreign keys keep task instances tied
/// to their run.
///
/// Durability: in WAL mode, `synchronous=NORMAL` makes a commit durable against the process
/// dying (kill -9, panic, OOM) the moment the method returns — the commit is in the WAL, which
/// the next process replays — but a power cut or kernel crash may lose the last commits (never
/// corrupt the file); the run then repeats those tasks. That costs ~10× less per state change
/// than an fsync per commit. `FULL` (see [`SQLITE_SYNCHRONOUS_ENV`]) fsyncs every commit.
fn sqlite_pragmas(synchronous: Option<&str>) -> String {
    let sync = match synchronous.map(|s| s.trim().to_ascii_uppercase()) {
        Some(s) if s == "FULL" || s == "EXTRA" || s == "NORMAL" => s,
        Some(other) => {
            tracing::warn!(
                "{SQLITE_SYNCHRONOUS_ENV}={other} is not NORMAL, FULL or EXTRA: using NORMAL"
            );
            "NORMAL".to_owned()
        }
        None => "NORMAL".to_owned(),
    };
    format!(
        "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
         PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON;"
    )
}

/// The database behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// An embedded SQLite file (`sqlite:` URLs).
    Sqlite,
    /// A PostgreSQL server (`postgres:` or `postgresql:` URLs).
    Postgres,
}

impl Backend {
    /// The backend a URL names, if it is one this store supports.
    pub fn from_url(url: &str) -> Option<Backend> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" | "postgresql" => Some(Backend::Postgres),
            _ => None,
        }
    }
}

/// Everything that can go wrong in the metadata store.
///
/// The message includes the cause (so `source()` does not repeat it); the sqlx error itself is
/// kept in the `cause` field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL names no supported database.
    #[error(
        "unsupported metadata store URL `{url}`: expected `sqlite://PATH` or `postgres://HOST/DB`"
    )]
    UnsupportedUrl {
        /// The URL, password hidden.
        url: String,
    },
    /// The home directory for the SQLite file could not be created.
    #[error("cannot create the directory {} for the metadata store: {cause}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// The database could not be reached or opened.
    #[error("cannot open the metadata store at {url}: {cause}{hint}")]
    Open {
        /// The URL, password hidden.
        url: String,
        /// Why.
        cause: sqlx::Error,
        /// What the cause means for the user, if the code tells.
        hint: &'static str,
    },
    /// The schema could not be created or upgraded.
    #[error("cannot migrate the metadata store at {url}: {cause}")]
    Migrate {
        /// The URL, password hidden.
        url: String,
        /// Why.
        cause: MigrateError,
    },
    /// The database was migrated by a newer rocket-dag.
    #[error(
        "the metadata store at {url} has schema version {found}, newer than version {supported} \
         that this rocket-dag knows; use a newer rocket-dag"
    )]
    SchemaTooNew {
        /// The URL, password hidden.
        url: String,
        /// The unknown version found in the database.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// A read or write failed.
    #[error("cannot {op}: {}{hint}", crate::escape::control(&cause.to_string()))]
    Query {
        /// What was being done, e.g. "save run `r` of DAG `d`".
        op: String,
        /// Why.
        cause: sqlx::Error,
        /// What the cause means for the user, if the code tells (` (no space left …)`).
        hint: &'static str,
    },
    /// The home directory is not a directory.
    #[error("the home {} is not a directory: point --home (or ROCKET_DAG_HOME) at a directory", path.display())]
    HomeNotADirectory {
        /// The home.
        path: PathBuf,
    },
    /// The database file, or the folder it must be created in, cannot be written.
    #[error("cannot write the run history at {}: {why}", path.display())]
    ReadOnly {
        /// The file or folder.
        path: PathBuf,
        /// Why, and what to do.
        why: String,
    },
    /// Where the database should be, there is a file that is not one.
    #[error(
        "{} is not a rocket-dag database: {why}; move it away (or delete it) to start a new \
         history, or restore it from a backup",
        path.display()
    )]
    NotADatabase {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: &'static str,
    },
    /// An id that cannot be recorded (it could not become a path).
    #[error(transparent)]
    InvalidId(#[from] crate::ids::InvalidId),
    /// Other processes kept changing a row this one tried to claim.
    #[error("cannot {op}: other processes keep changing it")]
    Contended {
        /// What was being done.
        op: String,
    },
}

/// What a database error means for the user, by SQLite's result code (PostgreSQL errors say it
/// themselves); `dir` is the database's folder, looked at when the error is an I/O one.
fn hint(cause: &sqlx::Error, dir: Option<&Path>) -> &'static str {
    let Some(code) = cause
        .as_database_error()
        .and_then(|e| e.code())
        .and_then(|c| c.parse::<i64>().ok())
    else {
        return "";
    };
    // Extended result codes carry the primary one in their low byte.
    match code & 0xff {
        10 | 13 if dir.is_some_and(disk_full) => " (no space left on the device: free some space)",
        5 | 6 => " (another process holds the database locked)",
        8 => " (the database file or its folder is read-only: check its permissions)",
        10 => " (an I/O error: the disk may be failing or the file system unmounted)",
        11 | 26 => {
            " (the database file is damaged: restore it from a backup, or move it away to start \
             a new history)"
        }
        13 => " (no space left on the device: free some space)",
        14 => " (the file cannot be opened: check that its folder exists and is writable)",
        _ => "",
    }
}

/// Whether SQLite said another connection holds the lock (`SQLITE_BUSY`, `SQLITE_LOCKED`).
fn is_busy(cause: &sqlx::Error) -> bool {
    cause
        .as_database_error()
        .and_then(|e| e.code())
        .and_then(|c| c.parse::<i64>().ok())
        .is_some_and(|c| matches!(c & 0xff, 5 | 6))
}

/// Whether the file system holding `dir` has no block left for this user.
fn disk_full(dir: &Path) -> bool {
    nix::sys::statvfs::statvfs(dir).is_ok_and(|s| s.blocks_available() == 0)
}

/// A connection pool to the metadata database. Cheap to clone; clones share the pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The URL with its password hidden, for messages.
    url: String,
    /// The connection the runner's state changes go through, taken out of the pool once:
    /// acquiring a pooled connection costs more than the statement (~35 µs against ~15 µs
    /// here), and SQLite writes one transaction at a time anyway. `None` until first used,
    /// and again after an error (the next write reconnects). Not used for in-memory SQLite,
    /// whose data lives in the pool's one connection.
    writer: Option<std::sync::Arc<tokio::sync::Mutex<Option<AnyConnection>>>>,
    /// Which `Store::open` made this store (clones share it).
    opened: u64,
    /// The folder of a SQLite file, looked at to tell what an I/O error means.
    dir: Option<PathBuf>,
}

impl Store {
    /// Turns a failed query into a [`StoreError::Query`] saying what was being done and what
    /// the cause means.
    fn query_error(&self, op: String) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
        move |cause| StoreError::Query {
            op,
            hint: hint(&cause, self.dir.as_deref()),
            cause,
        }
    }

    /// Opens the database at `url` (`sqlite://PATH?mode=rwc`, `postgres://user:pw@host/db`),
    /// creating or upgrading its schema.
    ///
    /// `sqlite::memory:` works too, on a single connection (each SQLite in-memory connection
    /// would otherwise get its own empty database).
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let shown = redact(url);
        let backend = Backend::from_url(url)
            .ok_or_else(|| StoreError::UnsupportedUrl { url: shown.clone() })?;
        // Idempotent; registers the SQLite and PostgreSQL drivers for `Any`.
        sqlx::any::install_default_drivers();

        let mut options = AnyPoolOptions::new();
        if backend == Backend::Sqlite {
            let pragmas = sqlite_pragmas(std::env::var(SQLITE_SYNCHRONOUS_ENV).ok().as_deref());
            options = options.after_connect(move |conn, _meta| {
                let pragmas = pragmas.clone();
                Box::pin(async move {
                    sqlx::raw_sql(AssertSqlSafe(pragmas))
                        .execute(conn)
                        .await
                        .map(drop)
                })
            });
            options = if url.contains(":memory:") || url.contains("mode=memory") {
                // One connection that never closes: the database lives as long as it does.
                options
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None)
            } else {
                // SQLite writes one transaction at a time; a few connections serve the readers.
                options.max_connections(4)
            };
        }
        let dir = sqlite_dir(url);
        let open_error = |cause: sqlx::Error| StoreError::Open {
            url: shown.clone(),
            hint: hint(&cause, dir.as_deref()),
            cause,
        };
        // One plain connection first, set up as the pool's will be and made to read the
        // schema: the pool retries a connection that fails to open or to set up until its
        // acquire timeout and then reports only "pool timed out"; this reports the real cause
        // (a corrupt or non-database file, a read-only folder, a full disk) at once.
        let mut first = AnyConnection::connect(url).await.map_err(open_error)?;
        if backend == Backend::Sqlite {
            let pragmas = sqlite_pragmas(std::env::var(SQLITE_SYNCHRONOUS_ENV).ok().as_deref());
            // Switching to WAL waits for no busy handler when another connection is mid-way
            // through the same: a locked database is asked again, briefly.
            let mut tries = 0;
            loop {
                let checked = async {
                    sqlx::raw_sql(AssertSqlSafe(pragmas.clone()))
                        .execute(&mut first)
                        .await?;
                    sqlx::query("SELECT count(*) FROM sqlite_master")
                        .execute(&mut first)
                        .await
                }
                .await;
                match checked {
                    Ok(_) => break,
                    Err(cause) if is_busy(&cause) && tries < 250 => {
                        tries += 1;
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                    Err(cause) => {
                        let _ = first.close().await;
                        return Err(open_error(cause));
                    }
                }
            }
        }
        first.close().await.map_err(open_error)?;
        options = options.acquire_timeout(std::time::Duration::from_secs(10));
        let pool = options.connect(url).await.map_err(open_error)?;

        if let Err(e) = migrate(&pool, backend, &shown).await {
            pool.close().await;
            return Err(e);
        }
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        static OPENED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Ok(Store {
            pool,
            backend,
            url: shown,
            writer: (!in_memory).then(Default::default),
            opened: OPENED.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            dir,
        })
    }

    /// Opens the store of a rocket-dag home: `$ROCKET_DAG_DATABASE_URL` if set, otherwise the
    /// SQLite file `<home>/rocket-dag.db`, created (with `home`) if missing.
    ///
    /// The file is checked before SQLite opens it: a file that is not a SQLite database (an
    /// empty one included, which SQLite would silently take for a new one) or a home that
    /// cannot be written is reported as such. A new database is created under a temporary
    /// name and renamed into place once its schema is complete, so a crash while creating it
    /// never leaves a half-made one behind.
    pub async fn open_home(home: &Path) -> Result<Store, StoreError> {
        if let Some(url) = env_url() {
            return Store::open(&url).await;
        }
        if home.exists() && !home.is_dir() {
            return Err(StoreError::HomeNotADirectory {
                path: home.to_owned(),
            });
        }
        tokio::fs::create_dir_all(home)
            .await
            .map_err(|cause| StoreError::CreateDir {
                path: home.to_owned(),
                cause,
            })?;
        let file = home.join(DATABASE_FILE);
        writable(home, "the home directory")?;
        match std::fs::metadata(&file) {
            Ok(meta) => {
                check_database_file(&file, &meta)?;
                writable(&file, "the database file")?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_database(&file).await?,
            Err(e) => {
                return Err(StoreError::ReadOnly {
                    path: file,
                    why: e.to_string(),
                });
            }
        }
        Store::open(&sqlite_url(&file)).await
    }

    /// The URL [`Store::open_home`] opens for `home` (password not hidden).
    pub fn home_url(home: &Path) -> String {
        env_url().unwrap_or_else(|| sqlite_url(&home.join(DATABASE_FILE)))
    }

    /// The database URL, password hidden.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Names the database this store writes to, for telling stores apart within a process:
    /// its URL, or for an in-memory database (private to its pool) the pool itself.
    pub(crate) fn instance(&self) -> String {
        if self.writer.is_some() {
            self.url.clone()
        } else {
            format!("{}#{}", self.url, self.opened)
        }
    }

    /// The database behind this store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection, waiting for those in use to come back.
    pub async fn close(&self) {
        if let Some(writer) = &self.writer
            && let Some(conn) = writer.lock().await.take()
        {
            let _ = conn.close().await;
        }
        self.pool.close().await;
    }

    /// Creates a run unless one with the same ids exists; `true` if this call created it.
    /// Schedulers sharing a database (several machines on PostgreSQL) claim each scheduled run
    /// this way, so exactly one of them runs it.
    /// The run is created owned by this process (see [`Store::claim_execution`]).
    pub async fn claim_run(&self, run: &DagRunRecord) -> Result<bool, StoreError> {
        let me = RunOwner::this_process();
        let inserted = self
            .insert_run(run, "DO NOTHING", "claim", Some(&me))
            .await?;
        Ok(inserted == 1)
    }

    /// Moves a queued run (`dags trigger`) to running; `true` if this call did, so of several
    /// schedulers exactly one starts it.
    pub async fn claim_queued_run(&self, dag_id: &str, run_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE dag_runs SET state = $3, start_us = $4 \
             WHERE dag_id = $1 AND run_id = $2 AND state = $5",
        )
        .bind(dag_id)
        .bind(run_id)
        .bind(RunStateRecord::Running.as_str())
        .bind(to_us(Utc::now()))
        .bind(RunStateRecord::Queued.as_str())
        .execute(&self.pool)
        .await
        .map_err(self.query_error(format!("claim queued run `{run_id}` of DAG `{dag_id}`")))?;
        Ok(done.rows_affected() == 1)
    }

    /// Inserts a DAG run, or overwrites every column of the run with the same ids.
    pub async fn upsert_run(&self, run: &DagRunRecord) -> Result<(), StoreError> {
        // `ON CONFLICT … DO UPDATE`, not `INSERT OR REPLACE`: replacing deletes the row first,
        // which would cascade to the run's task instances and XComs.
        let update = "DO UPDATE SET \
             run_type = excluded.run_type, logical_date_us = excluded.logical_date_us, \
             data_interval_start_us = excluded.data_interval_start_us, \
             data_interval_end_us = excluded.data_interval_end_us, state = excluded.state, \
             start_us = excluded.start_us, end_us = excluded.end_us, conf = excluded.conf";
        self.insert_run(run, update, "save", None).await?;
        Ok(())
    }

    /// `INSERT`s `run` (owned by `owner`, heartbeat now) with
    /// `ON CONFLICT (dag_id, run_id) <on_conflict>`; the rows affected.
    async fn insert_run(
        &self,
        run: &DagRunRecord,
        on_conflict: &'static str,
        verb: &str,
        owner: Option<&RunOwner>,
    ) -> Result<u64, StoreError> {
        crate::ids::dag(&run.dag_id)?;
        crate::ids::run(&run.run_id)?;
        let sql = format!(
            "INSERT INTO dag_runs (dag_id, run_id, run_type, logical_date_us, \
                 data_interval_start_us, data_interval_end_us, state, start_us, end_us, conf, \
                 owner_host, owner_pid, heartbeat_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (dag_id, run_id) {on_conflict}"
        );
        let done = sqlx::query(AssertSqlSafe(sql))
            .bind(run.dag_id.as_str())
            .bind(run.run_id.as_str())
            .bind(run.run_type.as_str())
            .bind(to_us(run.logical_date))
            .bind(to_us(run.data_interval_start))
            .bind(to_us(run.data_interval_end))
            .bind(run.state.as_str())
            .bind(to_us(run.start))
            .bind(run.end.map(to_us))
            .bind(run.conf.to_string())
            .bind(owner.map(|o| o.hostname.as_str()))
            .bind(owner.map(|o| i64::from(o.pid)))
            .bind(owner.map(|_| to_us(Utc::now())))
            .execute(&self.pool)
            .await
            .map_err(self.query_error(format!(
                "{verb} run `{}` of DAG `{}`",
                run.run_id, run.dag_id
            )))?;
        Ok(done.rows_affected())
    }

    /// Sets a run's state and end (`None` clears it). `false` if there is no such run.
    pub async fn set_run_state(
        &self,
        dag_id: &str,
        run_id: &str,
        state: RunStateRecord,
        end: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE dag_runs SET state = $3, end_us = $4 WHERE dag_id = $1 AND run_id = $2",
        )
        .bind(dag_id)
        .bind(run_id)
        .bind(state.as_str())
        .bind(end.map(to_us))
        .execute(&self.pool)
        .await
        .map_err(self.query_error(format!("set the state of run `{run_id}` of DAG `{dag_id}`")))?;
        Ok(done.rows_affected() > 0)
    }

    /// One run, if it exists.
    pub async fn get_run(
        &self,
        dag_id: &str,
        run_id: &str,
    ) -> Result<Option<DagRunRecord>, StoreError> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM dag_runs WHERE dag_id = $1 AND run_id = $2");
        let op = || format!("read run `{run_id}` of DAG `{dag_id}`");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(dag_id)
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.query_error(op()))?;
        row.as_ref()
            .map(run_from_row)
            .transpose()
            .map_err(self.query_error(op()))
    }

    /// Runs, newest logical date first, at most `limit`, optionally only those of one DAG and/or
    /// in one state.
    pub async fn list_runs(
        &self,
        dag_id: Option<&str>,
        state: Option<RunStateRecord>,
        limit: u32,
    ) -> Result<Vec<DagRunRecord>, StoreError> {
        let filters = [("dag_id", dag_id), ("state", state.map(|s| s.as_str()))];
        self.select_runs(&filters, limit, || match dag_id {
            Some(dag) => format!("list the runs of DAG `{dag}`"),
            None => "list DAG runs".to_owned(),
        })
        .await
    }

    /// The run of a DAG with the newest logical date, optionally only among runs of one type
    /// (the scheduler asks for the last `scheduled` run to find the next interval).
    pub async fn last_run(
        &self,
        dag_id: &str,
        run_type: Option<RunType>,
    ) -> Result<Option<DagRunRecord>, StoreError> {
        let filters = [
            ("dag_id", Some(dag_id)),
            ("run_type", run_type.map(|t| t.as_str())),
        ];
        let runs = self
            .select_runs(&filters, 1, || {
                format!("read the last run of DAG `{dag_id}`")
            })
            .await?;
        Ok(runs.into_iter().next())
    }

    /// The run of a DAG that started last (a resumed run counts from when it was resumed): what
    /// `--run latest` means.
    pub async fn last_started_run(&self, dag_id: &str) -> Result<Option<DagRunRecord>, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM dag_runs WHERE dag_id = $1 \
             ORDER BY start_us DESC, logical_date_us DESC, run_id DESC LIMIT 1"
        );
        let op = || format!("read the last started run of DAG `{dag_id}`");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(dag_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.query_error(op()))?;
        row.as_ref()
            .map(run_from_row)
            .transpose()
            .map_err(self.query_error(op()))
    }

    /// `SELECT`s runs matching every `Some` filter (column = value), newest logical date first.
    async fn select_runs(
        &self,
        filters: &[(&str, Option<&str>)],
        limit: u32,
        op: impl Fn() -> String,
    ) -> Result<Vec<DagRunRecord>, StoreError> {
        let mut sql = format!("SELECT {RUN_COLUMNS} FROM dag_runs");
        let mut values = Vec::new();
        for (column, value) in filters {
            if let Some(value) = value {
                values.push(*value);
                let keyword = if values.len() == 1 { "WHERE" } else { "AND" };
                // Column names come from this module only; values are bound.
                sql.push_str(&format!(" {keyword} {column} = ${}", values.len()));
            }
        }
        sql.push_str(&format!(
            " ORDER BY logical_date_us DESC, start_us DESC, dag_id, run_id LIMIT ${}",
            values.len() + 1
        ));
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for value in values {
            query = query.bind(value);
        }
        let rows = query
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_error(op()))?;
        rows.iter()
            .map(run_from_row)
            .collect::<Result<_, _>>()
            .map_err(self.query_error(op()))
    }

    /// Inserts one try of a task instance, or overwrites the row with the same
    /// `(dag_id, run_id, task_id, map_index, try_number)`. The run must exist.
    pub async fn upsert_task_instance(&self, ti: &TaskInstanceRecord) -> Result<(), StoreError> {
        check_ids(ti)?;
        upsert_task_instance(&self.pool, ti)
            .await
            .map_err(self.query_error(format!(
                "save try {} of task `{}` in run `{}` of DAG `{}`",
                ti.try_number,
                ti.label(),
                ti.run_id,
                ti.dag_id
            )))
    }

    /// Records tries of task instances, each with its output when it succeeded (a try and its
    /// output are one row, so a try is never recorded `success` without the output its
    /// downstream tasks will read). The runner writes everything one scheduling step decided
    /// this way: one multi-row statement, atomic on its own (a transaction when the batch is
    /// larger than one statement takes). Their runs must exist.
    pub async fn record_tries(
        &self,
        tries: &[(TaskInstanceRecord, Option<&str>)],
    ) -> Result<(), StoreError> {
        for (ti, _) in tries {
            check_ids(ti)?;
        }
        // One row per key, the last record winning: an upsert may not touch a row twice.
        let keep = dedup_tries(tries);
        let op = || match tries {
            [(ti, _)] => format!(
                "save try {} of task `{}` in run `{}` of DAG `{}`",
                ti.try_number,
                ti.label(),
                ti.run_id,
                ti.dag_id
            ),
            _ => format!("save {} task instance tries", tries.len()),
        };
        if keep.is_empty() {
            return Ok(());
        }
        let Some(writer) = &self.writer else {
            let mut conn = self.pool.acquire().await.map_err(self.query_error(op()))?;
            return write_rows(&mut conn, &keep)
                .await
                .map_err(self.query_error(op()));
        };
        let mut slot = writer.lock().await;
        let mut retried = false;
        loop {
            let conn = match &mut *slot {
                Some(conn) => conn,
                None => slot.insert(
                    self.pool
                        .acquire()
                        .await
                        .map_err(self.query_error(op()))?
                        .detach(),
                ),
            };
            match write_rows(conn, &keep).await {
                Ok(()) => return Ok(()),
                // The held connection may have died (a server restart, an idle timeout): once,
                // on a fresh one. The upsert is idempotent, so a write that did land is harmless.
                Err(e) if !retried && is_connection_error(&e) => {
                    *slot = None;
                    retried = true;
                }
                Err(e) => {
                    *slot = None;
                    return Err(self.query_error(op())(e));
                }
            }
        }
    }

    /// Every try of every task instance of a run, ordered by task id, map index and try.
    pub async fn task_instances(
        &self,
        dag_id: &str,
        run_id: &str,
    ) -> Result<Vec<TaskInstanceRecord>, StoreError> {
        let sql = format!(
            "SELECT {TASK_INSTANCE_COLUMNS} FROM task_instances \
             WHERE dag_id = $1 AND run_id = $2 ORDER BY task_id, map_index, try_number"
        );
        let op = || format!("read the task instances of run `{run_id}` of DAG `{dag_id}`");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(dag_id)
            .bind(run_id)
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_error(op()))?;
        rows.iter()
            .map(task_instance_from_row)
            .collect::<Result<_, _>>()
            .map_err(self.query_error(op()))
    }

    /// Crash recovery: every try of the run still `running` (its process is gone) becomes
    /// `failed` with `error`, ended now. Returns those tries, ordered like
    /// [`Store::task_instances`], so the runner can decide on retries.
    pub async fn mark_running_as_failed(
        &self,
        dag_id: &str,
        run_id: &str,
        error: &str,
    ) -> Result<Vec<TaskInstanceRecord>, StoreError> {
        // One `UPDATE … RETURNING` (SQLite ≥ 3.35 and PostgreSQL) rather than SELECT then UPDATE:
        // atomic without a transaction, and no SQLite read-to-write lock upgrade that could fail
        // with SQLITE_BUSY while another process writes.
        let sql = format!(
            "UPDATE task_instances SET state = $3, error = $4, end_us = $5, \
                 duration_us = CASE WHEN $5 > start_us THEN $5 - start_us ELSE 0 END \
             WHERE dag_id = $1 AND run_id = $2 AND state = $6 \
             RETURNING {TASK_INSTANCE_COLUMNS}"
        );
        let op = || format!("fail the running tasks of run `{run_id}` of DAG `{dag_id}`");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(dag_id)
            .bind(run_id)
            .bind(TaskStateRecord::Failed.as_str())
            .bind(error)
            .bind(to_us(Utc::now()))
            .bind(TaskStateRecord::Running.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_error(op()))?;
        let mut failed: Vec<TaskInstanceRecord> = rows
            .iter()
            .map(task_instance_from_row)
            .collect::<Result<_, _>>()
            .map_err(self.query_error(op()))?;
        // RETURNING has no ORDER BY.
        failed.sort_by(|a, b| {
            (&a.task_id, a.map_index, a.try_number).cmp(&(&b.task_id, b.map_index, b.try_number))
        });
        Ok(failed)
    }

    /// Every output of a run as `(task_id, map_index, json)`, ordered by task id and map index
    /// (for each instance, that of its latest try that has one).
    pub async fn load_xcoms(
        &self,
        dag_id: &str,
        run_id: &str,
    ) -> Result<Vec<(String, i32, String)>, StoreError> {
        let op = || format!("read the task outputs of run `{run_id}` of DAG `{dag_id}`");
        let rows = sqlx::query(
            "SELECT task_id, map_index, output FROM task_instances \
             WHERE dag_id = $1 AND run_id = $2 AND output IS NOT NULL \
             ORDER BY task_id, map_index, try_number",
        )
        .bind(dag_id)
        .bind(run_id)
        .fetch_all(&self.pool)
        .await
        .map_err(self.query_error(op()))?;
        let mut out: Vec<(String, i32, String)> = Vec::with_capacity(rows.len());
        for row in &rows {
            let read = || -> Result<(String, i32, String), sqlx::Error> {
                let map_index: i64 = row.try_get("map_index")?;
                let map_index =
                    i32::try_from(map_index).map_err(|e| sqlx::Error::ColumnDecode {
                        index: "\"map_index\"".into(),
                        source: e.into(),
                    })?;
                Ok((row.try_get("task_id")?, map_index, row.try_get("output")?))
            };
            let x = read().map_err(self.query_error(op()))?;
            // Rows come by try: a later try's output replaces an earlier one's.
            match out.last_mut() {
                Some(last) if last.0 == x.0 && last.1 == x.1 => *last = x,
                _ => out.push(x),
            }
        }
        Ok(out)
    }

    /// Forgets a task's outputs (every map index and try), e.g. before it is cleared and run
    /// again.
    pub async fn delete_xcom(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE task_instances SET output = NULL \
             WHERE dag_id = $1 AND run_id = $2 AND task_id = $3",
        )
        .bind(dag_id)
        .bind(run_id)
        .bind(task_id)
        .execute(&self.pool)
        .await
        .map_err(self.query_error(format!(
            "delete the output of task `{task_id}` in run `{run_id}` of DAG `{dag_id}`"
        )))?;
        Ok(())
    }

    /// Pauses or unpauses a DAG (the scheduler starts no run of a paused DAG).
    pub async fn set_paused(&self, dag_id: &str, paused: bool) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO dag_state (dag_id, is_paused) VALUES ($1, $2) \
             ON CONFLICT (dag_id) DO UPDATE SET is_paused = excluded.is_paused",
        )
        .bind(dag_id)
        .bind(i64::from(paused))
        .execute(&self.pool)
        .await
        .map_err(self.query_error(format!(
            "{} DAG `{dag_id}`",
            if paused { "pause" } else { "unpause" }
        )))?;
        Ok(())
    }

    /// Whether a DAG is paused; a DAG never paused is not.
    pub async fn is_paused(&self, dag_id: &str) -> Result<bool, StoreError> {
        let paused: Option<i64> =
            sqlx::query_scalar("SELECT is_paused FROM dag_state WHERE dag_id = $1")
                .bind(dag_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(self.query_error(format!("read whether DAG `{dag_id}` is paused")))?;
        Ok(paused.is_some_and(|p| p != 0))
    }
}

/// The ids of a try, checked before they are recorded (they become log paths).
fn check_ids(ti: &TaskInstanceRecord) -> Result<(), StoreError> {
    crate::ids::dag(&ti.dag_id)?;
    crate::ids::run(&ti.run_id)?;
    crate::ids::task(&ti.task_id)?;
    Ok(())
}

/// Applies the pending migrations.
async fn migrate(pool: &AnyPool, backend: Backend, shown: &str) -> Result<(), StoreError> {
    let migrator = schema::migrator();
    let mut attempt = 1;
    loop {
        match migrator.run(pool).await {
            Ok(()) => return Ok(()),
            Err(MigrateError::VersionMissing(found)) if found > schema::LATEST_VERSION => {
                return Err(StoreError::SchemaTooNew {
                    url: shown.to_owned(),
                    found,
                    supported: schema::LATEST_VERSION,
                });
            }
            // sqlx cannot lock a SQLite database for migrating (it uses an advisory lock on
            // PostgreSQL), so two processes opening a new file at once both try to apply a
            // version and one fails ("table … already exists") once the other has committed.
            // Trying again then finds the version applied.
            Err(MigrateError::ExecuteMigration(..) | MigrateError::Execute(_))
                if backend == Backend::Sqlite && attempt <= 2 * schema::LATEST_VERSION =>
            {
                attempt += 1;
            }
            Err(cause) => {
                return Err(StoreError::Migrate {
                    url: shown.to_owned(),
                    cause,
                });
            }
        }
    }
}

/// `$ROCKET_DAG_DATABASE_URL`, unless unset or blank.
fn env_url() -> Option<String> {
    std::env::var(DATABASE_URL_ENV)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// `sqlite:///abs/path?mode=rwc`, the path percent-encoded.
fn sqlite_url(file: &Path) -> String {
    // Absolute, so the path never lands in the URL's host part (a relative `my home/x` would).
    let file = std::path::absolute(file).unwrap_or_else(|_| file.to_owned());
    let mut url = String::from("sqlite://");
    for &byte in file.as_os_str().as_encoded_bytes() {
        // sqlx splits the URL at `?` and percent-decodes the path; escape what URLs reserve.
        if byte.is_ascii_alphanumeric() || b"/-._~+,=".contains(&byte) {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url.push_str("?mode=rwc");
    url
}

/// The folder of the file a `sqlite://` URL names (`None` for an in-memory database).
fn sqlite_dir(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    if path.is_empty() || path.contains(":memory:") {
        return None;
    }
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                decoded.push(b);
                i += 3;
            }
            (b, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(decoded))
        .parent()
        .map(Path::to_path_buf)
}

/// The first bytes of every SQLite database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Refuses a file that is not a SQLite database.
fn check_database_file(file: &Path, meta: &std::fs::Metadata) -> Result<(), StoreError> {
    let not = |why| StoreError::NotADatabase {
        path: file.to_owned(),
        why,
    };
    if !meta.is_file() {
        return Err(not("it is not a regular file"));
    }
    if meta.len() == 0 {
        return Err(not("it is empty (0 bytes)"));
    }
    let mut head = [0u8; 16];
    let read = std::fs::File::open(file).and_then(|mut f| {
        use std::io::Read;
        f.read_exact(&mut head)
    });
    match read {
        Ok(()) if &head == SQLITE_HEADER => Ok(()),
        Ok(()) => Err(not("it does not start with SQLite's header")),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(not("it is shorter than SQLite's header"))
        }
        Err(e) => Err(StoreError::ReadOnly {
            path: file.to_owned(),
            why: format!("cannot read it: {e}"),
        }),
    }
}

/// Refuses a file or folder this process cannot write (SQLite would say "unable to open
/// database file", code 14, and nothing more).
fn writable(path: &Path, what: &str) -> Result<(), StoreError> {
    use nix::unistd::{AccessFlags, access};
    match access(path, AccessFlags::W_OK) {
        Ok(()) => Ok(()),
        Err(e) => Err(StoreError::ReadOnly {
            path: path.to_owned(),
            why: match e {
                nix::errno::Errno::EROFS => format!("{what} is on a read-only file system"),
                nix::errno::Errno::EACCES | nix::errno::Errno::EPERM => format!(
                    "{what} is not writable by this user: change its permissions or use another --home"
                ),
                e => format!("{what} cannot be written: {}", e.desc()),
            },
        }),
    }
}

/// Creates a new database: the schema is written into `<file>.new`, which is then renamed to
/// `file`, so `file` exists only complete.
async fn create_database(file: &Path) -> Result<(), StoreError> {
    sqlx::any::install_default_drivers();
    // Named after this process, so two processes creating the home's database at once never
    // touch each other's file.
    let mut tmp = file.as_os_str().to_owned();
    tmp.push(format!(".new-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let remove_tmp = || {
        for suffix in ["", "-journal", "-wal", "-shm"] {
            let mut p = tmp.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    };
    remove_tmp();
    let url = sqlite_url(&tmp);
    let shown = redact(&url);
    let open_error = |cause: sqlx::Error| StoreError::Open {
        url: shown.clone(),
        hint: hint(&cause, file.parent()),
        cause,
    };
    // A rollback journal, not WAL: the file must be whole on its own when it is moved.
    let made = async {
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .map_err(open_error)?;
        let migrated = migrate(&pool, Backend::Sqlite, &shown).await;
        pool.close().await;
        migrated
    }
    .await;
    if let Err(e) = made {
        remove_tmp();
        return Err(e);
    }
    // A hard link never replaces a database another process created meanwhile (a rename
    // would, under that process's feet); then the temporary name goes.
    let moved = std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .and_then(|()| match std::fs::hard_link(&tmp, file) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(_) if !file.exists() => std::fs::rename(&tmp, file),
            other => other,
        })
        .and_then(|()| std::fs::File::open(file.parent().unwrap_or(Path::new("."))))
        .and_then(|dir| dir.sync_all());
    remove_tmp();
    moved.map_err(|e| StoreError::ReadOnly {
        path: file.to_owned(),
        why: format!("cannot create it: {e}"),
    })
}

/// The URL with the password hidden, for messages: `postgres://me:***@host/db`.
fn redact(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if let Some((userinfo, host)) = authority.rsplit_once('@')
            && let Some((user, _password)) = userinfo.split_once(':')
        {
            out = format!("{scheme}://{user}:***@{host}{}", &rest[authority_end..]);
        }
    }
    // libpq-style `?password=…` too.
    if let Some(start) = out.find("password=") {
        let value = start + "password=".len();
        let end = out[value..].find('&').map_or(out.len(), |i| value + i);
        out.replace_range(value..end, "***");
    }
    out
}

async fn upsert_task_instance<'e, E>(db: E, ti: &TaskInstanceRecord) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO task_instances (dag_id, run_id, task_id, map_index, try_number, state, \
             start_us, end_us, duration_us, hostname, pid, log_path, error) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (dag_id, run_id, task_id, map_index, try_number) DO UPDATE SET \
             state = excluded.state, start_us = excluded.start_us, end_us = excluded.end_us, \
             duration_us = excluded.duration_us, hostname = excluded.hostname, \
             pid = excluded.pid, log_path = excluded.log_path, error = excluded.error",
    )
    .bind(ti.dag_id.as_str())
    .bind(ti.run_id.as_str())
    .bind(ti.task_id.as_str())
    .bind(i64::from(ti.map_index))
    .bind(i64::from(ti.try_number))
    .bind(ti.state.as_str())
    .bind(to_us(ti.start))
    .bind(ti.end.map(to_us))
    .bind(ti.duration.map(duration_to_us))
    .bind(ti.hostname.as_str())
    .bind(ti.pid.map(i64::from))
    .bind(ti.log_path.as_deref())
    .bind(ti.error.as_deref())
    .execute(db)
    .await
    .map(drop)
}

/// Rows per multi-row statement: 14 parameters each stays far below SQLite's 32,766 and
/// PostgreSQL's 65,535 bound parameters.
const ROWS_PER_STATEMENT: usize = 500;

/// Whether `e` says the connection is unusable rather than the statement wrong.
fn is_connection_error(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed
    )
}

/// `rows` in one statement, or in one transaction of several.
async fn write_rows(
    conn: &mut AnyConnection,
    rows: &[&(TaskInstanceRecord, Option<&str>)],
) -> Result<(), sqlx::Error> {
    if rows.len() <= ROWS_PER_STATEMENT {
        return record_rows(&mut *conn, rows).await;
    }
    let mut tx = conn.begin().await?;
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        record_rows(&mut *tx, chunk).await?;
    }
    tx.commit().await
}

/// The last record per key, in their order.
fn dedup_tries<'a>(
    tries: &'a [(TaskInstanceRecord, Option<&'a str>)],
) -> Vec<&'a (TaskInstanceRecord, Option<&'a str>)> {
    let mut seen = std::collections::HashSet::new();
    let mut keep: Vec<_> = tries
        .iter()
        .rev()
        .filter(|(t, _)| {
            seen.insert((
                t.dag_id.as_str(),
                t.run_id.as_str(),
                t.task_id.as_str(),
                t.map_index,
                t.try_number,
            ))
        })
        .collect();
    keep.reverse();
    keep
}

/// One `INSERT … VALUES (…), (…) ON CONFLICT DO UPDATE` for `rows`.
async fn record_rows<'e, E>(
    db: E,
    rows: &[&(TaskInstanceRecord, Option<&str>)],
) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    const COLUMNS: usize = 14;
    let mut sql = String::from(
        "INSERT INTO task_instances (dag_id, run_id, task_id, map_index, try_number, state, \
         start_us, end_us, duration_us, hostname, pid, log_path, error, output) VALUES ",
    );
    for r in 0..rows.len() {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..COLUMNS {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", r * COLUMNS + c + 1));
        }
        sql.push(')');
    }
    sql.push_str(
        " ON CONFLICT (dag_id, run_id, task_id, map_index, try_number) DO UPDATE SET \
         state = excluded.state, start_us = excluded.start_us, end_us = excluded.end_us, \
         duration_us = excluded.duration_us, hostname = excluded.hostname, \
         pid = excluded.pid, log_path = excluded.log_path, error = excluded.error, \
         output = excluded.output",
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for (ti, output) in rows {
        q = q
            .bind(ti.dag_id.as_str())
            .bind(ti.run_id.as_str())
            .bind(ti.task_id.as_str())
            .bind(i64::from(ti.map_index))
            .bind(i64::from(ti.try_number))
            .bind(ti.state.as_str())
            .bind(to_us(ti.start))
            .bind(ti.end.map(to_us))
            .bind(ti.duration.map(duration_to_us))
            .bind(ti.hostname.as_str())
            .bind(ti.pid.map(i64::from))
            .bind(ti.log_path.as_deref())
            .bind(ti.error.as_deref())
            .bind(*output);
    }
    q.execute(db).await.map(drop)
}

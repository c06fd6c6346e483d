//! The metadata store: run history that survives the process (Airflow's metadata database).
//!
//! One code path serves an embedded SQLite file (the default, `<home>/rocket-dag.db`) and
//! PostgreSQL (for several schedulers and workers): a sqlx `AnyPool` whose backend is chosen by
//! the URL, SQL that both accept, instants stored as epoch microseconds. The schema is created
//! and upgraded by versioned migrations when the store is opened.
//!
//! Every method is one statement, so each is atomic on its own; it returns once the change is
//! committed (on SQLite with `synchronous=FULL`, once it is on disk), so a state written before a
//! dependent task starts survives a crash.

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

pub use records::{
    DagRunRecord, NOT_MAPPED, RunStateRecord, RunType, TaskInstanceRecord, TaskStateRecord,
    UnknownName,
};

use records::{
    RUN_COLUMNS, TASK_INSTANCE_COLUMNS, duration_to_us, run_from_row, task_instance_from_row, to_us,
};

/// Environment variable that overrides the database URL of [`Store::open_home`].
pub const DATABASE_URL_ENV: &str = "ROCKET_DAG_DATABASE_URL";

/// Name of the SQLite file [`Store::open_home`] uses inside the home directory.
pub const DATABASE_FILE: &str = "rocket-dag.db";

/// Run on every new SQLite connection (these settings are per connection, except WAL which
/// sticks to the file). The busy timeout comes first, so switching to WAL waits for other
/// processes; WAL lets readers and a writer work at once; `synchronous=FULL` makes a commit
/// durable before the method returns; foreign keys keep task instances tied to their run.
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
    PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;";

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
    #[error("cannot open the metadata store at {url}: {cause}")]
    Open {
        /// The URL, password hidden.
        url: String,
        /// Why.
        cause: sqlx::Error,
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
    #[error("cannot {op}: {cause}")]
    Query {
        /// What was being done, e.g. "save run `r` of DAG `d`".
        op: String,
        /// Why.
        cause: sqlx::Error,
    },
}

fn query_error(op: String) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |cause| StoreError::Query { op, cause }
}

/// A connection pool to the metadata database. Cheap to clone; clones share the pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The URL with its password hidden, for messages.
    url: String,
}

impl Store {
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
            options = options.after_connect(|conn, _meta| {
                Box::pin(async move { sqlx::raw_sql(SQLITE_PRAGMAS).execute(conn).await.map(drop) })
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
        let open_error = |cause| StoreError::Open {
            url: shown.clone(),
            cause,
        };
        // One plain connection first: the pool retries a refused connection or a failed login
        // until its 30 s acquire timeout and then reports only "pool timed out"; this reports
        // the real cause at once.
        AnyConnection::connect(url)
            .await
            .map_err(open_error)?
            .close()
            .await
            .map_err(open_error)?;
        let pool = options.connect(url).await.map_err(open_error)?;

        if let Err(e) = migrate(&pool, backend, &shown).await {
            pool.close().await;
            return Err(e);
        }
        Ok(Store {
            pool,
            backend,
            url: shown,
        })
    }

    /// Opens the store of a rocket-dag home: `$ROCKET_DAG_DATABASE_URL` if set, otherwise the
    /// SQLite file `<home>/rocket-dag.db`, created (with `home`) if missing.
    pub async fn open_home(home: &Path) -> Result<Store, StoreError> {
        let url = match env_url() {
            Some(url) => url,
            None => {
                tokio::fs::create_dir_all(home)
                    .await
                    .map_err(|cause| StoreError::CreateDir {
                        path: home.to_owned(),
                        cause,
                    })?;
                sqlite_home_url(home)
            }
        };
        Store::open(&url).await
    }

    /// The URL [`Store::open_home`] opens for `home` (password not hidden).
    pub fn home_url(home: &Path) -> String {
        env_url().unwrap_or_else(|| sqlite_home_url(home))
    }

    /// The database URL, password hidden.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database behind this store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection, waiting for those in use to come back.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Inserts a DAG run, or overwrites every column of the run with the same ids.
    pub async fn upsert_run(&self, run: &DagRunRecord) -> Result<(), StoreError> {
        // `ON CONFLICT … DO UPDATE`, not `INSERT OR REPLACE`: replacing deletes the row first,
        // which would cascade to the run's task instances and XComs.
        sqlx::query(
            "INSERT INTO dag_runs (dag_id, run_id, run_type, logical_date_us, \
                 data_interval_start_us, data_interval_end_us, state, start_us, end_us, conf) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (dag_id, run_id) DO UPDATE SET \
                 run_type = excluded.run_type, logical_date_us = excluded.logical_date_us, \
                 data_interval_start_us = excluded.data_interval_start_us, \
                 data_interval_end_us = excluded.data_interval_end_us, state = excluded.state, \
                 start_us = excluded.start_us, end_us = excluded.end_us, conf = excluded.conf",
        )
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
        .execute(&self.pool)
        .await
        .map_err(query_error(format!(
            "save run `{}` of DAG `{}`",
            run.run_id, run.dag_id
        )))?;
        Ok(())
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
        .map_err(query_error(format!(
            "set the state of run `{run_id}` of DAG `{dag_id}`"
        )))?;
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
            .map_err(query_error(op()))?;
        row.as_ref()
            .map(run_from_row)
            .transpose()
            .map_err(query_error(op()))
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
            .map_err(query_error(op()))?;
        rows.iter()
            .map(run_from_row)
            .collect::<Result<_, _>>()
            .map_err(query_error(op()))
    }

    /// Inserts one try of a task instance, or overwrites the row with the same
    /// `(dag_id, run_id, task_id, map_index, try_number)`. The run must exist.
    pub async fn upsert_task_instance(&self, ti: &TaskInstanceRecord) -> Result<(), StoreError> {
        upsert_task_instance(&self.pool, ti).await
    }

    /// Records one try of a task instance and, when it succeeded, its output, in one
    /// transaction: a try is never recorded `success` without the output its downstream tasks
    /// will read. The run must exist.
    pub async fn record_try(
        &self,
        ti: &TaskInstanceRecord,
        output: Option<&str>,
    ) -> Result<(), StoreError> {
        let Some(json) = output else {
            return upsert_task_instance(&self.pool, ti).await;
        };
        let op = || {
            format!(
                "save try {} of task `{}` in run `{}` of DAG `{}`",
                ti.try_number,
                ti.label(),
                ti.run_id,
                ti.dag_id
            )
        };
        let mut tx = self.pool.begin().await.map_err(query_error(op()))?;
        save_xcom(
            &mut *tx,
            &ti.dag_id,
            &ti.run_id,
            &ti.task_id,
            ti.map_index,
            json,
        )
        .await?;
        upsert_task_instance(&mut *tx, ti).await?;
        tx.commit().await.map_err(query_error(op()))
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
            .map_err(query_error(op()))?;
        rows.iter()
            .map(task_instance_from_row)
            .collect::<Result<_, _>>()
            .map_err(query_error(op()))
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
            .map_err(query_error(op()))?;
        let mut failed: Vec<TaskInstanceRecord> = rows
            .iter()
            .map(task_instance_from_row)
            .collect::<Result<_, _>>()
            .map_err(query_error(op()))?;
        // RETURNING has no ORDER BY.
        failed.sort_by(|a, b| {
            (&a.task_id, a.map_index, a.try_number).cmp(&(&b.task_id, b.map_index, b.try_number))
        });
        Ok(failed)
    }

    /// Stores a task's output (JSON text), replacing the previous one. The run must exist.
    pub async fn save_xcom(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: &str,
        map_index: i32,
        json: &str,
    ) -> Result<(), StoreError> {
        save_xcom(&self.pool, dag_id, run_id, task_id, map_index, json).await
    }

    /// Every output of a run as `(task_id, map_index, json)`, ordered by task id and map index.
    pub async fn load_xcoms(
        &self,
        dag_id: &str,
        run_id: &str,
    ) -> Result<Vec<(String, i32, String)>, StoreError> {
        let op = || format!("read the task outputs of run `{run_id}` of DAG `{dag_id}`");
        let rows = sqlx::query(
            "SELECT task_id, map_index, value FROM xcom \
             WHERE dag_id = $1 AND run_id = $2 ORDER BY task_id, map_index",
        )
        .bind(dag_id)
        .bind(run_id)
        .fetch_all(&self.pool)
        .await
        .map_err(query_error(op()))?;
        rows.iter()
            .map(|row| {
                let map_index: i64 = row.try_get("map_index")?;
                let map_index =
                    i32::try_from(map_index).map_err(|e| sqlx::Error::ColumnDecode {
                        index: "\"map_index\"".into(),
                        source: e.into(),
                    })?;
                Ok((row.try_get("task_id")?, map_index, row.try_get("value")?))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(query_error(op()))
    }

    /// Deletes a task's outputs (every map index), e.g. before it is cleared and run again.
    pub async fn delete_xcom(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM xcom WHERE dag_id = $1 AND run_id = $2 AND task_id = $3")
            .bind(dag_id)
            .bind(run_id)
            .bind(task_id)
            .execute(&self.pool)
            .await
            .map_err(query_error(format!(
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
        .map_err(query_error(format!(
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
                .map_err(query_error(format!(
                    "read whether DAG `{dag_id}` is paused"
                )))?;
        Ok(paused.is_some_and(|p| p != 0))
    }
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
                if backend == Backend::Sqlite && attempt < 3 =>
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

/// `sqlite:///abs/home/rocket-dag.db?mode=rwc`, the path percent-encoded.
fn sqlite_home_url(home: &Path) -> String {
    // Absolute, so the path never lands in the URL's host part (a relative `my home/x` would).
    let home = std::path::absolute(home).unwrap_or_else(|_| home.to_owned());
    let file = home.join(DATABASE_FILE);
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

async fn upsert_task_instance<'e, E>(db: E, ti: &TaskInstanceRecord) -> Result<(), StoreError>
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
    .map_err(query_error(format!(
        "save try {} of task `{}` in run `{}` of DAG `{}`",
        ti.try_number,
        ti.label(),
        ti.run_id,
        ti.dag_id
    )))?;
    Ok(())
}

async fn save_xcom<'e, E>(
    db: E,
    dag_id: &str,
    run_id: &str,
    task_id: &str,
    map_index: i32,
    json: &str,
) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO xcom (dag_id, run_id, task_id, map_index, value) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (dag_id, run_id, task_id, map_index) DO UPDATE SET value = excluded.value",
    )
    .bind(dag_id)
    .bind(run_id)
    .bind(task_id)
    .bind(i64::from(map_index))
    .bind(json)
    .execute(db)
    .await
    .map_err(query_error(format!(
        "save the output of task `{task_id}` in run `{run_id}` of DAG `{dag_id}`"
    )))?;
    Ok(())
}

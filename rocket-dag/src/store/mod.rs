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
mod error;
mod listing;
mod open;
mod records;
mod runs;
mod schema;
#[cfg(test)]
mod tests;
mod tries;

use std::path::PathBuf;

use sqlx::{AnyConnection, AnyPool, Connection};

pub use claims::{Claim, HEARTBEAT_EVERY, RunOwner, STALE_AFTER, owner_gone};
pub use error::StoreError;
pub use listing::InstanceCount;
pub use records::{
    DagRunRecord, NOT_MAPPED, RunStateRecord, RunType, TaskInstanceRecord, TaskStateRecord,
    UnknownName, latest_tries, mapped_state,
};
pub use runs::ExternalRun;

use error::hint;

/// Environment variable that overrides the database URL of [`Store::open_home`].
pub const DATABASE_URL_ENV: &str = "ROCKET_DAG_DATABASE_URL";

pub use crate::home::DATABASE_FILE;

/// Environment variable choosing SQLite's `synchronous` setting: `NORMAL` (the default) or
/// `FULL`.
pub const SQLITE_SYNCHRONOUS_ENV: &str = "ROCKET_DAG_SQLITE_SYNCHRONOUS";

/// Environment variable setting how long, in milliseconds, a SQLite write waits for another
/// process's write transaction to end before failing (SQLite's `busy_timeout`); default
/// [`DEFAULT_SQLITE_BUSY_TIMEOUT`]. Several processes sharing the file (Airflow's
/// LocalExecutor starting one worker per task) take turns writing: each commit holds the lock
/// for well under a millisecond, so the wait only runs out when something holds a transaction
/// open (a tool, a stuck process) or the disk stalls. Past it, the write fails with an error
/// saying so.
pub const SQLITE_BUSY_TIMEOUT_ENV: &str = "ROCKET_DAG_SQLITE_BUSY_TIMEOUT_MS";

/// How long a SQLite write waits for the lock unless [`SQLITE_BUSY_TIMEOUT_ENV`] says otherwise.
pub const DEFAULT_SQLITE_BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

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
    /// SQLite's busy timeout on every connection, named when it ran out.
    busy_timeout: std::time::Duration,
}

impl Store {
    /// Turns a failed query into a [`StoreError::Query`] saying what was being done and what
    /// the cause means.
    pub(super) fn query_error(&self, op: String) -> impl FnOnce(sqlx::Error) -> StoreError + '_ {
        move |cause| StoreError::Query {
            op,
            hint: hint(&cause, self.dir.as_deref(), self.busy_timeout),
            cause,
        }
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

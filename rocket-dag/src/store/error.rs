//! What can go wrong in the store, and what SQLite's result codes mean for the user.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::migrate::MigrateError;

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
    /// The URL names PostgreSQL, and this build has no PostgreSQL driver.
    #[error(
        "the metadata store at {url} is PostgreSQL, which this build cannot reach: build \
         rocket-dag with its `postgres` feature (on by default)"
    )]
    PostgresNotBuilt {
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
        hint: Box<str>,
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
        hint: Box<str>,
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
/// themselves); `dir` is the database's folder, looked at when the error is an I/O one, and
/// `busy_timeout` how long SQLite waited for a lock before giving up.
pub(super) fn hint(cause: &sqlx::Error, dir: Option<&Path>, busy_timeout: Duration) -> Box<str> {
    let Some(code) = cause
        .as_database_error()
        // PostgreSQL's codes (SQLSTATEs such as 22021) are not SQLite's.
        .filter(|e| e.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some())
        .and_then(|e| e.code())
        .and_then(|c| c.parse::<i64>().ok())
    else {
        return "".into();
    };
    // Extended result codes carry the primary one in their low byte.
    let text: &'static str = match code & 0xff {
        10 | 13 if dir.is_some_and(disk_full) => " (no space left on the device: free some space)",
        // SQLITE_BUSY: the busy handler waited `busy_timeout` for the other writer to finish.
        5 => return busy_hint(busy_timeout).into(),
        6 => " (another process holds the database locked)",
        8 => " (the database file or its folder is read-only: check its permissions)",
        10 => " (an I/O error: the disk may be failing or the file system unmounted)",
        11 | 26 => {
            " (the database file is damaged: restore it from a backup, or move it away to start \
             a new history)"
        }
        13 => " (no space left on the device: free some space)",
        14 => " (the file cannot be opened: check that its folder exists and is writable)",
        _ => "",
    };
    text.into()
}

/// What `SQLITE_BUSY` means once SQLite has waited `busy_timeout` for the lock.
pub(super) fn busy_hint(busy_timeout: Duration) -> String {
    let ms = busy_timeout.as_millis();
    let waited = if ms >= 1000 && ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{ms} ms")
    };
    format!(
        " (the database stayed locked by another process for more than {waited}: another \
         rocket-dag process or a tool holds a write transaction; try again, raise \
         {}, or move the history to PostgreSQL with {})",
        super::SQLITE_BUSY_TIMEOUT_ENV,
        super::DATABASE_URL_ENV
    )
}

/// Whether SQLite said another connection holds the lock (`SQLITE_BUSY`, `SQLITE_LOCKED`).
pub(super) fn is_busy(cause: &sqlx::Error) -> bool {
    cause
        .as_database_error()
        .and_then(|e| e.code())
        .and_then(|c| c.parse::<i64>().ok())
        .is_some_and(|c| matches!(c & 0xff, 5 | 6))
}

/// Whether the file system holding `dir` has no block left for this user.
pub(super) fn disk_full(dir: &Path) -> bool {
    nix::sys::statvfs::statvfs(dir).is_ok_and(|s| s.blocks_available() == 0)
}

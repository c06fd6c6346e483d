//! Opening a store: the home's SQLite file checked and created whole, PostgreSQL by URL, the
//! schema migrated.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::MigrateError;
use sqlx::{AnyConnection, AssertSqlSafe, Connection};

use super::error::{hint, is_busy};
use super::{
    Backend, DATABASE_FILE, DATABASE_URL_ENV, DEFAULT_SQLITE_BUSY_TIMEOUT, SQLITE_BUSY_TIMEOUT_ENV,
    SQLITE_SYNCHRONOUS_ENV, Store, StoreError, schema,
};

impl Store {
    /// Opens the database at `url` (`sqlite://PATH?mode=rwc`, `postgres://user:pw@host/db`),
    /// creating or upgrading its schema.
    ///
    /// `sqlite::memory:` works too, on a single connection (each SQLite in-memory connection
    /// would otherwise get its own empty database).
    ///
    /// SQLite waits for another process's write as long as [`SQLITE_BUSY_TIMEOUT_ENV`] says.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let busy_timeout = busy_timeout_from_env();
        let shown = redact(url);
        let backend = Backend::from_url(url)
            .ok_or_else(|| StoreError::UnsupportedUrl { url: shown.clone() })?;
        if backend == Backend::Postgres && !cfg!(feature = "postgres") {
            return Err(StoreError::PostgresNotBuilt { url: shown });
        }
        // Idempotent; registers the SQLite and PostgreSQL drivers for `Any`.
        sqlx::any::install_default_drivers();

        let mut options = AnyPoolOptions::new();
        if backend == Backend::Sqlite {
            let pragmas = sqlite_pragmas(
                std::env::var(SQLITE_SYNCHRONOUS_ENV).ok().as_deref(),
                busy_timeout,
            );
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
            hint: hint(&cause, dir.as_deref(), busy_timeout),
            cause,
        };
        check_first_connection(url, backend, busy_timeout)
            .await
            .map_err(open_error)?;
        // A connection may be held while its statement waits out the busy timeout: waiting for
        // one must not give up first (with a bare "pool timed out").
        options = options
            .acquire_timeout(Duration::from_secs(10).max(busy_timeout + Duration::from_secs(5)));
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
            busy_timeout,
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
}

/// [`SQLITE_BUSY_TIMEOUT_ENV`] in milliseconds, or [`DEFAULT_SQLITE_BUSY_TIMEOUT`] when unset
/// (or not a number, with a warning).
pub(super) fn busy_timeout_from_env() -> Duration {
    parse_busy_timeout(std::env::var(SQLITE_BUSY_TIMEOUT_ENV).ok().as_deref())
}

/// A busy timeout in milliseconds, as [`SQLITE_BUSY_TIMEOUT_ENV`] gives it.
pub(super) fn parse_busy_timeout(value: Option<&str>) -> Duration {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return DEFAULT_SQLITE_BUSY_TIMEOUT;
    };
    // SQLite takes an `int` of milliseconds.
    match value.parse::<u32>() {
        Ok(ms) if i32::try_from(ms).is_ok() => Duration::from_millis(u64::from(ms)),
        _ => {
            tracing::warn!(
                "{SQLITE_BUSY_TIMEOUT_ENV}={value} is not a number of milliseconds: using {}",
                DEFAULT_SQLITE_BUSY_TIMEOUT.as_millis()
            );
            DEFAULT_SQLITE_BUSY_TIMEOUT
        }
    }
}

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
pub(super) fn sqlite_pragmas(synchronous: Option<&str>, busy_timeout: Duration) -> String {
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
        "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
         PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON;",
        busy_timeout.as_millis()
    )
}

/// Applies the pending migrations.
pub(super) async fn migrate(
    pool: &AnyPool,
    backend: Backend,
    shown: &str,
) -> Result<(), StoreError> {
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
pub(super) fn env_url() -> Option<String> {
    std::env::var(DATABASE_URL_ENV)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// `sqlite:///abs/path?mode=rwc`, the path percent-encoded.
pub(super) fn sqlite_url(file: &Path) -> String {
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
pub(super) fn sqlite_dir(url: &str) -> Option<PathBuf> {
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
pub(super) const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Refuses a file that is not a SQLite database.
pub(super) fn check_database_file(file: &Path, meta: &std::fs::Metadata) -> Result<(), StoreError> {
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
pub(super) fn writable(path: &Path, what: &str) -> Result<(), StoreError> {
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
pub(super) async fn create_database(file: &Path) -> Result<(), StoreError> {
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
        hint: hint(&cause, file.parent(), busy_timeout_from_env()),
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
pub(super) fn redact(url: &str) -> String {
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

/// One plain connection, set up as the pool's will be and made to read the schema: the pool
/// retries a connection that fails to open or to set up until its acquire timeout and then
/// reports only "pool timed out"; this reports the real cause (a corrupt or non-database file,
/// a read-only folder, a full disk) at once.
async fn check_first_connection(
    url: &str,
    backend: Backend,
    busy_timeout: Duration,
) -> Result<(), sqlx::Error> {
    let mut first = AnyConnection::connect(url).await?;
    if backend == Backend::Sqlite {
        let pragmas = sqlite_pragmas(
            std::env::var(SQLITE_SYNCHRONOUS_ENV).ok().as_deref(),
            busy_timeout,
        );
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
                    return Err(cause);
                }
            }
        }
    }
    first.close().await
}

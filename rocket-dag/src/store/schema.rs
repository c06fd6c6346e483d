//! The schema, as versioned migrations that run unchanged on SQLite and PostgreSQL.
//!
//! Portability rules: `TEXT` and `BIGINT` columns only (instants as epoch microseconds, flags as
//! 0/1, JSON as text), no `BOOLEAN`/`TIMESTAMP`/`JSONB`/`SERIAL`, no `CHECK` on state names (a
//! new state would need a table rebuild on SQLite; Rust validates them when reading).
//!
//! A released migration must never be edited: sqlx stores its checksum and refuses to open a
//! database whose applied migration differs. Change the schema by appending a new version.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// The table recording applied schema versions (sqlx's layout, our name).
pub(super) const MIGRATIONS_TABLE: &str = "rocket_dag_migrations";

/// `(version, description, SQL)`, in order.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "run history",
        r#"
CREATE TABLE dag_runs (
    dag_id                  TEXT   NOT NULL,
    run_id                  TEXT   NOT NULL,
    run_type                TEXT   NOT NULL,
    logical_date_us         BIGINT NOT NULL,
    data_interval_start_us  BIGINT NOT NULL,
    data_interval_end_us    BIGINT NOT NULL,
    state                   TEXT   NOT NULL,
    start_us                BIGINT NOT NULL,
    end_us                  BIGINT,
    conf                    TEXT   NOT NULL DEFAULT '{}',
    PRIMARY KEY (dag_id, run_id)
);
CREATE INDEX dag_runs_by_logical_date ON dag_runs (dag_id, logical_date_us);
CREATE INDEX dag_runs_by_state ON dag_runs (state, logical_date_us);

CREATE TABLE task_instances (
    dag_id       TEXT   NOT NULL,
    run_id       TEXT   NOT NULL,
    task_id      TEXT   NOT NULL,
    map_index    BIGINT NOT NULL DEFAULT -1,
    try_number   BIGINT NOT NULL,
    state        TEXT   NOT NULL,
    start_us     BIGINT NOT NULL,
    end_us       BIGINT,
    duration_us  BIGINT,
    hostname     TEXT   NOT NULL,
    pid          BIGINT,
    log_path     TEXT,
    error        TEXT,
    PRIMARY KEY (dag_id, run_id, task_id, map_index, try_number),
    FOREIGN KEY (dag_id, run_id) REFERENCES dag_runs (dag_id, run_id) ON DELETE CASCADE
);
CREATE INDEX task_instances_by_state ON task_instances (state);

CREATE TABLE xcom (
    dag_id     TEXT   NOT NULL,
    run_id     TEXT   NOT NULL,
    task_id    TEXT   NOT NULL,
    map_index  BIGINT NOT NULL DEFAULT -1,
    value      TEXT   NOT NULL,
    PRIMARY KEY (dag_id, run_id, task_id, map_index),
    FOREIGN KEY (dag_id, run_id) REFERENCES dag_runs (dag_id, run_id) ON DELETE CASCADE
);

CREATE TABLE dag_state (
    dag_id     TEXT   NOT NULL PRIMARY KEY,
    is_paused  BIGINT NOT NULL DEFAULT 0
);
"#,
    ),
    (
        2,
        "outputs on their try",
        // A try and its output in one row: the runner records a scheduling step (successes
        // with their outputs, the tries it starts) with one multi-row statement, atomic on its
        // own, instead of a transaction over two tables. Halves the cost of a state change.
        r#"
ALTER TABLE task_instances ADD COLUMN output TEXT;
UPDATE task_instances SET output = (
    SELECT x.value FROM xcom x
    WHERE x.dag_id = task_instances.dag_id AND x.run_id = task_instances.run_id
      AND x.task_id = task_instances.task_id AND x.map_index = task_instances.map_index
)
WHERE try_number = (
    SELECT MAX(t.try_number) FROM task_instances t
    WHERE t.dag_id = task_instances.dag_id AND t.run_id = task_instances.run_id
      AND t.task_id = task_instances.task_id AND t.map_index = task_instances.map_index
);
DROP TABLE xcom;
-- Every query on task instances names the run (the primary key's prefix); this index only
-- cost a page write per state change.
DROP INDEX task_instances_by_state;
"#,
    ),
    (
        3,
        "run owners",
        // Who executes a run (host, pid) and its heartbeat: one process at a time claims a
        // run, and a scheduler adopts the running runs whose owner is gone (store::claims).
        r#"
ALTER TABLE dag_runs ADD COLUMN owner_host TEXT;
ALTER TABLE dag_runs ADD COLUMN owner_pid BIGINT;
ALTER TABLE dag_runs ADD COLUMN heartbeat_us BIGINT;
"#,
    ),
    (
        4,
        "run executors",
        // Which engine schedules a run: NULL for rocket-dag itself, `airflow` for a run whose
        // tasks Airflow's workers execute one by one (`tasks run`). Such a run is recorded here
        // but never claimed, resumed or adopted by a rocket-dag process.
        r#"
ALTER TABLE dag_runs ADD COLUMN executor TEXT;
"#,
    ),
];

/// The newest schema version this build knows.
pub(super) const LATEST_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// The migrator for [`MIGRATIONS`], built in code (the `migrate!` macro needs sqlx's `macros`).
pub(super) fn migrator() -> Migrator {
    migrator_up_to(LATEST_VERSION)
}

/// The migrator for the versions up to `version` (tests build old databases with it).
pub(super) fn migrator_up_to(version: i64) -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .filter(|m| m.0 <= version)
        .map(|&(version, description, sql)| {
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    let mut migrator = Migrator::with_migrations(migrations);
    migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
    migrator
}

//! Runs: created, claimed, updated, listed.

use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;

use super::records::{RUN_COLUMNS, run_from_row, to_us};
use super::{DagRunRecord, RunOwner, RunStateRecord, RunType, Store, StoreError};

/// A run as [`Store::record_external_run`] found or created it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalRun {
    /// The run as recorded.
    pub run: DagRunRecord,
    /// The engine that schedules it (`None`: rocket-dag itself).
    pub executor: Option<String>,
    /// Whether this call created it.
    pub created: bool,
}

impl Store {
    /// Creates a run unless one with the same ids exists; `true` if this call created it.
    /// Schedulers sharing a database (several machines on PostgreSQL) claim each scheduled run
    /// this way, so exactly one of them runs it.
    /// The run is created owned by this process (see [`Store::claim_execution`]).
    pub async fn claim_run(&self, run: &DagRunRecord) -> Result<bool, StoreError> {
        let me = RunOwner::this_process();
        let inserted = self
            .insert_run(run, "DO NOTHING", "claim", Some(&me), None)
            .await?;
        Ok(inserted == 1)
    }

    /// Creates a queued run (`dags trigger`, the web UI, the REST API) unless one with the
    /// same ids exists; `true` if this call created it. Nobody owns it until a scheduler
    /// claims it ([`Store::claim_queued_run`]).
    pub async fn queue_run(&self, run: &DagRunRecord) -> Result<bool, StoreError> {
        Ok(self
            .insert_run(run, "DO NOTHING", "queue", None, None)
            .await?
            == 1)
    }

    /// Records a run that another engine (`executor`, e.g. `airflow`) schedules, unless a run
    /// with the same ids is recorded already (then left untouched: owner, state and all), and
    /// returns the run as recorded. Workers of that engine call this before each try, any
    /// number of them at once: one `INSERT … ON CONFLICT DO NOTHING`, so exactly one creates
    /// the run and none fails because another was first.
    pub async fn record_external_run(
        &self,
        run: &DagRunRecord,
        executor: &str,
    ) -> Result<ExternalRun, StoreError> {
        let op = || format!("record run `{}` of DAG `{}`", run.run_id, run.dag_id);
        let created = self
            .insert_run(run, "DO NOTHING", "record", None, Some(executor))
            .await?
            == 1;
        let sql = format!(
            "SELECT {RUN_COLUMNS}, executor FROM dag_runs WHERE dag_id = $1 AND run_id = $2"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(run.dag_id.as_str())
            .bind(run.run_id.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(self.query_error(op()))?;
        let read = || -> Result<_, sqlx::Error> {
            use sqlx::Row;
            Ok(ExternalRun {
                run: run_from_row(&row)?,
                executor: row.try_get("executor")?,
                created,
            })
        };
        read().map_err(self.query_error(op()))
    }

    /// Moves a queued run (`dags trigger`) to running; `true` if this call did, so of several
    /// schedulers exactly one starts it.
    pub async fn claim_queued_run(&self, dag_id: &str, run_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE dag_runs SET state = $3, start_us = $4 \
             WHERE dag_id = $1 AND run_id = $2 AND state = $5 AND executor IS NULL",
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
        self.insert_run(run, update, "save", None, None).await?;
        Ok(())
    }

    /// `INSERT`s `run` (owned by `owner`, heartbeat now; scheduled by `executor`, `None` for
    /// rocket-dag) with `ON CONFLICT (dag_id, run_id) <on_conflict>`; the rows affected.
    pub(super) async fn insert_run(
        &self,
        run: &DagRunRecord,
        on_conflict: &'static str,
        verb: &str,
        owner: Option<&RunOwner>,
        executor: Option<&str>,
    ) -> Result<u64, StoreError> {
        crate::ids::dag(&run.dag_id)?;
        crate::ids::run(&run.run_id)?;
        let sql = format!(
            "INSERT INTO dag_runs (dag_id, run_id, run_type, logical_date_us, \
                 data_interval_start_us, data_interval_end_us, state, start_us, end_us, conf, \
                 owner_host, owner_pid, heartbeat_us, executor) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
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
            .bind(executor)
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

    /// The run of a DAG at logical date `logical`, if any (Airflow allows one run per logical
    /// date and DAG, whatever its type).
    pub async fn run_at(
        &self,
        dag_id: &str,
        logical: DateTime<Utc>,
    ) -> Result<Option<DagRunRecord>, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM dag_runs WHERE dag_id = $1 AND logical_date_us = $2 \
             ORDER BY run_id LIMIT 1"
        );
        let op = || format!("read the run of DAG `{dag_id}` at {logical}");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(dag_id)
            .bind(to_us(logical))
            .fetch_optional(&self.pool)
            .await
            .map_err(self.query_error(op()))?;
        row.as_ref()
            .map(run_from_row)
            .transpose()
            .map_err(self.query_error(op()))
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
    pub(super) async fn select_runs(
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
}

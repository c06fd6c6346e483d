//! Task instance tries and their outputs: recorded in one statement per scheduling step, read
//! back when a run resumes.

use chrono::Utc;
use sqlx::{AnyConnection, AssertSqlSafe, Connection, Row};

use super::records::{TASK_INSTANCE_COLUMNS, duration_to_us, task_instance_from_row, to_us};
use super::{Backend, Store, StoreError, TaskInstanceRecord, TaskStateRecord};

impl Store {
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
            return write_rows(&mut conn, &keep, self.backend)
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
            match write_rows(conn, &keep, self.backend).await {
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

    /// Every try of every task instance of the `limit` newest runs of `dag_id` (newest logical
    /// date first, as [`Store::list_runs`] orders them), in one query: what a grid of runs
    /// shows. Ordered by run id, task id, map index and try.
    pub async fn recent_task_instances(
        &self,
        dag_id: &str,
        limit: u32,
    ) -> Result<Vec<TaskInstanceRecord>, StoreError> {
        let sql = format!(
            "SELECT {TASK_INSTANCE_COLUMNS} FROM task_instances \
             WHERE dag_id = $1 AND run_id IN (SELECT run_id FROM dag_runs WHERE dag_id = $1 \
                 ORDER BY logical_date_us DESC, start_us DESC, run_id LIMIT $2) \
             ORDER BY run_id, task_id, map_index, try_number"
        );
        let op = || format!("read the task instances of the last {limit} runs of DAG `{dag_id}`");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(dag_id)
            .bind(i64::from(limit))
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
        self.read_xcoms(dag_id, run_id, None).await
    }

    /// As [`load_xcoms`](Self::load_xcoms), only the outputs of `task_ids`: what one task
    /// instance reads as its inputs, without reading every other output of the run (a mapped
    /// task's thousand elements, say).
    pub async fn load_xcoms_of(
        &self,
        dag_id: &str,
        run_id: &str,
        task_ids: &[&str],
    ) -> Result<Vec<(String, i32, String)>, StoreError> {
        if task_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.read_xcoms(dag_id, run_id, Some(task_ids)).await
    }

    async fn read_xcoms(
        &self,
        dag_id: &str,
        run_id: &str,
        task_ids: Option<&[&str]>,
    ) -> Result<Vec<(String, i32, String)>, StoreError> {
        let op = || format!("read the task outputs of run `{run_id}` of DAG `{dag_id}`");
        let only = task_ids.map_or_else(String::new, |ids| {
            let marks: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 3)).collect();
            format!(" AND task_id IN ({})", marks.join(", "))
        });
        let sql = format!(
            "SELECT task_id, map_index, output FROM task_instances \
             WHERE dag_id = $1 AND run_id = $2 AND output IS NOT NULL{only} \
             ORDER BY task_id, map_index, try_number"
        );
        // Only numbered placeholders are added to the text; every value is bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(dag_id)
            .bind(run_id);
        for id in task_ids.unwrap_or_default() {
            query = query.bind(*id);
        }
        let rows = query
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
}

/// The columns of a try, in the order [`bind_try`] binds them.
const TRY_COLUMNS: &str = "dag_id, run_id, task_id, map_index, try_number, state, start_us, \
    end_us, duration_us, hostname, pid, log_path, error";
/// How many [`TRY_COLUMNS`] there are.
const TRY_COLUMN_COUNT: usize = 13;
/// On a conflict, what a new record of a try overwrites (its output is separate).
const TRY_UPDATE: &str = "state = excluded.state, start_us = excluded.start_us, \
    end_us = excluded.end_us, duration_us = excluded.duration_us, \
    hostname = excluded.hostname, pid = excluded.pid, log_path = excluded.log_path, \
    error = excluded.error";

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Binds the [`TRY_COLUMNS`] of `ti`: the one place a try becomes parameters.
fn bind_try<'q>(q: AnyQuery<'q>, ti: &'q TaskInstanceRecord) -> AnyQuery<'q> {
    q.bind(ti.dag_id.as_str())
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
}

/// `($1, $2, …)` for row `row` of `width` parameters.
fn placeholders(row: usize, width: usize) -> String {
    let list: Vec<String> = (1..=width)
        .map(|c| format!("${}", row * width + c))
        .collect();
    format!("({})", list.join(", "))
}

/// Writes one try, keeping the output its row may already hold.
pub(super) async fn upsert_task_instance<'e, E>(
    db: E,
    ti: &TaskInstanceRecord,
) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!(
        "INSERT INTO task_instances ({TRY_COLUMNS}) VALUES {} \
         ON CONFLICT (dag_id, run_id, task_id, map_index, try_number) DO UPDATE SET {TRY_UPDATE}",
        placeholders(0, TRY_COLUMN_COUNT)
    );
    bind_try(sqlx::query(AssertSqlSafe(sql)), ti)
        .execute(db)
        .await
        .map(drop)
}

/// Rows per multi-row statement: 14 parameters each stays far below SQLite's 32,766 and
/// PostgreSQL's 65,535 bound parameters.
pub(super) const ROWS_PER_STATEMENT: usize = 500;

/// Whether `e` says the connection is unusable rather than the statement wrong.
pub(super) fn is_connection_error(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) | sqlx::Error::WorkerCrashed
    )
}

/// `rows` in one statement, or in one transaction of several.
pub(super) async fn write_rows(
    conn: &mut AnyConnection,
    rows: &[&(TaskInstanceRecord, Option<&str>)],
    backend: Backend,
) -> Result<(), sqlx::Error> {
    if rows.len() <= ROWS_PER_STATEMENT {
        return record_rows(&mut *conn, rows).await;
    }
    // On SQLite, `BEGIN IMMEDIATE` takes the write lock at once, waiting for it under the busy
    // timeout like a single statement does. (A deferred transaction whose first statement
    // writes waits too; one that read first would fail with SQLITE_BUSY at once, without
    // waiting, once another process committed meanwhile. Immediate rules that out should this
    // transaction ever read first.)
    let mut tx = match backend {
        Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => conn.begin().await?,
    };
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        record_rows(&mut *tx, chunk).await?;
    }
    tx.commit().await
}

/// The last record per key, in their order.
pub(super) fn dedup_tries<'a>(
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

/// One `INSERT … VALUES (…), (…) ON CONFLICT DO UPDATE` for `rows`, outputs included.
pub(super) async fn record_rows<'e, E>(
    db: E,
    rows: &[&(TaskInstanceRecord, Option<&str>)],
) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let width = TRY_COLUMN_COUNT + 1;
    let values: Vec<String> = (0..rows.len()).map(|r| placeholders(r, width)).collect();
    let sql = format!(
        "INSERT INTO task_instances ({TRY_COLUMNS}, output) VALUES {} \
         ON CONFLICT (dag_id, run_id, task_id, map_index, try_number) DO UPDATE SET \
         {TRY_UPDATE}, output = excluded.output",
        values.join(", ")
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for (ti, output) in rows {
        q = bind_try(q, ti).bind(*output);
    }
    q.execute(db).await.map(drop)
}

/// The ids of a try, checked before they are recorded (they become log paths).
pub(super) fn check_ids(ti: &TaskInstanceRecord) -> Result<(), StoreError> {
    crate::ids::dag(&ti.dag_id)?;
    crate::ids::run(&ti.run_id)?;
    crate::ids::task(&ti.task_id)?;
    Ok(())
}

//! What the REST API lists: every run of a DAG (or of all DAGs), and the latest try of every
//! task instance with its run's logical date. The API filters, orders and pages these in
//! memory, so one code path serves every filter Airflow's API accepts.

use sqlx::{AssertSqlSafe, Row};

use super::records::{RUN_COLUMNS, TASK_INSTANCE_COLUMNS, run_from_row, task_instance_from_row};
use super::{DagRunRecord, Store, StoreError, TaskInstanceRecord};

impl Store {
    /// Every run, of DAG `dag_id` only when given, oldest logical date first.
    pub async fn all_runs(&self, dag_id: Option<&str>) -> Result<Vec<DagRunRecord>, StoreError> {
        let filter = if dag_id.is_some() {
            " WHERE dag_id = $1"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM dag_runs{filter} ORDER BY logical_date_us, dag_id, run_id"
        );
        let op = || match dag_id {
            Some(dag) => format!("list every run of DAG `{dag}`"),
            None => "list every DAG run".to_owned(),
        };
        let mut query = sqlx::query(AssertSqlSafe(sql));
        if let Some(dag) = dag_id {
            query = query.bind(dag);
        }
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_error(op()))?;
        rows.iter()
            .map(run_from_row)
            .collect::<Result<_, _>>()
            .map_err(self.query_error(op()))
    }

    /// The latest try of every task instance (one per task and map index); of DAG `dag_id`
    /// and run `run_id` only when given. Ordered by DAG, run, task and map index.
    pub async fn latest_task_instances(
        &self,
        dag_id: Option<&str>,
        run_id: Option<&str>,
    ) -> Result<Vec<TaskInstanceRecord>, StoreError> {
        // Every try in primary key order (an index scan, no sort), the latest kept here: a
        // correlated "no later try" subquery per row cost more than reading the few retries.
        let mut sql = format!("SELECT {TASK_INSTANCE_COLUMNS} FROM task_instances");
        let mut values = Vec::new();
        for (column, value) in [("dag_id", dag_id), ("run_id", run_id)] {
            if let Some(value) = value {
                values.push(value);
                let keyword = if values.len() == 1 { "WHERE" } else { "AND" };
                // Column names are constants of this fn; values are bound.
                sql.push_str(&format!(" {keyword} {column} = ${}", values.len()));
            }
        }
        sql.push_str(" ORDER BY dag_id, run_id, task_id, map_index, try_number");
        let op = || "list the latest task instance tries".to_owned();
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for value in values {
            query = query.bind(value);
        }
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_error(op()))?;
        let mut out: Vec<TaskInstanceRecord> = Vec::with_capacity(rows.len());
        for row in &rows {
            let t = task_instance_from_row(row).map_err(self.query_error(op()))?;
            match out.last_mut() {
                Some(last)
                    if last.map_index == t.map_index
                        && last.task_id == t.task_id
                        && last.run_id == t.run_id
                        && last.dag_id == t.dag_id =>
                {
                    *last = t;
                }
                _ => out.push(t),
            }
        }
        Ok(out)
    }
}

/// What [`Store::instance_counts`] gives per run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstanceCount {
    /// Task instances (task and map index pairs) with at least one try.
    pub instances: u64,
    /// How many of the tasks asked about have at least one try.
    pub known_tasks: u64,
}

impl Store {
    /// Per run of DAG `dag_id` (run `run_id` only, when given): how many task instances have
    /// tries, and how many of the tasks `known` do. Lets the REST API count a listing and find
    /// the runs a page covers without reading every try.
    pub async fn instance_counts(
        &self,
        dag_id: &str,
        run_id: Option<&str>,
        known: &[&str],
    ) -> Result<std::collections::HashMap<String, InstanceCount>, StoreError> {
        // Placeholders for `known` only; the ids are bound.
        let first = if run_id.is_some() { 3 } else { 2 };
        let list: Vec<String> = (0..known.len())
            .map(|i| format!("${}", first + i))
            .collect();
        let known_case = if list.is_empty() {
            "CAST(NULL AS TEXT)".to_owned()
        } else {
            format!(
                "CASE WHEN task_id IN ({}) THEN task_id END",
                list.join(", ")
            )
        };
        let run_filter = if run_id.is_some() {
            " AND run_id = $2"
        } else {
            ""
        };
        let sql = format!(
            "SELECT run_id, COUNT(DISTINCT task_id || ':' || CAST(map_index AS TEXT)) AS n, \
             COUNT(DISTINCT {known_case}) AS k FROM task_instances \
             WHERE dag_id = $1{run_filter} GROUP BY run_id"
        );
        let op = || format!("count the task instances of DAG `{dag_id}`");
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(dag_id);
        if let Some(run) = run_id {
            query = query.bind(run);
        }
        for task in known {
            query = query.bind(*task);
        }
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_error(op()))?;
        let read = |row: &sqlx::any::AnyRow| -> Result<(String, InstanceCount), sqlx::Error> {
            let (n, k): (i64, i64) = (row.try_get("n")?, row.try_get("k")?);
            let count = InstanceCount {
                instances: n.unsigned_abs(),
                known_tasks: k.unsigned_abs(),
            };
            Ok((row.try_get("run_id")?, count))
        };
        rows.iter()
            .map(read)
            .collect::<Result<_, _>>()
            .map_err(self.query_error(op()))
    }
}

//! What the REST API lists: every run of a DAG (or of all DAGs), and the latest try of every
//! task instance with its run's logical date. The API filters, orders and pages these in
//! memory, so one code path serves every filter Airflow's API accepts.

use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

use super::records::{RUN_COLUMNS, run_from_row, task_instance_from_row};
use super::{DagRunRecord, Store, StoreError, TaskInstanceRecord};

/// The task instance columns, qualified by the alias `t`.
const LATEST_COLUMNS: &str = "t.dag_id, t.run_id, t.task_id, t.map_index, t.try_number, \
    t.state, t.start_us, t.end_us, t.duration_us, t.hostname, t.pid, t.log_path, t.error, \
    r.logical_date_us";

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

    /// The latest try of every task instance (one per task and map index), with the logical
    /// date of its run; of DAG `dag_id` and run `run_id` only when given. Ordered by DAG,
    /// logical date, run, task and map index.
    pub async fn latest_task_instances(
        &self,
        dag_id: Option<&str>,
        run_id: Option<&str>,
    ) -> Result<Vec<(TaskInstanceRecord, DateTime<Utc>)>, StoreError> {
        let mut sql = format!(
            "SELECT {LATEST_COLUMNS} FROM task_instances t \
             JOIN dag_runs r ON r.dag_id = t.dag_id AND r.run_id = t.run_id \
             WHERE NOT EXISTS (SELECT 1 FROM task_instances l \
                 WHERE l.dag_id = t.dag_id AND l.run_id = t.run_id AND l.task_id = t.task_id \
                 AND l.map_index = t.map_index AND l.try_number > t.try_number)"
        );
        let mut values = Vec::new();
        for (column, value) in [("t.dag_id", dag_id), ("t.run_id", run_id)] {
            if let Some(value) = value {
                values.push(value);
                // Column names are constants of this fn; values are bound.
                sql.push_str(&format!(" AND {column} = ${}", values.len()));
            }
        }
        sql.push_str(" ORDER BY t.dag_id, r.logical_date_us, t.run_id, t.task_id, t.map_index");
        let op = || "list the latest task instance tries".to_owned();
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for value in values {
            query = query.bind(value);
        }
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_error(op()))?;
        rows.iter()
            .map(|row| {
                let us: i64 = row.try_get("logical_date_us")?;
                let logical = DateTime::from_timestamp_micros(us).ok_or_else(|| {
                    sqlx::Error::ColumnDecode {
                        index: "\"logical_date_us\"".into(),
                        source: format!("{us} µs is out of range for a date").into(),
                    }
                })?;
                Ok((task_instance_from_row(row)?, logical))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(self.query_error(op()))
    }
}

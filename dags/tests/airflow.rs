//! rocket-dag DAGs on Apache Airflow: the worker side (`tasks run`).

#[path = "airflow/worker.rs"]
mod worker;

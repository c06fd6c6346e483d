//! rocket-dag DAGs on Apache Airflow: `airflow export` writes them as Airflow DAG files, and
//! Airflow's workers run each try with `tasks run`, sharing the rocket-dag history.
//!
//! The tests that need Airflow itself run when `ROCKET_DAG_AIRFLOW_VENV` names a virtual
//! environment with Apache Airflow 2.8.1 (`scripts/airflow/install.sh` makes one; CI requires
//! it with `ROCKET_DAG_REQUIRE_AIRFLOW=1`).

#[path = "airflow/engine.rs"]
mod engine;
#[path = "airflow/export.rs"]
mod export;
#[path = "airflow/runs.rs"]
mod runs;
#[path = "airflow/worker.rs"]
mod worker;

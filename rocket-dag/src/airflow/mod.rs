//! rocket-dag DAGs on Apache Airflow, the distributed engine: [`export`] writes each DAG as an
//! Airflow DAG file; Airflow's scheduler and workers (Local, Celery, Kubernetes executors)
//! decide when each task runs and retry it, and each try runs as `<binary> tasks run …`
//! ([`worker`]), recording into the rocket-dag history that every worker shares.

pub mod export;
pub mod worker;

/// The exit code of a try that skipped itself: BashOperator's default `skip_on_exit_code`.
pub const SKIP_EXIT_CODE: u8 = 99;

/// The exit code of a try that failed and must not be retried ([`crate::TaskError::fail_now`]);
/// the generated operator raises `AirflowFailException` for it.
pub const FAIL_NOW_EXIT_CODE: u8 = 98;

/// Whether a downstream task maps over task `task`'s output. Such a task publishes the indexes
/// of its output list as its XCom (the last line of its stdout), which Airflow expands the
/// mapped task over; the data itself stays in the rocket-dag history.
pub fn mapped_over(dag: &crate::Dag, task: usize) -> bool {
    dag.tasks()[task].downstream().iter().any(|&d| {
        let node = &dag.tasks()[d];
        node.inputs()
            .iter()
            .zip(node.mapped_inputs())
            .any(|(&from, &mapped)| from == task && mapped)
    })
}

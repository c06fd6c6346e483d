"""Calls a rocket-dag web server with Apache Airflow's own Python API client
(apache-airflow-client 2.8.x), which checks every response against Airflow's models.

Usage: airflow_client_check.py BASE_URL   (e.g. http://127.0.0.1:8793)
Run by scripts/airflow_client_check.sh; exits non-zero on the first incompatibility.
"""

import sys

import airflow_client.client as client
from airflow_client.client.api import dag_api, dag_run_api, monitoring_api, task_instance_api
from airflow_client.client.model.clear_task_instances import ClearTaskInstances
from airflow_client.client.model.dag import DAG
from airflow_client.client.model.dag_run import DAGRun
from airflow_client.client.model.update_dag_run_state import UpdateDagRunState
from airflow_client.client.model.update_task_instance import UpdateTaskInstance
from airflow_client.client.model.update_task_state import UpdateTaskState


def main(base: str) -> None:
    config = client.Configuration(host=f"{base}/api/v1")
    with client.ApiClient(config) as api:
        dags = dag_api.DAGApi(api)
        runs = dag_run_api.DAGRunApi(api)
        tis = task_instance_api.TaskInstanceApi(api)
        monitoring = monitoring_api.MonitoringApi(api)

        everything = dags.get_dags(limit=100)
        assert everything.total_entries == len(everything.dags) >= 5, everything
        listed = dags.get_dags(limit=2, order_by="-dag_id")
        assert listed.total_entries == everything.total_entries and len(listed.dags) == 2, listed
        ids = sorted((d.dag_id for d in everything.dags), reverse=True)
        assert [d.dag_id for d in listed.dags] == ids[:2], listed
        dag = dags.get_dag("listing_2_10")
        assert dag.schedule_interval.value == "@daily", dag
        paused = dags.patch_dag("listing_2_10", DAG(is_paused=True), update_mask=["is_paused"])
        assert paused.is_paused is True
        tasks = dags.get_tasks("listing_2_10")
        assert [t.task_id for t in tasks.tasks] == sorted(t.task_id for t in tasks.tasks)

        run = runs.post_dag_run("listing_2_10", DAGRun(dag_run_id="client_run", conf={"k": 1}))
        assert run.state.value == "queued", run
        got = runs.get_dag_run("listing_2_10", "client_run")
        assert got.conf == {"k": 1}
        assert runs.get_dag_runs("listing_2_10", state=["queued"]).total_entries == 1
        try:
            runs.post_dag_run("listing_2_10", DAGRun(dag_run_id="client_run"))
            raise AssertionError("a second run with the same id was accepted")
        except client.ApiException as e:
            assert e.status == 409, e

        listed_tis = tis.get_task_instances("listing_2_10", "client_run")
        assert listed_tis.total_entries == 3, listed_tis
        ti = tis.get_task_instance("listing_2_10", "client_run", "notify")
        assert ti.state is None and ti.try_number == 0, ti
        cleared = dags.post_clear_task_instances(
            "listing_2_10", ClearTaskInstances(dry_run=True, dag_run_id="client_run")
        )
        assert cleared.task_instances == [], cleared

        ref = tis.patch_task_instance(
            "listing_2_10", "client_run", "notify", UpdateTaskInstance(dry_run=True, new_state=UpdateTaskState("success"))
        )
        assert ref.task_id == "notify" and ref.dag_run_id == "client_run", ref
        log = tis.get_log("listing_2_10", "client_run", "notify", 1)
        assert log.content.startswith("[("), log
        done = runs.update_dag_run_state(
            "listing_2_10", "client_run", UpdateDagRunState(state="failed")
        )
        assert done.state.value == "failed", done
        skipped = tis.get_task_instances("listing_2_10", "client_run", state=["skipped"])
        assert skipped.total_entries == 3, skipped
        mapped_run = runs.post_dag_run("listing_2_10_mapped", DAGRun(dag_run_id="mapped_run"))
        assert mapped_run.dag_id == "listing_2_10_mapped"
        every = tis.get_task_instances("~", "~", limit=100)
        assert every.total_entries == 7, every

        health = monitoring.get_health()
        assert health.metadatabase.status.value == "healthy", health
        version = monitoring.get_version()
        assert version.version, version
    print("Airflow's API client (apache-airflow-client) works against", base)


if __name__ == "__main__":
    main(sys.argv[1])

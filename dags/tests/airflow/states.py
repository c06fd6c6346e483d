"""Prints what Airflow's metadata database says of one DAG run, as JSON:
{"state": <run state or null>, "tis": [[task_id, map_index, state, try_number], ...]}.

    python states.py DAG_ID RUN_ID
"""
import json
import sys

from airflow.models import DagRun, TaskInstance
from airflow.utils.session import create_session

dag_id, run_id = sys.argv[1], sys.argv[2]
with create_session() as session:
    run = (
        session.query(DagRun.state)
        .filter(DagRun.dag_id == dag_id, DagRun.run_id == run_id)
        .one_or_none()
    )
    tis = (
        session.query(
            TaskInstance.task_id,
            TaskInstance.map_index,
            TaskInstance.state,
            TaskInstance._try_number,
        )
        .filter(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
        .all()
    )
print(
    json.dumps(
        {
            "state": run[0] if run else None,
            "tis": [[t, m, s, n] for t, m, s, n in tis],
        }
    )
)

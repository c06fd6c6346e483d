"""What Airflow makes of the DAG files in a folder, as one JSON document on the last line.

    python describe.py DAGS_FOLDER

Loads the folder with Airflow's own DagBag (as the scheduler does) and prints its import
errors and, for each DAG, the options and tasks the export set, and its first two data
intervals when it catches up (Airflow's timetable, compared with rocket-dag's).
"""

import json
import sys

from airflow.models.dagbag import DagBag
from airflow.models.mappedoperator import MappedOperator


def seconds(d):
    return None if d is None else d.total_seconds()


def iso(d):
    return None if d is None else d.in_timezone("UTC").isoformat()


def describe(dag):
    timetable = dag.timetable
    tz = getattr(timetable, "_timezone", None)
    out = {
        "description": dag.description,
        "doc_md": dag.doc_md,
        "schedule": dag.schedule_interval,
        "timetable_class": type(timetable).__name__,
        "timezone": None if tz is None else tz.name,
        "start_date": iso(dag.start_date),
        "end_date": iso(dag.end_date),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "max_active_tasks": dag.max_active_tasks,
        "tags": list(dag.tags or []),
        "tasks": {},
        "intervals": [],
    }
    for task in dag.tasks:
        out["tasks"][task.task_id] = {
            "mapped": isinstance(task, MappedOperator),
            "retries": task.retries,
            "retry_delay": seconds(task.retry_delay),
            "retry_exponential_backoff": task.retry_exponential_backoff,
            "max_retry_delay": seconds(task.max_retry_delay),
            "execution_timeout": seconds(task.execution_timeout),
            "trigger_rule": str(task.trigger_rule),
            "doc_md": task.doc_md,
            "upstream": sorted(task.upstream_task_ids),
        }
    if dag.catchup:
        last = None
        for _ in range(2):
            info = dag.next_dagrun_info(last)
            if info is None:
                break
            last = info.data_interval
            out["intervals"].append([iso(last.start), iso(last.end)])
    return out


bag = DagBag(sys.argv[1], include_examples=False)
print(
    json.dumps(
        {
            "import_errors": bag.import_errors,
            "dags": {dag_id: describe(dag) for dag_id, dag in bag.dags.items()},
        }
    )
)

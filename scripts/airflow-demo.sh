#!/usr/bin/env bash
# The Rocket DAG on Apache Airflow 2.8.1 with the CeleryExecutor and two Celery workers on this
# machine: Airflow's scheduler queues each task instance in Redis, either worker runs it as
# `rocket-dag tasks run …`, and every try reads and writes the rocket-dag history on
# PostgreSQL. Not part of CI (it takes a few minutes and starts servers); see docs/airflow.md.
#
#   scripts/airflow-demo.sh            # needs root for apt-get and PostgreSQL; ~3 minutes
#
# Starts (and stops on exit): Redis on 127.0.0.1:6390, Debian's PostgreSQL cluster (databases
# airflow_demo and rocket_dag_demo), a stand-in Launch Library 2 on 127.0.0.1:8731, Airflow's
# scheduler and two workers. Everything else lives under $DEMO (default /tmp/rocket-dag-demo).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
demo=${DEMO:-/tmp/rocket-dag-demo}
dag=listing_2_10_mapped
rm -rf "$demo" && mkdir -p "$demo/airflow/dags" "$demo/home"

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v pg_lsclusters >/dev/null || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true; done
  sleep 3
  for p in "${pids[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
  redis-cli -p 6390 shutdown nosave >/dev/null 2>&1 || true
}
trap cleanup EXIT
start() { # name, command…: in a process group of its own, output in $demo/<name>.log
  local name=$1; shift
  setsid "$@" >"$demo/$name.log" 2>&1 &
  pids+=($!)
}

echo "== Redis, PostgreSQL"
redis-server --port 6390 --bind 127.0.0.1 --save '' --daemonize yes >/dev/null
ver=$(pg_lsclusters --no-header | awk 'NR==1 {print $1}')
pg_ctlcluster "$ver" main start 2>/dev/null || true
psql_() { su postgres -c "psql -q -c \"$1\"" >/dev/null; }
psql_ "DROP DATABASE IF EXISTS airflow_demo"
psql_ "DROP DATABASE IF EXISTS rocket_dag_demo"
psql_ "DROP ROLE IF EXISTS rocket_demo"
psql_ "CREATE ROLE rocket_demo LOGIN PASSWORD 'rocket_demo'"
psql_ "CREATE DATABASE airflow_demo OWNER rocket_demo"
psql_ "CREATE DATABASE rocket_dag_demo OWNER rocket_demo"

echo "== Apache Airflow 2.8.1 with the Celery provider"
# A venv of its own: the providers added here stay out of the one the tests use.
venv=$(ROCKET_DAG_AIRFLOW_VENV=${DEMO_VENV:-$HOME/.cache/rocket-dag/airflow-2.8.1-celery} \
  scripts/airflow/install.sh)
"$venv/bin/pip" install -q -c scripts/airflow/constraints-2.8.1.txt \
  'apache-airflow-providers-celery==3.5.1' 'celery==5.3.6' 'kombu==5.3.4' 'redis==4.6.0'
export PATH="$venv/bin:$PATH"

echo "== the rocket-dag binary and the exported DAG files"
cargo build -q --release -p dags
bin=$repo/target/release/rocket-dag
"$bin" airflow export --out "$demo/airflow/dags" --binary "$bin"

export AIRFLOW_HOME=$demo/airflow
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__EXECUTOR=CeleryExecutor
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=postgresql+psycopg2://rocket_demo:rocket_demo@127.0.0.1:5432/airflow_demo
export AIRFLOW__CELERY__BROKER_URL=redis://127.0.0.1:6390/0
export AIRFLOW__CELERY__RESULT_BACKEND=db+postgresql://rocket_demo:rocket_demo@127.0.0.1:5432/airflow_demo
export AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE=False
export AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC=1
export PYTHONWARNINGS=ignore
# What the workers need: the shared history, the home for data and logs, the launches URL.
export ROCKET_DAG_DATABASE_URL=postgres://rocket_demo:rocket_demo@127.0.0.1:5432/rocket_dag_demo
export ROCKET_DAG_HOME=$demo/home
export ROCKET_LAUNCHES_URL=http://127.0.0.1:8731/2.0.0/launch/upcoming/

echo "== a stand-in Launch Library 2, Airflow's scheduler and two Celery workers"
start fake_ll2 python3 scripts/airflow/fake_ll2.py 8731 dags/fixtures/ll2/v2.0.0-upcoming-2026-03.json
airflow db migrate >"$demo/migrate.log" 2>&1
airflow dags reserialize >/dev/null 2>&1
start scheduler airflow scheduler
# Each worker with its own pid file (Airflow's default is one per AIRFLOW_HOME) and two slots,
# so that one run's ten pictures are spread over both.
for w in 1 2; do
  AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=$((8792 + w)) start "worker$w" \
    airflow celery worker -H "worker$w" --concurrency 2 --pid "$demo/worker$w.pid"
done
sleep 10

run_id=manual__demo_$(date +%s)
airflow dags trigger "$dag" -r "$run_id" >/dev/null 2>&1
airflow dags unpause "$dag" >/dev/null 2>&1
echo "== triggered $dag run $run_id; waiting for it"
for _ in $(seq 1 120); do
  state=$(su postgres -c "psql -qtA -d airflow_demo -c \"SELECT state FROM dag_run WHERE run_id = '$run_id'\"")
  [ "$state" = success ] || [ "$state" = failed ] && break
  sleep 2
done
echo "Airflow: the run is $state"
echo
echo "== Airflow's task instances (the Celery worker that ran each is in the last column)"
su postgres -c "psql -d airflow_demo -c \"SELECT task_id, map_index, state, try_number, queued_by_job_id, external_executor_id FROM task_instance WHERE run_id = '$run_id' ORDER BY task_id, map_index\""
echo "== the rocket-dag history (one worker process per try)"
su postgres -c "psql -d rocket_dag_demo -c \"SELECT task_id, map_index, try_number, state, hostname, pid FROM task_instances WHERE run_id = '$run_id' ORDER BY task_id, map_index\""
echo "== which worker ran what (from the workers' logs)"
both=1
for w in worker1 worker2; do
  n=$(grep -c "Executing command in Celery" "$demo/$w.log" || true)
  echo "$w: $n task instance(s)"
  [ "$n" -gt 0 ] || both=0
done
echo "images on disk: $(ls "$demo/home/data/$dag/images" | wc -l)"
[ "$state" = success ] && [ "$both" = 1 ]

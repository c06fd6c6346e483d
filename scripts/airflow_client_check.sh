#!/usr/bin/env bash
# Proves that Apache Airflow's own Python API client works against rocket-dag's REST API:
# starts `rocket-dag webserver` (no scheduler, so no DAG fetches anything) over a temp home on
# 127.0.0.1, then runs scripts/airflow_client_check.py with apache-airflow-client 2.8.0 in a
# virtualenv. Needs python3 with venv and pip access to PyPI for the client.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${AIRFLOW_CLIENT_VENV:-${TMPDIR:-/tmp}/rocket-dag-airflow-client}
if ! "$venv/bin/python" -c 'import airflow_client.client' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'apache-airflow-client==2.8.0'
fi

cargo build -q -p dags --bin rocket-dag
bin=${CARGO_TARGET_DIR:-target}/debug/rocket-dag
home=$(mktemp -d)
port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" --home "$home" webserver --host 127.0.0.1 --port "$port" >"$home/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$home"' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/api/v1/health" >/dev/null 2>&1 && break
  sleep 0.1
done
"$venv/bin/python" scripts/airflow_client_check.py "http://127.0.0.1:$port"

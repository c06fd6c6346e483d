#!/usr/bin/env bash
# Installs Apache Airflow 2.8.1 (with ruff and psycopg2 for the tests) into a virtual
# environment outside the repository, cached between runs, and prints the environment's path.
#
#   venv=$(scripts/airflow/install.sh)        # then: $venv/bin/airflow version
#
# Where: $ROCKET_DAG_AIRFLOW_VENV, else ${XDG_CACHE_HOME:-~/.cache}/rocket-dag/airflow-2.8.1.
# Needs Python 3.8 to 3.11 (Airflow 2.8.1 supports no newer one): $PYTHON, else python3.11,
# else python3. Only PyPI is reached; the versions are the ones in constraints-2.8.1.txt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${ROCKET_DAG_AIRFLOW_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/rocket-dag/airflow-2.8.1}
stamp="$venv/.rocket-dag-constraints"
if [ -x "$venv/bin/airflow" ] && [ -x "$venv/bin/ruff" ] && [ -f "$stamp" ] \
  && cmp -s "$stamp" "$here/constraints-2.8.1.txt"; then
  echo "$venv"
  exit 0
fi
python=${PYTHON:-}
if [ -z "$python" ]; then
  for p in python3.11 python3.10 python3.9 python3; do
    if command -v "$p" >/dev/null; then python=$p; break; fi
  done
fi
[ -n "$python" ] || { echo "no python3 found: set PYTHON" >&2; exit 1; }
version=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
case "$version" in
  3.8|3.9|3.10|3.11) ;;
  *) echo "Airflow 2.8.1 needs Python 3.8 to 3.11; $python is $version (set PYTHON)" >&2; exit 1 ;;
esac
echo "installing Apache Airflow 2.8.1 into $venv (about a minute)" >&2
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
"$python" -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check -c "$here/constraints-2.8.1.txt" \
  'apache-airflow==2.8.1' 'flask-session==0.5.0' psycopg2-binary ruff >&2
cp "$here/constraints-2.8.1.txt" "$stamp"
echo "$venv"

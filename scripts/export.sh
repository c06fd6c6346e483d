#!/usr/bin/env bash
# Export a DAG's runs — the run records as JSON, the attempt logs and the data the runs produced —
# into one archive on the host (the course's "automate the export of logs and results").
#
#   scripts/export.sh [DAG] [RUN_ID]          # default DAG listing_2_10, every recorded run
#
# Environment: ROCKET_DAG_HOME (default ./.rocket-dag), EXPORT_DIR (default ./exports).
# Uses the workspace's `rocket-dag` CLI (built on first use).
set -euo pipefail
cd "$(dirname "$0")/.."

dag=${1:-listing_2_10}
run=${2:-}
out_dir=${EXPORT_DIR:-exports}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$out_dir/${dag}-${stamp}.tar.gz"

args=(export "$dag" --out "$out")
[ -n "$run" ] && args+=(--run "$run")

cargo run --quiet -p dags --bin rocket-dag -- "${args[@]}"
echo "$out"

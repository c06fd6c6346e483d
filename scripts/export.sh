#!/usr/bin/env bash
# Export a DAG's runs — the run records as JSON, the attempt logs and the data the runs produced —
# into one archive on the host (the course's "automate the export of logs and results"), and
# next to it the pictures of the run for the report: the run report (HTML), its Gantt chart,
# the graph coloured by the run, the DAG in Source / Storage / Business swimlanes and the
# architecture (draw.io, to edit in diagrams.net).
#
#   scripts/export.sh [DAG] [RUN_ID]          # default DAG listing_2_10, every recorded run;
#                                             # pictures of RUN_ID (default: the newest run)
#
# Environment: ROCKET_DAG_HOME (default ./.rocket-dag), EXPORT_DIR (default
# $ROCKET_DAG_HOME/exports, which the repository ignores).
# Uses the workspace's `rocket-dag` CLI (built on first use).
set -euo pipefail
cd "$(dirname "$0")/.."

dag=${1:-listing_2_10}
run=${2:-}
out_dir=${EXPORT_DIR:-${ROCKET_DAG_HOME:-.rocket-dag}/exports}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$out_dir/${dag}-${stamp}.tar.gz"
pictures="$out_dir/${dag}-${stamp}"

cli() { cargo run --quiet -p dags --bin rocket-dag -- "$@"; }

args=(export "$dag" --out "$out")
[ -n "$run" ] && args+=(--run "$run")
cli "${args[@]}"

run_arg=(--run "${run:-latest}")
cli report "$dag" "${run_arg[@]}" --out "$pictures/report.html"
cli gantt "$dag" "${run_arg[@]}" --out "$pictures/gantt.html"
cli dags show "$dag" --format svg "${run_arg[@]}" --out "$pictures/graph.svg"
cli dags show "$dag" --format drawio --out "$pictures/$dag.drawio"
# A DAG whose tasks declare no `reads`/`writes` has no architecture to draw (the CLI says so).
cli architecture "$dag" --out "$pictures/architecture.drawio" || true
echo "$out"
echo "$pictures/"

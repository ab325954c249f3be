#!/usr/bin/env bash
# Diagnosing many traces: one `dynfault diagnose` call per trace against one call for all of
# them (issue 17), on the same traces and the same models, measured side by side in one run.
#
#   bash bench/diagnose_batch.sh CORPUS.db [N [TRACE_DIR]]
#
# CORPUS.db is a finished campaign with labels and deepfd/curves features (e.g. the quick
# campaign after `dynfault labels` and `dynfault features`); it is only read. N (default 328,
# the issue's count) traces are exported with `dynfault trace-csv` into a temporary directory;
# with TRACE_DIR, the *.csv files there are used instead (a previous export of the same corpus;
# exporting costs about a second per run on a loaded machine, longer than what is measured). The
# three models (random forest on deepfd for fault type, random forest on deepfd+curves for
# instability, logistic regression on curves for detection) are trained once. Prints both wall
# times and their ratio, and checks that both ways printed the same predictions.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
B=${DYNFAULT:-$here/build/release/cli/dynfault}
db=${1:?usage: bash bench/diagnose_batch.sh CORPUS.db [N]}
n=${2:-328}
[ -x "$B" ] || { echo "diagnose_batch: build dynfault first ($B)" >&2; exit 2; }
[ -f "$db" ] || { echo "diagnose_batch: no database '$db'" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$B" train --db "$db" --task fault_type/default4 --features deepfd --diagnoser random_forest \
  --out "$work/fault.model" >/dev/null
"$B" train --db "$db" --task instability --features deepfd+curves --diagnoser random_forest \
  --out "$work/instability.model" >/dev/null
"$B" train --db "$db" --task detection --features curves --diagnoser logistic_regression \
  --out "$work/detection.model" >/dev/null
models=(--model "$work/fault.model" --model "$work/instability.model" --model "$work/detection.model")
echo "models: $(du -cb "$work"/*.model | tail -1 | cut -f1) bytes in 3 files"

mkdir "$work/traces"
if [ -n "${3:-}" ]; then
  find "$3" -maxdepth 1 -name '*.csv' | sort | head -n "$n" | xargs -I{} cp {} "$work/traces/"
else
  sqlite3 -readonly "$db" "SELECT run_uuid FROM runs WHERE status = 'FINISHED' ORDER BY run_uuid LIMIT $n" |
    while read -r id; do
      "$B" trace-csv "$id" --db "$db" --out "$work/traces/$id.csv" >/dev/null 2>&1
    done
fi
count=$(ls "$work/traces" | wc -l)
echo "traces: $count per-epoch CSVs, $(du -sb "$work/traces" | cut -f1) bytes"

now() { date +%s.%N; }
t0=$(now)
for f in "$work"/traces/*.csv; do
  "$B" diagnose "${models[@]}" --trace "$f" --format jsonl
done >"$work/one_by_one.jsonl"
t1=$(now)
"$B" diagnose "${models[@]}" --trace "$work/traces" --format jsonl >"$work/batch.jsonl"
t2=$(now)

# The same predictions both ways (the JSON lines differ only in nothing: same order, same input).
if ! cmp -s "$work/one_by_one.jsonl" "$work/batch.jsonl"; then
  echo "diagnose_batch: the batch output differs from the one-by-one output" >&2
  exit 1
fi
awk -v a="$t0" -v b="$t1" -v c="$t2" -v n="$count" 'BEGIN {
  one = b - a; batch = c - b;
  printf "one call per trace: %.2f s (%.1f ms per trace)\n", one, 1000 * one / n;
  printf "one call for all:   %.2f s (%.1f ms per trace)\n", batch, 1000 * batch / n;
  printf "speed-up: %.1fx (identical output)\n", one / batch }'

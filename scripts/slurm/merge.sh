#!/usr/bin/env bash
# Merges the shard databases of a dynfault job array into OUT/campaign.db.
#
#   merge.sh CONFIG OUT [DYNFAULT_BIN]
#
# The full plan is written first, so that runs of a shard that never ran (a failed or cancelled
# array task) show as SCHEDULED in 'dynfault status' and 'dynfault run --db OUT/campaign.db'
# completes them. Merging is idempotent: run it again after resubmitting failed tasks.
# submit.sh queues it as a job that starts when the array has ended; it also runs by hand.
#SBATCH --job-name=dynfault-merge
#SBATCH --cpus-per-task=1
set -euo pipefail
config=${1:?usage: merge.sh CONFIG OUT [DYNFAULT_BIN]}
out=${2:?usage: merge.sh CONFIG OUT [DYNFAULT_BIN]}
bin=${3:-${DYNFAULT_BIN:-dynfault}}
target="$out/campaign.db"

shopt -s nullglob
shards=("$out"/shards/shard_*.db)
if (( ${#shards[@]} == 0 )); then
  echo "merge.sh: no shard databases in $out/shards" >&2
  exit 1
fi
"$bin" plan "$config" --db "$target"
"$bin" merge --into "$target" "${shards[@]}"
"$bin" status --db "$target"

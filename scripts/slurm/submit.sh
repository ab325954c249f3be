#!/usr/bin/env bash
# Submits a dynfault campaign to Slurm as a job array plus a dependent merge job.
#
#   submit.sh CONFIG OUT [options] [-- extra 'dynfault run' flags]
#     --runs-per-task K   runs per array task (default 20); the array has ceil(runs / K) tasks,
#                         at most --max-tasks
#     --max-tasks M       default 1000 (Slurm's default MaxArraySize is 1001)
#     --jobs J            worker processes per task (= --cpus-per-task), default 1
#     --bin PATH          the dynfault executable (default: build/release/cli/dynfault)
#     --sbatch-args "..." extra sbatch flags for the array (partition, time limit, account)
#     --dry-run           print the sbatch commands instead of running them
#
# Prints the array and merge job ids. Each task writes OUT/shards/shard_<i>.db; the merge job
# (afterany: it runs even when some tasks failed) writes OUT/campaign.db. Tasks are
# deterministic shards of the plan by run id ('dynfault run --shard i/N').
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
config=${1:?usage: submit.sh CONFIG OUT [options]}
out=${2:?usage: submit.sh CONFIG OUT [options]}
shift 2
per_task=20 max_tasks=1000 jobs=1 dry=0 sbatch_args=""
bin="$here/../../build/release/cli/dynfault"
run_args=()
while (( $# > 0 )); do
  case $1 in
    --runs-per-task) per_task=$2; shift 2 ;;
    --max-tasks) max_tasks=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --sbatch-args) sbatch_args=$2; shift 2 ;;
    --dry-run) dry=1; shift ;;
    --) shift; run_args=("$@"); break ;;
    *) echo "submit.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
(( max_tasks >= 1 && max_tasks <= 1000 )) || { echo "submit.sh: --max-tasks must be 1..1000" >&2; exit 2; }
(( per_task >= 1 )) || { echo "submit.sh: --runs-per-task must be >= 1" >&2; exit 2; }
[[ -x "$bin" ]] || { echo "submit.sh: no dynfault executable at '$bin' (--bin PATH)" >&2; exit 2; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")
mkdir -p "$out/shards" "$out/logs"
out=$(cd "$out" && pwd)

# The plan size, from a dry run (validates the campaign before anything is queued).
runs=$("$bin" plan "$config" --dry-run | sed -n "s/^campaign '.*': \([0-9]*\) runs.*/\1/p")
[[ -n "$runs" ]] || { echo "submit.sh: could not count the runs of $config" >&2; exit 1; }
tasks=$(( (runs + per_task - 1) / per_task ))
(( tasks > max_tasks )) && tasks=$max_tasks
(( tasks < 1 )) && tasks=1
echo "submit.sh: $runs runs in $tasks array tasks (~$(( (runs + tasks - 1) / tasks )) runs each)" >&2

export DYNFAULT_BIN="$bin" DYNFAULT_CONFIG="$config" DYNFAULT_OUT="$out"
export DYNFAULT_SHARDS="$tasks" DYNFAULT_JOBS="$jobs" DYNFAULT_RUN_ARGS="${run_args[*]:-}"
read -r -a extra <<<"$sbatch_args"
array_cmd=(sbatch --parsable --array="0-$(( tasks - 1 ))" --cpus-per-task="$jobs"
           --output="$out/logs/task_%a.log" --export=ALL "${extra[@]}"
           "$here/dynfault-array.sbatch")
if (( dry )); then
  echo "${array_cmd[*]}"
  echo "sbatch --parsable --dependency=afterany:<array> --output=$out/logs/merge.log" \
       "--export=ALL $here/merge.sh $config $out $bin"
  exit 0
fi
array=$("${array_cmd[@]}")
array=${array%%;*}
merge=$(sbatch --parsable --dependency="afterany:$array" --output="$out/logs/merge.log" \
        --export=ALL "$here/merge.sh" "$config" "$out" "$bin")
merge=${merge%%;*}
echo "array $array"
echo "merge $merge"

#!/usr/bin/env bash
# Throughput of 'dynfault run' with --jobs 1 and --jobs 2 on the same plan, and the projected wall
# time of the paper-scale campaign (5,542 traces) on this machine. A benchmark, not a test: the
# numbers depend on the machine and on whatever else runs on it, so CPU time is reported too.
#
#   bash bench/bench_throughput.sh [--bin PATH] [--config FILE] [--per-program K]
#                                  [--programs a,b,...] [--traces N] [--max-run-s S] [--keep DIR]
#                                  [--nice N]
#
# The sample: K runs of each program (default 1; the first by run id, so the same sample every
# time) of the campaign's plan, executed into two fresh databases with --jobs 1 and --jobs 2.
# The projection weights each program's measured mean run time by its share of the plan:
#   serial   = traces * sum_p share_p * mean_run_s_p + traces * overhead per run (--jobs 1)
#   jobs 2   = serial / (throughput ratio jobs 2 : jobs 1)
#   CPU bound = traces * CPU seconds per run (reweighted the same way) / cores
# --config defaults to configs/dynfault.yaml, or configs/quick.yaml (same programs, other
# operators) while that file does not exist; the output says which. --max-run-s caps each
# sampled run's timeout_s (runs that hit it count as that long: the projection is then a lower
# bound, and the output says how many did). On a machine others are using, --nice -20 (root)
# gives the measured processes most of the CPU, so that the two runs see comparable machines:
# with the kernel's autogroup scheduling (/proc/sys/kernel/sched_autogroup_enabled) a plain nice
# would not, since every session gets an equal share however many processes it runs, so each
# measurement runs in a session of its own whose autogroup gets that nice value.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/release/cli/dynfault"
config="" per_program=1 programs="" traces=5542 max_run_s=0 keep="" niceness=0
while (( $# > 0 )); do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    --per-program) per_program=$2; shift 2 ;;
    --programs) programs=$2; shift 2 ;;
    --traces) traces=$2; shift 2 ;;
    --max-run-s) max_run_s=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --nice) niceness=$2; shift 2 ;;
    *) echo "bench_throughput: unknown option '$1'" >&2; exit 2 ;;
  esac
done
[[ -x "$bin" ]] || { echo "bench_throughput: no dynfault at '$bin' (--bin PATH)" >&2; exit 2; }
command -v sqlite3 >/dev/null || { echo "bench_throughput: needs the sqlite3 shell (apt-get install sqlite3)" >&2; exit 2; }
if [[ -z "$config" ]]; then
  config="$root/configs/dynfault.yaml"
  [[ -f "$config" ]] || config="$root/configs/quick.yaml"
fi
work=${keep:-$(mktemp -d /tmp/dynfault-bench-XXXXXX)}
mkdir -p "$work"
[[ -n "$keep" ]] || trap 'rm -rf "$work"' EXIT
rm -f "$work"/plan.db* "$work"/j1.db* "$work"/j2.db*

"$bin" plan "$config" --db "$work/plan.db" >/dev/null
where="1"
if [[ -n "$programs" ]]; then
  where="program_id IN ('${programs//,/\',\'}')"
fi
# The sample, identical in both databases: K runs per program, the first by run id.
cp "$work/plan.db" "$work/j1.db"
sqlite3 "$work/j1.db" <<SQL
DELETE FROM runs WHERE run_uuid NOT IN (
  SELECT run_uuid FROM (SELECT run_uuid, program_id,
    row_number() OVER (PARTITION BY program_id ORDER BY run_uuid) AS k FROM runs)
  WHERE k <= $per_program AND $where);
UPDATE runs SET timeout_s = min(timeout_s, $max_run_s) WHERE $max_run_s > 0;
VACUUM;
SQL
cp "$work/j1.db" "$work/j2.db"
sample=$(sqlite3 "$work/j1.db" "SELECT count(*) FROM runs")
echo "config: $config ($(sqlite3 "$work/plan.db" "SELECT count(*) FROM runs") runs planned);" \
     "sample: $sample runs ($per_program per program)"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs);" \
     "load average before: $(cut -d' ' -f1-3 /proc/loadavg); nice $niceness"

# Runs a command with the chosen priority (see --nice above).
prioritised() {
  if [[ $niceness != 0 && $(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null) == 1 ]]; then
    # shellcheck disable=SC2016  # expanded by the inner shell
    setsid --wait bash -c 'echo "$0" >/proc/self/autogroup && exec nice -n "$0" "$@"' \
      "$niceness" "$@"
  else
    nice -n "$niceness" "$@"
  fi
}

declare -A wall cpu
for j in 1 2; do
  prioritised /usr/bin/time -f "%e %U %S" -o "$work/time$j" \
    "$bin" run --db "$work/j$j.db" --jobs "$j" >"$work/log$j" 2>&1
  read -r w u s <"$work/time$j"
  wall[$j]=$w
  cpu[$j]=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.1f", u + s }')
  done_runs=$(sqlite3 "$work/j$j.db" "SELECT count(*) FROM runs WHERE status IN ('FINISHED', 'FAILED')")
  awk -v j="$j" -v n="$done_runs" -v w="$w" -v c="${cpu[$j]}" 'BEGIN {
    printf "--jobs %d: %d runs in %.1f s wall, %.1f s CPU: %.1f runs/min, %.2f CPU s per run\n",
           j, n, w, c, n / w * 60, c / n }'
done
ratio=$(awk -v a="${wall[1]}" -v b="${wall[2]}" 'BEGIN { printf "%.2f", a / b }')
echo "throughput ratio --jobs 2 : --jobs 1 = $ratio (target >= 1.8)"

# Per program: the share of the plan and the mean run time measured with one worker.
sqlite3 -separator ' ' "$work/j1.db" "ATTACH '$work/plan.db' AS p;
  SELECT r.program_id, (SELECT count(*) FROM p.runs AS q WHERE q.program_id = r.program_id),
         avg(r.end_time - r.start_time) / 1000.0, sum(r.outcome = 'timeout'), count(*)
  FROM runs AS r GROUP BY r.program_id ORDER BY 3 DESC" >"$work/programs.txt"
planned=$(awk '{ n += $2 } END { print n }' "$work/programs.txt")
echo
printf '%-24s %7s %10s\n' program planned mean_run_s
awk '{ printf "%-24s %7d %10.2f%s\n", $1, $2, $3, ($4 > 0 ? "  (timeout)" : "") }' "$work/programs.txt"
awk -v traces="$traces" -v planned="$planned" -v w1="${wall[1]}" -v c1="${cpu[1]}" \
    -v ratio="$ratio" -v cores="$(nproc)" -v sample="$sample" -v config="$config" '
  { weighted += $2 / planned * $3; sampled += $3 * $5; timeouts += $4 }
  END {
    per_trace = weighted                                  # mean run time over the plan mix
    overhead = (w1 - sampled) / sample                    # start-up, dispatch, storage per run
    if (overhead < 0) overhead = 0
    serial = traces * (per_trace + overhead)
    cpu_per_trace = c1 / sample * (per_trace + overhead) / (sampled / sample + overhead)
    printf "\nprojection for %d traces with the program mix of %s:\n", traces, config
    printf "  mean run time %.2f s + %.2f s overhead per run; serial %.2f h\n",
           per_trace, overhead, serial / 3600
    printf "  --jobs 2: %.2f h (serial / ratio %.2f); CPU bound with %d cores: %.2f h\n",
           serial / ratio / 3600, ratio, cores, traces * cpu_per_trace / cores / 3600
    if (timeouts > 0) printf "  %d sampled run(s) hit --max-run-s: a lower bound\n", timeouts
  }' "$work/programs.txt"

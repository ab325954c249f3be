#!/usr/bin/env bash
# The numeric environment of a campaign (runner/numeric.h), on a sample of the quick campaign:
#   1. bitwise: the sample run from three parent environments (ATEN_CPU_CAPABILITY default, avx2
#      and avx512, two OpenBLAS core types, two oneDNN ISAs; as far as this CPU offers them) gives
#      traces identical bit for bit outside time/ (bench/compare_traces.sh);
#   2. cost: the pinned environment (the campaign's, by default avx2 / Haswell / avx2) against
#      this machine's own choice (`numeric: auto`), side by side: both databases run at once,
#      --jobs 1 each (one core each), so that the load of the machine falls on both alike;
#      per program the sum of run times (end - start: data, training, probes, storing), and the
#      ratio pinned / own choice; then how many points the two environments compute differently.
# A benchmark, not a test (tests/e2e/test_numeric_env.cpp is the test).
#
#   bash bench/numeric_env.sh [--bin PATH] [--config FILE] [--per-program K] [--max-steps N]
#                             [--rounds R] [--keep DIR] [--skip-bitwise] [--skip-cost]
#
# The sample: K runs of each program (default 2; the first by run id, so the same sample every
# time). --max-steps caps each run (default 0: whole runs). --rounds repeats the side-by-side
# cost measurement R times on fresh copies, alternating which of the two starts first; the table
# gives the median ratio per program over the rounds.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/build/release/cli/dynfault"
config="$root/configs/quick.yaml" per_program=2 max_steps=0 rounds=1 keep="" bitwise=1 cost=1
while (( $# > 0 )); do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    --per-program) per_program=$2; shift 2 ;;
    --max-steps) max_steps=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --skip-bitwise) bitwise=0; shift ;;
    --skip-cost) cost=0; shift ;;
    *) echo "numeric_env: unknown option '$1'" >&2; exit 2 ;;
  esac
done
[[ -x "$bin" ]] || { echo "numeric_env: no dynfault at '$bin' (--bin PATH)" >&2; exit 2; }
command -v sqlite3 >/dev/null || { echo "numeric_env: needs sqlite3 (apt-get install sqlite3)" >&2; exit 2; }
work=${keep:-$(mktemp -d /tmp/dynfault-numeric-XXXXXX)}
mkdir -p "$work"
[[ -n "$keep" ]] || trap 'rm -rf "$work"' EXIT
rm -f "$work"/*.db "$work"/*.db-* "$work"/*.db.lock

flags=$(grep -m1 '^flags' /proc/cpuinfo)
has() { for f in "$@"; do [[ " $flags " == *" $f "* ]] || return 1; done; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs);" \
     "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin" --version | head -1

# The sample, planned from the campaign file as it is (pinned) and with `numeric: auto` (the
# same run ids: the numeric environment is no part of an id).
sample() {  # sample DB: keep K runs per program, the first by run id
  sqlite3 "$1" <<SQL
DELETE FROM runs WHERE run_uuid NOT IN (
  SELECT run_uuid FROM (SELECT run_uuid, row_number() OVER (PARTITION BY program_id
    ORDER BY run_uuid) AS k FROM runs) WHERE k <= $per_program);
VACUUM;
SQL
}
"$bin" plan "$config" --db "$work/pinned.db" > "$work/plan.log"
sample "$work/pinned.db"
{ cat "$config"; printf '\nnumeric: {aten_capability: auto, openblas_coretype: auto, onednn_isa: auto}\n'; } \
  > "$work/auto.yaml"
"$bin" plan "$work/auto.yaml" --db "$work/auto.db" > /dev/null
sample "$work/auto.db"
n=$(sqlite3 "$work/pinned.db" "SELECT count(*) FROM runs")
[[ $(sqlite3 "$work/auto.db" "SELECT group_concat(run_uuid) FROM (SELECT run_uuid FROM runs ORDER BY 1)") == \
   $(sqlite3 "$work/pinned.db" "SELECT group_concat(run_uuid) FROM (SELECT run_uuid FROM runs ORDER BY 1)") ]] ||
  { echo "numeric_env: the two samples differ" >&2; exit 1; }
echo "sample: $n runs of $config ($per_program per program), max steps $max_steps"
echo "pinned: $(sqlite3 "$work/pinned.db" "SELECT numeric_json FROM campaigns")"
run_args=(--max-steps "$max_steps" --max-attempts 1)

if (( bitwise )); then
  echo
  echo "== 1. bitwise: three parent environments =="
  parents=("ATEN_CPU_CAPABILITY=default OPENBLAS_CORETYPE=Haswell")
  if has avx512f avx512bw avx512vl avx512dq; then
    parents+=("ATEN_CPU_CAPABILITY=avx2 OPENBLAS_CORETYPE=SkylakeX ONEDNN_MAX_CPU_ISA=AVX512_CORE OMP_NUM_THREADS=2")
    parents+=("ATEN_CPU_CAPABILITY=avx512 OPENBLAS_CORETYPE=Cooperlake ONEDNN_DEFAULT_FPMATH_MODE=BF16")
  else
    echo "(this CPU lacks AVX-512: ATEN_CPU_CAPABILITY=avx512, OpenBLAS SkylakeX/Cooperlake and oneDNN AVX512_CORE are skipped)"
    parents+=("ATEN_CPU_CAPABILITY=avx2 OPENBLAS_CORETYPE=Sandybridge ONEDNN_MAX_CPU_ISA=AVX OMP_NUM_THREADS=2")
    parents+=("ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=SSE41")
  fi
  for i in 0 1 2; do
    cp "$work/pinned.db" "$work/parent$i.db"
    start=$SECONDS
    # shellcheck disable=SC2086  # the parent environment is a list of words
    env -u OPENBLAS_CORETYPE ${parents[$i]} "$bin" run --db "$work/parent$i.db" --jobs 2 "${run_args[@]}" \
      > "$work/parent$i.log" 2>&1 || { cat "$work/parent$i.log"; exit 1; }
    echo "parent $i: ${parents[$i]}: $(tail -n 1 "$work/parent$i.log") ($((SECONDS - start)) s)"
  done
  for i in 1 2; do
    echo "-- parent 0 vs parent $i:"
    bash "$root/bench/compare_traces.sh" "$work/parent0.db" "$work/parent$i.db" | sed 's/^/   /' ||
      echo "   (the traces differ)"
  done
fi

if (( cost )); then
  echo
  echo "== 2. cost: pinned vs this machine's own choice, side by side, $rounds round(s) =="
  for r in $(seq 1 "$rounds"); do
    cp "$work/pinned.db" "$work/p$r.db"
    cp "$work/auto.db" "$work/a$r.db"
    first=p second=a
    (( r % 2 == 0 )) && { first=a; second=p; }
    "$bin" run --db "$work/$first$r.db" --jobs 1 "${run_args[@]}" > "$work/$first$r.log" 2>&1 &
    one=$!
    "$bin" run --db "$work/$second$r.db" --jobs 1 "${run_args[@]}" > "$work/$second$r.log" 2>&1 &
    two=$!
    wait $one && wait $two || { cat "$work/p$r.log" "$work/a$r.log"; exit 1; }
    echo "round $r: pinned: $(tail -n 1 "$work/p$r.log")"
    echo "round $r: own choice: $(tail -n 1 "$work/a$r.log")"
  done
  echo "own choice here: $(sqlite3 "$work/a1.db" "SELECT json_extract(exec_numeric, '$.effective') FROM runs WHERE exec_numeric IS NOT NULL LIMIT 1")"
  # Per program: run seconds of each round, the median ratio over the rounds.
  rm -f "$work/times.db"
  for r in $(seq 1 "$rounds"); do
    sqlite3 "$work/times.db" <<SQL
CREATE TABLE IF NOT EXISTS t (round INTEGER, env TEXT, program TEXT, seconds REAL);
ATTACH '$work/p$r.db' AS p; ATTACH '$work/a$r.db' AS a;
INSERT INTO t SELECT $r, 'pinned', program_id, sum(end_time - start_time) / 1000.0 FROM p.runs
  WHERE status = 'FINISHED' GROUP BY program_id;
INSERT INTO t SELECT $r, 'auto', program_id, sum(end_time - start_time) / 1000.0 FROM a.runs
  WHERE status = 'FINISHED' GROUP BY program_id;
SQL
  done
  sqlite3 -header -column "$work/times.db" <<SQL
CREATE TEMP TABLE ratios AS
  SELECT p.program, p.round, p.seconds AS pinned_s, a.seconds AS own_s, p.seconds / a.seconds AS ratio
  FROM t AS p JOIN t AS a ON a.program = p.program AND a.round = p.round
  WHERE p.env = 'pinned' AND a.env = 'auto';
CREATE TEMP TABLE ranked AS SELECT *, row_number() OVER (PARTITION BY program ORDER BY ratio) AS k,
  count(*) OVER (PARTITION BY program) AS n FROM ratios;
SELECT program, printf('%.2f', avg(pinned_s)) AS pinned_s, printf('%.2f', avg(own_s)) AS own_s,
  printf('%.3f', (SELECT avg(ratio) FROM ranked AS b WHERE b.program = r.program
    AND b.k IN ((r.n + 1) / 2, (r.n + 2) / 2))) AS median_ratio
FROM ranked AS r GROUP BY program ORDER BY 4 DESC;
SELECT printf('all programs: pinned %.1f s, own choice %.1f s, ratio %.3f (sums over %d round(s))',
  sum(CASE WHEN env = 'pinned' THEN seconds END), sum(CASE WHEN env = 'auto' THEN seconds END),
  sum(CASE WHEN env = 'pinned' THEN seconds END) / sum(CASE WHEN env = 'auto' THEN seconds END),
  $rounds) AS total FROM t;
SQL
  echo "-- what the two environments compute (round 1):"
  bash "$root/bench/compare_traces.sh" "$work/p1.db" "$work/a1.db" | sed 's/^/   /' ||
    echo "   (the pinned environment computes other bits than this machine's own choice)"
fi

#!/usr/bin/env bash
# dynfault's probes against a Python baseline: builds bench_probes, then for each program runs
# bench/bench_probes and bench/python_baseline.py one after the other (alternating which goes
# first, so slow drift of a shared machine hurts both alike), and prints traces/second side by
# side, then the storage figures. Needs Debian's python3-torch (apt-get install python3-torch).
#
#   bench/run_probes_bench.sh     environment: REPS=5 FRESH_REPS=3 BUILD=build-bench PROGRAMS="a b c"
#
# Python is timed twice: in one long-lived process (the fair comparison: same work, both sides
# keep their data and interpreter), and with one process per trace (FRESH_REPS rounds; 0 skips
# it), as earlier tools' generation scripts run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build-bench}
reps=${REPS:-5}
fresh_reps=${FRESH_REPS:-3}
programs=${PROGRAMS:-"fashion_mlp lenet_fashion lstm_sine"}
# Debian's python3-torch lives in /usr/bin/python3's dist-packages (not in a pyenv python).
python=${PYTHON:-/usr/bin/python3}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

if ! "$python" -c 'import torch' 2>/dev/null; then
  echo "run_probes_bench.sh: the baseline needs python3-torch (apt-get install python3-torch)" >&2
  exit 1
fi
if [[ ! -x "$build/bench/bench_probes" ]]; then
  cmake -S "$root" -B "$build" -G Ninja -DDYNFAULT_BUILD_BENCH=ON -DDYNFAULT_BUILD_TESTS=OFF \
    > /dev/null
fi
ninja -C "$build" -j2 bench_probes > /dev/null

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
i=0
for p in $programs; do
  dyn=("$build/bench/bench_probes" --reps "$reps" --db-traces 0 --json "$out/dynfault_$p.json"
       "$p")
  py=("$python" "$root/bench/python_baseline.py" --reps "$reps" --fresh-reps "$fresh_reps"
      --programs "$p" --json "$out/python_$p.json")
  if (( i % 2 == 0 )); then "${dyn[@]}"; "${py[@]}"; else "${py[@]}"; "${dyn[@]}"; fi
  i=$((i + 1))
  echo
done

"$python" - "$out" $programs <<'PY'
import json, sys
out, programs = sys.argv[1], sys.argv[2:]
print("traces/second (one trace = train + store; medians of interleaved rounds); ratio =")
print("dynfault / python by wall time, ratio_cpu by CPU time; fresh = python with one process")
print("per trace (interpreter start, import torch and data loading in every trace)")
print(f"{'program':14} {'probes':8} {'dynfault':>9} {'python':>9} {'ratio':>6} {'ratio_cpu':>9} "
      f"{'fresh':>6} {'ratio_fresh_cpu':>15}")
for p in programs:
    d = json.load(open(f"{out}/dynfault_{p}.json"))["programs"][p]
    py = json.load(open(f"{out}/python_{p}.json"))
    y, f = py["programs"][p], py["fresh"].get(p, {})
    for c in ("off", "default", "curv2", "all"):
        dw, yw = d[c]["wall_s"], y[c]["wall_s"]
        fresh = f"{1 / f[c]['wall_s']:6.2f} {f[c]['cpu_s'] / d[c]['cpu_s']:14.2f}x" if c in f else ""
        print(f"{p:14} {c:8} {1 / dw:9.2f} {1 / yw:9.2f} {yw / dw:5.2f}x "
              f"{y[c]['cpu_s'] / d[c]['cpu_s']:8.2f}x {fresh}")
PY
echo
# shellcheck disable=SC2086  # one argument per program
"$build/bench/bench_probes" --reps 0 --db-traces 4 $programs | sed -n '/^storage/,$p'

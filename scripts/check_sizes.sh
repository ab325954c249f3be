#!/usr/bin/env bash
# Lists what STYLE.md's size limits flag outside the tests: source files over 700 lines and
# functions over 100 lines (clang-tidy readability-function-size, LineThreshold 100: the lines
# of a function's body, lambdas inside it included), from the release build's
# compile_commands.json. Exits 1 when anything is listed that is not an exception below, 2 when a
# translation unit could not be checked (named, with clang's first error): clang measures no
# function it cannot compile, so such a unit must never count as a pass.
#
# clang-tidy reads a copy of the compile database made for clang: the runner/ units are compiled
# with GCC's precompiled header (target_precompile_headers), which clang cannot read ("not a
# valid precompiled PCH file"), so that -include is dropped and each unit is parsed from its own
# includes; and a unit the build does not compile (bench/ unless configured with
# -DDYNFAULT_BUILD_BENCH=ON, examples/recorder, built against an installed package) gets the
# flags of runner/trainer.cpp, a LibTorch unit, plus DYNFAULT_SOURCE_DIR and the installed
# header layout (<dynfault/...>). Both are said in the output.
#
# Usage: scripts/check_sizes.sh [--no-torch] [--jobs N]
#   --no-torch  skip function sizes in the runner/ units that include LibTorch (~20 s each)
set -euo pipefail
cd "$(dirname "$0")/.."

# Functions allowed over 100 lines, as "file:function  reason". Keep it short: each entry is a
# decision, not a backlog.
exceptions=(
  "bench/bench_probes.cpp:main  a benchmark driver: one linear script of setup, timed loops and the printed table, read top to bottom; not library code"
  "bench/bench_evaluation.cpp:main  a benchmark driver, as bench_probes.cpp's main"
  "bench/bench_evaluation.cpp:make_run  the benchmark's synthetic trace generator: each fault's effect on curves and probes reads in one place; benchmark code, not part of the tool"
)

torch=1 jobs=$(nproc 2>/dev/null || echo 2)
while [ $# -gt 0 ]; do
  case "$1" in
    --no-torch) torch=0; shift ;;
    --jobs) jobs="$2"; shift 2 ;;
    *) echo "check_sizes: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
dirs=(bench cli common db diagnosis examples features mutators programs runner)
status=0

echo "Files over 700 lines:"
big=$(git ls-files -- "${dirs[@]/%//*.cpp}" "${dirs[@]/%//*.h}" | xargs wc -l |
  awk '$2 != "total" && $1 > 700 {printf "  %5d %s\n", $1, $2}' | sort -rn)
if [ -n "$big" ]; then echo "$big"; status=1; else echo "  none"; fi

db=build/release/compile_commands.json
[ -f "$db" ] || { echo "check_sizes: no $db (cmake --preset release)" >&2; exit 2; }
command -v clang-tidy >/dev/null || { echo "check_sizes: clang-tidy not found" >&2; exit 2; }
units=() skipped=0
while IFS= read -r f; do
  [ -f "$f" ] || continue
  if [ "$torch" -eq 0 ] && grep -qE '#include (<torch/|"runner/torch_pch.h")' "$f"; then
    skipped=$((skipped + 1))
    continue
  fi
  units+=("$f")
done < <(git ls-files -- "${dirs[@]/%//*.cpp}")
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
mkdir "$logs/cdb" "$logs/out" "$logs/include"
ln -s "$(pwd)" "$logs/include/dynfault"  # the installed layout: include/dynfault/db/store.h
inferred=$(printf '%s\n' "${units[@]}" | python3 -c '
import json, re, sys
db, out, root, include = sys.argv[1:5]
entries = json.load(open(db))
for e in entries:
    e["command"] = re.sub(r" -include \S*/cmake_pch\.hxx", "", e["command"])
known = {e["file"] for e in entries}
model = next(e for e in entries if e["file"].endswith("/runner/trainer.cpp"))
for unit in sys.stdin.read().split():
    path = root + "/" + unit
    if path in known:
        continue
    command = model["command"].replace(model["file"], path).replace(
        " -o ", " -DDYNFAULT_SOURCE_DIR=\\\"" + root + "\\\" -I" + include + " -o ", 1)
    entries.append({"directory": model["directory"], "command": command, "file": path})
    print(unit)
json.dump(entries, open(out, "w"), indent=0)
' "$db" "$logs/cdb/compile_commands.json" "$(pwd)" "$logs/include")
config="{Checks: '-*,readability-function-size',
         CheckOptions: [{key: readability-function-size.LineThreshold, value: 100}]}"
# One log per unit: parallel runs would interleave the warning and note lines paired below. A
# unit whose clang-tidy fails leaves its name in failed/.
mkdir "$logs/failed"
printf '%s\n' "${units[@]}" |
  xargs -P "$jobs" -I{} sh -c \
    'log="$(echo "$2" | tr / _)"
     clang-tidy -p "$3/cdb" --quiet --extra-arg=-std=c++17 --config="$1" "$2" \
       >"$3/out/$log" 2>/dev/null || echo "$2" >"$3/failed/$log"' _ "$config" {} "$logs" || true

echo "Functions over 100 lines:"
found=$(cat "$logs"/out/* /dev/null |
  awk '/warning: function .* exceeds recommended size/ {loc = $1; fn = $4}
       /note: [0-9]+ lines including/ && fn != "" {print "  " $3 " lines  " fn "  " loc; fn = ""}' |
  sed "s|$(pwd)/||" | sort -u | sort -rn -k1,1)
listed="" excepted=""
while IFS= read -r line; do
  [ -n "$line" ] || continue
  fn=$(echo "$line" | awk '{print $3}' | tr -d "'")
  file=$(echo "$line" | awk '{print $4}' | cut -d: -f1)
  reason=""
  for e in "${exceptions[@]}"; do
    if [ "${e%%  *}" = "$file:$fn" ]; then reason="${e#*  }"; fi
  done
  if [ -n "$reason" ]; then
    excepted+="$line"$'\n'"      exception: $reason"$'\n'
  else
    listed+="$line"$'\n'
  fi
done <<<"$found"
if [ -n "$listed" ]; then printf '%s' "$listed"; status=1; else echo "  none"; fi
if [ -n "$excepted" ]; then
  echo "Exceptions (listed in scripts/check_sizes.sh, not counted):"
  printf '%s' "$excepted"
fi

failed=$(cat "$logs"/failed/* 2>/dev/null | sort || true)
checked=${#units[@]}
if [ -n "$failed" ]; then
  echo "Not checked: clang could not compile these units (a function it rejects is not measured):"
  for f in $failed; do
    first=$(grep -m1 -E 'error:' "$logs/out/$(echo "$f" | tr / _)" | sed "s|$(pwd)/||" || true)
    echo "  $f: ${first:-clang-tidy failed}"
    checked=$((checked - 1))
  done
  status=2
fi
echo "Measured $checked translation units$([ "$torch" -eq 1 ] && echo ", the LibTorch ones included")."
if [ -n "$inferred" ]; then
  echo "  without a compile command, parsed with runner/trainer.cpp's flags:" $inferred
fi
[ "$skipped" -eq 0 ] || echo "  ($skipped runner/ units that include LibTorch left out: --no-torch)"
exit "$status"

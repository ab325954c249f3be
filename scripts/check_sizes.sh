#!/usr/bin/env bash
# Lists what STYLE.md's size limits flag outside the tests: source files over 700 lines and
# functions over 100 lines (clang-tidy readability-function-size, LineThreshold 100: the lines
# of a function's body, lambdas inside it included), from the release build's
# compile_commands.json. Exits non-zero when anything is listed.
#
# Usage: scripts/check_sizes.sh [--no-torch] [--jobs N]
#   --no-torch  skip function sizes in the runner/ units that include LibTorch (~20 s each)
set -euo pipefail
cd "$(dirname "$0")/.."

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
units=()
while IFS= read -r f; do
  [ -f "$f" ] || continue
  if [ "$torch" -eq 0 ] && grep -qE '#include (<torch/|"runner/torch_pch.h")' "$f"; then continue; fi
  units+=("$f")
done < <(git ls-files -- "${dirs[@]/%//*.cpp}")
config="{Checks: '-*,readability-function-size',
         CheckOptions: [{key: readability-function-size.LineThreshold, value: 100}]}"
echo "Functions over 100 lines:"
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
# One log per unit: parallel runs would interleave the warning and note lines paired below.
printf '%s\n' "${units[@]}" |
  xargs -P "$jobs" -I{} sh -c \
    'clang-tidy -p build/release --quiet --extra-arg=-std=c++17 --config="$1" "$2" \
       >"$3/$(echo "$2" | tr / _)" 2>/dev/null' _ "$config" {} "$logs" || true
found=$(cat "$logs"/* |
  awk '/warning: function .* exceeds recommended size/ {loc = $1; fn = $4}
       /note: [0-9]+ lines including/ && fn != "" {print "  " $3 " lines  " fn "  " loc; fn = ""}' |
  sed "s|$(pwd)/||" | sort -u | sort -rn -k1,1)
if [ -n "$found" ]; then echo "$found"; status=1; else echo "  none"; fi
[ "$torch" -eq 1 ] || echo "  (runner/ units that include LibTorch left out: --no-torch)"
exit "$status"

#!/usr/bin/env bash
# Style checks (STYLE.md section 8): clang-format in check mode on the C++ files, clang-tidy
# (.clang-tidy) on the libraries' sources, from the release build's compile_commands.json.
# Prints every finding and exits non-zero when there is one.
#
# Usage: scripts/check_style.sh [--changed REF] [--no-tidy] [--no-torch] [--jobs N]
#   --changed REF  only C++ files changed since REF (git diff REF), for CI on a branch
#   --no-tidy      clang-format only (seconds)
#   --no-torch     leave out the runner/ translation units that include LibTorch (the slow ones)
#   --jobs N       clang-tidy processes in parallel (default: nproc)
set -euo pipefail
cd "$(dirname "$0")/.."

changed="" tidy=1 torch=1 jobs=$(nproc 2>/dev/null || echo 2)
while [ $# -gt 0 ]; do
  case "$1" in
    --changed) changed="$2"; shift 2 ;;
    --no-tidy) tidy=0; shift ;;
    --no-torch) torch=0; shift ;;
    --jobs) jobs="$2"; shift 2 ;;
    *) echo "check_style: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
for tool in clang-format clang-tidy; do
  command -v "$tool" >/dev/null || { echo "check_style: $tool not found (scripts/setup.sh)" >&2; exit 2; }
done

if [ -n "$changed" ]; then
  mapfile -t files < <(git diff --name-only --diff-filter=ACMR "$changed" -- '*.cpp' '*.h')
elif git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -- '*.cpp' '*.h')
else
  # A checkout without git metadata (an exported tree): every C++ file outside build/.
  mapfile -t files < <(find . -path ./build -prune -o -type f \( -name '*.cpp' -o -name '*.h' \) \
    -print | sed 's#^\./##' | sort)
fi
if [ ${#files[@]} -eq 0 ] && [ -z "$changed" ]; then
  echo "check_style: no C++ files found under $(pwd)" >&2
  exit 2
fi

status=0
start=$(date +%s)
# --- clang-format ------------------------------------------------------------------------------
# One clang-format process per 50 files, one at a time (parallel ones would interleave their
# messages): it names each file that differs.
mapfile -t unformatted < <(printf '%s\n' "${files[@]}" |
  xargs -r -n 50 clang-format --dry-run 2>&1 |
  sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: warning: code should be clang-formatted.*/\1/p' | sort -u)
if [ ${#unformatted[@]} -gt 0 ]; then
  echo "clang-format: ${#unformatted[@]} of ${#files[@]} files differ (clang-format -i FILE):"
  printf '  %s\n' "${unformatted[@]}"
  status=1
else
  echo "clang-format: ${#files[@]} files formatted"
fi
echo "clang-format: $(( $(date +%s) - start )) s"
[ "$tidy" -eq 1 ] || exit "$status"

# --- clang-tidy on the libraries -----------------------------------------------------------------
db=build/release/compile_commands.json
[ -f "$db" ] || { echo "check_style: no $db (cmake --preset release)" >&2; exit 2; }
libs='^(common|db|programs|mutators|features|diagnosis|runner)/[^/]*\.cpp$'
units=()
for f in "${files[@]}"; do
  [[ "$f" =~ $libs ]] || continue
  if [ "$torch" -eq 0 ] && grep -qE '#include (<torch/|"runner/torch_pch.h")' "$f"; then continue; fi
  units+=("$f")
done
if [ ${#units[@]} -eq 0 ]; then
  echo "clang-tidy: no library source to check"
  exit "$status"
fi
start=$(date +%s)
logs=$(mktemp -d)
out="$logs/all"
trap 'rm -rf "$logs"' EXIT
# One log per unit, so that parallel runs do not interleave their lines. The runner/ units are
# compiled with GCC's precompiled header, which clang cannot read ("not a valid precompiled PCH
# file"): clang-tidy gets a copy of the compile database without that -include, and each unit is
# parsed from its own includes (scripts/check_sizes.sh does the same).
mkdir "$logs/cdb" "$logs/out"
sed -E 's# -include [^ ]*/cmake_pch\.hxx##g' "$db" >"$logs/cdb/compile_commands.json"
# Each unit's exit status is kept too: a clang-tidy that crashed or could not parse a unit
# prints no finding but must not pass.
mkdir "$logs/rc" "$logs/err"
printf '%s\n' "${units[@]}" |
  xargs -P "$jobs" -I{} sh -c 'n=$(echo "$1" | tr / _)
    clang-tidy -p "$2/cdb" --quiet "$1" >"$2/out/$n" 2>"$2/err/$n"
    echo $? >"$2/rc/$n"' _ {} "$logs" || true
cat "$logs"/out/* >"$out"
findings=$(grep -cE '^[^ ].*: (warning|error): ' "$out" || true)
failed=()
for f in "${units[@]}"; do
  n=$(echo "$f" | tr / _)
  rc=$(cat "$logs/rc/$n" 2>/dev/null || echo missing)
  [ "$rc" = 0 ] || failed+=("$f (exit $rc)")
done
if [ "$findings" -gt 0 ]; then
  cat "$out"
  echo "clang-tidy: $findings findings in ${#units[@]} translation units"
  status=1
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "clang-tidy: ${#failed[@]} units not checked (clang-tidy failed):"
  for f in "${failed[@]}"; do
    echo "  $f"
    tail -n 5 "$logs/err/$(echo "${f%% (exit*}" | tr / _)" | sed 's/^/    /'
  done
  status=1
fi
if [ "$findings" -eq 0 ] && [ ${#failed[@]} -eq 0 ]; then
  echo "clang-tidy: ${#units[@]} translation units clean"
fi
echo "clang-tidy: $(( $(date +%s) - start )) s with $jobs jobs"
exit "$status"

#!/usr/bin/env bash
# The installed package end to end (docs/recorder.md): `cmake --install` the build into a
# temporary prefix; run the installed binary from an empty directory, where it must find its
# configs and data next to itself, not in the source tree (README "Installed"); configure and
# build examples/recorder against the prefix with find_package(dynfault), run it to record a
# trace, then check that `dynfault labels`, `dynfault features` and `dynfault diagnose` (with a
# model trained on a tiny campaign) accept it.
# Usage: test_install_recorder.sh BUILD_DIR SOURCE_DIR [GENERATOR]. CTest label: install.
set -euo pipefail
build=$1
src=$2
generator=${3:-Ninja}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dynfault_install_XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
step() { printf '== %s (%ss)\n' "$1" "$SECONDS"; }

step install
cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log"
test -f "$tmp/prefix/lib/cmake/dynfault/dynfaultConfig.cmake"
test -f "$tmp/prefix/lib/cmake/dynfault/dynfaultConfigVersion.cmake"
test -f "$tmp/prefix/include/dynfault/runner/trace_recorder.h"
test -x "$tmp/prefix/bin/dynfault"
test -f "$tmp/prefix/share/dynfault/configs/quick.yaml"
test -f "$tmp/prefix/share/dynfault/data/sklearn/iris.csv"

step "installed binary from an empty directory"
B="$tmp/prefix/bin/dynfault"
fail() { echo "test_install_recorder: $*" >&2; exit 1; }
mkdir "$tmp/empty"
unset DYNFAULT_CONFIGS DYNFAULT_CONFIG_DIR DYNFAULT_DATA_DIR
version=$(cd "$tmp/empty" && "$B" --version)
echo "$version"
grep -qxF "configs: $tmp/prefix/share/dynfault/configs (next to the installed binary)" \
  <<< "$version" || fail "the installed binary does not read its installed configs"
grep -qxF "data: $tmp/prefix/share/dynfault/data" <<< "$version" ||
  fail "the installed binary does not read its installed data"
# The quick campaign by name, two of its runs, labels from the installed taxonomies, a replay.
(cd "$tmp/empty" && "$B" run quick --db run.db --limit 2 --max-steps 3 > run.log 2>&1) ||
  { cat "$tmp/empty/run.log"; fail "the installed quick campaign did not run"; }
(cd "$tmp/empty" && "$B" labels --db run.db > labels.log) ||
  { cat "$tmp/empty/labels.log"; fail "labels failed"; }
first=$(sqlite3 -batch -noheader "$tmp/empty/run.db" \
  "SELECT run_uuid FROM runs WHERE status = 'FINISHED' ORDER BY run_uuid LIMIT 1")
(cd "$tmp/empty" && "$B" replay "$first" --db run.db) | tee "$tmp/replay.log"
grep -q "reproduced bitwise" "$tmp/replay.log" || fail "the installed replay did not reproduce"

step "configure examples/recorder"
cmake -S "$src/examples/recorder" -B "$tmp/example" -G "$generator" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$tmp/prefix" > "$tmp/configure.log" 2>&1 || { cat "$tmp/configure.log"; exit 1; }
step "build examples/recorder"
cmake --build "$tmp/example" -j 1 > "$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }

step "record"
"$tmp/example/recorder_example" "$tmp/trace.db" 6
step "labels"
"$tmp/prefix/bin/dynfault" labels --db "$tmp/trace.db"
step "features"
"$tmp/prefix/bin/dynfault" features --db "$tmp/trace.db" --threads 1

step "check"
# sqlite3 (installed by scripts/setup.sh), not python: a fresh machine may have no python3.
q() { sqlite3 -batch -noheader "$tmp/trace.db" "$1"; }
[[ $(q "SELECT count(*) FROM runs") == 1 ]] || fail "expected one run: $(q 'SELECT * FROM runs')"
run=$(q "SELECT run_uuid FROM runs")
row=$(q "SELECT status || ',' || outcome || ',' || program_id FROM runs")
[[ $row == "FINISHED,completed,example_blobs_mlp" ]] || fail "run row: $row"
for key in epoch/train_loss epoch/train_metric epoch/val_loss epoch/val_metric epoch/lr \
           grad/global_norm weight/update_ratio opt/exp_avg_norm time/step_ms; do
  steps=$(q "SELECT group_concat(step, ' ') FROM (SELECT step FROM v_metrics
             WHERE run_uuid = '$run' AND key = '$key' ORDER BY step)")
  [[ $steps == "0 1 2 3 4 5" ]] || fail "$key at steps '$steps', expected 0..5"
done
n_loss=$(q "SELECT count(*) FROM v_metrics WHERE run_uuid = '$run' AND key = 'train/loss'")
[[ $n_loss == 114 ]] || fail "train/loss has $n_loss points, expected 6 x 19"  # 600 samples / 32
detection=$(q "SELECT label FROM labels WHERE run_uuid = '$run' AND task = 'detection'")
instability=$(q "SELECT label FROM labels WHERE run_uuid = '$run' AND task = 'instability'")
[[ $detection == clean ]] || fail "detection label '$detection'"
[[ $instability =~ ^(stable|oscillating|diverged)$ ]] || fail "instability label '$instability'"
sets=$(q "SELECT count(DISTINCT feature_set) FROM feature_values WHERE run_uuid = '$run'")
(( sets >= 3 )) || fail "only $sets feature sets stored"
echo "trace $run accepted: 9 keys x 6 epochs, $n_loss steps, detection $detection," \
     "instability $instability, $sets feature sets"

step "diagnose"
# A detection model trained with the installed binary on a tiny campaign diagnoses the trace.
cat > "$tmp/c.yaml" <<'YAML'
name: install
seed: 5
repetitions: 2
timeout_s: 120
programs: [iris_mlp]
faults:
  - mutator: lr_scale
    params: {factor: 1000.0}
  - mutator: optimizer_change
    params: {to: adagrad}
YAML
(cd "$tmp" && "$B" run c.yaml --db corpus.db --jobs 2 --max-steps 12 > run.log 2>&1) ||
  { cat "$tmp/run.log"; fail "campaign failed"; }
"$B" labels --db "$tmp/corpus.db" > /dev/null
"$B" features --db "$tmp/corpus.db" --sets deepfd --threads 1 > /dev/null
"$B" train --db "$tmp/corpus.db" --task detection --features deepfd \
  --diagnoser logistic_regression --out "$tmp/detect.model"
out=$("$B" diagnose --db "$tmp/trace.db" --run "$run" --model "$tmp/detect.model")
echo "$out"
grep -Eq '(clean|faulty)' <<< "$out" || fail "diagnose printed no detection class"
step done

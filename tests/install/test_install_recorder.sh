#!/usr/bin/env bash
# The installed package end to end (docs/recorder.md): `cmake --install` the build into a
# temporary prefix, configure and build examples/recorder against it with find_package(dynfault),
# run it to record a trace, then check that `dynfault labels` and `dynfault features` accept it.
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
python3 - "$tmp/trace.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
runs = db.execute("SELECT run_uuid, status, outcome, program_id FROM runs").fetchall()
assert len(runs) == 1, runs
run, status, outcome, program = runs[0]
assert (status, outcome, program) == ("FINISHED", "completed", "example_blobs_mlp"), runs[0]
epochs = {key: sorted(s for (s,) in db.execute(
    "SELECT step FROM v_metrics WHERE run_uuid = ? AND key = ?", (run, key)))
    for key in ("epoch/train_loss", "epoch/train_metric", "epoch/val_loss", "epoch/val_metric",
                "epoch/lr", "grad/global_norm", "weight/update_ratio", "opt/exp_avg_norm",
                "time/step_ms")}
for key, steps in epochs.items():
    assert steps == list(range(6)), (key, steps)
n_loss = db.execute("SELECT count(*) FROM v_metrics WHERE run_uuid = ? AND key = 'train/loss'",
                    (run,)).fetchone()[0]
assert n_loss == 6 * 19, n_loss  # 600 samples in batches of 32
labels = dict(db.execute("SELECT task, label FROM labels WHERE run_uuid = ?", (run,)).fetchall())
assert labels.get("instability") in ("stable", "oscillating", "diverged"), labels
assert labels.get("detection") == "clean", labels
feats = db.execute("SELECT feature_set, count(*) FROM feature_values WHERE run_uuid = ? "
                   "GROUP BY feature_set", (run,)).fetchall()
assert len(feats) >= 3 and all(n > 0 for _, n in feats), feats
print("trace", run, "accepted:", len(epochs), "keys x 6 epochs,", n_loss, "steps; labels",
      labels, "; feature sets", feats)
PY
step done

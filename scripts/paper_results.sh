#!/usr/bin/env bash
# Runs, on a finished paper-scale corpus (configs/dynfault.yaml), exactly the evaluations that
# docs/results.md reports: the protocol ladder at four horizons for every task, the feature
# sets, 1,000 resamples and the margin verdicts (1 learner seed: the forests' SD over seeds is
# 0.003-0.008 on this corpus, and five would take five times the 1 h 35 min of these two), then
# the curvature question (instability_ahead at H = 0.1, 0.25, 0.5, 1 against symptom-free
# curves) with 5 learner seeds, and once more with balanced class weights, then detection with
# balanced class weights. Each evaluation's
# table goes to OUT/<name>.txt, its HTML report to OUT/<name>.html, the wall time of every step
# to OUT/times.txt.
#
#   scripts/paper_results.sh PAPER.db [OUT]        (OUT defaults to results/)
#
# The database is written into (labels, feature tables per horizon, evaluations): copy it first
# if it must stay as it was. Nothing else is read but configs/.
set -euo pipefail
cd "$(dirname "$0")/.."
db="${1:?usage: $0 PAPER.db [OUT]}"
out="${2:-results}"
B="${DYNFAULT:-build/release/cli/dynfault}"
[[ -f "$db" ]] || { echo "paper_results: no database '$db'" >&2; exit 2; }
[[ -x "$B" ]] || { echo "paper_results: no dynfault binary at '$B' (build it first)" >&2; exit 2; }
mkdir -p "$out"
: >"$out/times.txt"

step() {  # step NAME COMMAND...: runs it, keeps its output and its wall time
  local name="$1"
  shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >"$out/$name.txt"
  t1=$(date +%s.%N)
  printf '%-28s %8.1f s   %s\n' "$name" "$(echo "$t1 - $t0" | bc)" "$*" | tee -a "$out/times.txt"
}

horizons=0.1,0.25,0.5,1
rungs=random,config,value,fault,program,dataset
sets=deepfd,default,curves,curvature,optimizer,activation,config
common=(--db "$db" --protocols "$rungs" --bootstrap 1000 --margin 0.02
        --horizons "$horizons" --threads 2)

step labels "$B" labels --db "$db"
step features "$B" features --db "$db" --sets "$sets"
for h in 0.1 0.25 0.5; do
  step "features_h$h" "$B" features --db "$db" --sets "$sets" --horizon "$h"
done

# 1. Fault typing and detection: which sets carry over to unseen programs and faults, and when.
step ladder_fault_type "$B" evaluate "${common[@]}" --learner-seeds 1 \
  --tasks fault_type/default4,detection --sets "$sets" \
  --diagnosers logistic_regression,random_forest,deepfd,default_rf
# 2. The run-level tasks: mismatch and the killing test.
step ladder_mismatch_effective "$B" evaluate "${common[@]}" --learner-seeds 1 \
  --tasks mismatch,effective --sets "$sets" \
  --diagnosers logistic_regression,random_forest
# 3. The curvature question: among runs still training without a symptom, which go on to
#    diverge or oscillate; symptom-free curves (and DEFault's set) with and without curvature.
#    At H = 1 nothing is ahead: instability_ahead is the triage read as two classes, the label's
#    inputs dropped (issue 19's symptom-free comparison).
step curvature_question "$B" evaluate "${common[@]}" --learner-seeds 5 \
  --tasks instability_ahead --sets curves,curves+curvature,default,default+curvature \
  --diagnosers logistic_regression,random_forest
# 4. The same with every training fold weighted by its class counts: 2-4% of the runs are
#    unstable ahead, and unweighted learners call nearly all of them stable.
step curvature_question_balanced "$B" evaluate "${common[@]}" --learner-seeds 1 \
  --class-weight balanced \
  --tasks instability_ahead --sets curves,curves+curvature,default,default+curvature \
  --diagnosers logistic_regression,random_forest

# 5. Detection with balanced class weights: 4,440 faulty against 1,102 clean, and unweighted
#    learners call nearly every run faulty on the held-out rungs.
step detection_balanced "$B" evaluate "${common[@]}" --learner-seeds 1 \
  --class-weight balanced --tasks detection --sets "$sets" \
  --diagnosers logistic_regression,random_forest

for name in ladder_fault_type ladder_mismatch_effective curvature_question \
  curvature_question_balanced detection_balanced; do
  id=$(grep -o 'ev-[0-9TZ]*-[0-9a-f]*' "$out/$name.txt" | head -1 || true)
  if [[ -n "$id" ]]; then
    "$B" report --db "$db" --evaluation "$id" --out "$out/$name.html" >/dev/null
    echo "report $out/$name.html ($id)"
  fi
done

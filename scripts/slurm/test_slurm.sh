#!/usr/bin/env bash
# Opt-in end-to-end test of the Slurm path (not part of scripts/test.sh: it installs Debian's
# Slurm packages and starts daemons). As root on Debian 12:
#
#   bash scripts/slurm/test_slurm.sh [path/to/dynfault]
#
# Starts a throw-away single-node cluster on 127.0.0.1 (auth/none + cred/none: loopback only,
# never on a shared machine), submits a small campaign as a job array of 3 tasks with
# submit.sh, waits for the merge job, and checks that the merged database holds exactly the
# runs, outcomes and metric values (bitwise, wall-clock keys time/... excepted) of a local
# 'dynfault run' of the same campaign. Stops the daemons and removes its directory on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-$root/build/release/cli/dynfault}
[[ -x "$bin" ]] || { echo "test_slurm: no dynfault executable at '$bin'" >&2; exit 2; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
[[ $(id -u) == 0 ]] || { echo "test_slurm: needs root (installs packages, runs slurmd)" >&2; exit 2; }

missing=()
for p in slurmctld slurmd slurm-client sqlite3; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if (( ${#missing[@]} > 0 )); then
  echo "test_slurm: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/dynfault-slurm-XXXXXX)
host=$(hostname -s)
mkdir -p "$work/state" "$work/spool"
export SLURM_CONF="$work/slurm.conf"
cat >"$SLURM_CONF" <<CONF
ClusterName=ci
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF

stop() {
  local rc=$?
  for f in slurmd slurmctld; do
    if [[ -f "$work/$f.pid" ]]; then kill "$(cat "$work/$f.pid")" 2>/dev/null || true; fi
  done
  sleep 1
  if (( rc != 0 )); then
    echo "test_slurm: FAILED; last lines of the logs:" >&2
    tail -n 20 "$work"/*.log "$work"/out/logs/*.log 2>/dev/null >&2 || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap stop EXIT

slurmctld -c -i
slurmd
for _ in $(seq 60); do
  state=$(sinfo -h -o %T 2>/dev/null | head -n1 || true)
  [[ $state == idle* ]] && break
  sleep 1
done
[[ $state == idle* ]] || { echo "test_slurm: node not idle (state '$state')" >&2; exit 1; }
echo "test_slurm: cluster up ($(sinfo -h -o '%P %a %D %T'))"

cat >"$work/campaign.yaml" <<'YAML'
name: slurm-test
seed: 5
repetitions: 3
timeout_s: 120
programs: [iris_mlp]
faults:
  - mutator: lr_scale
    params: {factor: [10.0, 0.1]}
  - mutator: optimizer_change
    params: {to: [adam]}
YAML
steps=(--max-steps 40)
# 12 runs, 4 per task: an array of 3 tasks.
ids=$("$here/submit.sh" "$work/campaign.yaml" "$work/out" --runs-per-task 4 --bin "$bin" -- "${steps[@]}")
echo "$ids"
merge_job=$(sed -n 's/^merge //p' <<<"$ids")
for _ in $(seq 600); do
  [[ -z $(squeue -h -j "$merge_job" 2>/dev/null) ]] && break
  sleep 1
done
[[ -z $(squeue -h -j "$merge_job" 2>/dev/null) ]] || { echo "test_slurm: merge job still queued" >&2; exit 1; }
cat "$work/out/logs/merge.log"
shards=$(find "$work/out/shards" -name 'shard_*.db' | wc -l)
[[ $shards == 3 ]] || { echo "test_slurm: expected 3 shard databases, found $shards" >&2; exit 1; }

"$bin" run "$work/campaign.yaml" --db "$work/local.db" --jobs 2 "${steps[@]}" >/dev/null 2>&1
# Same runs with the same status and outcome, the same metric rows, bitwise the same values
# (SQLite compares REALs exactly; NaN is NULL with is_nan = 1 on both sides).
diff=$(sqlite3 "$work/out/campaign.db" <<SQL
ATTACH '$work/local.db' AS l;
SELECT 'runs', count(*) FROM (
  SELECT run_uuid, status, outcome FROM main.runs EXCEPT SELECT run_uuid, status, outcome FROM l.runs
  UNION ALL
  SELECT run_uuid, status, outcome FROM l.runs EXCEPT SELECT run_uuid, status, outcome FROM main.runs);
SELECT 'points', (SELECT count(*) FROM main.v_metrics WHERE key NOT LIKE 'time/%')
               - (SELECT count(*) FROM l.v_metrics WHERE key NOT LIKE 'time/%');
SELECT 'values', count(*) FROM main.v_metrics AS m
  LEFT JOIN l.v_metrics AS o ON o.run_uuid = m.run_uuid AND o.key = m.key AND o.step = m.step
  WHERE m.key NOT LIKE 'time/%' AND (o.run_uuid IS NULL OR m.value IS NOT o.value
                                     OR m.is_nan <> o.is_nan);
SELECT 'finished', count(*) FROM main.runs WHERE status = 'FINISHED';
SQL
)
echo "$diff"
for want in 'runs|0' 'points|0' 'values|0' 'finished|12'; do
  if ! grep -qx "$want" <<<"$diff"; then
    echo "test_slurm: the merged array differs from the local run (want $want)" >&2
    exit 1
  fi
done
echo "test_slurm: OK: 3 array tasks merged = local run (12 runs, bitwise equal metrics)"

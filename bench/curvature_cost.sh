#!/usr/bin/env bash
# Share of training time spent in curvature probes, from a finished campaign's database: the sum
# of time/curvature_ms (each probe's wall time, stored with the trace) over the sum of run times
# (end_time - start_time of every FINISHED run: data, training, evaluation and all probes), in
# all and per program, with the readings per run and the mean cost of one reading. Measures the
# cadence the campaign's `probes:` block chose (configs/dynfault.yaml for the paper-scale corpus).
#
#   bash bench/curvature_cost.sh DB [CAMPAIGN]      CAMPAIGN: only its runs (default: all)
#
# Needs the sqlite3 shell. Opens the database read-only.
set -euo pipefail
if (( $# < 1 || $# > 2 )); then
  echo "usage: bash bench/curvature_cost.sh DB [CAMPAIGN]" >&2
  exit 2
fi
db=$1 campaign=${2:-}
if [[ ! -f "$db" ]]; then
  echo "curvature_cost.sh: no such database file: $db" >&2
  exit 1
fi
command -v sqlite3 > /dev/null || { echo "curvature_cost.sh: needs sqlite3 (apt-get install sqlite3)" >&2; exit 1; }
q() { sqlite3 -readonly -batch "$db" "$@"; }
q "SELECT 1 FROM runs LIMIT 1" > /dev/null 2>&1 || {
  echo "curvature_cost.sh: $db is not a dynfault database (no runs table)" >&2
  exit 1
}
if [[ -n "$campaign" && "$(q "SELECT count(*) FROM campaigns WHERE name = '${campaign//\'/\'\'}'")" == 0 ]]; then
  echo "curvature_cost.sh: no campaign '$campaign' in $db" >&2
  exit 1
fi
where="r.status = 'FINISHED'"
[[ -n "$campaign" ]] && where="$where AND r.campaign = '${campaign//\'/\'\'}'"

# One row per finished run: its program, run time and curvature time (0 without readings).
per_run="SELECT r.program_id AS program, (r.end_time - r.start_time) AS run_ms,
                coalesce(sum(m.value), 0) AS curv_ms, count(m.value) AS readings
         FROM runs r
         LEFT JOIN metric_keys k ON k.key = 'time/curvature_ms'
         LEFT JOIN metrics m ON m.run_uuid = r.run_uuid AND m.key_id = k.key_id
         WHERE $where GROUP BY r.run_uuid"

runs=$(q "SELECT count(*) FROM ($per_run)")
if (( runs == 0 )); then
  echo "$db: no finished runs${campaign:+ in campaign $campaign}"
  exit 0
fi
q -separator ' ' "SELECT printf('%s%s: %d finished runs, %.1f min of run time, %.1f min in curvature probes: %.1f%% (%d readings, %.1f ms each)',
                         '$db', CASE WHEN '$campaign' = '' THEN '' ELSE ' (campaign $campaign)' END,
                         count(*), sum(run_ms) / 60000.0, sum(curv_ms) / 60000.0,
                         100.0 * sum(curv_ms) / sum(run_ms), sum(readings),
                         CASE WHEN sum(readings) > 0 THEN sum(curv_ms) / sum(readings) ELSE 0 END)
                  FROM ($per_run)"
echo
echo "by program (share of its run time; readings per run; ms per reading):"
q -separator ' ' "SELECT printf('  %-24s %6.1f%%  %5.1f readings  %8.1f ms  (%d runs, %.1f s per run)',
                         program, 100.0 * sum(curv_ms) / sum(run_ms),
                         sum(readings) * 1.0 / count(*),
                         CASE WHEN sum(readings) > 0 THEN sum(curv_ms) / sum(readings) ELSE 0 END,
                         count(*), sum(run_ms) / 1000.0 / count(*))
                  FROM ($per_run) GROUP BY program
                  ORDER BY sum(curv_ms) * 1.0 / sum(run_ms) DESC"
q -separator ' ' "SELECT printf('range over programs: %.1f%% to %.1f%%', 100.0 * min(s), 100.0 * max(s))
                  FROM (SELECT sum(curv_ms) * 1.0 / sum(run_ms) AS s FROM ($per_run) GROUP BY program)"

#!/usr/bin/env bash
# Compares the traces of two dynfault databases bit for bit, outside the wall-clock keys time/*:
# runs finished in both (matched by run id), outcomes, and every metric point (key, step, value,
# NaN flag). Read-only on both files. Exit 0 when every shared run is identical and both hold the
# same finished runs, 1 otherwise, 2 on bad input.
#
#   bash bench/compare_traces.sh before.db after.db
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: bash bench/compare_traces.sh A.db B.db" >&2
  exit 2
fi
for f in "$1" "$2"; do
  if [ ! -f "$f" ]; then
    echo "compare_traces: no database file '$f'" >&2
    exit 2
  fi
done
command -v sqlite3 >/dev/null || { echo "compare_traces: needs sqlite3 (apt-get install sqlite3)" >&2; exit 2; }

a=$(realpath "$1")
b=$(realpath "$2")
# Both opened read-only (immutable: no journal, no lock file), so neither file can change.
out=$(sqlite3 -readonly "file:$a?immutable=1" <<SQL
.bail on
ATTACH 'file:$b?immutable=1' AS b;
CREATE TEMP TABLE fa AS SELECT run_uuid, outcome FROM main.runs WHERE status = 'FINISHED';
CREATE TEMP TABLE fb AS SELECT run_uuid, outcome FROM b.runs WHERE status = 'FINISHED';
CREATE TEMP TABLE common AS SELECT run_uuid FROM fa JOIN fb USING (run_uuid);
CREATE TEMP TABLE pa AS
  SELECT m.run_uuid, k.key, m.step, m.value, m.is_nan
  FROM main.metrics m JOIN main.metric_keys k USING (key_id)
  WHERE k.key NOT LIKE 'time/%' AND m.run_uuid IN (SELECT run_uuid FROM common);
CREATE TEMP TABLE pb AS
  SELECT m.run_uuid, k.key, m.step, m.value, m.is_nan
  FROM b.metrics m JOIN b.metric_keys k USING (key_id)
  WHERE k.key NOT LIKE 'time/%' AND m.run_uuid IN (SELECT run_uuid FROM common);
CREATE INDEX temp.pb_key ON pb (run_uuid, key, step);
CREATE TEMP TABLE summary AS SELECT
  (SELECT count(*) FROM fa) AS finished_a,
  (SELECT count(*) FROM fb) AS finished_b,
  (SELECT count(*) FROM common) AS shared,
  (SELECT count(*) FROM fa JOIN fb USING (run_uuid) WHERE fa.outcome IS NOT fb.outcome)
    AS outcome_differs,
  (SELECT count(*) FROM pa) AS points_a,
  (SELECT count(*) FROM pb) AS points_b,
  (SELECT count(*) FROM pa JOIN pb USING (run_uuid, key, step)
     WHERE pa.is_nan <> pb.is_nan OR pa.value IS NOT pb.value) AS points_differ,
  (SELECT count(*) FROM pa WHERE NOT EXISTS
     (SELECT 1 FROM pb WHERE pb.run_uuid = pa.run_uuid AND pb.key = pa.key AND pb.step = pa.step))
    AS only_a,
  (SELECT count(*) FROM pb) - (SELECT count(*) FROM pa JOIN pb USING (run_uuid, key, step))
    AS only_b;
.mode line
SELECT * FROM summary;
.mode list
SELECT 'runs differing (first 10): ' || group_concat(run_uuid, ' ') FROM (
  SELECT DISTINCT pa.run_uuid FROM pa JOIN pb USING (run_uuid, key, step)
  WHERE pa.is_nan <> pb.is_nan OR pa.value IS NOT pb.value LIMIT 10);
SELECT 'keys differing (first 10): ' || group_concat(key, ' ') FROM (
  SELECT DISTINCT pa.key FROM pa JOIN pb USING (run_uuid, key, step)
  WHERE pa.is_nan <> pb.is_nan OR pa.value IS NOT pb.value LIMIT 10);
SELECT CASE WHEN finished_a = shared AND finished_b = shared AND outcome_differs = 0
              AND points_differ = 0 AND only_a = 0 AND only_b = 0
            THEN 'IDENTICAL outside time/' ELSE 'DIFFERENT' END FROM summary;
SQL
)
echo "$out" | grep -v "^$"
[ "$(echo "$out" | tail -n 1)" = "IDENTICAL outside time/" ]

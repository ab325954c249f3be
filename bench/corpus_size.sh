#!/usr/bin/env bash
# Size of a finished campaign's database: the file, each table and index (SQLite's dbstat), bytes
# and metric rows per finished trace, and the programs with the largest and smallest traces.
# Measures the corpus as it is, at whatever cadence its campaign recorded (configs/dynfault.yaml
# for the paper-scale corpus), where bench_probes only sees three short programs.
#
#   bash bench/corpus_size.sh DB [LIMIT]      LIMIT programs at each end (default 3)
#
# Needs the sqlite3 shell (Debian's is built with dbstat). Opens the database read-only.
set -euo pipefail
if (( $# < 1 || $# > 2 )); then
  echo "usage: bash bench/corpus_size.sh DB [LIMIT]" >&2
  exit 2
fi
db=$1 limit=${2:-3}
if [[ ! -f "$db" ]]; then
  echo "corpus_size.sh: no such database file: $db" >&2
  exit 1
fi
if [[ ! "$limit" =~ ^[1-9][0-9]*$ ]]; then
  echo "corpus_size.sh: LIMIT must be a positive integer, got '$limit'" >&2
  exit 2
fi
command -v sqlite3 > /dev/null || { echo "corpus_size.sh: needs sqlite3 (apt-get install sqlite3)" >&2; exit 1; }
q() { sqlite3 -readonly -batch "$db" "$@"; }
q "SELECT 1 FROM runs LIMIT 1" > /dev/null 2>&1 || {
  echo "corpus_size.sh: $db is not a dynfault database (no runs table)" >&2
  exit 1
}

traces=$(q "SELECT count(*) FROM runs WHERE status = 'FINISHED'")
bytes=$(q "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size")
free=$(q "SELECT freelist_count * page_size FROM pragma_freelist_count, pragma_page_size")
echo "$db: $bytes bytes ($(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1e9 }') GB, $free of them free pages), $traces finished traces"
(( traces > 0 )) || exit 0

echo
echo "by table and index (MB):"
q -separator ' ' "SELECT printf('  %-28s %10.1f', name, sum(pgsize) / 1e6) FROM dbstat
                  GROUP BY name ORDER BY sum(pgsize) DESC LIMIT 12"

metric_bytes=$(q "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = 'metrics'")
rows=$(q "SELECT count(*) FROM metrics")
echo
awk -v b="$bytes" -v m="$metric_bytes" -v r="$rows" -v t="$traces" 'BEGIN {
  printf "per finished trace: %.0f bytes of database, %.0f bytes of metric series, %.0f metric rows (%.1f bytes per row)\n",
         b / t, m / t, r / t, (r > 0 ? m / r : 0) }'

echo
echo "metric rows per trace, by program (largest and smallest $limit):"
# One pass over the metric rows; the largest and smallest are cut from its sorted output.
by_program=$(q "SELECT printf('  %-24s %8.0f', r.program_id, count(*) * 1.0 / count(DISTINCT m.run_uuid))
                FROM metrics m JOIN runs r USING (run_uuid) GROUP BY r.program_id
                ORDER BY count(*) * 1.0 / count(DISTINCT m.run_uuid) DESC")
programs=$(printf '%s\n' "$by_program" | wc -l)
if (( programs <= 2 * limit )); then
  printf '%s\n' "$by_program"
else
  printf '%s\n' "$by_program" | head -n "$limit"
  echo "  ..."
  printf '%s\n' "$by_program" | tail -n "$limit"
fi

#!/usr/bin/env bash
# Storage choices for `events` (issue 13, ingestion): what each costs the write path and the read path, on the real
# schema (BENCHMARKS.md, "Ingestion: storage choices").
#
#   nice -n 19 tests/bench/events_storage.sh [ROWS]      # default 200000
#
# A scratch Postgres database (`t_bench_storage_<pid>`, dropped on exit; `make test-clean` sweeps leftovers) gets
# Vane's migrations (`vane migrate`), then ROWS FeatBit-shaped `FlagValue` events (~370-byte properties, 14 keys)
# are staged as text and inserted into `events` in 1,000-row statements, as the writer batches them
# (`properties::jsonb` from text, `ON CONFLICT (id) DO NOTHING`), once per variant:
#   shipped        jsonb, primary key + 2 secondary indexes, the experiment rollup trigger
#   no-rollup      the same without the rollup trigger
#   no-rollup-json `properties` as json (kept as text, validated, not decomposed)
#   no-rollup-pk   jsonb, primary key only
#   copy-shipped   the shipped table loaded with COPY (`\copy`, 1,000-row chunks, one session), not INSERT
# and a report query over all the rows (evaluations and distinct users per variation: what the raw, not rolled-up
# part of the results and series queries does) is timed on jsonb and json. RUNS (default 3) runs of each; medians.
set -euo pipefail
ROWS=${1:-200000}
RUNS=${RUNS:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VANE=${VANE_BIN:-$ROOT/target/release/vane}
PG=${VANE_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432}
DB=t_bench_storage_$$
URL=$PG/$DB
WORK=$(mktemp -d)
cleanup() {
	psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
sql() { psql "$URL" -qAtc "$1"; }
psql "$PG/postgres" -qc "CREATE DATABASE $DB"
(cd "$WORK" && VANE__DATABASE__URL=$URL VANE__ADMIN__TOKEN=storage-bench-admin-token-0123456789abcd "$VANE" migrate) >/dev/null

ENV=0b5c6f0e-7d1a-4c1e-9d43-5b0f9f3c2a11
USERS=$((ROWS / 10))
sql "CREATE UNLOGGED TABLE staging (n INT PRIMARY KEY, id UUID, distinct_id TEXT, env_id UUID, event TEXT,
       properties TEXT, timestamp TIMESTAMPTZ);
     INSERT INTO staging SELECT i, gen_random_uuid(), '$ENV-flag-'||(i % 50), '$ENV', 'FlagValue',
       jsonb_build_object('route','/Variation/GetMultiOptionVariation','flagId','$ENV-flag-'||(i % 50),'envId','$ENV',
         'accountId','','projectId','','featureFlagKey','flag-'||(i % 50),'sendToExperiment',(i % 5 <> 0),
         'userKeyId','u'||(i % $USERS),'userName','user '||(i % $USERS),
         'variationId',(ARRAY['A','B','C'])[1 + (i % 3)],'tag_0','u'||(i % $USERS),'tag_1','x','tag_2','true',
         'tag_3','')::text,
       timestamptz '2026-01-01' + (i::float8 / $ROWS) * interval '30 days'
     FROM generate_series(1, $ROWS) i"
sql "VACUUM ANALYZE staging"
echo "staged $ROWS events, mean properties $(sql "SELECT round(avg(length(properties))) FROM staging") bytes; $(uptime)"

# The INSERT statements, 1,000 rows each, as the writer sends them.
for ((k = 0; k < ROWS; k += 1000)); do
	echo "INSERT INTO events (id, distinct_id, env_id, event, properties, timestamp)
	  SELECT id, distinct_id, env_id, event, properties::jsonb, timestamp FROM staging WHERE n > $k AND n <= $((k + 1000))
	  ON CONFLICT (id) DO NOTHING;"
done >"$WORK/insert.sql"
psql "$URL" -qc "\\copy (SELECT id, distinct_id, env_id, event, properties, timestamp FROM staging ORDER BY n) TO '$WORK/events.csv' CSV"
split -l 1000 "$WORK/events.csv" "$WORK/chunk."
for f in "$WORK"/chunk.*; do
	echo "\\copy events (id, distinct_id, env_id, event, properties, timestamp) FROM '$f' CSV"
done >"$WORK/copy.sql"

reset() { sql "TRUNCATE events, flag_user_hours, metric_user_hours; CHECKPOINT" >/dev/null; }
median() { sort -n | sed -n "$(((RUNS + 1) / 2))p"; }
# Prints "variant: rows/s (runs)" for loading with $2 (a command).
load() {
	local name=$1 rates=()
	shift
	for _ in $(seq 1 "$RUNS"); do
		reset
		local t0 t1
		t0=$(date +%s.%N)
		"$@"
		t1=$(date +%s.%N)
		[ "$(sql 'SELECT count(*) FROM events')" = "$ROWS" ] || { echo "$name: row count mismatch" >&2; exit 1; }
		rates+=("$(python3 -c "print(round($ROWS / ($t1 - $t0)))")")
	done
	echo "$name: median $(printf '%s\n' "${rates[@]}" | median) rows/s (runs: ${rates[*]})"
}
inserts() { psql "$URL" -q -f "$WORK/insert.sql" >/dev/null; }
copies() { psql "$URL" -q -f "$WORK/copy.sql" >/dev/null; }
# The report query over every row, timed RUNS times (ms, server side).
report() {
	local name=$1 times=()
	for _ in $(seq 1 "$RUNS"); do
		times+=("$(psql "$URL" -qAt -c '\timing on' -c "SELECT properties->>'variationId', count(*),
		  count(DISTINCT properties->>'userKeyId') FROM events WHERE env_id = '$ENV' GROUP BY 1" |
			grep -o 'Time: [0-9.]*' | grep -o '[0-9.]*$')")
	done
	echo "$name: median $(printf '%s\n' "${times[@]}" | median) ms (runs: ${times[*]})"
}
trigger=$(sql "SELECT tgname FROM pg_trigger WHERE tgrelid = 'events'::regclass AND NOT tgisinternal" | head -1)
[ -n "$trigger" ] || { echo "no rollup trigger on events" >&2; exit 1; }

load shipped inserts
load copy-shipped copies
report "report query, jsonb"
sql "ALTER TABLE events DISABLE TRIGGER $trigger"
load no-rollup inserts
# The secondary indexes as the migrations made them, to drop and recreate.
indexes=$(sql "SELECT indexname FROM pg_indexes WHERE tablename = 'events' AND indexname <> 'events_pkey'" | paste -sd, -)
definitions=$(sql "SELECT indexdef || ';' FROM pg_indexes WHERE tablename = 'events' AND indexname <> 'events_pkey'")
echo "secondary indexes: $indexes"
sql "DROP INDEX $indexes"
load no-rollup-pk inserts
sql "$definitions ALTER TABLE events ALTER COLUMN properties TYPE json USING properties::json"
sed -i 's/properties::jsonb/properties::json/' "$WORK/insert.sql"
load no-rollup-json inserts
report "report query, json"
echo "storage: $(sql "SELECT pg_size_pretty(pg_total_relation_size('events'))") (json); $(uptime)"

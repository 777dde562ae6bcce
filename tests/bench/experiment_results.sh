#!/usr/bin/env bash
# Times GET …/experiments/{id}/results and …/series on N generated events (BENCHMARKS.md, "Experiment results").
#
#   nice -n 19 tests/bench/experiment_results.sh 1000000 [postgres|sqlite]
#
# A scratch database (Postgres `t_bench_exp_<pid>`, swept by `make test-clean` if left behind; or a SQLite file in
# a temp dir) gets an environment, a 3-variation flag and an experiment through the real API, then N events
# generated in SQL: 30 % exposures of the experiment flag (N/10 users, several evaluations each, 80 % sent to the
# experiment), 10 % `checkout` events of those users, 40 % evaluations of 50 other flags, 20 % `checkout` events
# of 20 other environments. Each request is timed RUNS (default 5) times with curl; EXTRA_INDEX=1 also times them
# with an `(env_id, distinct_id, timestamp)` index (measured, not adopted: BENCHMARKS.md). KEEP=1 keeps the database; GENERATE_ONLY=1 stops after generating (and keeps it).
set -euo pipefail
N=${1:-1000000}
BACKEND=${2:-postgres}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VANE=${VANE_BIN:-$ROOT/target/debug/vane}
PG=${VANE_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432}
TOKEN=experiment-bench-admin-token-0123456789
WORK=$(mktemp -d)
DB=t_bench_exp_$$
if [ "$BACKEND" = postgres ]; then URL=$PG/$DB; else URL="sqlite://$WORK/vane.db?mode=rwc"; fi
cleanup() {
  [ -n "${VANE_PID:-}" ] && kill "$VANE_PID" 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "kept database $DB (drop it yourself)"; return; fi
  [ "$BACKEND" = postgres ] && psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  rm -rf "$WORK"
}
trap cleanup EXIT
[ "$BACKEND" = postgres ] && psql "$PG/postgres" -qc "CREATE DATABASE $DB"
sql() { if [ "$BACKEND" = postgres ]; then psql "$URL" -qAtc "$1"; else sqlite3 "$WORK/vane.db" "$1"; fi; }

# Start vane on port 0 and read the port from its banner.
(cd "$WORK" && VANE__DATABASE__URL=$URL VANE__ADMIN__TOKEN=$TOKEN VANE__DEMO__ENABLED=false VANE__HTTP__ADDR=127.0.0.1:0 \
  exec "$VANE" >"$WORK/log" 2>&1) &
VANE_PID=$!
for _ in $(seq 1 600); do grep -q "listening on port" "$WORK/log" 2>/dev/null && break; sleep 0.1; done
PORT=$(grep -o "listening on port [0-9]*" "$WORK/log" | grep -o "[0-9]*$")
API=http://127.0.0.1:$PORT/api/v1
call() { curl -sf --max-time 300 -X "$1" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' "$API$2" ${3:+-d "$3"}; }
ENV=$(call POST /environments '{"key":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
call PUT "/environments/$ENV/feature-flags/exp-flag" '{"key":"exp-flag","name":"exp","variationType":"string",
  "variations":[{"id":"A","name":"A","value":"a"},{"id":"B","name":"B","value":"b"},{"id":"C","name":"C","value":"c"}],
  "isEnabled":true,"disabledVariationId":"A","fallthrough":{"includedInExpt":true,"variations":[{"id":"A","rollout":[0,1],"exptRollout":1}]}}' >/dev/null
EXP=$(call POST "/environments/$ENV/experiments" '{"name":"bench","flagKey":"exp-flag","baselineVariationId":"A",
  "metrics":[{"event":"checkout","type":"binomial","successCriterion":"higher"},{"event":"checkout","type":"numeric","successCriterion":"higher"}],
  "start":"2026-01-01T00:00:00Z","end":"2026-02-01T00:00:00Z"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

EXPOSURES=$((N * 3 / 10)); CONVERSIONS=$((N / 10)); OTHER_FLAGS=$((N * 4 / 10)); OTHER_ENVS=$((N - EXPOSURES - CONVERSIONS - OTHER_FLAGS))
USERS=$((N / 10))
echo "generating $N events ($BACKEND)…"
started=$(date +%s)
if [ "$BACKEND" = postgres ]; then
  # One statement per kind; timestamps spread over January 2026 (inside the window).
  ev() { # $1 rows, $2 env expr, $3 distinct_id expr, $4 event, $5 properties expr
    sql "INSERT INTO events (id, distinct_id, env_id, event, properties, timestamp)
         SELECT gen_random_uuid(), $3, $2, '$4', $5,
                timestamptz '2026-01-01' + (i::float8 / $1) * interval '30 days' FROM generate_series(1, $1) i"
  }
  FLAGPROPS="jsonb_build_object('route','/Variation/GetMultiOptionVariation','flagId','$ENV-exp-flag','envId','$ENV',
    'accountId','','projectId','','featureFlagKey','exp-flag','sendToExperiment',(i % 5 <> 0),'userKeyId','u'||(i % $USERS),
    'userName','user '||(i % $USERS),'variationId',(ARRAY['A','B','C'])[1 + (i % $USERS) % 3],'tag_0','u'||(i % $USERS),
    'tag_1','x','tag_2','true','tag_3','')"
  METRICPROPS="jsonb_build_object('route','index/metric','type','CustomEvent','eventName','checkout','numericValue',(i % 7) * 1.5,
    'user',jsonb_build_object('keyId','u'||((i * 7) % $USERS),'name','n'),'applicationType','bench','projectId','','envId','$ENV',
    'accountId','','tag_0','u','tag_1','1','tag_2','')"
  ev $EXPOSURES "'$ENV'::uuid" "'$ENV-exp-flag'" FlagValue "$FLAGPROPS"
  ev $CONVERSIONS "'$ENV'::uuid" "'checkout'" CustomEvent "$METRICPROPS"
  ev $OTHER_FLAGS "'$ENV'::uuid" "'$ENV-other-'||(i % 50)" FlagValue "$FLAGPROPS"
  ev $OTHER_ENVS "md5('env'||(i % 20))::uuid" "'checkout'" CustomEvent "$METRICPROPS"
  sql "VACUUM ANALYZE events"
else
  echo "SQLite generation: use a recursive CTE (not implemented in this script)" >&2; exit 1
fi
echo "generated in $(( $(date +%s) - started )) s; events size: $(sql "SELECT pg_size_pretty(pg_total_relation_size('events'))")"
[ -n "${GENERATE_ONLY:-}" ] && { KEEP=1; echo "env $ENV experiment $EXP"; exit 0; }

time_it() { # $1 label, $2 path
  local times=()
  for _ in $(seq 1 "${RUNS:-5}"); do times+=("$(curl -sf --max-time 300 -o /dev/null -w '%{time_total}' -H "authorization: Bearer $TOKEN" "$API$2")"); done
  local median
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (${#times[@]} + 1) / 2 ))p")
  printf '%s: %s  (median %s s)\n' "$1" "${times[*]}" "$median"
}
RESULTS="/environments/$ENV/experiments/$EXP/results"
SERIES="/environments/$ENV/insights/feature-flags/exp-flag/series?from=2026-01-01T00:00:00Z&to=2026-01-31T00:00:00Z&interval=day"
call GET "$RESULTS" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("exposed per arm:", [v["exposed"] for v in r["metrics"][0]["variations"]])'
echo "load: $(uptime)"
time_it "results (2 metrics on one event: one query)" "$RESULTS"
time_it "series (30 daily buckets)" "$SERIES"
if [ -n "${EXTRA_INDEX:-}" ]; then # the candidate index the migration does not add, for comparison
  sql "CREATE INDEX ix_events_env_id_distinct_id_timestamp ON events (env_id, distinct_id, timestamp)"
  sql "ANALYZE events"
  time_it "results, with an extra (env_id, distinct_id, timestamp) index" "$RESULTS"
  time_it "series, with it" "$SERIES"
fi
echo "load: $(uptime)"

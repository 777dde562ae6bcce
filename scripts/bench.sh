#!/usr/bin/env bash
# Runs one vane-bench scenario against a fresh release node on this machine: the node pinned to CPU 0, the tool to
# CPU 1 (so they do not compete for a core), the JSON summary in target/bench/. Used by `make bench-<scenario>`.
#
#   scripts/bench.sh SCENARIO [vane-bench options…]
#
# BENCH_CLUSTER=1 runs the node on its own Postgres database and RabbitMQ vhost (created here, dropped on exit);
# otherwise it runs standalone on SQLite in a temporary directory. BENCH_PORT (default 5100) picks the port.
# BENCH_SQL='…' runs SQL on the cluster node's database once it is up (e.g. `DROP TRIGGER events_rollup ON events` to
# measure what the experiment rollup costs ingestion).
# BENCH_OTLP=http://127.0.0.1:4317 exports the node's traces and metrics there (scripts/otlp_sink.py receives them).
set -euo pipefail
scenario=$1
shift
root=$(cd "$(dirname "$0")/.." && pwd)
token=${VANE_BENCH_ADMIN_TOKEN:-bench-admin-token-0123456789abcdefghijkl} # 40 characters
port=${BENCH_PORT:-5100}
out="$root/target/bench"
mkdir -p "$out"
cargo build --release --features load-tool --bin vane --bin vane-bench
dir=$(mktemp -d)
node_env=(VANE__ADMIN__TOKEN="$token" VANE__DEMO__ENABLED=false VANE__HTTP__ADDR="127.0.0.1:$port"
	VANE__TELEMETRY__FILTER=warn)
[ -n "${BENCH_OTLP:-}" ] && node_env+=(VANE__TELEMETRY__OTLP_ENDPOINT="$BENCH_OTLP")
if [ "${BENCH_CLUSTER:-}" = 1 ]; then
	name="vane_bench_$$"
	psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $name"
	rabbitmqctl -q add_vhost "$name" && rabbitmqctl -q set_permissions -p "$name" guest '.*' '.*' '.*'
	export VANE__DATABASE__URL="postgres://postgres@127.0.0.1:5432/$name"
	node_env+=(VANE__DATABASE__URL="$VANE__DATABASE__URL" VANE__BUS__AMQP_URL="amqp://guest:guest@127.0.0.1:5672/$name")
fi
(cd "$dir" && exec env "${node_env[@]}" taskset -c 0 "$root/target/release/vane") >"$dir/node.log" 2>&1 &
pid=$!
cleanup() {
	kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	if [ "${BENCH_CLUSTER:-}" = 1 ]; then
		psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)"
		rabbitmqctl -q delete_vhost "$name"
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
for _ in $(seq 1 120); do
	curl -sf "http://127.0.0.1:$port/health/liveness" >/dev/null && break
	sleep 0.5
done
if [ -n "${BENCH_SQL:-}" ]; then psql "${VANE__DATABASE__URL:?BENCH_SQL needs BENCH_CLUSTER=1}" -qc "$BENCH_SQL"; fi
echo "load before: $(uptime)"
taskset -c 1 "$root/target/release/vane-bench" "$scenario" --url "http://127.0.0.1:$port" --admin-token "$token" \
	--server-pid "$pid" --json "$out/$scenario-$(date +%Y%m%dT%H%M%S).json" "$@"
echo "load after: $(uptime)"

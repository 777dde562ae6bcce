#!/usr/bin/env bash
# Polling side by side (issue 13, scenario 6): the same load tool (wrk) against Vane's `latest-all`, Unleash Edge
# 20.1.0's `/api/client/features` (offline mode) and nginx serving a static file, each answering with the same
# number of bytes, each server pinned to CPU 0 and wrk to CPU 1. Used by `make bench-polling-peers`.
#
#   scripts/bench_polling_peers.sh [RUNS] [SECONDS]
#
# Needs wrk and nginx (Debian packages) and unleash-edge on PATH or in UNLEASH_EDGE (`cargo install
# unleash-edge@20.1.0 --no-default-features --locked` builds it in ~7 min); nothing of it is vendored. FLAGS (default
# 12) sets Vane's environment size; the others get a payload of the same length. CONNECTIONS (default 32).
set -euo pipefail
runs=${1:-3}
seconds=${2:-10}
flags=${FLAGS:-12}
connections=${CONNECTIONS:-32}
root=$(cd "$(dirname "$0")/.." && pwd)
edge=${UNLEASH_EDGE:-$(command -v unleash-edge || true)}
[ -x "$edge" ] || { echo "unleash-edge not found: set UNLEASH_EDGE or put it on PATH" >&2; exit 1; }
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "needs wrk and nginx (apt-get install)" >&2; exit 1; }
token=bench-admin-token-0123456789abcdefghijkl
port=5110
dir=$(mktemp -d)
chmod 755 "$dir" # nginx's workers (not root) read the static file from it
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null && kill -CONT "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$dir"
}
trap cleanup EXIT
wait_up() {
	for _ in $(seq 1 120); do curl -sf -o /dev/null "$@" && return 0; sleep 0.25; done
	echo "server did not come up: $*" >&2
	exit 1
}
# Prints requests/s of each run of wrk against URL with the extra wrk arguments.
measure() {
	local name=$1 url=$2
	shift 2
	for i in $(seq 1 "$runs"); do
		rate=$(taskset -c 1 wrk -t1 -c"$connections" -d"${seconds}s" --latency "$@" "$url" |
			awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF} END {printf "%s req/s, p99 %s%s", rps, p99, (bad ? ", NON-2XX " bad : "")}')
		echo "$name run $i: $rate"
	done
}

cargo build --release --features load-tool --bin vane
echo "load before: $(uptime)"

# Vane: standalone (SQLite), FLAGS boolean flags.
(cd "$dir" && exec env VANE__ADMIN__TOKEN="$token" VANE__DEMO__ENABLED=false VANE__HTTP__ADDR="127.0.0.1:$port" \
	VANE__TELEMETRY__FILTER=warn taskset -c 0 "$root/target/release/vane") >"$dir/vane.log" 2>&1 &
vane_pid=$!
pids+=("$vane_pid")
wait_up "http://127.0.0.1:$port/health/liveness"
api="http://127.0.0.1:$port/api/v1"
env_json=$(curl -sf -H "authorization: Bearer $token" -H 'content-type: application/json' -d '{"key":"polling-peers"}' "$api/environments")
read -r env_id secret < <(python3 -c 'import json,sys; e=json.load(sys.stdin); print(e["id"], next(s["value"] for s in e["secrets"] if s["type"]=="server"))' <<<"$env_json")
for i in $(seq 1 "$flags"); do
	curl -sf -o /dev/null -X PUT -H "authorization: Bearer $token" -H 'content-type: application/json' \
		-d "{\"name\":\"flag $i\",\"variationType\":\"boolean\",\"isEnabled\":true,\"disabledVariationId\":\"f\",\"variations\":[{\"id\":\"t\",\"value\":\"true\"},{\"id\":\"f\",\"value\":\"false\"}],\"fallthrough\":{\"includedInExpt\":true,\"variations\":[{\"id\":\"t\",\"rollout\":[0,1]}]}}" \
		"$api/environments/$env_id/feature-flags/flag-$i"
done
vane_url="http://127.0.0.1:$port/api/public/sdk/server/latest-all"
curl -sf -H "authorization: $secret" "$vane_url" >"$dir/vane-body.json"
bytes=$(stat -c %s "$dir/vane-body.json")
echo "payload: $bytes bytes (Vane latest-all, $flags flags)"

# Unleash Edge offline: a features file whose response has the same length. The toggle count is sized from a
# 10-toggle response, then the first toggle's description is padded by the difference (Edge re-serializes what it
# loads, so its body, not the file, is measured).
features() { # $1 toggles, $2 padding
	python3 - "$1" "$2" "$dir/features.json" <<'PY'
import json, sys
count, pad, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
features = [{"name": f"flag-{i}", "description": "", "type": "release", "project": "default", "enabled": True,
             "stale": False, "impressionData": False, "variants": [],
             "strategies": [{"name": "default", "parameters": {}, "constraints": []}]} for i in range(count)]
features[0]["description"] = "d" * pad
open(path, "w").write(json.dumps({"version": 2, "features": features}, separators=(",", ":")))
PY
}
edge_port=5111
edge_token='*:development.0123456789abcdef0123456789abcdef'
edge_url="http://127.0.0.1:$edge_port/api/client/features"
# Starts Edge on features.json and sets `got` to the length of its response.
start_edge() {
	taskset -c 0 "$edge" --port "$edge_port" --interface 127.0.0.1 offline --bootstrap-file "$dir/features.json" \
		--client-tokens "$edge_token" >"$dir/edge.log" 2>&1 &
	edge_pid=$!
	pids+=("$edge_pid")
	wait_up -H "authorization: $edge_token" "$edge_url"
	got=$(curl -sf -H "authorization: $edge_token" "$edge_url" | wc -c)
}
restart_edge() { kill "$edge_pid" && wait "$edge_pid" 2>/dev/null || true; features "$1" "$2"; start_edge; }
# Size the toggle count from a 10-toggle response (rounded down), then pad the difference.
features 10 0
start_edge
count=$((10 * bytes / got))
restart_edge "$count" 0
restart_edge "$count" $((bytes - got))
echo "payload: $got bytes (Unleash Edge /api/client/features)"
[ "$got" = "$bytes" ] || echo "warning: Unleash Edge's body is $got bytes, not $bytes" >&2

# nginx: the same bytes as a static file, one worker, access log off.
mkdir -p "$dir/www"
cp "$dir/vane-body.json" "$dir/www/latest-all.json"
printf '%s\n' "worker_processes 1; pid $dir/nginx.pid; error_log $dir/nginx-error.log;" \
	'events { worker_connections 1024; }' \
	"http { access_log off; server { listen 127.0.0.1:5112; root $dir/www; } }" >"$dir/nginx.conf"
taskset -c 0 nginx -c "$dir/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
pids+=("$nginx_pid")
nginx_url="http://127.0.0.1:5112/latest-all.json"
wait_up "$nginx_url"

# Each server is measured alone on CPU 0: the others are stopped (SIGSTOP) meanwhile.
alone() { for p in "${pids[@]}"; do [ "$p" = "$1" ] || kill -STOP "$p" 2>/dev/null || true; done; kill -CONT "$1"; }
alone "$vane_pid"
measure "Vane latest-all" "$vane_url" -H "authorization: $secret"
alone "$edge_pid"
measure "Unleash Edge 20.1.0" "$edge_url" -H "authorization: $edge_token"
alone "$nginx_pid"
measure "nginx static file" "$nginx_url"
for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null || true; done
echo "load after: $(uptime)"

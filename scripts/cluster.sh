#!/usr/bin/env bash
# A local two-node Vane cluster behind nginx, with Prometheus scraping both nodes (no Docker needed).
#   scripts/cluster.sh up     build, start nodes on :5101/:5102, nginx on :5100, Prometheus on :9091
#   scripts/cluster.sh down   stop everything started by `up`
# Needs Postgres, RabbitMQ and Redis on localhost (as for `make test`) and Debian's nginx and prometheus packages
# (`apt-get install -y nginx prometheus`). State, logs and pid files live in target/cluster/.
set -euo pipefail
cd "$(dirname "$0")/.."

RUN_DIR=${VANE_CLUSTER_DIR:-$PWD/target/cluster}
LB=${VANE_CLUSTER_LB_PORT:-5100}
NODE_PORTS=(5101 5102)
PROM_PORT=${VANE_CLUSTER_PROM_PORT:-9091}
DB=${VANE_CLUSTER_DB:-vane_cluster}
TOKEN=${VANE__ADMIN__TOKEN:-$(openssl rand -hex 32)}

render() { # template output
	sed -e "s|@RUN_DIR@|$RUN_DIR|g" -e "s|@USER@|$(id -un)|g" -e "s|@LISTEN@|127.0.0.1:$LB|g" \
		-e "s|@NODE_A@|127.0.0.1:${NODE_PORTS[0]}|g" -e "s|@NODE_B@|127.0.0.1:${NODE_PORTS[1]}|g" "$1" >"$2"
}

up() {
	mkdir -p "$RUN_DIR"
	cargo build --release --bin vane
	psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 \
		|| psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB"
	for i in 0 1; do
		VANE__HTTP__ADDR=127.0.0.1:${NODE_PORTS[$i]} VANE__DATABASE__URL=postgres://postgres@127.0.0.1:5432/$DB \
			VANE__BUS__AMQP_URL=amqp://guest:guest@127.0.0.1:5672/%2f VANE__CACHE__REDIS_URL=redis://127.0.0.1:6379 \
			VANE__ADMIN__TOKEN=$TOKEN VANE__TELEMETRY__FORMAT=json \
			nohup target/release/vane serve >"$RUN_DIR/node-$i.log" 2>&1 &
		echo $! >"$RUN_DIR/node-$i.pid"
	done
	render scripts/cluster/nginx.conf.in "$RUN_DIR/nginx.conf"
	nginx -t -c "$RUN_DIR/nginx.conf" -p "$RUN_DIR"
	nohup nginx -c "$RUN_DIR/nginx.conf" -p "$RUN_DIR" >"$RUN_DIR/nginx.out" 2>&1 &
	render scripts/cluster/prometheus.yml.in "$RUN_DIR/prometheus.yml"
	promtool check config "$RUN_DIR/prometheus.yml"
	nohup prometheus --config.file="$RUN_DIR/prometheus.yml" --storage.tsdb.path="$RUN_DIR/prometheus" \
		--web.listen-address=127.0.0.1:$PROM_PORT >"$RUN_DIR/prometheus.log" 2>&1 &
	echo $! >"$RUN_DIR/prometheus.pid"
	for port in "${NODE_PORTS[@]}"; do
		for _ in $(seq 1 60); do target/release/vane ready --url "http://127.0.0.1:$port" && break; sleep 1; done
	done
	echo "cluster up: SDKs → http://127.0.0.1:$LB (ws://127.0.0.1:$LB), Prometheus http://127.0.0.1:$PROM_PORT"
	echo "admin token: $TOKEN; demo secrets: target/release/vane secrets (with the same VANE__DATABASE__URL)"
}

down() {
	for f in "$RUN_DIR"/node-*.pid "$RUN_DIR"/prometheus.pid "$RUN_DIR"/nginx.pid; do
		[ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null || true
		rm -f "$f"
	done
	echo "cluster stopped (nodes drain: SDKs get 1001 and reconnect elsewhere)"
}

case "${1:-up}" in
up) up ;;
down) down ;;
*) echo "usage: $0 [up|down]" >&2; exit 2 ;;
esac

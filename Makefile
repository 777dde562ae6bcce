# Thin wrappers; the logic lives in cargo, .ci/run and docker/.
.PHONY: run test lint fuzz deny bench bench-storm bench-held bench-fanout bench-large bench-ingest bench-polling bench-polling-peers ci services-up services-down sdk-deps test-clean cluster cluster-down

run:
	cargo run --release

# Needs Postgres, RabbitMQ and Redis on localhost (`make services-up` with Docker, or your own) and the
# pinned SDKs (`make sdk-deps`, done by `make test` itself).
test: sdk-deps
	cargo nextest run --workspace --features load-tool --no-fail-fast

sdk-deps:
	cd tests/sdk && { [ -d node_modules/@featbit/node-server-sdk ] || npm ci --no-audit --no-fund; }
	[ -x tests/sdk/.venv/bin/python ] || python3 -m venv tests/sdk/.venv
	tests/sdk/.venv/bin/python -c "import fbclient, scipy" 2>/dev/null || tests/sdk/.venv/bin/python -m pip install -q -r tests/sdk/requirements.txt

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --features load-tool -- -D warnings

bench:
	cargo bench -p vane-actors

# Each fuzz target for FUZZ_SECONDS, one after another (README "Fuzzing"). RUSTC_BOOTSTRAP lets the stable
# toolchain take cargo-fuzz's -Z flags; `-s none`: the code forbids unsafe, and without ASan the build is ~2x faster.
# New inputs go to fuzz/corpus-grown/ (ignored); only fuzz/corpus/ seeds are committed.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= token ws_message flag_eval track_body
fuzz:
	cd fuzz && for t in $(FUZZ_TARGETS); do mkdir -p corpus-grown/$$t && \
		RUSTC_BOOTSTRAP=1 nice -n 15 cargo fuzz run -s none $$t corpus-grown/$$t corpus/$$t -- \
		-dict=json.dict -max_len=16384 -max_total_time=$(FUZZ_SECONDS) || exit 1; done

# Dependency policy (deny.toml): banned crates, licences and sources; advisories need the network.
deny:
	cargo deny --all-features check bans licenses sources

# One vane-bench scenario each, against a fresh release node pinned to CPU 0 with the tool on CPU 1
# (scripts/bench.sh; options after ARGS=, e.g. `make bench-storm ARGS="--connections 5000"`). See BENCHMARKS.md.
bench-storm:
	scripts/bench.sh storm --connections 15000 --concurrency 50 $(ARGS)

bench-held:
	scripts/bench.sh held --sizes 2000,6000,12000,18000 $(ARGS)

bench-fanout:
	BENCH_CLUSTER=1 scripts/bench.sh fanout --sessions 10000 --changes 10 --connect-concurrency 100 $(ARGS)

bench-large:
	scripts/bench.sh large --sessions 10000 --client-syncs 50 $(ARGS)

bench-ingest:
	BENCH_CLUSTER=1 scripts/bench.sh ingest --events 400000 --concurrency 16 $(ARGS)

bench-polling:
	scripts/bench.sh polling --requests 400000 --concurrency 32 --procs 2 $(ARGS)

# Polling side by side with Unleash Edge 20.1.0 and nginx at equal payload bytes, all driven by wrk
# (scripts/bench_polling_peers.sh: needs wrk, nginx and unleash-edge; see BENCHMARKS.md).
bench-polling-peers:
	scripts/bench_polling_peers.sh

ci:
	bash .ci/run

services-up:
	docker compose -f docker/compose.yaml -f docker/compose.ports.yaml up -d --wait

services-down:
	docker compose -f docker/compose.yaml -f docker/compose.ports.yaml down -v

# Two local nodes behind Debian's nginx on :5100, Prometheus on :9091 (see scripts/cluster.sh).
cluster:
	scripts/cluster.sh up

cluster-down:
	scripts/cluster.sh down

# Sweeps test databases, vhosts and Redis keys left behind by interrupted or failed test runs.
test-clean:
	psql -h 127.0.0.1 -U postgres -Atc "SELECT datname FROM pg_database WHERE datname LIKE 't\_%'" | \
		xargs -r -I{} psql -h 127.0.0.1 -U postgres -qc 'DROP DATABASE IF EXISTS "{}" WITH (FORCE)'
	rabbitmqctl -q list_vhosts | grep '^t-' | xargs -r -n1 rabbitmqctl -q delete_vhost
	redis-cli --scan --pattern 't:*' | xargs -r redis-cli del >/dev/null

# Ledgerline — `make demo` brings the system up, `make test` runs every test.
SHELL := bash
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
export CARGO_TARGET_DIR := $(TARGET_DIR)
LEDGERLINE := $(TARGET_DIR)/debug/ledgerline
export LEDGERLINE_BIN := $(LEDGERLINE)
DEMO_ADDR ?= 127.0.0.1:8080

.PHONY: demo test test-rust test-web test-chaos test-chaos-cluster test-bench-smoke test-api-fuzz chaos chaos-cluster build web check-infra proto lint clean-test-data bench

check-infra:
	@scripts/check-infra.sh

build:
	cargo build -p ledgerline -p ledgerctl

web:
	cd services/web && npm ci --no-audit --no-fund && npm run build

## The whole system on one port, demo sign-in on.
demo: check-infra build web
	@echo
	@echo "  Ledgerline is starting at http://$(DEMO_ADDR)/  (Ctrl-C stops it)"
	@echo "  Demo users: alice, bob (any id of A-Z a-z 0-9 _ - works); 'ops' with role operator."
	@echo "  Try it from a terminal:"
	@echo "    TOKEN=\$$($(TARGET_DIR)/debug/ledgerctl login alice)"
	@echo "    $(TARGET_DIR)/debug/ledgerctl watch alice        # in a second terminal: the live frames"
	@echo "    curl -X POST http://$(DEMO_ADDR)/commands/open-account -H \"Authorization: Bearer \$$TOKEN\" -H 'Content-Type: application/json' -d '{\"accountId\":\"acc-1\"}'"
	@echo "    curl -X POST http://$(DEMO_ADDR)/commands/deposit -H \"Authorization: Bearer \$$TOKEN\" -H 'Content-Type: application/json' -d '{\"accountId\":\"acc-1\",\"amount\":\"500.00\"}'"
	@echo
	DEMO_LOGIN=true HTTP_ADDR=$(DEMO_ADDR) WEB_DIR=services/web/dist $(LEDGERLINE) all

## Every test: Rust (unit, PostgreSQL, NATS, end to end) and the browser app in Chromium.
test: check-infra test-rust test-web test-deploy test-api-fuzz test-chaos test-chaos-cluster test-bench-smoke

test-rust:
	cargo test --workspace --no-fail-fast

test-web: build
	cd services/web && npm ci --no-audit --no-fund && npm test

## proto/openapi.json checked from the outside: schemathesis (every check, a fixed
## seed) over every route of a private `ledgerline all`, as a user and as an operator.
## Fails on any failure. API_FUZZ_EXAMPLES sets the examples per operation.
test-api-fuzz: build
	python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -r scripts/api-fuzz-requirements.txt
	python3 scripts/api-fuzz.py

## The chaos run (docs/RELIABILITY.md): separate processes on their own NATS and
## PostgreSQL, under load, SIGKILLed, NATS restarted, PostgreSQL stopped 10 s; then verified.
CHAOS_ARGS ?= --duration 60 --rate 40
chaos: build
	$(TARGET_DIR)/debug/ledgerctl chaos $(CHAOS_ARGS)

## A short chaos run, part of `make test`.
test-chaos: build
	$(TARGET_DIR)/debug/ledgerctl chaos --duration 20 --rate 15 --seed 7 --base-port 17500

## The chaos run on the scaled-out shape of k8s/ (docs/RELIABILITY.md): three
## clustered nats-servers, two replicas of every service, NATS nodes and replicas
## SIGKILLed, then a rolling restart; settings from deploy/topology.json.
CHAOS_CLUSTER_ARGS ?= --duration 120 --rate 30 --accounts 3
chaos-cluster: build
	$(TARGET_DIR)/debug/ledgerctl chaos-cluster $(CHAOS_CLUSTER_ARGS)

## A short chaos-cluster run, part of `make test`.
test-chaos-cluster: build
	$(TARGET_DIR)/debug/ledgerctl chaos-cluster --duration 40 --rate 10 --seed 5 --base-port 17700

## The load generator at a tiny size on a private Ledgerline (its own NATS
## and PostgreSQL): keeps `make bench`'s machinery working (its plots too);
## fails unless every 202 got exactly one outcome. No timing is asserted.
test-bench-smoke: build
	$(TARGET_DIR)/debug/ledgerctl bench load --private --ledgerline $(LEDGERLINE) \
		--mode open --rate 50 --duration 3 --users 5 --accounts 1 --drain 60 \
		--base-port 17450 --work-dir target/bench-smoke --plots target/bench-smoke

## Regenerate proto/schemas and proto/openapi.json from the Rust types and routers.
proto:
	UPDATE_SCHEMAS=1 cargo test -p ledgerline-contracts schemas
	UPDATE_SCHEMAS=1 cargo test -p ledgerline --lib api_document

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

## Drop databases and streams left by interrupted test runs.
clean-test-data:
	psql -h 127.0.0.1 -U postgres -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'll\_%' OR datname LIKE 'webt\_%'" | \
	  while read -r db; do psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE \"$$db\" WITH (FORCE)"; done

## Validate Dockerfile, docker-compose.yml, deploy/ and k8s/ offline (no engine, no cluster).
.PHONY: test-deploy compose-up compose-down
test-deploy:
	python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -r deploy/requirements.txt
	python3 deploy/validate.py

## The whole system as containers (needs a Docker engine): http://localhost:8080/
compose-up:
	docker compose up --build --detach --wait
	@echo "Ledgerline: http://localhost:8080/  Jaeger: http://localhost:16686/  Prometheus: http://localhost:9090/"

compose-down:
	docker compose down

## Benchmarks (bench/README.md): a release build, every scenario on a private NATS and
## PostgreSQL, then bench/results/<date>.md and .json. BENCH_ARGS="--only a,b" runs some.
BENCH_ARGS ?=
bench:
	cargo build --release -p ledgerline -p ledgerctl -p bench-baseline -p bench-store -p bench-cqrs-es -p bench-ws-broadcast
	cd bench/node-ws-hub && npm ci --no-audit --no-fund
	ulimit -n $$(ulimit -Hn) && $(TARGET_DIR)/release/ledgerctl bench suite $(BENCH_ARGS)

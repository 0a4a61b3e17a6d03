# Signet: `make run` starts the demo gateway, `make test` checks everything.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c

PKI_DIR ?= .pki
WASM := target/wasm32-wasip1/release/signet.wasm
# Test-only build with the `test-trap` feature (tests/test_faults.py); never shipped.
TRAP_DIR := target/trap
# Measurement-only build with the `trace-calls` feature (filters/wasm/src/trace.rs) for
# `scripts/bench --trace`; never shipped.
TRACE_DIR := target/trace
PYTEST_TIMEOUT ?= 900
# ENVOY=/path/to/envoy (your own binary) is passed through to every step.
export ENVOY

.PHONY: setup build wasm wasm-trap wasm-trace cli pki run test lint unit integration clean bench bench-trace bench-perf fuzz dist k8s soak docs examples

setup:
	scripts/setup

build: wasm cli

wasm: setup
	cargo build --release --target wasm32-wasip1 -p signet-wasm

# The module with a trap trigger (filters/wasm/src/trap.rs) for the fault tests, in its own
# target dir so it never overwrites the shipped $(WASM); cargo makes it a no-op when warm.
wasm-trap: setup
	cargo build --release --target wasm32-wasip1 -p signet-wasm --features test-trap --target-dir $(TRAP_DIR)

wasm-trace: setup
	cargo build --release --target wasm32-wasip1 -p signet-wasm --features trace-calls --target-dir $(TRACE_DIR)

cli:
	cargo build --release -p signet-cli

# The module as an artifact (dist/): built twice from HEAD and compared byte for byte, its
# SHA-256 and its OCI image (scripts/dist).
dist: setup
	scripts/dist

# deploy/: the Istio and Envoy Gateway manifests of the demo gateway (scripts/render-k8s; kept
# in sync by tests/test_k8s.py). For your own: your params, --set pki_dir=DIR, --oci dist/oci.
K8S_PARAMS := --params envoy/platform.demo.json --params envoy/profiles/generic.json \
	--params deploy/k8s.params.json
k8s: setup
	.venv/bin/python scripts/render-k8s --target istio $(K8S_PARAMS) --out deploy/istio/platform.yaml
	.venv/bin/python scripts/render-k8s --target envoy-gateway $(K8S_PARAMS) \
		--out deploy/envoy-gateway/platform.yaml

# envoy/examples/<platform>/<side>.yaml: each shipped example as plain Envoy YAML, rendered from
# its <side>.params.json (docs/examples.md; tests/test_examples.py fails while one is stale).
examples:
	for p in envoy/examples/*/*.params.json; do scripts/render --params "$$p" --out "$${p%.params.json}.yaml"; done

pki: setup
	scripts/pki demo $(PKI_DIR) >/dev/null
	@echo "pki: demo PKI in $(PKI_DIR)"

run: wasm pki
	PKI_DIR=$(PKI_DIR) scripts/run

lint: setup
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p signet-wasm --target wasm32-wasip1 -- -D warnings
	cargo clippy -p signet-wasm --target wasm32-wasip1 --features test-trap -- -D warnings
	cargo clippy -p signet-wasm --all-targets --features test-trap -- -D warnings

# Regenerates the generated documents (reason codes, configuration reference and its schemas);
# `make unit` fails while they are stale.
docs:
	SIGNET_BLESS=1 cargo test -p signet-core --test docs --test config_reference

unit:
	cargo test --workspace

integration: wasm wasm-trap cli
	timeout $(PYTEST_TIMEOUT) .venv/bin/python -m pytest tests

test: setup lint unit wasm integration

# Envoy CPU µs per request of each Signet filter beside Envoy's jwt_authn, a no-op Wasm filter
# (from the trace build) and bare Envoy, in one Envoy (scripts/bench; a benchmark, not part of
# `make test`): table on stdout, chart and figures in .work/bench.{svg,json}.
bench: wasm wasm-trace cli pki
	mkdir -p .work
	.venv/bin/python scripts/bench --svg .work/bench.svg --json .work/bench.json

# Where each filter's time goes: host calls by kind, allocations and callback time per request,
# from the trace build (filters/wasm/src/trace.rs); counts, no timing table.
bench-trace: wasm-trace cli pki
	.venv/bin/python scripts/bench --trace

# Where Envoy's CPU goes per request, by region (Envoy binary with V8 and BoringSSL, the
# module's JIT code, libc, kernel): each scenario once under `perf record` (scripts/bench --perf).
bench-perf: wasm wasm-trace cli pki
	.venv/bin/python scripts/bench --perf

# Not part of `make test`: every parser and each profile's whole verification pipeline, fed
# random input for FUZZ_SECS seconds per target (filters/core/tests/fuzz_long.rs; 26 targets,
# two at a time: about 13 FUZZ_SECS in all).
FUZZ_SECS ?= 60
fuzz:
	SIGNET_FUZZ_SECS=$(FUZZ_SECS) timeout $$(( $(FUZZ_SECS) * 26 + 600 )) \
		cargo test -p signet-core --test fuzz_long -- --ignored --test-threads=2 --nocapture

# Not part of `make test` (its short form, tests/test_soak.py, is): SOAK_REQUESTS requests
# through the full provider chain, ~10 % attacks, the upstream as judge (scripts/soak). The
# script has its own deadline scaled from the count; this bound is above it.
SOAK_REQUESTS ?= 1000000
soak: wasm
	SOAK_REQUESTS=$(SOAK_REQUESTS) timeout $$(( 600 + $(SOAK_REQUESTS) / 200 )) .venv/bin/python scripts/soak

clean:
	rm -rf .work

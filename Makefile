# The two commands of the README: `make run` and `make test`. Everything else is a helper of theirs.
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/aomi/target
BIN_DIR := $(CARGO_TARGET_DIR)/debug

.PHONY: run test build lint test-rust test-node test-bench web-deps

## Runs aomi: the chat server on http://127.0.0.1:8080 (see README for the model variables).
run:
	cargo run -p aomi -- serve

## Runs every check and test: format, clippy, Rust tests, the AI SDK client test, the bench smoke run.
test: lint test-rust test-node test-bench

build:
	cargo build --workspace --bins

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

test-rust:
	cargo test --workspace

web-deps:
	npm ci --prefix web --no-audit --no-fund

test-node: build web-deps
	AOMI_BIN=$(BIN_DIR)/aomi AOMI_STUB_BIN=$(BIN_DIR)/aomi-stub-model node --test web/test/

## A smoke run of the benchmark (fails on any error or lost part; timings are printed, not asserted)
## and the eval scenarios with the scripted stub model.
test-bench: build
	$(BIN_DIR)/aomi bench --quick --out $(CARGO_TARGET_DIR)/bench-smoke
	$(BIN_DIR)/aomi eval evals

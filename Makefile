# think-queue-native: the two entry points are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: all deps build demo test test-rust lint fmt clean

all: build

# Debian packages the build and the tests need (redis-server, PHP, clang...); installs only what is missing.
deps:
	@./scripts/install-deps.sh

build: deps
	$(CARGO) build --release --no-default-features --examples

# Builds, starts a private redis-server, pushes and pops jobs through the Rust API, prints what happened.
demo: deps
	@./scripts/demo.sh

# Everything: clippy (-D warnings), then every Rust test (unit, integration against a real redis-server, doc tests).
test: deps lint test-rust

test-rust:
	@./scripts/test-rust.sh

lint:
	$(CARGO) clippy --no-default-features --all-targets -- -D warnings

fmt:
	$(CARGO) fmt

clean:
	$(CARGO) clean

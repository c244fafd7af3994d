# think-queue-native: the two entry points are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
EXT := target/release/libthink_queue_native.so

.PHONY: all deps build ext stubs stubs-check demo test test-rust test-php lint fmt clean

all: build

# Debian packages the build and the tests need (redis-server, PHP, clang, phpunit...); installs only what is missing.
deps:
	@./scripts/install-deps.sh

# The PHP extension (release) and the Rust examples.
build: deps ext
	$(CARGO) build --release --no-default-features --examples

ext: deps
	@./scripts/build-ext.sh

# Regenerates stubs/think_queue_native.stub.php from the built extension.
stubs: ext
	@./scripts/stubs.sh

# Fails when the committed stubs differ from the built extension (installs cargo-php when missing).
stubs-check: deps
	@./scripts/stubs.sh --check

# Builds, starts a private redis-server, pushes jobs through the Rust API and through the PHP
# shims, consumes them, and prints throughput next to the stock-algorithm baseline.
demo: deps ext
	@./scripts/demo.sh

# Everything: clippy (-D warnings, core and extension), Rust tests (unit, integration against a real
# redis-server, doc tests), then PHPUnit suites with the real extension loaded into the PHP CLI.
test: deps lint test-rust stubs-check test-php

test-rust:
	@./scripts/test-rust.sh

test-php: ext
	@./scripts/test-php.sh

lint:
	$(CARGO) clippy --no-default-features --all-targets -- -D warnings
	$(CARGO) clippy --release --lib -- -D warnings

fmt:
	$(CARGO) fmt

clean:
	$(CARGO) clean

# think-queue-native: the two entry points are `make demo` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
EXT := target/release/libthink_queue_native.so

.PHONY: all deps build ext ffi stubs stubs-check demo bench test test-rust test-scale test-php test-mixed install lint fmt clean

all: build

# Debian packages the build and the tests need (redis-server, PHP, clang, phpunit...); installs only what is missing.
deps:
	@./scripts/install-deps.sh

# The PHP extension (release, feature `php`), the FFI library, the `tqn` binary and the Rust examples.
build: deps ext ffi
	$(CARGO) build --release --bins --examples

# Installs the `tqn` operator CLI (cargo install: ~/.cargo/bin, or $(PREFIX)/bin with PREFIX=...).
# Needs no PHP: the extension layer is the opt-in `php` feature.
install:
	$(CARGO) install --path . --locked --bins $(if $(PREFIX),--root $(PREFIX))

ext: deps
	@./scripts/build-ext.sh

# The FFI bridge: target/release/libthink_queue_native_ffi.so (ffi/; C header ffi/think_queue_native_ffi.h),
# for PHP >= 7.4 through ext-ffi when the extension cannot be loaded. References no PHP symbol.
ffi: deps
	$(CARGO) build --release -p think-queue-native-ffi

# Release artifacts in target/dist: the extension for PHP 8.2 (here) and 8.4 (Debian 13 root), the
# FFI library built in the Debian 11 root (glibc 2.31 floor), PIE-named zips, SHA256SUMS.
.PHONY: dist
dist: deps
	@./scripts/dist.sh

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

# Benchmarks (scripts/bench.sh, bench/): stock think-queue algorithm vs the native shim vs the Rust
# API, alternating in every round against one private redis-server; regenerates BENCHMARKS.md and
# BENCHMARKS.png. About 8 minutes; BENCH_QUICK=1 for a one-minute smoke test (report in target/bench/quick).
bench: deps
	@./scripts/bench.sh

# Everything: clippy (-D warnings, core, extension, FFI library), Rust tests (unit, integration against
# a real redis-server, doc tests, the scale suite), the PHPUnit suites on the extension and on the FFI
# library in this PHP (8.2), then the same suites in Debian 11 (PHP 7.4) and 13 (PHP 8.4) roots.
test: deps lint test-rust stubs-check test-php test-dashboard test-matrix

test-rust:
	@./scripts/test-rust.sh

# The scale suite alone (also part of test-rust): Redis Cluster, Sentinel failover, TLS, ACL,
# against servers it starts; prints the failover / WAIT / migration figures. About a minute.
test-scale: deps
	@./scripts/test-scale.sh

test-php: ext ffi
	@./scripts/test-php.sh

# The dashboard in a real browser (chromium + chromium-driver + selenium from Debian), with PHP
# and Rust workers, promtool on /metrics. About a minute.
.PHONY: test-dashboard
test-dashboard: ext
	@./scripts/test-dashboard.sh

# The PHP suites in Debian 11 (PHP 7.4: FFI) and Debian 13 (PHP 8.4: extension and FFI) roots, built
# and cached by scripts/userland.sh (docs/userlands.md); about 4 minutes warm, 10-15 cold.
.PHONY: test-matrix
test-matrix: deps
	@./scripts/test-matrix.sh

# The mixed Rust/PHP suites alone: Rust producers/workers and the tqn binary with PHP workers/producers.
test-mixed: ext ffi
	@./scripts/test-php.sh mixed-v1 mixed-v3

lint:
	@./scripts/check-pipes.sh
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy -p think-queue-native-ffi --all-targets -- -D warnings
	$(CARGO) clippy --release --lib --no-default-features --features php -- -D warnings

fmt:
	$(CARGO) fmt

clean:
	$(CARGO) clean

# Fault-injection suite (chaos/run.sh): kill -9 of workers, Redis restart, mixed stock/native fleet,
# pickup latency, memory soak, malformed members, graceful stop; own redis-servers; ~5-10 minutes.
.PHONY: chaos
chaos: ext
	./chaos/run.sh

# Debian 11 (PHP 7.4) and Debian 13 (PHP 8.4) roots for the PHP version matrix (scripts/userland.sh,
# docs/userlands.md): builds each one not yet cached (about a minute, needs root), else returns at once.
.PHONY: userland
userland:
	@./scripts/userland.sh ensure all

# Where the time of a pop+delete goes (client CPU, server script time, waiting), native vs stock;
# PROFILE_CALLGRIND=1 adds the client's instructions per job (needs valgrind).
.PHONY: profile
profile: deps
	@./scripts/profile.sh

#!/usr/bin/env bash
# `make demo`: build, start a private redis-server, push and pop jobs through the Rust API of
# both think-queue dialects, and print what happened with throughput figures.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== building (release)"
cargo build --release --no-default-features --example demo
source scripts/redis-private.sh
echo "== private redis-server $(redis-server --version | awk '{print $3}') on 127.0.0.1:$REDIS_PORT (pid $_tqn_redis_pid)"
./target/release/examples/demo "$REDIS_URL"

#!/usr/bin/env bash
# `make demo`: build, start a private redis-server, push and pop jobs through the Rust API of
# both think-queue dialects, then through PHP: think-queue (1.x, then 3.x) configured with the
# shim connector, pushing with the facade and consuming with its worker, next to the stock
# think-queue algorithm on phpredis measured in the same run; prints throughput figures.
# DEMO_JOBS (10000 per round) and DEMO_ROUNDS (3) size the PHP rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== building (release)"
cargo build --release --no-default-features --example demo
if [ -x scripts/build-ext.sh ]; then
  ext=$(./scripts/build-ext.sh)
else
  cargo build --release --lib
  ext="$PWD/target/release/libthink_queue_native.so"
fi
source scripts/redis-private.sh
echo "== private redis-server $(redis-server --version | awk '{print $3}') on 127.0.0.1:$REDIS_PORT (pid $_tqn_redis_pid)"
./target/release/examples/demo "$REDIS_URL"
export REDIS_PORT DEMO_REQUIRE_NATIVE=1
for gen in v1 v3; do
  echo
  echo "== PHP, think-queue $gen through the shim connector vs the stock algorithm (bench/php/demo.php $gen)"
  php -d extension="$ext" bench/php/demo.php "$gen"
done

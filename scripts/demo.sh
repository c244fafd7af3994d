#!/usr/bin/env bash
# `make demo`: build, start a private redis-server, push and pop jobs through the Rust API of
# both think-queue dialects, then through PHP: think-queue (1.x, then 3.x) configured with the
# shim connector, pushing with the facade and consuming with its worker, next to the stock
# think-queue algorithm on phpredis measured in the same run; prints throughput figures. Last, a
# mixed deployment: a Rust producer (typed serde data) feeding a PHP think-queue worker, with the
# tqn CLI's view of the queue before and after.
# DEMO_JOBS (10000 per round) and DEMO_ROUNDS (3) size the PHP rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== building (release)"
cargo build --release --example demo --example producer --bin tqn
if [ -x scripts/build-ext.sh ]; then
  ext=$(./scripts/build-ext.sh)
else
  cargo build --release --lib
  ext="$PWD/target/release/libthink_queue_native.so"
fi
source scripts/lib.sh
tqn_redis_private
echo "== private redis-server $(redis-server --version | awk '{print $3}') on 127.0.0.1:$REDIS_PORT (pid $TQN_REDIS_PID)"
./target/release/examples/demo "$REDIS_URL"
export REDIS_PORT DEMO_REQUIRE_NATIVE=1
for gen in v1 v3; do
  echo
  echo "== PHP, think-queue $gen through the shim connector vs the stock algorithm (bench/php/demo.php $gen)"
  php -d extension="$ext" bench/php/demo.php "$gen"
done

echo
q=tqn-demo-mixed
echo "== mixed: a Rust producer feeding a PHP worker (think-queue 3.x queue $q)"
echo "-- Rust (examples/producer.rs) pushes serde structs; id, job, data as stored:"
./target/release/examples/producer "$REDIS_URL" v3 "$q" | sed 's/^/   /'
./target/release/tqn --url "$REDIS_URL" --dialect v3 stats "$q" | sed 's/^/   /'
echo "-- PHP: think-queue 3.x's worker through the shim connector runs the job class:"
php -d extension="$ext" bench/php/mixed-worker.php "$q"
./target/release/tqn --url "$REDIS_URL" --dialect v3 stats "$q" | sed 's/^/   /'

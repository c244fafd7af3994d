#!/usr/bin/env bash
# `make bench`: the stock think-queue algorithm (bench/php/StockRedisQueue.php on phpredis) vs the
# native connector through the PHP shims vs the Rust API, measured in the same run against one
# private redis-server, alternating baseline / native / rust in every round; then regenerates
# BENCHMARKS.md and BENCHMARKS.png (bench/report.py) and prints the summary.
#
#   make bench                     the full run (about 8 minutes on 2 cores, build included)
#   BENCH_QUICK=1 make bench       tiny sizes, a smoke test (about a minute); writes its report
#                                  to target/bench/quick/ instead of the repository root
# Environment: BENCH_ROUNDS (5), BENCH_JOBS (10000 per round for push/later/pop/worker),
# BENCH_QUICK=1, BENCH_SKIP_JSON=1 / BENCH_SKIP_CLUSTER=1 (skip scripts/bench-json.sh /
# scripts/bench-cluster.sh, which run when present), BENCH_PHASES (see bench/run.py),
# BENCH_OUT_DIR (where BENCHMARKS.md/.png go).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh bench   # redis-benchmark, Debian's matplotlib (for /usr/bin/python3)
PY=/usr/bin/python3               # Debian's python3, which has python3-matplotlib (a pyenv python3 on PATH may not)

echo "== building (release): the PHP extension and the Rust bench binary (examples/bench.rs)" >&2
ext=$(./scripts/build-ext.sh)
cargo build --release --example bench --quiet
cargo build --release -p think-queue-native-ffi --quiet
if ! php -d extension="$ext" -r 'exit(extension_loaded("think_queue_native") && class_exists("think\\queue\\native\\RedisQueue") ? 0 : 1);'; then
  echo "bench: php does not load $ext (think_queue_native); refusing to measure without it" >&2
  exit 1
fi

results=target/bench/results.jsonl
if [ "${BENCH_QUICK:-}" = 1 ]; then
  out_dir=${BENCH_OUT_DIR:-target/bench/quick}
else
  out_dir=${BENCH_OUT_DIR:-.}
fi
mkdir -p target/bench "$out_dir"

source scripts/lib.sh
tqn_redis_private
echo "== private redis-server $(redis-server --version | awk '{print $3}') on 127.0.0.1:$REDIS_PORT (pid $TQN_REDIS_PID); results: $results" >&2
export BENCH_EXT="$ext" BENCH_REDIS_PID="$TQN_REDIS_PID"

status=0
"$PY" bench/run.py "$results" || status=$?
if [ "$out_dir" = . ]; then
  cp "$results" bench/results.jsonl   # the raw data behind the committed BENCHMARKS.md
fi
"$PY" bench/report.py "$results" "$out_dir" || status=$?
exit "$status"

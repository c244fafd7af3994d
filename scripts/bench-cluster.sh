#!/usr/bin/env bash
# Cluster throughput: starts one plain redis-server and a 3-primary Redis Cluster (no replicas) on
# free loopback ports (scripts/lib.sh: tqn_redis_start), runs examples/bench_cluster.rs against each (THREADS producer
# and THREADS worker threads, think-queue 3.x queues spread over the slots, JOBS jobs), prints one
# JSON line per setup on stdout ({"bench":"cluster","setup":"single"|"cluster3",...}) and a human
# line on stderr, and stops every server it started (by PID), also on failure or Ctrl-C.
# Usage: scripts/bench-cluster.sh [JOBS (default 20000)] [THREADS (default 4)]
# Note: on a 2-core machine the three primaries, the clients and the cluster bus share two cores,
# so the cluster line shows routing overhead more than scaling.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
JOBS=${1:-$([ "${BENCH_QUICK:-}" = 1 ] && echo 2000 || echo 20000)}
THREADS=${2:-4}

tqn_redis_stop_on_exit # every server below, and their directory (TQN_REDIS_TMP)

cargo build --release --quiet --example bench_cluster
bin=target/release/examples/bench_cluster

tqn_redis_start || exit 1
single=$TQN_REDIS_PORT
# the cluster nodes: each in a directory of its own (its nodes.conf), cluster bus on port + 10000
nodes=()
for _n in 1 2 3; do
  tqn_redis_start --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000 || exit 1
  nodes+=("$TQN_REDIS_PORT")
done
redis-cli --cluster create "${nodes[@]/#/127.0.0.1:}" --cluster-yes >"$TQN_REDIS_TMP/create.log" 2>&1 \
  || { cat "$TQN_REDIS_TMP/create.log" >&2; exit 1; }
for _i in $(seq 1 300); do
  ok=0
  for p in "${nodes[@]}"; do tqn_output_has 'cluster_state:ok' redis-cli -p "$p" cluster info && ok=$((ok + 1)); done
  [ "$ok" -eq 3 ] && break
  sleep 0.2
done
[ "$ok" -eq 3 ] || { echo "bench-cluster: the cluster did not become ready" >&2; exit 1; }

"$bin" single "$JOBS" "$THREADS" "redis://127.0.0.1:$single/0"
"$bin" cluster3 "$JOBS" "$THREADS" "127.0.0.1:${nodes[0]},127.0.0.1:${nodes[1]},127.0.0.1:${nodes[2]}"

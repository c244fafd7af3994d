#!/usr/bin/env bash
# Cluster throughput: starts one plain redis-server and a 3-primary Redis Cluster (no replicas) on
# free loopback ports in a temp dir, runs examples/bench_cluster.rs against each (THREADS producer
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

dir=$(mktemp -d "${TMPDIR:-/tmp}/tqn-bench-cluster.XXXXXX")
# start_node runs in $(...) subshells, so it records the PIDs in a file, not in a shell array
cleanup() {
  local p
  if [ -f "$dir/pids" ]; then
    while read -r p; do kill "$p" 2>/dev/null || true; done <"$dir/pids"
    while read -r p; do while kill -0 "$p" 2>/dev/null; do sleep 0.05; done; done <"$dir/pids"
  fi
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# start_node NAME ARGS...: a redis-server on a random free port (retried), prints the port
start_node() {
  local name=$1; shift
  local port pid
  for _try in $(seq 1 20); do
    port=$((20000 + RANDOM % 30000))
    mkdir -p "$dir/$name"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir/$name" \
      --daemonize no --protected-mode no "$@" >"$dir/$name/log" 2>&1 &
    pid=$!
    for _i in $(seq 1 50); do
      if tqn_redis_ping "$port"; then
        echo "$pid" >>"$dir/pids"; echo "$port"; return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  done
  echo "bench-cluster: could not start redis-server $name; log:" >&2; cat "$dir/$name/log" >&2; return 1
}

cargo build --release --quiet --example bench_cluster
bin=target/release/examples/bench_cluster

single=$(start_node single)
start_node_cluster() { start_node "$1" --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000 --cluster-port "$((10000 + RANDOM % 10000))"; }
c1=$(start_node_cluster c1); c2=$(start_node_cluster c2); c3=$(start_node_cluster c3)
redis-cli --cluster create "127.0.0.1:$c1" "127.0.0.1:$c2" "127.0.0.1:$c3" --cluster-yes >"$dir/create.log" 2>&1 \
  || { cat "$dir/create.log" >&2; exit 1; }
for _i in $(seq 1 300); do
  ok=0
  for p in "$c1" "$c2" "$c3"; do tqn_output_has 'cluster_state:ok' redis-cli -p "$p" cluster info && ok=$((ok + 1)); done
  [ "$ok" -eq 3 ] && break
  sleep 0.2
done
[ "$ok" -eq 3 ] || { echo "bench-cluster: the cluster did not become ready" >&2; exit 1; }

"$bin" single "$JOBS" "$THREADS" "redis://127.0.0.1:$single/0"
"$bin" cluster3 "$JOBS" "$THREADS" "127.0.0.1:$c1,127.0.0.1:$c2,127.0.0.1:$c3"

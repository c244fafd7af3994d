# Sourced by the demo scripts: starts a private redis-server on a free loopback port, exports
# REDIS_PORT and REDIS_URL, and stops that server (by its PID) when the calling script exits.
# Usage: source scripts/redis-private.sh [extra redis-server args...]

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

_tqn_redis_dir=$(mktemp -d "${TMPDIR:-/tmp}/tqn-redis.XXXXXX")
_tqn_redis_pid=""
_tqn_redis_stop() {
  if [ -n "$_tqn_redis_pid" ]; then kill "$_tqn_redis_pid" 2>/dev/null || true; wait "$_tqn_redis_pid" 2>/dev/null || true; fi
  rm -rf "$_tqn_redis_dir"
}
trap _tqn_redis_stop EXIT INT TERM

for _try in 1 2 3 4 5 6 7 8 9 10; do
  REDIS_PORT=$((20000 + RANDOM % 40000))
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$_tqn_redis_dir" \
    --daemonize no --protected-mode no "$@" >"$_tqn_redis_dir/server.log" 2>&1 &
  _tqn_redis_pid=$!
  for _i in $(seq 1 50); do
    if tqn_redis_ping "$REDIS_PORT"; then break 2; fi
    if ! kill -0 "$_tqn_redis_pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  kill "$_tqn_redis_pid" 2>/dev/null || true; wait "$_tqn_redis_pid" 2>/dev/null || true; _tqn_redis_pid=""
done
if [ -z "$_tqn_redis_pid" ]; then
  echo "could not start a private redis-server; its log:" >&2; cat "$_tqn_redis_dir/server.log" >&2; exit 1
fi
export REDIS_PORT REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"

#!/usr/bin/env bash
# Fault-injection suite (issue 4), run by `make chaos`: real PHP worker processes (the think-queue
# stand-ins' worker loop on the shim connector, and the stock algorithm on phpredis) against a
# private redis-server, while this script kills workers, restarts Redis, plants malformed members
# and sends SIGTERM. Every delivery is recorded in Redis itself (database 1, see chaos/lib.php),
# so the counts survive kill -9.
#
#   chaos/run.sh                 # all scenarios
#   chaos/run.sh 1 4             # some of them (1..7); the recorder self-check (0) always runs first
#
# The PHP side: chaos/worker.php, producer.php, ctl.php (set-up and verdicts), lib.php, v1.php,
# v3.php, handler.php (see chaos/README.md).
#
# Environment (sizes; defaults in brackets):
#   TQN_EXT_SO             the extension [target/release/libthink_queue_native.so]
#   CHAOS_GENS             generations for scenarios 1,2,3,6 ["v3 v1"]
#   CHAOS_KILL_JOBS [1000] CHAOS_KILL_WORKERS [4] CHAOS_KILL_WORK_MS [20-120] (per job)
#   CHAOS_RESTART_JOBS [1500 per producer] CHAOS_RESTART_AT [2.5 s] CHAOS_OUTAGE [3 s]
#   CHAOS_REDIS_STOP [KILL] (signal that stops Redis in scenario 2: KILL or TERM)
#   CHAOS_MIXED_JOBS [2000]
#   CHAOS_LAT_JOBS [1000] CHAOS_LAT_STOCK_JOBS [30] CHAOS_LAT_TARGET_MS [5]
#   CHAOS_SOAK_JOBS [200000] CHAOS_SOAK_GENS ["v3 v1"] CHAOS_SOAK_LIMIT_MB [5]
#   CHAOS_STOP_LIMIT [1.5 s]   CHAOS_KEEP=1 keeps the logs (worker/producer/redis) in the temp dir
# Exit status: 0 when every scenario passed, 1 otherwise (2: set-up problem).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
source scripts/lib.sh

ext=${TQN_EXT_SO:-$root/target/release/libthink_queue_native.so}
[ -f "$ext" ] || { echo "chaos: $ext does not exist (make ext)" >&2; exit 2; }
ext=$(cd "$(dirname "$ext")" && pwd)/$(basename "$ext")
php -d "extension=$ext" -r 'exit(extension_loaded("think_queue_native") ? 0 : 1);' 2>/dev/null \
  || { echo "chaos: $ext does not load as the think_queue_native extension" >&2; exit 2; }
php -r 'exit(extension_loaded("redis") && extension_loaded("pcntl") ? 0 : 1);' \
  || { echo "chaos: the PHP CLI needs ext-redis (php-redis) and ext-pcntl" >&2; exit 2; }
command -v redis-server >/dev/null && command -v redis-cli >/dev/null \
  || { echo "chaos: redis-server and redis-cli are needed" >&2; exit 2; }

GENS=${CHAOS_GENS:-v3 v1}
tmp=""
started=$(date +%s.%N)

# ------------------------------------------------------------------------------ processes we own

# PIDs of every PHP process this script started and has not seen end (the redis-servers are
# scripts/lib.sh's: tqn_redis_start / tqn_redis_stop). Only these are ever signalled, and only after
# checking that the PID is still our child (a PID is reused once bash reaps it).
declare -A OURS=()

signal() { # SIG pid
  if [ -n "${OURS[$2]:-}" ] && tqn_our_child "$2"; then kill "-$1" "$2" 2>/dev/null || true; fi
}

reap() { # pid: wait for it (after it ended or was signalled); prints nothing, returns its status
  local rc=0
  wait "$1" 2>/dev/null || rc=$?
  unset "OURS[$1]"
  return $rc
}

# started in the main shell, so that its parent is $$; sets LAST
spawn() { # logname cmd...
  local log=$tmp/logs/$1.log
  shift
  "$@" >>"$log" 2>&1 &
  LAST=$!
  OURS[$LAST]=1
}

alive() { [ -n "${OURS[$1]:-}" ] && tqn_our_child "$1"; }

stop_all() { # SIGKILL every PHP process we own (not the redis servers)
  local p
  for p in "${!OURS[@]}"; do
    signal KILL "$p"
    reap "$p" || true
  done
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local p
  for p in "${!OURS[@]}"; do signal KILL "$p"; done
  for p in "${!OURS[@]}"; do wait "$p" 2>/dev/null || true; done
  tqn_redis_stop_all
  if [ -n "$tmp" ]; then
    if [ "${CHAOS_KEEP:-0}" = 1 ]; then echo "chaos: logs kept in $tmp" >&2; else rm -rf "$tmp"; fi
  fi
  exit $rc
}
trap cleanup EXIT
trap 'echo "chaos: interrupted" >&2; exit 130' INT TERM

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tqn-chaos.XXXXXX")
mkdir -p "$tmp/logs"
# every PHP process of the run loads this copy, so a rebuild of target/ meanwhile changes nothing
cp "$ext" "$tmp/think_queue_native.so"
PHP=(php -d "extension=$tmp/think_queue_native.so")
export CHAOS_TMP=$tmp CHAOS_HOST=127.0.0.1 CHAOS_REC_DB=1

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
flt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; } # a < b ?

# ----------------------------------------------------------------------------------------- redis

# The servers are scripts/lib.sh's (tqn_redis_start): children of this shell, stopped by PID, also
# by cleanup. Each works in its dir (its AOF, its log redis.log), which a restart reuses.

# start_redis port dir [args...]: a redis-server on 127.0.0.1:port again (after stop_redis); sets REDIS_PID
start_redis() {
  local port=$1 dir=$2
  shift 2
  tqn_redis_start --port "$port" --dir "$dir" -- "$@" || return 1
  REDIS_PID=$TQN_REDIS_PID
}

stop_redis() { # SIG pid
  tqn_redis_stop "$2" "$1"
}

# new_redis dir [args...]: a new server on a free loopback port: sets PORT and REDIS_PID
new_redis() {
  local dir=$1
  shift
  tqn_redis_start --dir "$dir" -- "$@" || exit 2
  PORT=$TQN_REDIS_PORT REDIS_PID=$TQN_REDIS_PID
}

rcli() { redis-cli -p "$CHAOS_PORT" "$@"; }
fresh() { rcli flushall >/dev/null; }
ctl() { "${PHP[@]}" chaos/ctl.php "$@"; }
ready_key() { if [ "$1" = v1 ]; then echo "queues:$CHAOS_QUEUE"; else echo "{queues:$CHAOS_QUEUE}"; fi; }
seen() { rcli -n 1 hlen chaos:seen; }
queue_total() { # gen: ready + delayed + reserved
  local k
  k=$(ready_key "$1")
  echo $(( $(rcli llen "$k") + $(rcli zcard "$k:delayed") + $(rcli zcard "$k:reserved") ))
}

# wait_done gen n timeout: until n distinct jobs were processed and the queue keys are empty
wait_done() {
  local gen=$1 n=$2 deadline
  deadline=$(awk -v a="$(now)" -v t="$3" 'BEGIN { printf "%.3f", a + t }')
  while flt "$(now)" "$deadline"; do
    if [ "$(seen)" -ge "$n" ] && [ "$(queue_total "$gen")" -eq 0 ]; then return 0; fi
    sleep 0.1
  done
  return 1
}

worker() { # name gen kind [VAR=value...]: starts a worker process, sets LAST
  local name=$1 gen=$2 kind=$3
  shift 3
  spawn "$name" env "$@" "${PHP[@]}" chaos/worker.php "$gen" "$kind"
}

show_log_tail() { # name
  echo "    --- last lines of $1's log:"
  tail -n "${2:-8}" "$tmp/logs/$1.log" 2>/dev/null | sed 's/^/    | /' || true
}

# ------------------------------------------------------------------------------------ reporting

declare -a RESULTS=()
FAILED=0
header() { printf '\n=== %s\n' "$*"; }
verdict() { # ok(0/1) name [reason]
  if [ "$1" -eq 0 ]; then
    echo "PASS: $2"
    RESULTS+=("PASS  $2")
  else
    echo "FAIL: $2${3:+ -- $3}"
    RESULTS+=("FAIL  $2${3:+ -- $3}")
    FAILED=1
  fi
}
report() { echo "REPORT: $*"; RESULTS+=("INFO  $*"); }
fig() { printf '    %-44s %s\n' "$1" "$2"; }

# ------------------------------------------------------------------------------ recorder check

# The verdicts trust chaos/lib.php's recorder: one record per delivery, however often a recording
# is retried across a dropped connection. Checked against the main server before the scenarios:
# a recording whose reply is lost after Redis applied it stays one record, and a payload delivered
# twice (same job id, same attempts) is recorded twice and fails the `delivery` verdict.
recorder_check() {
  local ok=0 why="" out rc=0
  header "0. Recorder self-check: a retried recording is recorded once, a duplicate delivery is caught"
  fresh
  CHAOS_LOG=1 ctl v3 recorder-check || { ok=1; why="recorder-check failed"; }
  out=$(CHAOS_LOG=1 ctl v3 delivery n=2 mode=atleast errors=ok 2>&1) || rc=$?
  echo "  verdict on those records (must FAIL with one duplicate delivery):"
  printf '%s\n' "$out" | sed 's/^/  /'
  if [ "$rc" -ne 1 ] || [[ $out != *"1 delivery(ies) of the same payload without an attempts increase"* ]] \
    || [[ $out == *"recorder inconsistent"* ]]; then
    ok=1; why="${why:+$why; }the delivery verdict did not report exactly the one duplicate (status $rc)"
  fi
  fresh
  verdict $ok "0 recorder: a retried recording counts once, a duplicate delivery fails the verdict" "$why"
}

# ---------------------------------------------------------------------------------- scenario 1

scenario_1() { # gen
  local gen=$1 n=${CHAOS_KILL_JOBS:-1000} nw=${CHAOS_KILL_WORKERS:-4} i kills=0 slot pid t0 ok=0 why=""
  header "1 ($gen). kill -9 of random workers: $n jobs, $nw native shim workers, retry_after/expire 2 s"
  export CHAOS_QUEUE=chaos-kill CHAOS_RETRY=2 CHAOS_BLOCK_FOR=1 CHAOS_SLEEP=1 CHAOS_LOG=1
  fresh
  : >"$tmp/killed-$gen"
  CHAOS_WORK_MS=${CHAOS_KILL_WORK_MS:-20-120} "${PHP[@]}" chaos/producer.php "$gen" native stream 0 "$n" | sed 's/^/    /'
  local -a pids=()
  for i in $(seq 0 $((nw - 1))); do worker "s1-$gen-w$i" "$gen" native; pids[i]=$LAST; done
  t0=$(now)
  local deadline
  deadline=$(awk -v a="$t0" -v t="${CHAOS_KILL_TIMEOUT:-150}" 'BEGIN { printf "%.3f", a + t }')
  # the killer: every 0.2-1 s one random worker gets SIGKILL and is started again
  while [ "$(seen)" -lt "$n" ] && flt "$(now)" "$deadline"; do
    sleep "$(printf '0.%03d' $((200 + RANDOM % 800)))"
    slot=$((RANDOM % nw))
    pid=${pids[slot]}
    signal KILL "$pid"
    reap "$pid" || true
    echo "$pid" >>"$tmp/killed-$gen"
    kills=$((kills + 1))
    worker "s1-$gen-w$slot" "$gen" native
    pids[slot]=$LAST
  done
  local killing
  killing=$(elapsed "$t0")
  # no more kills: the reservations of the killed workers expire (2 s) and are handed out again
  wait_done "$gen" "$n" 60 || { ok=1; why="not every job processed / queue not empty within 60 s of the last kill"; }
  sleep 2.5 # longer than retry_after: a reservation still pending would show up now
  wait_done "$gen" "$n" 10 || { ok=1; why="queue not empty after settling"; }
  local total
  total=$(elapsed "$t0")
  for pid in "${pids[@]}"; do signal KILL "$pid"; reap "$pid" || true; done
  fig "workers SIGKILLed (and restarted)" "$kills during ${killing} s of processing"
  fig "time until all jobs were done, queue empty" "${total} s (incl. 2.5 s settle)"
  ctl "$gen" delivery n="$n" mode=atleast killed="$tmp/killed-$gen" kills="$kills" || { ok=1; why=${why:-see problems above}; }
  [ "$kills" -gt 0 ] || { ok=1; why="no worker was killed (jobs finished too fast: raise CHAOS_KILL_JOBS or CHAOS_KILL_WORK_MS)"; }
  verdict $ok "1 ($gen) kill -9: no job lost, duplicates only from killed workers, duplicates <= kills" "$why"
}

# ---------------------------------------------------------------------------------- scenario 2

scenario_2() { # gen
  local gen=$1 n=${CHAOS_RESTART_JOBS:-1500} ok=0 why="" sig=${CHAOS_REDIS_STOP:-KILL}
  local main_port=$CHAOS_PORT dir=$tmp/aof-$gen
  header "2 ($gen). Redis restarted under load (SIG$sig, AOF appendfsync always): 2 producers x $n jobs, 2 workers"
  new_redis "$dir" --appendonly yes --appendfsync always
  local port=$PORT rpid=$REDIS_PID
  export CHAOS_PORT=$port CHAOS_QUEUE=chaos-restart CHAOS_RETRY=5 CHAOS_BLOCK_FOR=1 CHAOS_SLEEP=1 CHAOS_LOG=1
  local w1 w2 p1 p2 t_start t_down t_up
  worker "s2-$gen-w1" "$gen" native; w1=$LAST
  worker "s2-$gen-w2" "$gen" native; w2=$LAST
  sleep 0.5
  t_start=$(now)
  spawn "s2-$gen-p1" env CHAOS_GAP_MS=3 CHAOS_WORK_MS=1-3 "${PHP[@]}" chaos/producer.php "$gen" native stream 0 "$n"; p1=$LAST
  spawn "s2-$gen-p2" env CHAOS_GAP_MS=3 CHAOS_WORK_MS=1-3 "${PHP[@]}" chaos/producer.php "$gen" native stream "$n" "$n"; p2=$LAST
  sleep "${CHAOS_RESTART_AT:-2.5}"
  local before
  before=$(seen)
  t_down=$(now)
  stop_redis "$sig" "$rpid"
  sleep "${CHAOS_OUTAGE:-3}"
  if ! start_redis "$port" "$dir" --appendonly yes --appendfsync always; then
    ok=1; why="redis-server did not start again on port $port"
  fi
  rpid=$REDIS_PID
  t_up=$(now)
  local outage
  outage=$(fsub "$t_up" "$t_down")
  # producers finish by themselves (they retry pushes that failed while Redis was down)
  local deadline=$((SECONDS + 90))
  while { alive "$p1" || alive "$p2"; } && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  alive "$p1" || alive "$p2" && { ok=1; why="producers did not finish within 90 s"; }
  reap "$p1" || { ok=1; why="producer 1 failed"; }
  reap "$p2" || { ok=1; why="producer 2 failed"; }
  wait_done "$gen" $((2 * n)) 60 || { ok=1; why=${why:-"not every job processed / queue not empty within 60 s"}; }
  sleep "${CHAOS_RETRY}.5"
  wait_done "$gen" $((2 * n)) 10 || true
  local resumed
  resumed=$(ctl "$gen" resumed t="$t_up")
  local same=yes
  alive "$w1" && alive "$w2" || same=no
  fig "jobs processed before Redis went down" "$before"
  fig "Redis down (SIG$sig at $(date -d "@$t_down" +%T.%3N), +$(fsub "$t_down" "$t_start") s) -> PONG again" "$outage s (outage)"
  if [ "$resumed" = none ]; then
    fig "first job fired after Redis was back" "never"
    ok=1; why="consumption did not resume"
  else
    fig "first job fired after Redis was back" "$(echo "$resumed" | cut -d' ' -f1) s after PONG ($(echo "$resumed" | cut -d' ' -f2) deliveries after the restart)"
  fi
  fig "workers still the original processes" "$same (pids $w1 $w2, never restarted)"
  sed 's/^/    /' "$tmp/logs/s2-$gen-p1.log" "$tmp/logs/s2-$gen-p2.log" | grep '^    producer' || true
  ctl "$gen" delivery n=$((2 * n)) mode=atleast errors=ok || { ok=1; why=${why:-see problems above}; }
  ctl "$gen" dump-errors max=4
  echo "    (\"another job id\": a push in flight at the stop was applied and persisted but not acknowledged; the"
  echo "     producer retried it, so it landed twice: pushes are at-least-once. \"came back\": a reservation whose"
  echo "     worker never got the pop reply or could not delete it, handed out again after retry_after.)"
  [ "$same" = yes ] || { ok=1; why="a worker died"; }
  signal KILL "$w1"; reap "$w1" || true
  signal KILL "$w2"; reap "$w2" || true
  stop_redis TERM "$rpid"
  export CHAOS_PORT=$main_port
  verdict $ok "2 ($gen) Redis restart: nothing lost, workers resumed by themselves" "$why"
}

# ---------------------------------------------------------------------------------- scenario 3

scenario_3() { # gen
  local gen=$1 n=${CHAOS_MIXED_JOBS:-2000} ok=0 why="" half
  half=$((n / 2))
  header "3 ($gen). Mixed fleet on one queue: 2 stock workers + 2 native workers, stock + native producer, $n jobs"
  export CHAOS_QUEUE=chaos-mixed CHAOS_RETRY=60 CHAOS_BLOCK_FOR=1 CHAOS_SLEEP=1 CHAOS_LOG=1
  fresh
  local -a ws=()
  worker "s3-$gen-stock1" "$gen" stock CHAOS_SLEEP=0.2; ws+=("$LAST")
  worker "s3-$gen-stock2" "$gen" stock CHAOS_SLEEP=0.2; ws+=("$LAST")
  worker "s3-$gen-native1" "$gen" native; ws+=("$LAST")
  worker "s3-$gen-native2" "$gen" native; ws+=("$LAST")
  sleep 0.3
  local p1 p2 t0
  t0=$(now)
  spawn "s3-$gen-p1" env CHAOS_GAP_MS=0.5 CHAOS_WORK_MS=0-2 "${PHP[@]}" chaos/producer.php "$gen" stock stream 0 "$half"; p1=$LAST
  spawn "s3-$gen-p2" env CHAOS_GAP_MS=0.5 CHAOS_WORK_MS=0-2 "${PHP[@]}" chaos/producer.php "$gen" native stream "$half" $((n - half)); p2=$LAST
  reap "$p1" || { ok=1; why="stock producer failed"; }
  reap "$p2" || { ok=1; why="native producer failed"; }
  wait_done "$gen" "$n" 60 || { ok=1; why="not every job processed / queue not empty within 60 s"; }
  local took
  took=$(elapsed "$t0")
  sleep 1
  local w dead=0
  for w in "${ws[@]}"; do alive "$w" || dead=$((dead + 1)); signal KILL "$w"; reap "$w" || true; done
  fig "pushed and processed in" "$took s"
  sed 's/^/    /' "$tmp/logs/s3-$gen-p1.log" "$tmp/logs/s3-$gen-p2.log" | grep '^    producer' || true
  ctl "$gen" kinds split="$half"
  ctl "$gen" delivery n="$n" mode=exactly || { ok=1; why=${why:-see problems above}; }
  [ $dead -eq 0 ] || { ok=1; why="$dead worker(s) died"; }
  verdict $ok "3 ($gen) mixed stock/native fleet: each job processed exactly once" "$why"
}

# ---------------------------------------------------------------------------------- scenario 4

latency_run() { # gen worker-kind producer-kind jobs gap label [VAR=value...] -> prints figures, returns ctl status
  local gen=$1 wk=$2 pk=$3 jobs=$4 gap=$5 label=$6 rc=0
  shift 6
  fresh
  worker "s4-$label" "$gen" "$wk" "$@"
  local w=$LAST
  sleep 1
  spawn "s4-$label-producer" env CHAOS_GAP_MS="$gap" "$@" "${PHP[@]}" chaos/producer.php "$gen" "$pk" latency 0 "$jobs"
  local p=$LAST
  reap "$p" || { echo "    producer failed:"; show_log_tail "s4-$label-producer"; rc=1; }
  signal KILL "$w"; reap "$w" || true
  return $rc
}

scenario_4() {
  local n=${CHAOS_LAT_JOBS:-1000} ns=${CHAOS_LAT_STOCK_JOBS:-30} target=${CHAOS_LAT_TARGET_MS:-5} ok=0 why="" gen
  header "4. Pickup latency, push -> fire, one job at a time"
  export CHAOS_QUEUE=chaos-latency CHAOS_RETRY=60 CHAOS_LOG=0
  echo "    native: stand-in worker on the shim with block_for 5 (--sleep 3), $n jobs, 2-8 ms between a job's fire and the next push"
  echo "    stock:  the stock algorithm's loop (pop; if null sleep 3 s; no block_for), only $ns jobs (each costs up to 3 s),"
  echo "            pushed 0-3 s (uniform) after the previous job fired so pushes land at random points of the sleep"
  for gen in $GENS; do
    if latency_run "$gen" native native "$n" 2-8 "native-$gen" CHAOS_BLOCK_FOR=5 CHAOS_SLEEP=3; then
      ctl "$gen" latency label="native $gen" target_ms="$target" min="$n" || { ok=1; why="native $gen p99 not under $target ms"; }
    else
      ok=1; why="native $gen latency run failed"
    fi
  done
  if latency_run v3 stock stock "$ns" 0-3000 "stock-v3" CHAOS_BLOCK_FOR=0 CHAOS_SLEEP=3; then
    ctl v3 latency label="stock (v3 algorithm)" min="$ns" || true
  else
    ok=1; why="stock latency run failed"
  fi
  verdict $ok "4 pickup latency: native p99 under $target ms (both generations)" "$why"
}

# ---------------------------------------------------------------------------------- scenario 5

scenario_5() { # gen
  local gen=$1 n=${CHAOS_SOAK_JOBS:-200000} limit=${CHAOS_SOAK_LIMIT_MB:-5} ok=0 why=""
  header "5 ($gen). Memory soak: $n jobs through one daemon worker (stand-in loop, native shim)"
  export CHAOS_QUEUE=chaos-soak CHAOS_RETRY=60 CHAOS_BLOCK_FOR=1 CHAOS_SLEEP=1 CHAOS_LOG=0
  fresh
  local t0
  t0=$(now)
  "${PHP[@]}" chaos/producer.php "$gen" native bulk 0 "$n" | sed 's/^/    /'
  worker "s5-$gen" "$gen" native
  local w=$LAST step=$((n / 10)) next=1000 s rss start_rss="" deadline=$((SECONDS + ${CHAOS_SOAK_TIMEOUT:-300}))
  local samples="" t1
  t1=$(now)
  while [ $SECONDS -lt $deadline ] && alive "$w"; do
    s=$(seen)
    if [ "$s" -ge "$next" ]; then
      rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$w/status" 2>/dev/null) || rss=0
      samples="$samples $((s * 100 / n))%:$((rss / 1024))MB"
      [ -n "$start_rss" ] || start_rss=$rss
      if [ "$next" -eq 1000 ]; then next=$step; else next=$((next + step)); fi
      [ "$next" -ge 1000 ] || next=1000
    fi
    if [ "$s" -ge "$n" ]; then break; fi
    sleep 0.05
  done
  local took end_rss=""
  took=$(elapsed "$t1")
  if alive "$w"; then
    end_rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$w/status" 2>/dev/null) || end_rss=""
  else
    ok=1; why="the worker exited"; show_log_tail "s5-$gen"
  fi
  signal KILL "$w"; reap "$w" || true
  fig "worker VmRSS by progress" "${samples# }"
  if [ -n "$start_rss" ] && [ -n "$end_rss" ]; then
    local growth=$((end_rss - start_rss))
    fig "VmRSS after the first 1,000 jobs" "$start_rss kB"
    fig "VmRSS at the end" "$end_rss kB"
    fig "growth" "$growth kB ($(awk -v g="$growth" 'BEGIN { printf "%.2f", g / 1024 }') MB; target < $limit MB)"
    [ "$growth" -lt $((limit * 1024)) ] || { ok=1; why="RSS grew by $growth kB"; }
  else
    ok=1; why=${why:-"no RSS samples"}
  fi
  fig "drained in" "$took s ($(awk -v n="$n" -v t="$took" 'BEGIN { printf "%d", n / t }') jobs/s incl. recording)"
  ctl "$gen" delivery n="$n" mode=exactly || { ok=1; why=${why:-see problems above}; }
  verdict $ok "5 ($gen) memory soak: RSS growth under $limit MB over $n jobs" "$why"
}

# ---------------------------------------------------------------------------------- scenario 6

scenario_6() { # gen
  local gen=$1 ok=0 why=""
  header "6 ($gen). Malformed members in the ready list and the reserved set (expired), good jobs around them"
  export CHAOS_QUEUE=chaos-malformed CHAOS_RETRY=60 CHAOS_BLOCK_FOR=1 CHAOS_SLEEP=1 CHAOS_LOG=1
  fresh
  ctl "$gen" malformed-setup
  worker "s6-$gen" "$gen" native
  local w=$LAST
  local deadline=$((SECONDS + 20))
  while [ $SECONDS -lt $deadline ] && alive "$w"; do
    if [ "$(seen)" -ge 6 ] && [ "$(queue_total "$gen")" -eq 0 ]; then break; fi
    sleep 0.1
  done
  sleep 3 # a crash-looping worker would now show more errors / a restarted pid
  local state=running
  alive "$w" || state="exited"
  fig "worker process after the malformed members" "$state"
  if [ "$state" != running ]; then ok=1; why="the worker exited"; show_log_tail "s6-$gen" 20; fi
  ctl "$gen" malformed-check || { ok=1; why=${why:-see problems above}; }
  signal KILL "$w"; reap "$w" || true
  verdict $ok "6 ($gen) malformed members: good jobs processed, no crash loop, each malformed member in :dead once" "$why"
}

# ---------------------------------------------------------------------------------- scenario 7

# stop_case gen kind busy(0/1) label: one SIGTERM experiment; prints figures; sets STOP_SECS, STOP_RC, JOB_DONE, LEFT
stop_case() {
  local gen=$1 kind=$2 busy=$3 label=$4
  shift 4
  fresh
  worker "s7-$label" "$gen" "$kind" "$@"
  local w=$LAST
  sleep 1.5 # booted and blocked in pop (block_for 5)
  if [ "$busy" = 1 ]; then
    # one job of 2 s of work (w2 = 2000 ms after it is recorded), pushed through the shim
    "${PHP[@]}" -r '
      require "chaos/lib.php"; chaos\boot($argv[1]);
      if ($argv[1] === "v1") { chaos\setupV1(["expire" => chaos\retryAfter()]); chaos\pushV1(chaos\JOB, ["n" => 0, "w2" => 2000, "done" => 1]); }
      else { $app = chaos\app(["retry_after" => chaos\retryAfter()]); chaos\push($app, chaos\JOB, ["n" => 0, "w2" => 2000, "done" => 1]); }' "$gen"
    local deadline=$((SECONDS + 10))
    while [ "$(seen)" -lt 1 ] && [ $SECONDS -lt $deadline ]; do sleep 0.02; done
    sleep 0.5 # 0.5 s into the 2 s job
  fi
  local t0
  t0=$(now)
  signal TERM "$w"
  local limit=$((SECONDS + 12))
  while alive "$w" && [ $SECONDS -lt $limit ]; do sleep 0.01; done
  STOP_SECS=$(elapsed "$t0")
  local hung=""
  if alive "$w"; then
    hung=" -- still running 12 s after SIGTERM, SIGKILLed"
    signal KILL "$w"
  fi
  STOP_RC=0
  reap "$w" || STOP_RC=$?
  JOB_DONE=$(rcli -n 1 llen chaos:done)
  local k
  k=$(ready_key "$gen")
  LEFT="ready $(rcli llen "$k") reserved $(rcli zcard "$k:reserved") delayed $(rcli zcard "$k:delayed")"
  local how="exit status $STOP_RC"
  [ "$STOP_RC" -le 128 ] || how="$how (killed by signal $((STOP_RC - 128)))"
  how="$how$hung"
  fig "$label: SIGTERM -> process gone" "$STOP_SECS s, $how"
  local handled
  handled=$(rcli -n 1 lindex chaos:sigterm 0)
  if [ -n "$handled" ]; then
    fig "$label: SIGTERM -> PHP ran the worker's handler" "$(fsub "$handled" "$t0") s"
  fi
  if [ "$busy" = 1 ]; then
    fig "$label: the 2 s job finished (recorded after its work)" "$([ "$JOB_DONE" -ge 1 ] && echo yes || echo no)"
    fig "$label: queue keys after the exit" "$LEFT"
  fi
}

scenario_7() {
  local limit=${CHAOS_STOP_LIMIT:-1.5} ok=0 why="" gen
  header "7. Graceful stop: SIGTERM to a daemon worker with block_for 5, idle and in the middle of a 2 s job"
  export CHAOS_QUEUE=chaos-stop CHAOS_RETRY=60 CHAOS_BLOCK_FOR=5 CHAOS_SLEEP=3 CHAOS_LOG=1
  if grep -q pcntl_signal tests/php/v3/thinkqueue/think/queue/Worker.php; then
    echo "    the 3.x stand-in worker installs pcntl signal handlers"
  else
    echo "    NOTE: the 3.x stand-in think\\queue\\Worker installs no signal handlers (tests/php/v3/thinkqueue/README.md:"
    echo "    \"the daemon installs no signal handlers\"), so SIGTERM kills it at once. Measured as it is (7a), and with"
    echo "    stock 3.x's pcntl handling added by chaos\\SignalWorker (7b: pcntl_async_signals, SIGTERM -> shouldQuit, spec §7.2)."
  fi
  echo "  7a. v3 stand-in worker as shipped"
  stop_case v3 native 0 "7a v3 stand-in idle"
  stop_case v3 native 1 "7a v3 stand-in busy"
  report "7a v3 stand-in (no signal handling): SIGTERM ends it at once ($STOP_SECS s, status $STOP_RC); a job in progress is not finished, stays reserved ($LEFT) and comes back after retry_after"
  echo "  7b. v3 worker with stock 3.x's SIGTERM handling (chaos\\SignalWorker)"
  local sl
  for sl in 3 0; do
    stop_case v3 signals 0 "7b v3 idle --sleep $sl" CHAOS_SLEEP=$sl
    if [ "$STOP_RC" != 0 ]; then ok=1; why="${why:+$why; }idle worker (--sleep $sl): exit status $STOP_RC"; fi
    # stock 3.x sleeps --sleep s after an empty pop before it looks at shouldQuit: that part is
    # think-queue's own; ours is the time pop() takes to return to PHP (one 1 s slice at most)
    if ! flt "$STOP_SECS" "$(awk -v a="$limit" -v b="$sl" 'BEGIN { print a + b }')"; then
      ok=1; why="${why:+$why; }idle worker (--sleep $sl) took $STOP_SECS s to exit (limit $limit s + --sleep $sl)"
    fi
  done
  echo "    (idle: the handler runs when pop() returns to PHP; the daemon then sleeps --sleep s after the empty pop"
  echo "     before it looks at shouldQuit, as stock 3.x does. --sleep 0 isolates the time spent inside pop().)"
  stop_case v3 signals 1 "7b v3 busy"
  local k
  k=$(ready_key v3)
  if [ "$STOP_RC" != 0 ] || [ "$JOB_DONE" -lt 1 ] || [ "$LEFT" != "ready 0 reserved 0 delayed 0" ]; then
    ok=1; why="${why:+$why; }busy worker: status $STOP_RC, job finished: $JOB_DONE, left: $LEFT"
  fi
  if grep -q 'pcntl_signal' php/src/connector/Redis.php; then
    echo "  7c. v1 stand-in worker (stock 1.x has no signal handling; the shim connector installs a SIGTERM handler of its own)"
  else
    echo "  7c. v1 stand-in worker (stock 1.x has no signal handling, nor has the shim)"
  fi
  stop_case v1 native 0 "7c v1 idle"
  local v1idle="$STOP_SECS s, status $STOP_RC"
  stop_case v1 native 1 "7c v1 busy"
  report "7c v1: idle worker gone ${v1idle}; busy worker gone $STOP_SECS s after SIGTERM (status $STOP_RC), job finished: $([ "$JOB_DONE" -ge 1 ] && echo yes || echo no), left: $LEFT"
  verdict $ok "7b v3 graceful stop with stock 3.x signal handling: idle exit < $limit s + --sleep; busy: job finished, deleted, exit 0, nothing reserved" "$why"
}

# ------------------------------------------------------------------------------------------ main

echo "think-queue-native chaos suite: extension $ext"
echo "PHP $(php -r 'echo PHP_VERSION;'), $(redis-server --version | cut -d' ' -f1-3), $(nproc) CPU(s), load $(cut -d' ' -f1-3 /proc/loadavg)"
new_redis "$tmp/redis-main" --appendonly no
export CHAOS_PORT=$PORT
echo "private redis-server on 127.0.0.1:$PORT (pid $REDIS_PID); queue in db 0, records in db 1; generations: $GENS"

scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(1 2 3 4 5 6 7)
recorder_check
for s in "${scenarios[@]}"; do
  t_s=$(now)
  case $s in
    1) for g in $GENS; do scenario_1 "$g"; done ;;
    2) for g in $GENS; do scenario_2 "$g"; done ;;
    3) for g in $GENS; do scenario_3 "$g"; done ;;
    4) scenario_4 ;;
    5) for g in ${CHAOS_SOAK_GENS:-$GENS}; do scenario_5 "$g"; done ;;
    6) for g in $GENS; do scenario_6 "$g"; done ;;
    7) scenario_7 ;;
    *) echo "chaos: unknown scenario '$s' (1..7)" >&2; exit 2 ;;
  esac
  echo "    (scenario $s: $(elapsed "$t_s") s)"
  stop_all
done

printf '\n=== summary (%s s)\n' "$(elapsed "$started")"
printf '%s\n' "${RESULTS[@]}"
[ "$FAILED" -eq 0 ] && echo "chaos: all scenarios passed" || echo "chaos: FAILED"
exit "$FAILED"

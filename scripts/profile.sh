#!/usr/bin/env bash
# `make profile`: where the time of one pop+delete goes, native vs the stock algorithm, on a private
# redis-server: wall time per job in round trips (against a PING loop in the same process), Redis
# commands and server time per job, the client's user/system CPU, and the rest (waiting on the
# network stack and wake-ups). With PROFILE_CALLGRIND=1 also the client's instructions per job by
# function (valgrind callgrind on the native v3 pop+ack loop; instruction counts are repeatable on a
# busy machine, wall times are not). PROFILE_JOBS (20000), PROFILE_ROUNDS (3), PROFILE_JSON=FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
ext=$(./scripts/build-ext.sh)
source scripts/lib.sh
tqn_redis_private
echo "== private redis-server on 127.0.0.1:$REDIS_PORT; redis-benchmark -c 1 PING for reference:"
redis-benchmark -p "$REDIS_PORT" -c 1 -n 50000 -t ping_mbulk -q 2>/dev/null | tr '\r' '\n' | grep 'requests per second' | sed 's/^/   /'
php -d extension="$ext" bench/php/profile.php "$REDIS_PORT" "${PROFILE_JOBS:-20000}"
if [ "${PROFILE_CALLGRIND:-0}" = 1 ]; then
  command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
  out=$(mktemp -d "${TMPDIR:-/tmp}/tqn-callgrind.XXXXXX")
  n=5000
  cat >"$out/loop.php" <<'PHP'
<?php
[$_, $port, $n, $empty] = $argv;
$q = new think\queue\native\RedisQueue(['port' => (int) $port, 'dialect' => 'v3']);
$jobs = [];
for ($i = 0; $i < (int) $n; $i++) { $jobs[] = ['app\job\SendSms', ['mobile' => '13800138000', 'n' => $i]]; }
$q->bulk($jobs, '', 'callgrind');
if ($empty !== '1') { while (($j = $q->pop('callgrind')) !== null) { $q->ack($j); } }
$q->flush();
PHP
  # two runs, with and without the pop loop: the difference is what the loop costs
  for empty in 1 0; do
    valgrind --tool=callgrind --callgrind-out-file="$out/cg.$empty" php -d extension="$ext" "$out/loop.php" "$REDIS_PORT" "$n" "$empty" 2>"$out/log.$empty" >/dev/null
  done
  total() { grep -m1 '^summary:' "$1" | awk '{print $2}'; }
  a=$(total "$out/cg.1"); b=$(total "$out/cg.0")
  echo "== callgrind: client instructions per pop+ack (native v3, $n jobs, loop run minus fill-only run): $(( (b - a) / n ))"
  echo "   inclusive, per job, of the loop run (valgrind counts a 'rep stosb' memset per byte: redis-rs's"
  echo "   read buffer zeroing looks far costlier here than it runs):"
  callgrind_annotate --auto=no --inclusive=yes "$out/cg.0" 2>/dev/null \
    | grep -E 'RedisQueue::(pop|ack) |pop_or_next_due |Parser::parse_value |write_command |ext::job::ReservedJob|memset' \
    | awk -v n="$n" 'NR <= 10 {c=$1; gsub(",", "", c); $1=""; $2=""; printf "   %8d  %s\n", c / n, $0}'
  rm -rf "$out"
fi

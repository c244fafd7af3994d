# shellcheck shell=bash
# Shell helpers shared by the scripts under scripts/ and chaos/ (sourced, not run).
#
# Every script here runs under `set -o pipefail`. With pipefail, `cmd | grep -q x` (or `| head`,
# or an awk that exits early) is a race: the reader exits at its first match, the writer gets
# SIGPIPE if it is still writing, and the pipeline's status becomes 141 even though the answer was
# "yes". So these helpers capture a command's whole output first and then look at it in the shell.

# tqn_output_has PATTERN CMD [ARGS...]: whether CMD's output (stdout and stderr) contains the fixed
# string PATTERN. CMD's own exit status does not matter (ldd, --help and friends exit non-zero).
tqn_output_has() {
  local pattern=$1 out
  shift
  out=$("$@" 2>&1) || true
  [[ $out == *"$pattern"* ]]
}

# tqn_redis_ping PORT [HOST]: whether a redis-server answers PING with PONG there.
tqn_redis_ping() {
  local out
  out=$(redis-cli -h "${2:-127.0.0.1}" -p "$1" ping 2>/dev/null) || return 1
  [ "$out" = PONG ]
}

# tqn_redis_has_tls: whether this machine's redis-server can serve TLS (a build with TLS links
# libssl; builds whose --help mentions --tls-port say so directly).
tqn_redis_has_tls() {
  local server
  server=$(command -v redis-server) || return 1
  tqn_output_has '--tls-port' redis-server --help || tqn_output_has libssl ldd "$server"
}

# tqn_deb_installed PKG: whether the Debian package PKG is installed (dpkg's status, not a probe file).
tqn_deb_installed() {
  local status
  status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
  [ "$status" = "install ok installed" ]
}

# tqn_apt_install_missing PKG...: installs (apt-get, no recommends) those of the Debian packages
# PKG... that are not installed; does nothing, not even apt-get update, when all are. Needs root,
# or sudo. The one apt step of every script here.
tqn_apt_install_missing() {
  local pkg missing=() sudo=()
  for pkg in "$@"; do
    tqn_deb_installed "$pkg" || missing+=("$pkg")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "missing Debian packages (${missing[*]}) and not root: install them and retry" >&2; return 1; }
    sudo=(sudo)
  fi
  echo "installing ${missing[*]}" >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

# ------------------------------------------------------------------------ private redis-servers
#
# The one way the scripts here start a redis-server of their own: on 127.0.0.1, a child of the
# script's main shell (so its PID is the script's to signal and wait for, and no other process is
# ever signalled), stopped by that PID, also when the script fails or is interrupted.
#   tqn_redis_private [ARGS...]   one server for the whole script (demo, bench, profile)
#   tqn_redis_start / tqn_redis_stop / tqn_redis_stop_all / tqn_redis_stop_on_exit: several servers
#                                 (bench-cluster's nodes) or a server killed and started again on
#                                 the same port with its AOF (chaos)
# Run them in the script's own shell, never inside $(...): the PIDs they record would be lost.

[ -n "${TQN_REDIS_PIDS+set}" ] || TQN_REDIS_PIDS=() # the servers started and not yet stopped
TQN_REDIS_TMP=${TQN_REDIS_TMP:-}                     # the directory of the servers without --dir

# tqn_our_child PID: whether PID is a live (not yet ended) child process of the script's main shell.
# A PID is reused once the shell has reaped it, so this is checked before any signal.
tqn_our_child() {
  local stat state ppid
  read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
  stat=${stat##*) } # the command name, in parentheses, may hold spaces
  read -r state ppid _ <<<"$stat"
  [ "$state" != Z ] && [ "$ppid" = "$$" ]
}

# tqn_redis_is PORT PID: whether the redis-server answering on 127.0.0.1:PORT is the process PID
# and has finished loading its data (an AOF after a restart): ready for commands. A server of
# someone else on that port does not count, nor does PONG: it may be another server's.
tqn_redis_is() {
  local out
  out=$(redis-cli -h 127.0.0.1 -p "$1" info 2>/dev/null) || return 1
  [[ $out == *"process_id:$2"$'\r'* && $out == *$'loading:0\r'* ]]
}

# tqn_redis_start [--port P] [--dir D] [--log F] [--] [ARGS...]: starts a redis-server without
# persistence (`--save '' --appendonly no`; ARGS come later and win: `--appendonly yes`, cluster
# options) and waits up to 5 s for it to answer. Without --port it picks a random port in
# 20000-49999 (its cluster bus, port + 10000, is a valid port too) and, when the server does not come up there (the port is taken), another one, up to
# 20 tries; with --port (a restart on the same port) it tries that port once. --dir: its working
# directory (AOF, nodes.conf; default: a new directory under TQN_REDIS_TMP, which
# tqn_redis_stop_all removes); --log: its output, appended (default D/redis.log). Sets
# TQN_REDIS_PORT and TQN_REDIS_PID. When no server comes up, prints the log and returns 1.
# `--` ends the options, for ARGS that start with one of them.
tqn_redis_start() {
  local port="" dir="" log="" tries=20 try i pid
  while [ $# -gt 0 ]; do
    case $1 in
      --port) port=$2; tries=1; shift 2 ;;
      --dir) dir=$2; shift 2 ;;
      --log) log=$2; shift 2 ;;
      --) shift; break ;;
      *) break ;;
    esac
  done
  if [ -z "$dir" ]; then
    [ -n "$TQN_REDIS_TMP" ] || TQN_REDIS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/tqn-redis.XXXXXX") || return 1
    dir=$(mktemp -d "$TQN_REDIS_TMP/server.XXXXXX") || return 1
  fi
  mkdir -p "$dir" || return 1
  log=${log:-$dir/redis.log}
  for ((try = 1; try <= tries; try++)); do
    [ "$tries" -eq 1 ] || port=$((20000 + RANDOM % 30000))
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
      --daemonize no --protected-mode no "$@" >>"$log" 2>&1 &
    pid=$!
    for ((i = 0; i < 100; i++)); do
      if tqn_redis_is "$port" "$pid"; then
        TQN_REDIS_PORT=$port TQN_REDIS_PID=$pid
        TQN_REDIS_PIDS+=("$pid")
        return 0
      fi
      tqn_our_child "$pid" || break # it exited: the port was taken, or a bad argument
      sleep 0.05
    done
    if tqn_our_child "$pid"; then kill "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
  done
  echo "could not start a redis-server on 127.0.0.1 (last port tried: $port); its output ($log):" >&2
  cat "$log" >&2 || true
  return 1
}

# tqn_redis_stop PID [SIGNAL]: stops that server (SIGNAL: TERM unless told, KILL for a crash) and
# waits for it to end. A PID that tqn_redis_start did not start, or that already ended, gets no signal.
tqn_redis_stop() {
  local pid=$1 p ours=0 left=()
  for p in "${TQN_REDIS_PIDS[@]}"; do
    if [ "$p" = "$pid" ]; then ours=1; else left+=("$p"); fi
  done
  [ "$ours" = 1 ] || return 0
  TQN_REDIS_PIDS=("${left[@]}")
  if tqn_our_child "$pid"; then kill "-${2:-TERM}" "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}

# tqn_redis_stop_all: stops every server tqn_redis_start started (and has not been stopped) and
# removes TQN_REDIS_TMP. For an EXIT trap: never fails.
tqn_redis_stop_all() {
  local pid
  for pid in "${TQN_REDIS_PIDS[@]}"; do tqn_redis_stop "$pid"; done
  if [ -n "$TQN_REDIS_TMP" ]; then rm -rf "$TQN_REDIS_TMP" || true; fi
  TQN_REDIS_TMP=""
}

# tqn_redis_stop_on_exit: tqn_redis_stop_all when the script exits, also on Ctrl-C (status 130) and
# TERM (143). Sets the script's EXIT, INT and TERM traps: a script with a cleanup of its own calls
# tqn_redis_stop_all from that instead.
tqn_redis_stop_on_exit() {
  trap tqn_redis_stop_all EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# tqn_redis_private [ARGS...]: one private server for the rest of the script: tqn_redis_start on a
# free port (ARGS: more redis-server arguments), stopped when the script exits
# (tqn_redis_stop_on_exit); exports REDIS_PORT and REDIS_URL (database 0), leaves the PID in
# TQN_REDIS_PID. Exits the script when no server comes up. By hand:
#   bash -c 'source scripts/lib.sh && tqn_redis_private && redis-cli -p "$REDIS_PORT" ping'
tqn_redis_private() {
  tqn_redis_stop_on_exit
  tqn_redis_start -- "$@" || exit 1
  export REDIS_PORT=$TQN_REDIS_PORT REDIS_URL="redis://127.0.0.1:$TQN_REDIS_PORT/0"
}

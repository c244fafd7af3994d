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

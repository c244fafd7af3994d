#!/usr/bin/env bash
# Real Debian userlands with other PHP versions (for the PHP version matrix): builds, caches, enters
# and removes Debian roots made by debootstrap, entered with chroot. Needs root. See docs/userlands.md.
#
#   scripts/userland.sh ensure RELEASE...|all    build each root unless it is cached with the same recipe
#   scripts/userland.sh run RELEASE -- CMD...    run CMD in the root (ensures it first), with this
#                                                checkout, the cargo and rustup homes bind-mounted at
#                                                their own paths; exits with CMD's status
#   scripts/userland.sh check RELEASE...|all     php -v, php -m, ffi.enable inside the cached root
#   scripts/userland.sh status [RELEASE...]      each root's path, size and recipe
#   scripts/userland.sh path RELEASE             the root's path
#   scripts/userland.sh clean RELEASE...|all     remove cached roots (refuses while one is mounted or in use)
#
# RELEASE: bullseye (aliases debian11, php7.4: PHP 7.4) or trixie (debian13, php8.4: PHP 8.4).
# Environment:
#   TQN_USERLAND_DIR              cache of roots (default /var/cache/think-queue-native/userland)
#   TQN_USERLAND_MIRROR           Debian mirror (default http://deb.debian.org/debian)
#   TQN_USERLAND_SECURITY         1: also the RELEASE-security suite (default 0: RELEASE and
#                                 RELEASE-updates only; bullseye-security's php7.4-dev was missing
#                                 on the mirror while its php7.4-cli was there)
#   TQN_USERLAND_SECURITY_MIRROR  (default http://deb.debian.org/debian-security)
#   TQN_USERLAND_EXTRA_PACKAGES   more packages for every root (part of the recipe: changing it rebuilds)
#   TQN_USERLAND_TARGET_DIR       CARGO_TARGET_DIR inside (default <checkout>/target/userland/RELEASE:
#                                 the host's target/ holds build scripts linked against a newer glibc)
#   TQN_USERLAND_PRIVATE_MOUNTS   1 (default): make the mounts in a private mount namespace of this
#                                 script (invisible to the rest of the machine; it vanishes when its last
#                                 process exits, even after kill -9); 0: in the machine's namespace.
#                                 Either way the script unmounts everything on exit.
#
# Never `cmd | grep -q` here (pipefail + SIGPIPE race, see lib.sh): outputs are captured first.
set -euo pipefail

SCRIPT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/$(basename "${BASH_SOURCE[0]}")
CHECKOUT=$(cd "$(dirname "$SCRIPT")/.." && pwd -P)
# shellcheck source=lib.sh
source "$(dirname "$SCRIPT")/lib.sh"

# Bump when the build steps change in a way that needs existing roots rebuilt.
RECIPE=1
CACHE=${TQN_USERLAND_DIR:-/var/cache/think-queue-native/userland}
MIRROR=${TQN_USERLAND_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${TQN_USERLAND_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
SECURITY=${TQN_USERLAND_SECURITY:-0}
RELEASES=(bullseye trixie)
# What the Rust build of the ext-php-rs extension (bindgen -> libclang, php-config, headers) and the
# PHPUnit suites (phpunit, php-redis, a private redis-server, redis-cli, openssl, ps/pkill) need.
COMMON_PACKAGES=(php-redis phpunit redis-server redis-tools clang libclang-dev gcc libc6-dev make
  ca-certificates procps openssl)

say() { echo "userland: $*" >&2; }
die() { say "$*"; exit 1; }

usage() {
  sed -n '2,/^# Never/p' "$SCRIPT" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
  exit "${1:-2}"
}

# release_name ALIAS: the Debian codename.
release_name() {
  case $1 in
    bullseye | debian11 | php7.4 | 11) echo bullseye ;;
    trixie | debian13 | php8.4 | 13) echo trixie ;;
    *) die "unknown release '$1' (bullseye|debian11|php7.4, trixie|debian13|php8.4)" ;;
  esac
}

php_version() {
  case $1 in bullseye) echo 7.4 ;; trixie) echo 8.4 ;; esac
}

# packages RELEASE: the sorted package list of RELEASE's root.
packages() {
  local v list
  v=$(php_version "$1")
  # shellcheck disable=SC2206 # TQN_USERLAND_EXTRA_PACKAGES is a space-separated list
  list=("php$v-cli" "php$v-dev" "php$v-mbstring" "php$v-xml" "${COMMON_PACKAGES[@]}" ${TQN_USERLAND_EXTRA_PACKAGES:-})
  printf '%s\n' "${list[@]}" | sort -u
}

# one_line TEXT: TEXT's lines joined with spaces.
one_line() {
  local -a words
  mapfile -t words <<<"$1"
  echo "${words[*]}"
}

# sources RELEASE: the root's /etc/apt/sources.list.
sources() {
  echo "deb $MIRROR $1 main"
  echo "deb $MIRROR $1-updates main"
  [ "$SECURITY" = 0 ] || echo "deb $SECURITY_MIRROR $1-security main"
}

# stamp RELEASE: what a root was built from; a root whose recorded stamp differs is rebuilt.
stamp() {
  printf 'tqn-userland recipe %s\nrelease %s\nsources %s\npackages %s\n' \
    "$RECIPE" "$1" "$(sources "$1" | sed 's/^deb //' | paste -sd ';')" "$(one_line "$(packages "$1")")"
}

root_of() { echo "$CACHE/$1"; }
STAMP_FILE=.tqn-userland.stamp
INFO_FILE=.tqn-userland.info

cached_ok() {
  local root recorded
  root=$(root_of "$1")
  [ -x "$root/usr/bin/php" ] && [ -f "$root/$STAMP_FILE" ] || return 1
  recorded=$(<"$root/$STAMP_FILE")
  [ "$recorded" = "$(stamp "$1")" ]
}

# ---------------------------------------------------------------- children, signals, cleanup
# fd 3: CMD's stdin (a background job would otherwise get /dev/null); /dev/null when stdin is closed.
if { : <&0; } 2>/dev/null; then exec 3<&0; else exec 3</dev/null; fi
CHILD=""         # PID of the command this script waits for
MARKER=""        # TQN_USERLAND_RUN=<id> in the environment of everything started inside a root
MOUNTS=()        # mount points made by this process, in mount order
BUILD_TMP=""     # half-built root, removed on failure
LOCKED=""        # release whose lock fd 9 holds

# run_child CMD...: runs CMD as a child this script can stop on a signal (a foreground child would
# defer the trap until it exits), with the original stdin, SIGINT/SIGQUIT back at their defaults
# (bash ignores them in background jobs) and without the lock's fd. Returns CMD's status.
run_child() {
  local rc=0
  env --default-signal=INT,QUIT "$@" <&3 9>&- &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=""
  return "$rc"
}

# stop_pid PID: TERM, up to 10 s, then KILL.
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  say "pid $pid ignored SIGTERM for 10 s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

# Processes started inside a root by this script that still run (daemons a test left) would keep
# the mounts busy. Ours are: those with MARKER in their environment; and, as a daemon may have
# rewritten its environment (redis-server's process title does), those whose root is IN_ROOT and
# that are in this script's private mount namespace, or, with the machine's namespace, while no
# other run shares IN_ROOT (this script can take the exclusive lock).
IN_ROOT=""
stop_stragglers() {
  [ -n "$MARKER" ] || return 0
  local out line pid ns="" sole="" pids=()
  out=$(grep -lzxF -- "$MARKER" /proc/[0-9]*/environ 2>/dev/null) || true
  while IFS= read -r line; do
    pid=${line#/proc/}
    pid=${pid%/environ}
    [ -z "$pid" ] || [ "$pid" = $$ ] || pids+=("$pid")
  done <<<"$out"
  if [ -n "$IN_ROOT" ]; then
    if [ -n "${_TQN_USERLAND_NS:-}" ]; then
      ns=$(readlink /proc/$$/ns/mnt)
    elif [ -n "$LOCKED" ] && flock -n -x 9; then
      sole=1
    fi
    out=$(find /proc -mindepth 2 -maxdepth 2 -name root -printf '%h %l\n' 2>/dev/null) || true
    while IFS= read -r line; do
      [ "${line#* }" = "$IN_ROOT" ] || continue
      pid=${line%% *}
      pid=${pid#/proc/}
      if ! [[ $pid =~ ^[0-9]+$ ]] || [ "$pid" = $$ ] || [[ " ${pids[*]} " == *" $pid "* ]]; then continue; fi
      if [ -n "$sole" ] || { [ -n "$ns" ] && [ "$(readlink "/proc/$pid/ns/mnt" 2>/dev/null)" = "$ns" ]; }; then
        pids+=("$pid")
      fi
    done <<<"$out"
  fi
  [ ${#pids[@]} -gt 0 ] || return 0
  say "stopping what the command left running inside the root: $(for pid in "${pids[@]}"; do printf '%s (%s) ' "$pid" "$(cat "/proc/$pid/comm" 2>/dev/null)"; done)"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do stop_pid "$pid"; done
}

# mounts_under DIR: mount points at or under DIR in this namespace, in mount order (one a line).
mounts_under() {
  local out line
  out=$(findmnt -rn -o TARGET) || return 0
  while IFS= read -r line; do
    printf -v line '%b' "$line" # findmnt -r escapes blanks as \x20
    [[ $line == "$1" || $line == "$1"/* ]] && echo "$line"
  done <<<"$out"
}

unmount_one() {
  local target=$1 _
  for _ in 1 2 3 4 5; do
    findmnt -rn --mountpoint "$target" >/dev/null || return 0
    umount "$target" 2>/dev/null && return 0
    sleep 0.5
  done
  say "umount $target: still busy after 5 tries; lazy unmount (umount -l) as the last resort"
  umount -l "$target"
}

unmount_all() {
  local i status=0
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
    unmount_one "${MOUNTS[i]}" || { say "could not unmount ${MOUNTS[i]}"; status=1; }
  done
  MOUNTS=()
  return "$status"
}

cleanup() {
  local status=0 i left
  [ -z "$CHILD" ] || { stop_pid "$CHILD"; CHILD=""; }
  stop_stragglers || true
  unmount_all || status=1
  if [ -n "$BUILD_TMP" ] && [ -d "$BUILD_TMP" ]; then
    # an interrupted debootstrap can leave its own /proc and /sys mounts in the unfinished root
    left=$(mounts_under "$BUILD_TMP")
    if [ -n "$left" ]; then
      local -a list
      mapfile -t list <<<"$left"
      for ((i = ${#list[@]} - 1; i >= 0; i--)); do unmount_one "${list[i]}" || status=1; done
    fi
    if remove_root "$BUILD_TMP"; then say "removed the unfinished build $BUILD_TMP"; else status=1; fi
    BUILD_TMP=""
  fi
  return "$status"
}

# While cleaning up, further signals are ignored: an interrupted cleanup would leave mounts behind.
on_exit() {
  local rc=$?
  trap - EXIT
  trap '' INT TERM HUP
  cleanup || { [ "$rc" -ne 0 ] || rc=1; }
  exit "$rc"
}

on_signal() {
  local sig=$1 code=$2
  trap - EXIT
  trap '' INT TERM HUP
  say "got SIG$sig: stopping the command, unmounting"
  cleanup || true
  exit "$code"
}

trap on_exit EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

# ---------------------------------------------------------------- mounts
# inside ROOT PATH: ROOT/PATH, created as a directory; fails if it would resolve outside ROOT (a
# symlink in the root must never turn a mount into one over the machine's own directories).
inside() {
  local root=$1 path=$2 real
  real=$(realpath -m "$root$path")
  [[ $real == "$root$path" ]] || die "$root$path resolves to $real: refusing to mount there"
  mkdir -p "$real"
  echo "$real"
}

# do_mount ARGS... TARGET: mount, and remember TARGET for the unmount.
do_mount() {
  local target=${!#}
  mount "$@"
  MOUNTS+=("$target")
}

# mount_system ROOT: /proc (its own instance), /dev and /dev/pts (binds), /sys (read-only bind).
mount_system() {
  local root=$1
  do_mount -t proc -o nosuid,nodev,noexec proc "$(inside "$root" /proc)"
  do_mount --bind -o ro /sys "$(inside "$root" /sys)"
  do_mount --bind /dev "$(inside "$root" /dev)"
  do_mount --bind /dev/pts "$(inside "$root" /dev/pts)"
}

: "${HOME:=/root}"
CARGO_DIR=${CARGO_HOME:-$HOME/.cargo}
RUSTUP_DIR=${RUSTUP_HOME:-$HOME/.rustup}

# mount_work ROOT: this checkout, the cargo home and the rustup home, each at its own path.
mount_work() {
  local root=$1 dir
  for dir in "$CHECKOUT" "$CARGO_DIR" "$RUSTUP_DIR"; do
    if [ -d "$dir" ]; then
      dir=$(cd "$dir" && pwd -P)
      do_mount --bind "$dir" "$(inside "$root" "$dir")"
    else
      say "$dir does not exist: not mounted"
    fi
  done
}

# remove_root DIR: rm -rf DIR, only when nothing is mounted under it (rm's --one-file-system does
# not notice binds of the same filesystem: it would delete the checkout through its bind).
remove_root() {
  local dir=$1 left
  left=$(mounts_under "$dir")
  if [ -n "$left" ]; then
    say "not removing $dir: mounted under it: $(one_line "$left")"
    return 1
  fi
  rm -rf --one-file-system "$dir"
}

# ---------------------------------------------------------------- locks
# lock RELEASE -x|-s: fd 9 holds RELEASE's lock, exclusive (building, removing) or shared (running).
lock() {
  local release=$1 mode=$2
  mkdir -p "$CACHE"
  if [ "$LOCKED" != "$release" ]; then
    exec 9>>"$CACHE/.$release.lock"
    LOCKED=$release
  fi
  if ! flock -n "$mode" 9; then
    say "waiting for $release's lock ($CACHE/.$release.lock)"
    # in the background so that a signal is handled at once; the lock belongs to fd 9's open
    # file, which the child shares, so this shell holds it after flock exits
    local rc=0
    flock "$mode" 9 <&3 &
    CHILD=$!
    wait "$CHILD" || rc=$?
    CHILD=""
    [ "$rc" -eq 0 ] || die "could not lock $release"
  fi
}
unlock() {
  [ -z "$LOCKED" ] || { exec 9>&-; LOCKED=""; }
}

# release_mounts RELEASE: mounts under RELEASE's root and its unfinished or old copies.
release_mounts() {
  local d
  for d in "$(root_of "$1")" "$CACHE/.$1".build.* "$CACHE/.$1".old.*; do
    [ ! -d "$d" ] || mounts_under "$d"
  done
}

# sweep_stale RELEASE: when RELEASE's lock is free, nothing uses its root, so mounts left under it
# (a run in the machine's namespace killed with -9) are stale: unmount them. When the lock is
# taken, the mounts belong to a live run and stay.
sweep_stale() {
  local release=$1 stale i
  [ -d "$CACHE" ] || return 0
  stale=$(release_mounts "$release")
  [ -n "$stale" ] || return 0
  exec 9>>"$CACHE/.$release.lock"
  if flock -n -x 9; then
    stale=$(release_mounts "$release")
    if [ -n "$stale" ]; then
      local -a list
      mapfile -t list <<<"$stale"
      say "unmounting what an earlier, killed run left mounted: ${list[*]}"
      for ((i = ${#list[@]} - 1; i >= 0; i--)); do unmount_one "${list[i]}"; done
    fi
  fi
  exec 9>&-
}

# ---------------------------------------------------------------- building
# in_root ROOT CMD...: CMD inside ROOT (already mounted), with a clean environment;
# child_in_root ROOT CMD...: the same through run_child.
root_argv() {
  ROOT_ARGV=(chroot "$1" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$MARKER")
}
in_root() {
  root_argv "$1"
  shift
  "${ROOT_ARGV[@]}" "$@"
}
child_in_root() {
  root_argv "$1"
  shift
  run_child "${ROOT_ARGV[@]}" "$@"
}

# verify ROOT RELEASE: PHP's version, extensions and ffi.enable, and the tool versions; prints a summary.
verify() {
  local root=$1 release=$2 want got mods ffi line
  want=$(php_version "$release")
  got=$(in_root "$root" php -r 'echo PHP_MAJOR_VERSION, ".", PHP_MINOR_VERSION;') || die "php does not run in $root"
  [ "$got" = "$want" ] || die "$release: php reports $got, expected $want"
  mods=$'\n'$(in_root "$root" php -m)$'\n'
  [[ $mods == *$'\nredis\n'* ]] || die "$release: php -m does not list redis"
  if [ "$want" = 7.4 ]; then
    [[ $mods == *$'\nFFI\n'* ]] || die "$release: php -m does not list FFI"
  fi
  ffi=$(in_root "$root" php -r 'var_dump(ini_get("ffi.enable"));')
  {
    line=$(in_root "$root" php -v)
    echo "php:         ${line%%$'\n'*}"
    echo "extensions:  redis $([[ $mods == *$'\nFFI\n'* ]] && echo FFI || echo '(no FFI)') $([[ $mods == *$'\nmbstring\n'* ]] && echo mbstring) $([[ $mods == *$'\nxml\n'* ]] && echo xml)"
    echo "ffi.enable:  $ffi"
    echo "php-config:  $(in_root "$root" php-config --version)"
    line=$(in_root "$root" phpunit --version)
    line=${line%%$'\n'*}
    echo "phpunit:     ${line% by *}"
    line=$(in_root "$root" redis-server --version)
    echo "redis:       ${line%% sha=*}"
    line=$(in_root "$root" clang --version)
    echo "clang:       ${line%%$'\n'*}"
    line=$(in_root "$root" cat /etc/debian_version)
    echo "debian:      $line"
  }
}

build() {
  local release=$1 root log pkg missing=() out old started=$SECONDS
  root=$(root_of "$release")
  log="$CACHE/.$release.log"
  for old in "$CACHE/.$release".build.* "$CACHE/.$release".old.*; do
    [ -d "$old" ] || continue
    say "removing $old, left by an interrupted run"
    remove_root "$old" || die "cannot remove $old"
  done
  tqn_apt_install_missing debootstrap
  MARKER="TQN_USERLAND_RUN=build.$$.$RANDOM"
  BUILD_TMP=$(mktemp -d "$CACHE/.$release.build.XXXXXX")
  IN_ROOT=$BUILD_TMP
  chmod 755 "$BUILD_TMP"
  say "building $release (PHP $(php_version "$release")) in $BUILD_TMP; log: $log"
  say "debootstrap --variant=minbase $release ($MIRROR)"
  : >"$log"
  run_child env "$MARKER" debootstrap --variant=minbase --components=main "$release" "$BUILD_TMP" "$MIRROR" >>"$log" 2>&1 \
    || { tail -n 20 "$log" >&2; die "debootstrap failed (log: $log)"; }

  # No service starts inside (redis-server's postinst would start a daemon), no docs or man pages,
  # no recommends; the release's main and updates suites (and security with TQN_USERLAND_SECURITY=1).
  printf '#!/bin/sh\n# tqn-userland: no service starts in this root\nexit 101\n' >"$BUILD_TMP/usr/sbin/policy-rc.d"
  chmod 755 "$BUILD_TMP/usr/sbin/policy-rc.d"
  cat >"$BUILD_TMP/etc/dpkg/dpkg.cfg.d/tqn-userland-nodoc" <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
EOF
  cat >"$BUILD_TMP/etc/apt/apt.conf.d/90tqn-userland" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
Acquire::Retries "5";
EOF
  sources "$release" >"$BUILD_TMP/etc/apt/sources.list"
  cp -L --remove-destination /etc/resolv.conf "$BUILD_TMP/etc/resolv.conf"

  mount_system "$BUILD_TMP"
  say "apt-get update"
  child_in_root "$BUILD_TMP" apt-get update -q >>"$log" 2>&1 || { tail -n 20 "$log" >&2; die "apt-get update failed (log: $log)"; }
  for pkg in $(packages "$release"); do
    out=$(in_root "$BUILD_TMP" apt-cache policy "$pkg" 2>&1)
    if [[ $out != *"Candidate:"* || $out == *"Candidate: (none)"* ]]; then missing+=("$pkg"); fi
  done
  [ ${#missing[@]} -eq 0 ] || die "$release has no package named: ${missing[*]} (apt-cache policy inside the root)"
  say "apt-get install $(one_line "$(packages "$release")")"
  # shellcheck disable=SC2046
  child_in_root "$BUILD_TMP" apt-get install -y -q $(packages "$release") >>"$log" 2>&1 \
    || { tail -n 20 "$log" >&2; die "apt-get install failed (log: $log)"; }
  child_in_root "$BUILD_TMP" apt-get clean >>"$log" 2>&1
  verify "$BUILD_TMP" "$release" >"$BUILD_TMP/$INFO_FILE"
  unmount_all
  stamp "$release" >"$BUILD_TMP/$STAMP_FILE"
  echo "built:       $(date -u +%FT%TZ) by scripts/userland.sh" >>"$BUILD_TMP/$INFO_FILE"

  # Complete: rename into place (the old root, if any, moves aside first and is removed after).
  if [ -e "$root" ]; then
    old=$(mktemp -d "$CACHE/.$release.old.XXXXXX")
    mv "$root" "$old/root"
  fi
  mv "$BUILD_TMP" "$root"
  BUILD_TMP=""
  [ -z "${old:-}" ] || remove_root "$old" || say "could not remove the previous root $old"
  say "$release ready at $root ($(du -sh "$root" | cut -f1)), built in $((SECONDS - started)) s"
  sed 's/^/  /' "$root/$INFO_FILE" >&2
}

# acquire RELEASE [quiet]: builds RELEASE's root unless it is cached with the current recipe, and
# leaves fd 9 holding RELEASE's shared lock (runs share a root; builds and clean exclude them). A
# cached root needs only the shared lock, so this does not wait for the runs using it.
acquire() {
  lock "$1" -s
  if cached_ok "$1"; then
    [ -n "${2:-}" ] || say "$1 cached at $(root_of "$1") ($(sed -n 's/^php: *//p' "$(root_of "$1")/$INFO_FILE"))"
    return 0
  fi
  lock "$1" -x # waits for the runs still using an outdated root
  if ! cached_ok "$1"; then # (another process may have built it meanwhile)
    if [ -d "$(root_of "$1")" ]; then say "$1: the recorded recipe differs (or the root is incomplete): rebuilding"; fi
    build "$1"
  fi
  lock "$1" -s
  cached_ok "$1" || die "$1 changed while this process waited for its lock: run again"
}

# ---------------------------------------------------------------- subcommands
need_root() {
  [ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, mount, chroot): run it with sudo"
}

# Runs the rest of this script in a private mount namespace (same PID: exec), unless disabled.
private_namespace() {
  [ "${TQN_USERLAND_PRIVATE_MOUNTS:-1}" != 0 ] || return 0
  [ -z "${_TQN_USERLAND_NS:-}" ] || return 0
  if unshare --mount --propagation private true 2>/dev/null; then
    export _TQN_USERLAND_NS=1
    exec unshare --mount --propagation private -- "$BASH" "$SCRIPT" "$@"
  fi
  say "unshare --mount does not work here: mounting in the machine's namespace"
}

releases_of() {
  local a
  [ $# -gt 0 ] || die "which release? (bullseye, trixie or all)"
  for a in "$@"; do
    if [ "$a" = all ]; then printf '%s\n' "${RELEASES[@]}"; else release_name "$a"; fi
  done
}

check_cache_location() {
  local cache
  cache=$(realpath -m "$CACHE")
  [[ $cache != "$CHECKOUT" && $cache != "$CHECKOUT"/* ]] || die "TQN_USERLAND_DIR=$CACHE is inside the checkout: keep the roots outside the repository"
  CACHE=$cache
}

cmd_ensure() {
  local release rels
  rels=$(releases_of "$@")
  for release in $rels; do sweep_stale "$release"; done
  private_namespace ensure "$@"
  for release in $rels; do
    acquire "$release"
    unlock
  done
}

cmd_check() {
  local release rels root
  rels=$(releases_of "$@")
  for release in $rels; do sweep_stale "$release"; done
  private_namespace check "$@"
  for release in $rels; do
    root=$(root_of "$release")
    lock "$release" -s
    cached_ok "$release" || die "$release is not built (or its recipe changed): scripts/userland.sh ensure $release"
    MARKER="TQN_USERLAND_RUN=check.$$.$RANDOM"
    IN_ROOT=$root
    mount_system "$root"
    say "$release ($root):"
    verify "$root" "$release" | sed 's/^/  /' >&2
    unmount_all
    unlock
  done
}

cmd_run() {
  [ $# -ge 1 ] || usage
  local release root rc=0 cwd dir
  release=$(release_name "$1")
  shift
  [ "${1:-}" != -- ] || shift
  [ $# -gt 0 ] || die "run $release: no command (scripts/userland.sh run $release -- CMD ARGS...)"
  sweep_stale "$release"
  private_namespace run "$release" -- "$@"
  root=$(root_of "$release")

  acquire "$release" quiet

  # (--remove-destination: a symlink there is replaced, never followed out of the root)
  cp -L --remove-destination /etc/resolv.conf "$root/etc/resolv.conf"
  MARKER="TQN_USERLAND_RUN=$release.$$.$RANDOM"
  IN_ROOT=$root
  mount_system "$root"
  mount_work "$root"

  cwd=$(pwd -P)
  [[ $cwd == "$CHECKOUT" || $cwd == "$CHECKOUT"/* ]] || cwd=$CHECKOUT
  local -a envs=(
    HOME="$HOME" USER=root LOGNAME=root LANG=C.UTF-8 TERM="${TERM:-dumb}"
    PATH="$CARGO_DIR/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    CARGO_HOME="$CARGO_DIR" RUSTUP_HOME="$RUSTUP_DIR"
    CARGO_TARGET_DIR="${TQN_USERLAND_TARGET_DIR:-$CHECKOUT/target/userland/$release}"
    TQN_USERLAND="$release" TQN_USERLAND_PHP="$(php_version "$release")" "$MARKER"
  )
  # Passed through: CI, TQN_* (TQN_EXT_SO...), Rust's logging and cargo's terminal settings.
  while IFS= read -r dir; do
    case $dir in
      CI | NO_COLOR | RUST_BACKTRACE | RUST_LOG | CARGO_TERM_* | TQN_*)
        [[ $dir == TQN_USERLAND* ]] || envs+=("$dir=${!dir}") ;;
    esac
  done < <(compgen -e)

  rc=0
  run_child chroot "$root" /usr/bin/env -i --chdir="$cwd" "${envs[@]}" "$@" || rc=$?
  stop_stragglers
  unmount_all || { say "some mounts could not be undone"; [ "$rc" -ne 0 ] || rc=1; }
  exit "$rc"
}

cmd_status() {
  local release root rels
  if [ $# -gt 0 ]; then rels=$(releases_of "$@"); else rels=${RELEASES[*]}; fi
  for release in $rels; do
    root=$(root_of "$release")
    if [ ! -d "$root" ]; then
      echo "$release: not built ($root)"
      continue
    fi
    echo "$release: $root, $(du -sh "$root" 2>/dev/null | cut -f1), $(cached_ok "$release" && echo 'recipe current' || echo 'recipe differs: the next ensure rebuilds')"
    [ ! -f "$root/$INFO_FILE" ] || sed 's/^/  /' "$root/$INFO_FILE"
  done
}

cmd_clean() {
  local release rels root dir p r pids found
  rels=$(releases_of "$@")
  for release in $rels; do
    root=$(root_of "$release")
    found=""
    for dir in "$root" "$CACHE/.$release".build.* "$CACHE/.$release".old.* "$CACHE/.$release.log"; do
      [ ! -e "$dir" ] || found=1
    done
    if [ -z "$found" ]; then
      say "$release: nothing to remove"
      continue
    fi
    sweep_stale "$release"
    lock "$release" -x
    pids=()
    for p in /proc/[0-9]*; do
      r=$(readlink "$p/root" 2>/dev/null) || continue
      [[ $r == "$root" || $r == "$root"/* || $r == "$CACHE/.$release".* ]] && pids+=("${p#/proc/}")
    done
    [ ${#pids[@]} -eq 0 ] || die "not removing $release: processes running inside it: ${pids[*]}"
    for dir in "$root" "$CACHE/.$release".build.* "$CACHE/.$release".old.*; do
      [ -d "$dir" ] || continue
      remove_root "$dir" || die "not removing $release"
      say "removed $dir"
    done
    rm -f "$CACHE/.$release.log"
    unlock
  done
}

main() {
  [ $# -ge 1 ] || usage
  local cmd=$1
  shift
  case $cmd in
    -h | --help | help) usage 0 ;;
    path) [ $# -eq 1 ] || usage; check_cache_location; root_of "$(release_name "$1")"; return ;;
  esac
  check_cache_location
  case $cmd in
    ensure) need_root; cmd_ensure "$@" ;;
    run) need_root; cmd_run "$@" ;;
    check) need_root; cmd_check "$@" ;;
    status) cmd_status "$@" ;;
    clean) need_root; cmd_clean "$@" ;;
    *) usage ;;
  esac
}

main "$@"

#!/usr/bin/env bash
# `make test-matrix` (part of `make test`): the PHP suites in real Debian userlands, with Debian's
# own PHP of each release, on each backend that PHP can have:
#   Debian 11 bullseye, PHP 7.4: the FFI library (built in that root: the release's glibc-2.31 build)
#   Debian 13 trixie,   PHP 8.4: the extension (built in that root against php8.4-dev) and the FFI
#                                library (the same Debian 11 build: one file for every PHP)
# Suites: native, v1, v3 (the v1/v3 suites hold the public payload vectors). Debian 12's PHP 8.2 is
# this machine: scripts/test-php.sh runs every suite there on both backends.
# The roots are built (once, then cached outside the repo) and entered by scripts/userland.sh,
# which undoes its mounts also on failure. Build output: target/userland/<release>/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

started=$(date +%s)
scripts/userland.sh ensure bullseye
scripts/userland.sh ensure trixie

ffi=$root/target/userland/bullseye/release/libthink_queue_native_ffi.so
ext=$root/target/userland/trixie/release/libthink_queue_native.so

echo "=== Debian 11: the FFI library (cargo build -p think-queue-native-ffi, glibc 2.31)"
scripts/userland.sh run bullseye -- cargo build --release --quiet -p think-queue-native-ffi
echo "=== Debian 13: the PHP 8.4 extension (scripts/build-ext.sh against php8.4-dev)"
scripts/userland.sh run trixie -- scripts/build-ext.sh >/dev/null

declare -A result
status=0
run_leg() { # name release suites...
  local name=$1 release=$2
  shift 2
  echo
  echo "=== $name: scripts/test-php.sh $*"
  if scripts/userland.sh run "$release" -- env TQN_EXT_SO="$ext" TQN_FFI_LIB="$ffi" TQN_SKIP_STUBS_CHECK=1 \
      scripts/test-php.sh "$@"; then
    result[$name]=pass
  else
    result[$name]=FAIL
    status=1
  fi
}
run_leg "Debian 11, PHP 7.4, FFI" bullseye native-ffi v1-ffi v3-ffi
run_leg "Debian 13, PHP 8.4, extension + FFI" trixie native v1 v3 native-ffi v1-ffi v3-ffi

echo
echo "=== test matrix ($(( $(date +%s) - started )) s)"
for name in "Debian 11, PHP 7.4, FFI" "Debian 13, PHP 8.4, extension + FFI"; do
  printf '  %-38s %s\n' "$name" "${result[$name]:-not run}"
done
exit "$status"

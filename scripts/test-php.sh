#!/usr/bin/env bash
# Runs every PHP test suite against the built extension and the built FFI library and prints a
# summary; exits non-zero if any suite fails. Builds neither: `make ext ffi` builds
# target/release/libthink_queue_native.so and target/release/libthink_queue_native_ffi.so first
# (the mixed suites' Rust binaries are built here, below).
#
#   scripts/test-php.sh                 # all suites: native, v1, v3, baseline, mixed-v1, mixed-v3 on the
#                                       # extension, then native, v1, v3, mixed-v1, mixed-v3 on the FFI bridge
#   scripts/test-php.sh v1 v3-ffi       # some of them (SUITE-ffi: on the FFI bridge)
#   TQN_EXT_SO=/path/to/ext.so TQN_FFI_LIB=/path/to/libthink_queue_native_ffi.so scripts/test-php.sh
#
# On the FFI bridge a suite runs in a PHP without the extension, with THINK_QUEUE_NATIVE_FFI naming
# the library and TQN_BACKEND=ffi telling the bootstrap which backend it checks for.
#
# Each suite is its own PHP process (the v1 and v3 think-queue stand-ins declare the same class
# names) and starts its own private redis-server on a free loopback port.
#
# The mixed-v1 / mixed-v3 suites (Rust producers and workers next to PHP ones) also run the `tqn`
# binary and the producer/worker examples: this script builds them first (debug, without the php
# feature, into target/debug; TQN_RUST_BIN_DIR names another directory holding them).
set -u -o pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

php=${PHP:-php}
phpunit=${PHPUNIT:-$(command -v phpunit || true)}
ext=${TQN_EXT_SO:-target/release/libthink_queue_native.so}
ffi=${TQN_FFI_LIB:-target/release/libthink_queue_native_ffi.so}

fail() { echo "test-php: $*" >&2; exit 1; }
[ -n "$phpunit" ] || fail "phpunit not found (Debian: apt-get install phpunit)"
command -v redis-server >/dev/null || fail "redis-server not found (Debian: apt-get install redis-server)"
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(native v1 v3 baseline mixed-v1 mixed-v3 native-ffi v1-ffi v3-ffi mixed-v1-ffi mixed-v3-ffi)
need_ext=0 need_ffi=0
for suite in "${suites[@]}"; do
  if [ "${suite%-ffi}" != "$suite" ]; then need_ffi=1; else need_ext=1; fi
done

if [ "$need_ext" = 1 ]; then
  [ -f "$ext" ] || fail "$ext does not exist: build the extension first (make build)"
  ext=$(cd "$(dirname "$ext")" && pwd)/$(basename "$ext")
  "$php" -d "extension=$ext" -r 'exit(extension_loaded("think_queue_native") ? 0 : 1);' \
    || fail "$ext does not load as the think_queue_native extension"
fi
export TQN_EXT_SO=$ext
if [ "$need_ffi" = 1 ]; then
  [ -f "$ffi" ] || fail "$ffi does not exist: build the FFI library first (make ffi)"
  ffi=$(cd "$(dirname "$ffi")" && pwd)/$(basename "$ffi")
fi
export TQN_FFI_LIB=$ffi

for suite in "${suites[@]}"; do
  case $suite in
    mixed-*)
      if [ -z "${TQN_RUST_BIN_DIR:-}" ]; then
        echo "=== building the Rust side of the mixed suites: tqn, examples/producer, examples/worker"
        cargo build --quiet --bin tqn --example producer --example worker || fail "cargo build of the mixed suites' binaries failed"
        export TQN_RUST_BIN_DIR="${CARGO_TARGET_DIR:-$root/target}/debug"
      fi
      break ;;
  esac
done

logdir=$(mktemp -d "${TMPDIR:-/tmp}/tqn-test-php.XXXXXX")
trap 'rm -rf "$logdir"' EXIT

declare -A status summary
failed=0
for suite in "${suites[@]}"; do
  base=${suite%-ffi}
  if [ "$base" != "$suite" ]; then
    [ "$base" != baseline ] || fail "the baseline suite runs stock think-queue code only: no -ffi variant"
    run=(env TQN_BACKEND=ffi "THINK_QUEUE_NATIVE_FFI=$ffi" "$php")
  else
    run=("$php" -d "extension=$ext")
  fi
  case $base in
    baseline) args=(--bootstrap tests/php/baseline/bootstrap.php --do-not-cache-result tests/php/baseline) ;;
    native|v1|v3) args=(-c "tests/php/$base/phpunit.xml") ;;
    mixed-v1|mixed-v3) args=(-c "tests/php/mixed/${base#mixed-}/phpunit.xml") ;;
    *) fail "unknown suite '$suite' (native, v1, v3, baseline, mixed-v1, mixed-v3; SUITE-ffi on the FFI bridge)" ;;
  esac
  if [ "$suite" = baseline ] && [ ! -f tests/php/baseline/bootstrap.php ]; then
    status[$suite]=missing; summary[$suite]="tests/php/baseline not present"; failed=1; continue
  fi
  echo "=== $suite: ${run[*]} $phpunit ${args[*]}"
  "${run[@]}" "$phpunit" "${args[@]}" 2>&1 | tee "$logdir/$suite.log"
  rc=${PIPESTATUS[0]}
  line=$(grep -E '^(OK \(|OK, but|Tests: )' "$logdir/$suite.log" | tail -n 1)
  summary[$suite]=${line:-"no PHPUnit summary (exit $rc)"}
  if [ "$rc" -eq 0 ]; then status[$suite]=pass; else status[$suite]=FAIL; failed=1; fi
  echo
done

echo "=== PHP test summary"
for suite in "${suites[@]}"; do
  printf '  %-13s %-5s %s\n' "$suite" "${status[$suite]}" "${summary[$suite]}"
done
if [ "$failed" -ne 0 ]; then
  echo "test-php: FAILED" >&2
  exit 1
fi
echo "test-php: all suites passed"

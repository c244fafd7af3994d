#!/usr/bin/env bash
# Runs every PHP test suite against the built extension and prints a summary; exits non-zero if
# any suite fails. Builds no extension: `make build` (or the lead's make target) builds
# target/release/libthink_queue_native.so first (the mixed suites' Rust binaries are built here, below).
#
#   scripts/test-php.sh                 # all suites: native, v1, v3, baseline, mixed-v1, mixed-v3
#   scripts/test-php.sh v1 v3           # some of them
#   TQN_EXT_SO=/path/to/ext.so scripts/test-php.sh
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

fail() { echo "test-php: $*" >&2; exit 1; }
[ -n "$phpunit" ] || fail "phpunit not found (Debian: apt-get install phpunit)"
command -v redis-server >/dev/null || fail "redis-server not found (Debian: apt-get install redis-server)"
[ -f "$ext" ] || fail "$ext does not exist: build the extension first (make build)"
ext=$(cd "$(dirname "$ext")" && pwd)/$(basename "$ext")
"$php" -d "extension=$ext" -r 'exit(extension_loaded("think_queue_native") ? 0 : 1);' \
  || fail "$ext does not load as the think_queue_native extension"
export TQN_EXT_SO=$ext

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(native v1 v3 baseline mixed-v1 mixed-v3)

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
  case $suite in
    baseline) args=(--bootstrap tests/php/baseline/bootstrap.php --do-not-cache-result tests/php/baseline) ;;
    native|v1|v3) args=(-c "tests/php/$suite/phpunit.xml") ;;
    mixed-v1|mixed-v3) args=(-c "tests/php/mixed/${suite#mixed-}/phpunit.xml") ;;
    *) fail "unknown suite '$suite' (native, v1, v3, baseline, mixed-v1, mixed-v3)" ;;
  esac
  if [ "$suite" = baseline ] && [ ! -f tests/php/baseline/bootstrap.php ]; then
    status[$suite]=missing; summary[$suite]="tests/php/baseline not present"; failed=1; continue
  fi
  echo "=== $suite: $php -d extension=$ext $phpunit ${args[*]}"
  "$php" -d "extension=$ext" "$phpunit" "${args[@]}" 2>&1 | tee "$logdir/$suite.log"
  rc=${PIPESTATUS[0]}
  line=$(grep -E '^(OK \(|OK, but|Tests: )' "$logdir/$suite.log" | tail -n 1)
  summary[$suite]=${line:-"no PHPUnit summary (exit $rc)"}
  if [ "$rc" -eq 0 ]; then status[$suite]=pass; else status[$suite]=FAIL; failed=1; fi
  echo
done

echo "=== PHP test summary"
for suite in "${suites[@]}"; do
  printf '  %-9s %-5s %s\n' "$suite" "${status[$suite]}" "${summary[$suite]}"
done
if [ "$failed" -ne 0 ]; then
  echo "test-php: FAILED" >&2
  exit 1
fi
echo "test-php: all suites passed"

#!/usr/bin/env bash
# Runs the Rust tests (core, without the PHP extension layer) and prints the runner's summary.
# Uses cargo-nextest when it is installed (one summary line for the whole run), else cargo test.
# The scale suite (tests/scale_*.rs: cluster, sentinel, TLS, ACL) runs last through
# scripts/test-scale.sh, one process per test binary, so each starts its servers once.
set -uo pipefail
cd "$(dirname "$0")/.."
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast -E 'not binary(~scale_)' || exit 1
  # nextest does not run doc tests
  cargo test --doc || exit 1
  ./scripts/test-scale.sh || exit 1
else
  log=$(mktemp)
  cargo test --workspace --no-fail-fast 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  echo "== rust test summary: $(grep -E '^test result:' "$log" | awk '{p+=$4; f+=$6; i+=$8} END {print p" passed, "f" failed, "i" ignored"}')"
  rm -f "$log"
  exit "$status"
fi

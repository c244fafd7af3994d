#!/usr/bin/env bash
# Runs the Rust tests (core, without the PHP extension layer) and prints the runner's summary.
# Uses cargo-nextest when it is installed (one summary line for the whole run), else cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --no-default-features --no-fail-fast
  # nextest does not run doc tests
  cargo test --no-default-features --doc
else
  cargo test --no-default-features --no-fail-fast 2>&1 | tee .test-output.log
  echo "== summary: $(grep -E '^test result:' .test-output.log | awk '{p+=$4; f+=$6; i+=$8} END {print p" passed, "f" failed, "i" ignored"}')"
  rm -f .test-output.log
fi

#!/usr/bin/env bash
# Builds the PHP extension (release, feature `php`) and prints the path of the .so:
#   php -d extension="$(scripts/build-ext.sh)" ...
# Idempotent: cargo rebuilds only what changed (a few seconds when up to date). Keep PATH the same
# between builds: ext-php-rs' build script reruns (about 20 s) whenever PATH changes.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --lib --features php --quiet >&2
so="${CARGO_TARGET_DIR:-$PWD/target}/release/libthink_queue_native.so"
if [ ! -f "$so" ]; then
  echo "build-ext: $so was not produced" >&2
  exit 1
fi
echo "$so"

#!/usr/bin/env bash
# Builds the PHP extension (release, feature `php`) and prints the path of the .so:
#   php -d extension="$(scripts/build-ext.sh)" ...
# For another PHP (>= 8.1) than the one on PATH, name its php-config:
#   PHP_CONFIG=/opt/php84/bin/php-config scripts/build-ext.sh     (or: make ext PHP_CONFIG=...)
# builds against that PHP's headers into target/php<major.minor>/release/libthink_queue_native.so
# (a target directory per PHP version, so builds for several PHPs do not undo each other).
# Idempotent: cargo rebuilds only what changed (a few seconds when up to date). Keep PATH the same
# between builds: ext-php-rs' build script reruns (about 20 s) whenever PATH changes.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${PHP_CONFIG:-}" ]; then
  [ -x "$PHP_CONFIG" ] || { echo "build-ext: PHP_CONFIG=$PHP_CONFIG is not an executable php-config" >&2; exit 1; }
  version=$("$PHP_CONFIG" --version)
  minor=${version%.*}
  php_bin=$("$PHP_CONFIG" --php-binary)
  [ -x "$php_bin" ] || { echo "build-ext: $PHP_CONFIG names no PHP CLI binary ($php_bin); install that PHP's CLI" >&2; exit 1; }
  case $minor in
    7.*|8.0) echo "build-ext: PHP $version is too old for the extension (PHP >= 8.1); use the FFI library (make ffi)" >&2; exit 1 ;;
  esac
  # ext-php-rs' build script runs `php` and `php-config` from PATH (and $PHP): put this PHP's first
  shim="$PWD/target/php-config-path/$minor"
  mkdir -p "$shim"
  ln -sf "$PHP_CONFIG" "$shim/php-config"
  ln -sf "$php_bin" "$shim/php"
  export PATH="$shim:$PATH" PHP="$php_bin"
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/php$minor}"
fi

cargo build --release --lib --no-default-features --features php --quiet >&2
so="${CARGO_TARGET_DIR:-$PWD/target}/release/libthink_queue_native.so"
if [ ! -f "$so" ]; then
  echo "build-ext: $so was not produced" >&2
  exit 1
fi
echo "$so"

#!/usr/bin/env bash
# Installs the Debian packages the build, the demo and the tests need, only when one is missing.
# Safe to run repeatedly; needs root (or sudo) on Debian 12 when something has to be installed.
#   scripts/install-deps.sh          the build, demo and test packages
#   scripts/install-deps.sh bench    those plus what `make bench` needs: redis-benchmark (redis-tools)
#                                    and Debian's matplotlib for /usr/bin/python3 (the chart)
set -euo pipefail

# package -> a file that proves it is installed
declare -A probe=(
  [redis-server]=/usr/bin/redis-server
  [redis-tools]=/usr/bin/redis-cli
  [php8.2-cli]=/usr/bin/php8.2
  [php8.2-dev]=/usr/bin/php-config8.2
  [php-redis]=/usr/share/doc/php-redis
  [clang]=/usr/bin/clang
  [libclang-dev]=/usr/share/doc/libclang-dev
  [phpunit]=/usr/bin/phpunit
  [php8.2-mbstring]=/usr/share/doc/php8.2-mbstring
  [php8.2-xml]=/usr/share/doc/php8.2-xml
  [libphp8.2-embed]=/usr/lib/libphp8.2.so
  [openssl]=/usr/bin/openssl
)
if [ "${1:-}" = bench ]; then
  probe[redis-tools]=/usr/bin/redis-benchmark
  probe[python3-matplotlib]=/usr/lib/python3/dist-packages/matplotlib/__init__.py
fi

missing=()
for pkg in "${!probe[@]}"; do
  [ -e "${probe[$pkg]}" ] || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: missing packages (${missing[*]}) and not root; install them and retry" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"

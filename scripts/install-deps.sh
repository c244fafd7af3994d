#!/usr/bin/env bash
# Installs the Debian packages the build, the demo and the tests need, only when one is missing.
# Safe to run repeatedly; needs root (or sudo) on Debian 12 when something has to be installed.
#   scripts/install-deps.sh          the build, demo and test packages
#   scripts/install-deps.sh bench    those plus what `make bench` needs: redis-benchmark (redis-tools)
#                                    and Debian's matplotlib for /usr/bin/python3 (the chart)
set -euo pipefail

cd "$(dirname "$0")/.."
source scripts/lib.sh

packages=(redis-server redis-tools php8.2-cli php8.2-dev php-redis clang libclang-dev phpunit php8.2-mbstring
  php8.2-xml libphp8.2-embed openssl)
if [ "${1:-}" = bench ]; then
  # redis-benchmark is in redis-tools; Debian's matplotlib for /usr/bin/python3 (the chart)
  packages+=(python3-matplotlib)
fi
tqn_apt_install_missing "${packages[@]}"

#!/usr/bin/env bash
# The dashboard's end-to-end test (tests/dashboard/e2e.py) in a real browser: Debian's chromium
# and chromium-driver driven by Debian's python3-selenium (never a browser or driver downloaded
# by a tool), promtool from Debian's prometheus package, a private redis-server, the PHP worker on
# the extension and the Rust worker. Installs the Debian packages it needs (apt-get, as root or
# with sudo) and builds tqn and examples/worker (debug profile: target/release holds the
# extension). Needs the extension built (make ext). SCREENSHOT=path.png saves the queue page.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

tqn_apt_install_missing chromium chromium-driver python3-selenium prometheus redis-server redis-tools
ext=${TQN_EXT_SO:-$PWD/target/release/libthink_queue_native.so}
[ -f "$ext" ] || { echo "test-dashboard: $ext does not exist: build the extension first (make ext)" >&2; exit 1; }
cargo build --quiet --bin tqn --example worker
export TQN=$PWD/target/debug/tqn RUST_WORKER=$PWD/target/debug/examples/worker PHP_EXT=$ext
# selenium must not look for (or fetch) a driver of its own: the path is given
export SE_OFFLINE=true
# Debian's python3, which python3-selenium belongs to (not whatever python3 comes first in PATH)
/usr/bin/python3 tests/dashboard/e2e.py

#!/usr/bin/env bash
# The scale suite (tests/scale_*.rs): a 3-primary/3-replica Redis Cluster, a primary + replica +
# 3 sentinels set (with a SIGKILLed primary), TLS servers with a generated CA, an ACL user.
# Each test binary starts its own servers on free loopback ports and stops them, also on failure.
# One process per binary (not nextest's process per test), so the cluster is started once per
# binary. Prints the measured figures (failover outage, lost/duplicated jobs, WAIT cost, slot
# migration) on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v openssl >/dev/null || { echo "test-scale: openssl is missing (make deps installs it)" >&2; exit 1; }
source scripts/lib.sh
tqn_redis_has_tls || { echo "test-scale: this redis-server was built without TLS" >&2; exit 1; }
started=$(date +%s)
cargo test --no-fail-fast --test scale_cluster --test scale_sentinel --test scale_tls --test scale_acl -- --nocapture 2>&1 \
  | grep -vE '^\s*(Compiling|Running|Finished)' | grep -vE '^$'
status=${PIPESTATUS[0]}
echo "== scale suite: $(( $(date +%s) - started )) s, exit status $status"
exit "$status"

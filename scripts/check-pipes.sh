#!/usr/bin/env bash
# Fails when a shell script of the project pipes into a reader that may exit before the writer is
# done (`cmd | grep -q`, `| grep -m N`, `| head`, `| sed ...q`): under `set -o pipefail`, which
# every script here uses, the writer's SIGPIPE makes the pipeline fail at random (issue: the TLS
# check of test-scale.sh failed about one run in six). Capture the output first instead
# (scripts/lib.sh: tqn_output_has, tqn_redis_ping). Run by `make lint`.
set -euo pipefail
cd "$(dirname "$0")/.."

files=(Makefile .ci/run)
while IFS= read -r -d '' f; do files+=("$f"); done < <(find scripts chaos bench -name '*.sh' -print0)
pattern='\|[[:space:]]*(grep[[:space:]]+(-[a-zA-Z]*[qm]|--quiet|--max-count)|head([[:space:]]|$)|sed[[:space:]]+-n[^|]*q)'
found=0
for f in "${files[@]}"; do
  n=0
  while IFS= read -r line; do
    n=$((n + 1))
    code=${line%%#*}   # comments may mention the pattern
    if [[ $code =~ $pattern ]]; then
      echo "$f:$n: early-exiting reader in a pipeline: ${line#"${line%%[![:space:]]*}"}" >&2
      found=1
    fi
  done < "$f"
done
if [ "$found" -ne 0 ]; then
  echo "check-pipes: capture the output first (see scripts/lib.sh)" >&2
  exit 1
fi
echo "check-pipes: ${#files[@]} files, no early-exiting reader in a pipeline"

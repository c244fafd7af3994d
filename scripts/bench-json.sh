#!/usr/bin/env bash
# Micro-benchmarks of the PHP-exact JSON codec and of payload building against serde_json on the
# same values (benches/json.rs, Criterion). Takes about a minute: the time budget is set in the
# bench's Criterion config.
#
# stderr: Criterion's own output, then a table: case, median ns/op of ours and of serde_json, the
#         ratio ours/serde_json (below 1: ours is faster), MB/s of each over its own bytes.
# stdout: one JSON line per case, for other scripts to fold into BENCHMARKS.md:
#   {"bench":"json","case":"encode/small","ours_ns":306.3,"serde_ns":220.9,"bytes":128,"serde_bytes":110}
#   ours_ns/serde_ns: Criterion's median estimate, ns per operation. bytes: the JSON ours writes
#   (encode, payload) or both decoders read (decode: the same PHP-style bytes); serde_bytes: what
#   serde_json writes. The outputs differ by design: PHP writes '/' as '\/' and non-ASCII as
#   \uXXXX, serde_json writes both raw (and sorts map keys), so compare speed, not bytes.
#
# Extra arguments go to Criterion, e.g. a filter: scripts/bench-json.sh encode-
# Only cases measured by this run are reported.
set -euo pipefail
cd "$(dirname "$0")/.."

# Reads Criterion's JSON with Python's standard library: Debian's python3, else any on PATH.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 || true)
if [ -z "$PY" ]; then
  echo "bench-json: needs python3 (apt-get install python3-minimal)" >&2
  exit 1
fi

target_dir=$(cargo metadata --format-version 1 --no-deps | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
export CRITERION_HOME="${CRITERION_HOME:-$target_dir/criterion}"

stamp=$(mktemp)
trap 'rm -f "$stamp"' EXIT
start=$(date +%s)
# Criterion's report goes to stderr with the rest of the human output; stdout stays JSON lines.
cargo bench --bench json -- --noplot "$@" >&2
echo "bench-json: measured in $(($(date +%s) - start)) s (including the build)" >&2

"$PY" - "$CRITERION_HOME" "$stamp" <<'PYEOF'
import json
import os
import sys

home, stamp = sys.argv[1], sys.argv[2]
since = os.stat(stamp).st_mtime
KINDS = ["encode", "decode", "payload"]
CASES = ["small", "medium", "floats", "strings", "v1", "v3"]


def measured(group, function):
    """(median ns/op, bytes) of one benchmark measured by this run, else None."""
    base = os.path.join(home, group, function, "new")
    path = os.path.join(base, "estimates.json")
    if not os.path.exists(path) or os.stat(path).st_mtime < since:
        return None
    with open(path) as f:
        median = json.load(f)["median"]["point_estimate"]
    with open(os.path.join(base, "benchmark.json")) as f:
        throughput = json.load(f).get("throughput") or {}
    return median, throughput.get("Bytes")


def order(group):
    kind, _, case = group.partition("-")
    return (KINDS.index(kind), CASES.index(case) if case in CASES else len(CASES), case)


groups = [g for g in os.listdir(home) if g.partition("-")[0] in KINDS and os.path.isdir(os.path.join(home, g))] if os.path.isdir(home) else []
rows = []
for group in sorted(groups, key=order):
    ours, serde = measured(group, "ours"), measured(group, "serde_json")
    if ours is None or serde is None:
        continue
    kind, _, case = group.partition("-")
    rows.append((kind + "/" + case, ours, serde))

if not rows:
    sys.exit("bench-json: no results from this run under " + home)


def mbps(nbytes, ns):
    return nbytes / ns * 1e3 if nbytes and ns else float("nan")


err = sys.stderr
err.write("\n%-16s %12s %12s %8s %10s %10s\n" % ("case", "ours ns/op", "serde ns/op", "ours/sj", "ours MB/s", "sj MB/s"))
for case, (ours_ns, nbytes), (serde_ns, serde_bytes) in rows:
    err.write("%-16s %12.1f %12.1f %8.2f %10.1f %10.1f\n" % (
        case, ours_ns, serde_ns, ours_ns / serde_ns, mbps(nbytes, ours_ns), mbps(serde_bytes, serde_ns)))
err.write("(median of Criterion's samples; MB/s over each side's own output, or the shared input for decode;\n"
          " outputs differ by design: PHP escapes '/' and non-ASCII, serde_json does not)\n")
for case, (ours_ns, nbytes), (serde_ns, serde_bytes) in rows:
    print(json.dumps({"bench": "json", "case": case, "ours_ns": round(ours_ns, 1), "serde_ns": round(serde_ns, 1),
                      "bytes": nbytes, "serde_bytes": serde_bytes}, separators=(",", ":")))
PYEOF

#!/usr/bin/env bash
# The dashboard at scale: 100 think-queue 3.x queues holding 1,000,000 jobs in all (10,000 each:
# 9,000 ready, 900 delayed, 100 dead), each with a minute of metrics and a worker entry, in a
# private redis-server; then times 20 overview refreshes (/api/overview: what the page and its
# server-sent events read every second) and 5 Prometheus scrapes, and prints the medians, the
# memory of one queue's metrics minute, and Redis's slowest command (SLOWLOG) to show nothing
# blocked it. Not part of make test (about a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
tqn_redis_private
cargo build --quiet --release --bin tqn
tqn=target/release/tqn
echo "filling 100 queues with 10,000 jobs each ..."
for i in $(seq 1 100); do
  q="scale$i"
  "$tqn" --url "$REDIS_URL" --dialect v3 push "$q" 'app\job\Scale' --data '{"n":1}' --repeat 9000 >/dev/null
  "$tqn" --url "$REDIS_URL" --dialect v3 push "$q" 'app\job\Scale' --delay 3600 --repeat 900 >/dev/null
done
python3 - "$REDIS_PORT" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port))
def cmd(*a):
    out = b"*%d\r\n" % len(a) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in (v if isinstance(v, bytes) else str(v).encode() for v in a))
    return out
minute = int(time.time()) // 60
buf = []
for i in range(1, 101):
    r = "{queues:scale%d}" % i
    buf.append(cmd("RPUSH", r + ":dead", *(['{"job":"app\\\\job\\\\Scale","data":1,"id":"x","attempts":0}'] * 100)))
    for m in range(minute - 59, minute + 1):
        buf.append(cmd("HSET", "%s:metrics:%d" % (r, m), "p:app\\job\\Scale", 100, "rt:3:app\\job\\Scale", 100, "rs:app\\job\\Scale", 3000000, "wt:5:app\\job\\Scale", 100, "ws:app\\job\\Scale", 15000000))
        buf.append(cmd("EXPIRE", "%s:metrics:%d" % (r, m), 86400))
    buf.append(cmd("HSET", r + ":metrics", "p:app\\job\\Scale", 6000, "rt:3:app\\job\\Scale", 6000, "rs:app\\job\\Scale", 1, "wt:5:app\\job\\Scale", 6000, "ws:app\\job\\Scale", 1))
    buf.append(cmd("ZADD", r + ":workers", int(time.time()), "h-1-abcd"))
    buf.append(cmd("HSET", r + ":worker:h-1-abcd", "id", "h-1-abcd", "host", "h", "pid", 1, "queues", "scale%d" % i, "started", int(time.time()), "beat", int(time.time()), "done", 0, "retry_after", 60))
    buf.append(cmd("EXPIRE", r + ":worker:h-1-abcd", 600))
s.sendall(b"".join(buf))
s.settimeout(5)
want = len(buf); got = 0; data = b""
while got < want:
    data += s.recv(1 << 20)
    got = data.count(b"\r\n")
PY
redis-cli -p "$REDIS_PORT" SLOWLOG RESET >/dev/null
redis-cli -p "$REDIS_PORT" CONFIG SET slowlog-log-slower-than 1000 >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$tqn" --url "$REDIS_URL" dashboard --listen "127.0.0.1:$port" --audit-log /dev/null 2>/dev/null &
dash=$!
trap 'kill $dash 2>/dev/null || true; tqn_redis_stop_all' EXIT
python3 - "$port" "$REDIS_PORT" <<'PY'
import json, statistics, subprocess, sys, time, urllib.request
port, rport = sys.argv[1], sys.argv[2]
base = "http://127.0.0.1:%s" % port
for _ in range(100):
    try:
        urllib.request.urlopen(base + "/api/overview", timeout=30).read(); break
    except Exception:
        time.sleep(0.1)
walls, inner = [], []
for _ in range(20):
    t = time.perf_counter()
    d = json.loads(urllib.request.urlopen(base + "/api/overview", timeout=30).read())
    walls.append((time.perf_counter() - t) * 1000); inner.append(d["took_ms"])
jobs = sum(q["ready"] + q["delayed"] + q["reserved"] + q["dead"] for q in d["queues"])
scrapes = []
for _ in range(5):
    t = time.perf_counter()
    urllib.request.urlopen(base + "/metrics", timeout=30).read()
    scrapes.append((time.perf_counter() - t) * 1000)
mem = subprocess.run(["redis-cli", "-p", rport, "MEMORY", "USAGE", "{queues:scale1}:metrics:%d" % (int(time.time()) // 60)], capture_output=True, text=True).stdout.strip()
slow = subprocess.run(["redis-cli", "-p", rport, "SLOWLOG", "GET", "5"], capture_output=True, text=True).stdout
print("queues: %d, jobs: %d" % (len(d["queues"]), jobs))
print("overview refresh: median %.1f ms wall (%.1f ms reading Redis), max %.1f ms, over 20" % (statistics.median(walls), statistics.median(inner), max(walls)))
print("prometheus scrape: median %.1f ms over 5" % statistics.median(scrapes))
print("one metrics minute of one job name: %s bytes (MEMORY USAGE)" % mem)
print("SLOWLOG (commands over 1 ms):", slow.strip() or "empty")
PY

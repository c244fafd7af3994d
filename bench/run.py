#!/usr/bin/env python3
"""The driver of `make bench` (started by scripts/bench.sh, which builds, starts one private
redis-server and exports REDIS_PORT / REDIS_URL): runs every measurement in its own process,
alternating baseline / native / rust within each round, and appends one JSON line per result to
the results file. Standard library only.

    REDIS_PORT=P REDIS_URL=redis://127.0.0.1:P/0 BENCH_EXT=target/release/libthink_queue_native.so \
        /usr/bin/python3 bench/run.py target/bench/results.jsonl

Environment: BENCH_ROUNDS (5), BENCH_JOBS (10000), BENCH_QUICK=1 (tiny sizes: a smoke test),
BENCH_PHASES (comma list of meta,ping,monitor,throughput,pickup,memory,json,cluster; default all),
BENCH_SKIP_JSON=1, BENCH_SKIP_CLUSTER=1, PHP (php).

Phases:
  ping        redis-benchmark -c 1 PING (one round trip) and -P 64 (pipelined), at the start, after
              the throughput rounds and at the end (plus the same loop from phpredis and from Rust)
  monitor     MONITOR of each operation on 3 jobs, baseline and native; the baseline's command
              stream is compared with stock's (wire spec section 4)
  throughput  push, later, bulk, pop+delete, worker, migrate; BENCH_ROUNDS rounds of
              baseline, native, rust (A B C A B C ...)
  pickup      idle worker + producer process: push-to-fire latency
  memory      a worker process over 100,000 jobs: RSS after 1,000 and at the end
  json        scripts/bench-json.sh when present (JSON encoder micro-benchmark; quick: one case)
  cluster     scripts/bench-cluster.sh when present (BENCH_QUICK is passed on in the environment)
Progress goes to stderr (one line, rewritten in place on a terminal).
"""

import json
import os
import platform
import random
import re
import shlex
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENS = ["v1", "v3"]
OPS = ["push", "later", "bulk", "pop", "worker", "migrate"]
SIDES = ["baseline", "native", "ffi", "rust"]
FFI_OPS = ("push", "pop", "worker")   # the FFI bridge column (the shim over libthink_queue_native_ffi.so, no extension)
RT_OPS = ("pop", "worker")   # operations whose round trips per job are reported: PING measured around each round
# the metrics-cost columns: the native shim and the Rust API once more with metrics off
# ('metrics' => false / QueueOptions::metrics), in the same rounds, for these operations
METRICS_OPS = ("pop", "worker")
NOMETRICS_SIDES = {"native_nometrics": "native", "rust_nometrics": "rust"}


def env_int(name, default):
    try:
        return int(os.environ.get(name, "") or default)
    except ValueError:
        return default


QUICK = os.environ.get("BENCH_QUICK") == "1"
ROUNDS = env_int("BENCH_ROUNDS", 2 if QUICK else 5)
JOBS = env_int("BENCH_JOBS", 500 if QUICK else 10000)
SIZES = {
    "push": JOBS,
    "later": JOBS,
    "pop": JOBS,
    "worker": JOBS,
    "bulk": 1000 if QUICK else 10000,
    "migrate": 2000 if QUICK else 20000,
    "memory": 3000 if QUICK else 100000,
    "rss_at": 300 if QUICK else 1000,
    "pickup_fast": 30 if QUICK else 1000,    # samples, native / rust / stock BLPOP (block_for)
    "pickup_sleep": 3 if QUICK else 15,      # samples, stock sleep loop (--sleep 3)
    "ping_n": 10000 if QUICK else 100000,
    "ping_round_n": 2000 if QUICK else 20000,
    "ping_pipe_n": 100000 if QUICK else 1000000,
}
PICKUP_SLEEP = 3          # stock's default --sleep, both generations
PICKUP_BLOCK_FOR = 5      # block_for of the native side and of stock 3.x's BLPOP variant
FAST_GAP_MS = (2, 20)     # random gaps between pushes when the worker blocks
SLOW_GAP_MS = (0, 3000)   # ... when it polls every 3 s


class Runner:
    def __init__(self, out_path):
        self.out_path = out_path
        self.out = open(out_path, "w")
        self.port = os.environ["REDIS_PORT"]
        self.url = os.environ.get("REDIS_URL", f"redis://127.0.0.1:{self.port}/0")
        self.ext = os.environ.get("BENCH_EXT") or os.path.join(ROOT, "target/release/libthink_queue_native.so")
        self.ffi = os.environ.get("BENCH_FFI") or os.path.join(ROOT, "target/release/libthink_queue_native_ffi.so")
        self.php = os.environ.get("PHP", "php")
        self.rust_bin = os.path.join(ROOT, "target/release/examples/bench")
        self.t0 = time.time()
        self.step = 0
        self.total = 0
        self.tty = sys.stderr.isatty()
        self.errors = 0
        self.last_len = 0

    # ------------------------------------------------------------------ output
    def record(self, obj):
        self.out.write(json.dumps(obj, sort_keys=False) + "\n")
        self.out.flush()

    def progress(self, text, done=False):
        el = int(time.time() - self.t0)
        line = f"[bench {self.step:>3}/{self.total} {el // 60}m{el % 60:02d}s] {text}"
        if self.tty:
            pad = max(0, self.last_len - len(line))
            sys.stderr.write("\r" + line + " " * pad + ("\n" if done else ""))
            self.last_len = 0 if done else len(line)
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def note(self, text):
        if self.tty and self.last_len:
            sys.stderr.write("\n")
            self.last_len = 0
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    # ------------------------------------------------------------------ processes
    def php_cmd(self, op, side, gen, **kv):
        # the FFI side: the same shim and worker in a PHP without the extension, on the FFI library
        php = ["env", f"THINK_QUEUE_NATIVE_FFI={self.ffi}", self.php] if side == "ffi" else [self.php, "-d", f"extension={self.ext}"]
        return php + [os.path.join(ROOT, "bench/php/bench.php"), op, side, gen] + [
            f"{k}={v}" for k, v in kv.items()
        ]

    def rust_cmd(self, op, gen, **kv):
        return [self.rust_bin, op, gen, f"url={self.url}"] + [f"{k}={v}" for k, v in kv.items()]

    def cmd_for(self, op, side, gen, **kv):
        if side in NOMETRICS_SIDES:
            kv.setdefault("queue", f"tqn-bench-{op}-{side}-{kv.get('round', 0)}")
            side = NOMETRICS_SIDES[side]
            kv["metrics"] = 0
        return self.rust_cmd(op, gen, **kv) if side == "rust" else self.php_cmd(op, side, gen, **kv)

    def run_json(self, cmd, what, timeout=900):
        """Runs cmd, returns the JSON object of its last stdout line (None on failure, recorded),
        with `other_cpu`: the share of all CPUs that processes other than this benchmark (its
        children and the redis-server) used meanwhile, a measure of how busy the machine was."""
        before = self.cpu_sample()
        try:
            p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail(what, f"timed out after {timeout} s", cmd)
            return None
        lines = [l for l in p.stdout.splitlines() if l.strip().startswith("{")]
        if p.returncode != 0 or not lines:
            self.fail(what, (p.stderr.strip() or p.stdout.strip())[-600:] or f"exit {p.returncode}", cmd)
            return None
        res = json.loads(lines[-1])
        other = self.other_cpu(before, self.cpu_sample())
        if other is not None:
            res["other_cpu"] = round(other, 3)
        return res

    def cpu_sample(self):
        """(wall s, busy CPU s of the whole machine, CPU s of our finished children, CPU s of redis-server)."""
        try:
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:]]
            tck = os.sysconf("SC_CLK_TCK")
            busy = (sum(v[:8]) - v[3] - v[4]) / tck          # all but idle and iowait
            kids = os.times()
            redis = 0.0
            pid = os.environ.get("BENCH_REDIS_PID")
            if pid:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                redis = (int(fields[11]) + int(fields[12])) / tck   # utime + stime
            return (time.time(), busy, kids.children_user + kids.children_system, redis)
        except (OSError, ValueError, IndexError):
            return None

    def other_cpu(self, a, b):
        if a is None or b is None or b[0] - a[0] <= 0:
            return None
        foreign = (b[1] - a[1]) - (b[2] - a[2]) - (b[3] - a[3]) - 0.01 * (b[0] - a[0])  # 1%: this driver
        return max(0.0, foreign) / ((b[0] - a[0]) * (os.cpu_count() or 1))

    def fail(self, what, message, cmd=None):
        self.errors += 1
        self.note(f"!! {what}: {message}")
        self.record({"bench": "error", "what": what, "message": message, "cmd": " ".join(shlex.quote(c) for c in (cmd or []))})

    # ------------------------------------------------------------------ phases
    def meta(self):
        def sh(cmd):
            try:
                return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=30, shell=True).stdout.strip()
            except Exception:  # noqa: BLE001 - informational only
                return ""

        cpu = ""
        try:
            with open("/proc/cpuinfo") as f:
                m = re.search(r"^model name\s*:\s*(.+)$", f.read(), re.M)
                cpu = m.group(1).strip() if m else ""
        except OSError:
            pass
        php = sh(f"{shlex.quote(self.php)} -r 'echo PHP_VERSION, \" phpredis \", phpversion(\"redis\");'")
        extv = sh(f"{shlex.quote(self.php)} -d extension={shlex.quote(self.ext)} -r 'echo \\think\\queue\\native\\version();'")
        self.record({
            "bench": "meta",
            "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "git_commit": sh("git rev-parse --short HEAD"),
            "git_dirty": bool(sh("git status --porcelain --untracked-files=no")),
            "nproc": os.cpu_count(),
            "cpu": cpu,
            "kernel": platform.release(),
            "redis": sh("redis-server --version | sed -n 's/.*v=\\([^ ]*\\).*/\\1/p'"),
            "php": php,
            "extension": extv,
            "rustc": sh("rustc --version"),
            "quick": QUICK,
            "rounds": ROUNDS,
            "sizes": SIZES,
            "pickup": {"sleep": PICKUP_SLEEP, "block_for": PICKUP_BLOCK_FOR, "fast_gap_ms": FAST_GAP_MS, "slow_gap_ms": SLOW_GAP_MS},
            "command": ("BENCH_QUICK=1 " if QUICK else "") + "make bench",
        })

    def ping(self, when):
        res = {"bench": "ping", "when": when}
        for key, args, n in (("single", [], SIZES["ping_n"]), ("pipelined", ["-P", "64"], SIZES["ping_pipe_n"])):
            self.step += 1
            self.progress(f"ping floor ({when}): redis-benchmark -c 1 {' '.join(args)} PING")
            cmd = ["redis-benchmark", "-p", str(self.port), "-c", "1", "-n", str(n), "-t", "ping_mbulk", "--csv"] + args
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
                row = [l for l in p.stdout.splitlines() if "PING_MBULK" in l][-1]
                rps = float(row.split(",")[1].strip('"'))
            except Exception as e:  # noqa: BLE001
                self.fail(f"ping {key}", str(e), cmd)
                return
            res[f"{key}_rps"] = rps
        res["rtt_us"] = 1e6 / res["single_rps"]
        self.record(res)
        # the same floor as each client library sees it (for reference; round trips per job use redis-benchmark's)
        for side in ("native", "rust"):
            label = "phpredis" if side == "native" else "Rust"
            self.progress(f"ping floor ({when}): {label} PING loop")
            cmd = self.rust_cmd("ping", "v3", jobs=SIZES["ping_n"] // 2) if side == "rust" else self.php_cmd("ping", "x", "v3", jobs=SIZES["ping_n"] // 2)
            got = self.run_json(cmd, f"ping {label}")
            if got is not None:
                got["when"] = when
                self.record(got)
        self.progress(f"ping floor ({when}): {res['rtt_us']:.1f} us per round trip, pipelined {res['pipelined_rps']:,.0f}/s", done=True)

    def monitor(self):
        for gen in GENS:
            for op in OPS:
                for side in ("baseline", "native"):
                    self.step += 1
                    self.progress(f"MONITOR check {gen} {op} {side}")
                    self.monitor_one(gen, op, side)
        self.progress("MONITOR check done", done=True)

    def monitor_one(self, gen, op, side, n=3):
        fd, path = tempfile.mkstemp(prefix="tqn-monitor-", suffix=".txt")
        os.close(fd)
        mon = None
        try:
            with open(path, "w") as f:
                mon = subprocess.Popen(["redis-cli", "-p", str(self.port), "monitor"], stdout=f, stderr=subprocess.DEVNULL)
                deadline = time.time() + 5
                while time.time() < deadline:
                    with open(path) as r:
                        if r.read(2) == "OK":
                            break
                    time.sleep(0.02)
                queue = f"tqn-bench-monitor-{op}-{side}"
                res = self.run_json(self.php_cmd(op, side, gen, jobs=n, warm=2, mark=1, queue=queue), f"monitor {gen} {op} {side}")
                time.sleep(0.3)
        finally:
            if mon is not None:
                mon.terminate()
                try:
                    mon.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    mon.kill()
                    mon.wait()
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
        os.unlink(path)
        if res is None:
            return
        client, lua = parse_monitor(lines)
        ready = f"queues:{queue}" if gen == "v1" else "{queues:" + queue + "}"
        roles = {ready: "R", ready + ":delayed": "D", ready + ":reserved": "S"}
        seq = [(c, roles.get(k, k)) for c, k in client]
        expected = stock_sequence(op, gen, n) if side == "baseline" else None
        self.record({
            "bench": "monitor", "dialect": gen, "op": op, "side": side, "jobs": n,
            "client_commands": len(seq), "lua_commands": len(lua),
            "sequence": [f"{c} {k}".strip() for c, k in seq],
            "lua": [f"{c} {roles.get(k, k)}".strip() for c, k in lua],
            "expected": [f"{c} {k}".strip() for c, k in expected] if expected is not None else None,
            "matches_stock": (seq == expected) if expected is not None else None,
        })
        if expected is not None and seq != expected:
            self.fail(f"monitor {gen} {op} baseline", "command stream differs from stock's: " + " | ".join(f"{c} {k}" for c, k in seq[:30]))

    def throughput(self):
        for gen in GENS:
            for op in OPS:
                n = SIZES[op]
                for r in range(1, ROUNDS + 1):
                    # the round trip drifts with the machine's state (an idle VM wakes up slower than
                    # a busy one): for the round-trips-per-job figures, measure it right around the round
                    rtts = [self.round_rtt(gen, op, r, "before")] if op in RT_OPS else []
                    for side in SIDES + (list(NOMETRICS_SIDES) if op in METRICS_OPS else []):
                        if side == "ffi" and op not in FFI_OPS:
                            continue
                        self.step += 1
                        self.progress(f"{gen} {op:<7} round {r}/{ROUNDS} {side:<8} ...")
                        res = self.run_json(self.cmd_for(op, side, gen, jobs=n, round=r), f"{gen} {op} {side} round {r}")
                        if res is not None:
                            res["side"] = side  # the no-metrics runs report their base side
                            self.record(res)
                            self.progress(f"{gen} {op:<7} round {r}/{ROUNDS} {side:<8} {res['jobs_per_s']:>12,.0f} jobs/s")
                    if rtts:
                        rtts.append(self.round_rtt(gen, op, r, "after"))
                        got = [x for x in rtts if x]
                        if got:
                            self.record({"bench": "ping_round", "dialect": gen, "op": op, "round": r,
                                         "rtt_us": sum(got) / len(got), "rtt_before_after_us": rtts})
        self.progress("throughput done", done=True)

    def round_rtt(self, gen, op, r, when):
        """redis-benchmark -c 1 PING round trip (µs) now, or None."""
        self.progress(f"{gen} {op:<7} round {r}/{ROUNDS} PING floor {when}")
        cmd = ["redis-benchmark", "-p", str(self.port), "-c", "1", "-n", str(SIZES["ping_round_n"]), "-t", "ping_mbulk", "--csv"]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
            row = [l for l in p.stdout.splitlines() if "PING_MBULK" in l][-1]
            return 1e6 / float(row.split(",")[1].strip('"'))
        except Exception as e:  # noqa: BLE001
            self.fail(f"ping round {gen} {op} {r}", str(e), cmd)
            return None

    def pickup(self):
        """The sleep-based stock worker once (its latency is set by its 3 s sleep); the blocking
        ones (native, rust, stock 3.x BLPOP) in BENCH_ROUNDS rounds that alternate between them,
        samples pooled, so a busy spell of the machine hits them alike."""
        for gen in GENS:
            side = "baseline"
            samples, gap = SIZES["pickup_sleep"], SLOW_GAP_MS
            self.step += 1
            self.progress(f"{gen} pickup {side:<14} {samples} jobs, gaps {gap[0]}-{gap[1]} ms (~{samples * 3} s)")
            res = self.pickup_one(gen, side, samples, gap)
            if res is not None:
                res["rounds"] = 1
                self.record(res)
                self.progress(f"{gen} pickup {side:<14} p50 {res['p50_ms']:.2f} ms p99 {res['p99_ms']:.2f} ms")
            fast = (["baseline_blpop"] if gen == "v3" else []) + ["native", "rust"]
            per_round = max(1, SIZES["pickup_fast"] // ROUNDS)
            pooled = {s: [] for s in fast}
            for r in range(1, ROUNDS + 1):
                for side in fast:
                    self.step += 1
                    self.progress(f"{gen} pickup {side:<14} round {r}/{ROUNDS}: {per_round} jobs, gaps {FAST_GAP_MS[0]}-{FAST_GAP_MS[1]} ms")
                    res = self.pickup_one(gen, side, per_round, FAST_GAP_MS)
                    if res is not None:
                        pooled[side].append(res)
                        self.progress(f"{gen} pickup {side:<14} round {r}/{ROUNDS}: p50 {res['p50_ms']:.2f} ms p99 {res['p99_ms']:.2f} ms")
            for side, runs in pooled.items():
                if not runs:
                    continue
                lat = [x for run in runs for x in run["lat_ms"]]
                res = dict(runs[0])
                busy = [run["other_cpu"] for run in runs if "other_cpu" in run]
                if busy:
                    res["other_cpu"] = max(busy)
                res.update({"samples": len(lat), "rounds": len(runs), "lat_ms": lat, "p50_ms": nearest_rank(lat, 50),
                            "p99_ms": nearest_rank(lat, 99), "max_ms": max(lat), "round_p99_ms": [run["p99_ms"] for run in runs]})
                res.pop("round", None)
                self.record(res)
        self.progress("pickup done", done=True)

    def pickup_one(self, gen, side, samples, gap):
        queue = f"tqn-bench-pickup-{side}"
        fd, ready = tempfile.mkstemp(prefix="tqn-bench-ready-")
        os.close(fd)
        os.unlink(ready)
        kv = {"samples": samples, "queue": queue, "ready": ready}
        if side == "native":
            kv["block_for"] = PICKUP_BLOCK_FOR
        if side == "baseline_blpop":
            kv["block_for"] = PICKUP_BLOCK_FOR
        if side in ("baseline", "native", "baseline_blpop"):
            kv["sleep"] = PICKUP_SLEEP
        cmd = self.cmd_for("pickup-worker", side, gen, **kv)
        before = self.cpu_sample()
        worker = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.time() + 30
            while not os.path.exists(ready) and worker.poll() is None and time.time() < deadline:
                time.sleep(0.02)
            time.sleep(0.3)  # the worker reaches its first pop / wait
            prod = self.run_json(self.php_cmd("pickup-producer", "producer", gen, samples=samples, queue=queue, gap=f"{gap[0]}:{gap[1]}"),
                                 f"{gen} pickup producer for {side}", timeout=600)
            try:
                out, err = worker.communicate(timeout=60 + PICKUP_SLEEP + PICKUP_BLOCK_FOR)
            except subprocess.TimeoutExpired:
                worker.kill()
                out, err = worker.communicate()
                self.fail(f"{gen} pickup {side}", "the worker did not finish", cmd)
                return None
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
            if os.path.exists(ready):
                os.unlink(ready)
        lines = [l for l in out.splitlines() if l.startswith("{")]
        if worker.returncode != 0 or not lines or prod is None:
            self.fail(f"{gen} pickup {side}", (err.strip() or out.strip())[-600:] or f"exit {worker.returncode}", cmd)
            return None
        res = json.loads(lines[-1])
        other = self.other_cpu(before, self.cpu_sample())
        if other is not None:
            res["other_cpu"] = round(other, 3)
        res["op"] = "pickup"
        res["gap_ms"] = list(gap)
        if side in ("native", "baseline_blpop"):
            res["block_for"] = PICKUP_BLOCK_FOR
        return res

    def memory(self):
        n = SIZES["memory"]
        for gen in GENS:
            for side in SIDES:
                self.step += 1
                queue = f"tqn-bench-memory-{side}"
                self.progress(f"{gen} memory {side:<8} prefill {n:,} jobs")
                if self.run_json(self.php_cmd("prefill", "prefill", gen, jobs=n, queue=queue), f"{gen} memory prefill") is None:
                    continue
                self.progress(f"{gen} memory {side:<8} worker over {n:,} jobs ...")
                res = self.run_json(self.cmd_for("memory", side, gen, jobs=n, queue=queue, rss_at=SIZES["rss_at"]), f"{gen} memory {side}")
                if res is not None:
                    self.record(res)
                    self.progress(f"{gen} memory {side:<8} RSS {res['rss_start_kb']:,} -> {res['rss_end_kb']:,} KiB, {res['jobs_per_s']:,.0f} jobs/s")
        self.progress("memory done", done=True)

    def external(self, name, script, skip_var, bench_key, quick_args=()):
        path = os.path.join(ROOT, script)
        if os.environ.get(skip_var) == "1":
            self.record({"bench": "external", "name": name, "status": f"{skip_var}=1"})
            return
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            self.record({"bench": "external", "name": name, "status": f"{script} is not there"})
            return
        self.step += 1
        self.progress(f"{name}: {script} ...")
        t = time.time()
        try:
            p = subprocess.run([path] + (list(quick_args) if QUICK else []), cwd=ROOT, stdout=subprocess.PIPE, stderr=None,
                               text=True, timeout=3600)
        except subprocess.TimeoutExpired:
            self.fail(name, f"{script} timed out")
            return
        got = 0
        for line in p.stdout.splitlines():
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if obj.get("bench") == bench_key:
                self.record(obj)
                got += 1
        status = f"ran in {time.time() - t:.0f} s, {got} result line(s)"
        if p.returncode != 0:
            status += f", exit status {p.returncode}"
            self.fail(name, f"{script} exited with {p.returncode}")
        self.record({"bench": "external", "name": name, "status": status})
        self.progress(f"{name}: {status}", done=True)


def nearest_rank(xs, p):
    """The nearest-rank percentile p (an int) of xs, as bench.php computes it."""
    xs = sorted(xs)
    k = min(len(xs), max(1, -(-p * len(xs) // 100)))
    return xs[k - 1]


def parse_monitor(lines):
    """Client commands and Lua-internal commands between the ECHO markers, without the admin
    connection that sent them (nor the auxiliary ones named tqn-bench-aux): [(CMD, first key)]."""
    rx = re.compile(r'^\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$')
    client, lua, inside, admin, aux = [], [], False, None, set()
    for line in lines:
        m = rx.match(line)
        if not m:
            continue
        addr, rest = m.group(1), m.group(2)
        args = re.findall(r'"((?:[^"\\]|\\.)*)"', rest)
        if not args:
            continue
        cmd = args[0].upper()
        if cmd == "CLIENT" and len(args) > 2 and args[1].lower() == "setname" and args[2] == "tqn-bench-aux":
            aux.add(addr)
            continue
        if cmd == "ECHO" and len(args) > 1 and args[1] == "tqn-bench-begin":
            inside, admin = True, addr
            continue
        if cmd == "ECHO" and len(args) > 1 and args[1] == "tqn-bench-end":
            inside = False
            continue
        if not inside or addr == admin or addr in aux:
            continue
        key = ""
        if cmd in ("EVALSHA", "EVAL") and len(args) > 3:
            key = args[3]
        elif len(args) > 1 and cmd not in ("MULTI", "EXEC", "UNWATCH", "DISCARD", "PING", "SCRIPT"):
            key = args[1]
        (lua if addr == "lua" else client).append((cmd, unescape(key)))
    return client, lua


def unescape(s):
    return s.replace('\\"', '"').replace("\\\\", "\\")


def stock_sequence(op, gen, n):
    """The commands stock think-queue sends for `op` over n jobs (wire spec section 4), as
    (COMMAND, key role): R ready list, D :delayed, S :reserved."""
    migrate = [("WATCH", "D"), ("ZRANGEBYSCORE", "D"), ("UNWATCH", ""), ("WATCH", "S"), ("ZRANGEBYSCORE", "S"), ("UNWATCH", "")]
    if op in ("push", "bulk"):
        return [("RPUSH", "R")] * n
    if op == "later":
        return [("ZADD", "D")] * n
    if op in ("pop", "worker"):
        return (migrate + [("LPOP", "R"), ("ZADD", "S"), ("ZREM", "S")]) * n + migrate + [("LPOP", "R")]
    if op == "migrate":
        remove = "ZREMRANGEBYSCORE" if gen == "v1" else "ZREMRANGEBYRANK"
        return [("WATCH", "D"), ("ZRANGEBYSCORE", "D"), ("MULTI", ""), (remove, "D"), ("RPUSH", "R"), ("EXEC", ""), ("UNWATCH", ""),
                ("WATCH", "S"), ("ZRANGEBYSCORE", "S"), ("UNWATCH", "")]
    return None


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.argv[1]
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    phases = [p.strip() for p in os.environ.get("BENCH_PHASES", "meta,ping,monitor,throughput,pickup,memory,json,cluster").split(",") if p.strip()]
    r = Runner(out)
    random.seed()
    # steps, for the progress line
    total = 0
    if "ping" in phases:
        total += 6
    if "monitor" in phases:
        total += len(GENS) * len(OPS) * 2
    if "throughput" in phases:
        total += len(GENS) * ROUNDS * (len(OPS) * (len(SIDES) - 1) + len(FFI_OPS) + len(METRICS_OPS) * len(NOMETRICS_SIDES))
    if "pickup" in phases:
        total += len(GENS) + 5 * ROUNDS
    if "memory" in phases:
        total += len(GENS) * len(SIDES)
    total += sum(1 for p in ("json", "cluster") if p in phases)
    r.total = total
    if "meta" in phases:
        r.meta()
    if "ping" in phases:
        r.ping("start")
    if "monitor" in phases:
        r.monitor()
    if "throughput" in phases:
        r.throughput()
    if "ping" in phases:
        r.ping("middle")
    if "pickup" in phases:
        r.pickup()
    if "memory" in phases:
        r.memory()
    if "ping" in phases:
        r.ping("end")
    if "json" in phases:
        # quick: one case only (the script passes its arguments to Criterion as a filter)
        r.external("JSON encoder micro-benchmark", "scripts/bench-json.sh", "BENCH_SKIP_JSON", "json", quick_args=("encode-small",))
    if "cluster" in phases:
        r.external("Cluster", "scripts/bench-cluster.sh", "BENCH_SKIP_CLUSTER", "cluster")
    r.record({"bench": "meta_end", "seconds": round(time.time() - r.t0, 1), "errors": r.errors})
    r.note(f"bench: {r.errors} error(s), {time.time() - r.t0:.0f} s; results in {os.path.relpath(out, ROOT)}")
    return 1 if r.errors else 0


if __name__ == "__main__":
    sys.exit(main())

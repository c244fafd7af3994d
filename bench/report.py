#!/usr/bin/env python3
"""Writes BENCHMARKS.md and BENCHMARKS.png from the results of bench/run.py, and prints the
summary table. Needs matplotlib for the chart (Debian python3-matplotlib: run with /usr/bin/python3;
without it the chart is skipped and the report says so).

    /usr/bin/python3 bench/report.py target/bench/results.jsonl OUT_DIR

OUT_DIR gets BENCHMARKS.md and BENCHMARKS.png (`make bench` passes the repository root; a
BENCH_QUICK=1 run passes target/bench/quick). Every word of BENCHMARKS.md comes from here.
"""

import json
import os
import statistics
import sys

GEN_LABEL = {
    "v1": "think-queue 1.x/2.x (ThinkPHP 5.0/5.1, keys `queues:NAME`)",
    "v3": "think-queue 3.x (ThinkPHP 6/8, keys `{queues:NAME}`)",
}
GEN_SHORT = {"v1": "1.x", "v3": "3.x"}
OPS = ["push", "later", "bulk", "pop", "worker", "migrate"]
OP_LABEL = {
    "push": "push (one job per call)",
    "later": "later(60, ...)",
    "bulk": "bulk push",
    "pop": "pop + delete",
    "worker": "worker: pop + fire + delete",
    "migrate": "migrate due delayed jobs",
}
OP_SHORT = {"push": "push", "later": "later", "bulk": "bulk", "pop": "pop+delete", "worker": "worker", "migrate": "migrate"}
SIDES = ["baseline", "native", "ffi", "rust"]
SIDE_LABEL = {"baseline": "stock baseline", "native": "native (PHP shim)", "ffi": "FFI bridge (PHP shim, no extension)", "rust": "Rust API", "baseline_blpop": "stock 3.x, block_for 5 (BLPOP)"}


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def med(xs):
    return statistics.median(xs) if xs else None


def fmt_rate(x):
    if x is None:
        return "n/a"
    return f"{x:,.0f}"


def fmt_ratio(x):
    return "n/a" if x is None else (f"{x:.2f}×" if x < 10 else f"{x:.1f}×")


def fmt_range(lo, hi, f):
    return f"[{f(lo)}–{f(hi)}]"


class Results:
    def __init__(self, rows):
        self.rows = rows
        self.meta = next((r for r in rows if r.get("bench") == "meta"), {})
        self.meta_end = next((r for r in rows if r.get("bench") == "meta_end"), {})
        self.pings = [r for r in rows if r.get("bench") == "ping"]
        self.round_pings = [r for r in rows if r.get("bench") == "ping_round"]
        self.client_pings = [r for r in rows if r.get("bench") == "ping_client"]
        self.queue = [r for r in rows if r.get("bench") == "queue"]
        self.monitor = [r for r in rows if r.get("bench") == "monitor"]
        self.errors = [r for r in rows if r.get("bench") == "error"]
        self.json = [r for r in rows if r.get("bench") == "json"]
        self.cluster = [r for r in rows if r.get("bench") == "cluster"]
        self.external = {r.get("name"): r.get("status") for r in rows if r.get("bench") == "external"}

    def rtt_us(self):
        return med([p["rtt_us"] for p in self.pings if "rtt_us" in p])

    def rates(self, gen, op, side):
        """{round: jobs_per_s}"""
        return {r.get("round"): r["jobs_per_s"] for r in self.queue
                if r.get("dialect") == gen and r.get("op") == op and r.get("side") == side and "jobs_per_s" in r}

    def stat(self, gen, op, side):
        xs = list(self.rates(gen, op, side).values())
        if not xs:
            return None
        return {"median": med(xs), "min": min(xs), "max": max(xs), "n": len(xs)}

    def ratio(self, gen, op, side, base="baseline"):
        """Median (and min, max) of the per-round ratios side/base: each round's pair ran back to back."""
        a, b = self.rates(gen, op, side), self.rates(gen, op, base)
        rs = [a[k] / b[k] for k in a if k in b and b[k] > 0]
        if not rs:
            return None
        return {"median": med(rs), "min": min(rs), "max": max(rs), "n": len(rs)}

    def spread(self, gen):
        """(max/min, op, side) of the side and operation whose rounds differ most."""
        best = None
        for op in OPS:
            for side in SIDES:
                s = self.stat(gen, op, side)
                if s and s["n"] > 1 and s["min"] > 0:
                    x = s["max"] / s["min"]
                    if best is None or x > best[0]:
                        best = (x, op, side)
        return best

    def busy(self, gen=None, ops=None):
        """(median, max) share of the CPUs used by other processes during the measurements."""
        xs = [r["other_cpu"] for r in self.queue if "other_cpu" in r
              and (gen is None or r.get("dialect") == gen) and (ops is None or r.get("op") in ops)]
        return (med(xs), max(xs)) if xs else None

    def rt_per_job(self, rate):
        rtt = self.rtt_us()
        if rate is None or not rtt:
            return None
        return (1e6 / rate) / rtt

    def rt_rounds(self, gen, op, side):
        """Median (min, max) over the rounds of (time per job) / (PING round trip measured around
        that round), for the operations run.py measures the floor around; None otherwise."""
        rtt = {p.get("round"): p["rtt_us"] for p in self.round_pings if p.get("dialect") == gen and p.get("op") == op and p.get("rtt_us")}
        rates = self.rates(gen, op, side)
        xs = [(1e6 / rates[k]) / rtt[k] for k in rates if k in rtt and rates[k] > 0]
        if not xs:
            return None
        return {"median": med(xs), "min": min(xs), "max": max(xs), "n": len(xs)}

    def rt(self, gen, op, side):
        """Round trips per job: per round when the floor was measured around the rounds, else
        against the run's median floor."""
        r = self.rt_rounds(gen, op, side)
        if r:
            return r["median"]
        s = self.stat(gen, op, side)
        return self.rt_per_job(s["median"]) if s else None

    def pickup(self, gen, side):
        return next((r for r in self.queue if r.get("op") == "pickup" and r.get("dialect") == gen and r.get("side") == side), None)

    def memory(self, gen, side):
        return next((r for r in self.queue if r.get("op") == "memory" and r.get("dialect") == gen and r.get("side") == side), None)

    def mon(self, gen, op, side):
        return next((r for r in self.monitor if r.get("dialect") == gen and r.get("op") == op and r.get("side") == side), None)


# ------------------------------------------------------------------------------------ targets

def targets(res):
    out = []

    def ratio_target(name, gen, op, need):
        r = res.ratio(gen, op, "native")
        v = r["median"] if r else None
        out.append((name, f">= {need}×", fmt_ratio(v), v is not None and v >= need))

    ratio_target("pop+delete vs stock 1.x (native/baseline)", "v1", "pop", 6)
    ratio_target("pop+delete vs stock 3.x (native/baseline)", "v3", "pop", 5)
    ratio_target("push vs stock 1.x", "v1", "push", 1.5)
    ratio_target("push vs stock 3.x", "v3", "push", 1.5)
    ratio_target("bulk push vs the stock push loop, 1.x", "v1", "bulk", 20)
    ratio_target("bulk push vs the stock push loop, 3.x", "v3", "bulk", 20)
    for gen in ("v1", "v3"):
        v = res.rt(gen, "pop", "native")
        out.append((f"pop+delete round trips per job, {GEN_SHORT[gen]} (native)", "<= 1.5", "n/a" if v is None else f"{v:.2f}",
                    v is not None and v <= 1.5))
    for gen in ("v1", "v3"):
        p = res.pickup(gen, "native")
        v = p["p99_ms"] if p else None
        out.append((f"pickup latency p99, {GEN_SHORT[gen]} (native, idle worker)", "< 5 ms", "n/a" if v is None else f"{v:.2f} ms",
                    v is not None and v < 5))
    return out


# ------------------------------------------------------------------------------------ chart

def chart(res, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (Debian python3-matplotlib): no chart"
    gens = [g for g in ("v1", "v3") if any(res.stat(g, op, "baseline") for op in OPS)]
    if not gens:
        return "no throughput results: no chart"
    colors = {"baseline": "#9e9e9e", "native": "#1f77b4", "ffi": "#2ca02c", "rust": "#ff7f0e"}
    fig, axes = plt.subplots(len(gens), 1, figsize=(11, 4.6 * len(gens)), squeeze=False)
    for ax, gen in zip(axes[:, 0], gens):
        width = 0.2
        for i, side in enumerate(SIDES):
            xs, ys, lo, hi = [], [], [], []
            for j, op in enumerate(OPS):
                s = res.stat(gen, op, side)
                if not s:
                    continue
                xs.append(j + (i - 1.5) * width)
                ys.append(s["median"])
                lo.append(s["median"] - s["min"])
                hi.append(s["max"] - s["median"])
            ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, color=colors[side], label=SIDE_LABEL[side])
        for j, op in enumerate(OPS):
            r = res.ratio(gen, op, "native")
            s = res.stat(gen, op, "native")
            if r and s:
                ax.annotate(fmt_ratio(r["median"]), (j, s["max"]), textcoords="offset points", xytext=(0, 4), ha="center",
                            fontsize=8, color=colors["native"])
        ax.set_yscale("log")
        ax.set_xticks(range(len(OPS)))
        ax.set_xticklabels([OP_SHORT[o] for o in OPS])
        ax.set_ylabel("jobs/s (log scale)")
        ax.set_title(f"{GEN_LABEL[gen].replace('`', '')}: median of {res.meta.get('rounds', '?')} rounds, min–max bars; "
                     "label = native/baseline", fontsize=10)
        ax.grid(axis="y", which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(f"think-queue-native `make bench` ({res.meta.get('date', '')}, {res.meta.get('nproc', '?')} cores)", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


# ------------------------------------------------------------------------------------ markdown

METHOD = """\
- One private `redis-server` (loopback, no persistence) serves every measurement. Each
  measurement is its own process: the PHP CLI with the extension loaded (for both PHP sides), or
  the Rust example binary `examples/bench.rs`. Within each round the three sides run back to
  back (baseline, native, rust, then the next round), so slow phases of a shared machine hit all
  of them; tables give the median over the rounds and the min–max.
- **stock baseline**: `bench/php/StockRedisQueue.php`, our own re-implementation of stock
  think-queue's Redis connector and job (1.x = v1.1.6, 3.x = v3.0.9) on phpredis, plugged into
  the think-queue app through `bench/php/StockConnector.php` (a `think\\queue\\Connector` that sends
  nothing itself). Its command stream is checked against stock's on every run (MONITOR table below).
- **native (PHP shim)**: the same think-queue app (the test stand-ins of think-queue's facade,
  connector base, job base and `Worker`) with `think\\queue\\native\\connector\\Redis` in the
  config, default options. **Rust API**: `RedisQueue` / `Worker` called directly.
- Operations: push and later = the facade, one job per call, data `['mobile' => '13800000000', 'n' => $i]`;
  bulk = the facade's `bulk()` (stock 3.x: the base class's loop of `push()`; stock 1.x has no
  bulk, so its baseline is the loop of `push()` an app writes); pop + delete = the connector's
  `pop()` and `$job->delete()` until the queue is empty; worker = think-queue's `Worker` (1.x:
  the `queue:work --daemon` loop, 3.x: `Worker::daemon`) running a no-op job class that deletes
  its job, so the worker's own PHP cost per job (events, handler resolution) is in both sides;
  migrate = jobs in `:delayed` that are all due, until they are all in the ready list (stock: the
  migration block of its `pop()`; native: `migrate()` until it moves nothing; at most 1,000 per call).
- Each process warms up with 200 jobs of the same operation on another queue; prefills (pop,
  worker, migrate, memory) write stock's payloads pipelined and are not timed; afterwards every
  process checks Redis (all jobs written, or each handled once and nothing left) and fails otherwise.
- Round trips per job = (1 / jobs per second) / the single-client PING round trip: the time of a
  job in units of the physical floor (client CPU time included), not a count of commands; the
  MONITOR table has the command counts.
- The baseline is leaner than stock's PHP: it has stock's Redis commands but not stock 3.x's
  reconnecting proxy around every phpredis call nor its Carbon time objects, so it is, if
  anything, faster than real stock think-queue, and the ratios understate the gain.
"""


def md_table(header, rows, align=None):
    align = align or ["l"] + ["r"] * (len(header) - 1)
    sep = ["---:" if a == "r" else ":---" for a in align]
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def cell(s):
    if not s:
        return "n/a"
    return f"{fmt_rate(s['median'])} {fmt_range(s['min'], s['max'], fmt_rate)}"


def ratio_cell(r):
    if not r:
        return "n/a"
    return f"**{fmt_ratio(r['median'])}** {fmt_range(r['min'], r['max'], fmt_ratio)}"


def monitor_summary(m):
    if not m:
        return "n/a"
    n = m["jobs"]
    seq = m["sequence"]
    if m["op"] in ("pop", "worker") and m["side"] == "baseline":
        per = seq[: (len(seq) - 7) // n] if n else seq
        return f"{len(per)} per job: " + ", ".join(per)
    if m["op"] == "migrate":
        txt = f"{len(seq)} for {n} jobs: " + ", ".join(seq)
    else:
        txt = f"{len(seq)} for {n} jobs" + (f" ({', '.join(sorted(set(seq)))})" if seq else "")
    if m.get("lua_commands"):
        txt += f"; inside scripts: {m['lua_commands']}"
    return txt


def report(res, out_dir, results_path):
    meta = res.meta
    rtt = res.rtt_us()
    lines = []
    add = lines.append
    add("<!-- Generated by bench/report.py from the results of `make bench` (bench/run.py); do not edit by hand. -->")
    add("# Benchmarks")
    add("")
    mins = res.meta_end.get("seconds")
    dirty = " plus uncommitted changes" if meta.get("git_dirty") else ""
    add(f"Measured by `{meta.get('command', 'make bench')}` on {meta.get('date', '?')} at commit `{meta.get('git_commit', '?')}`{dirty}"
        + (f", in {mins / 60:.1f} minutes" if mins else "") + ".")
    add(f"Machine: {meta.get('nproc', '?')} CPU cores ({meta.get('cpu', '?')}), Linux {meta.get('kernel', '?')}; "
        f"Redis {meta.get('redis', '?')}; PHP {meta.get('php', '?')}; extension think_queue_native {meta.get('extension', '?')}; "
        f"{meta.get('rustc', '')}.")
    sizes = meta.get("sizes", {})
    add(f"Sizes: {meta.get('rounds', '?')} rounds of {sizes.get('push', '?'):,} jobs (push, later, pop + delete, worker), "
        f"bulk {sizes.get('bulk', '?'):,}, migrate {sizes.get('migrate', '?'):,}, memory {sizes.get('memory', '?'):,} jobs per worker process."
        if isinstance(sizes.get("push"), int) else "")
    if meta.get("quick"):
        add("")
        add("**BENCH_QUICK=1: tiny sizes for a smoke test; these figures are not meaningful.**")
    add("")
    add("Reproduce: `make bench` (about 8 minutes; `BENCH_ROUNDS`, `BENCH_JOBS`, `BENCH_QUICK=1` for a smoke test; "
        "see README.md, section Benchmarks). Raw results, one JSON line per measurement: `target/bench/results.jsonl`, "
        "which a full run also copies to `bench/results.jsonl`.")
    add("")
    add("![jobs/s per operation, stock baseline vs native vs Rust](BENCHMARKS.png)")
    add("")

    # targets
    add("## Targets")
    add("")
    tg = targets(res)
    add(md_table(["target", "wanted", "measured", "verdict"], [(n, w, m, "PASS" if ok else "**MISS**") for n, w, m, ok in tg],
                 ["l", "r", "r", "l"]))
    add("")
    add("Ratios are the median of the per-round ratios (each round's baseline and native ran back to back).")
    busy = res.busy()
    if busy:
        add(f"Machine load from other processes during the measurements: median {busy[0] * 100:.0f}%, "
            f"max {busy[1] * 100:.0f}% of the CPUs" + (" — a shared machine: figures are indicative; rerun on a quiet one."
                                                       if busy[1] > 0.25 else "."))
    add("")

    # floor
    add("## The floor: one Redis round trip")
    add("")
    prow = []
    for p in res.pings:
        prow.append((p["when"], f"{p['single_rps']:,.0f}/s = {p['rtt_us']:.1f} µs", f"{p['pipelined_rps']:,.0f}/s"))
    if rtt:
        prow.append(("**median**", f"**{rtt:.1f} µs**", f"**{fmt_rate(med([p['pipelined_rps'] for p in res.pings]))}/s**"))
    add(md_table(["measured", "PING, one client, one at a time (`redis-benchmark -c 1`)", "PING pipelined (`-c 1 -P 64`)"], prow,
                 ["l", "r", "r"]))
    add("")
    clients = sorted({p["client"] for p in res.client_pings})
    if clients:
        add("The same PING loop from the clients the sides use (reference only): "
            + "; ".join(f"{c}: {med([p['rtt_us'] for p in res.client_pings if p['client'] == c]):.1f} µs" for c in clients) + ".")
    add("")
    add("A job that costs one round trip cannot go faster than the single-client PING rate on this connection; "
        "the last columns below divide each side's time per job by the `redis-benchmark -c 1` round trip.")
    add("")

    # per dialect
    for gen in ("v1", "v3"):
        if not any(res.stat(gen, op, "baseline") for op in OPS):
            continue
        add(f"## {GEN_LABEL[gen]}")
        add("")
        rows = []
        for op in OPS:
            b, n, f, r = (res.stat(gen, op, s) for s in SIDES)
            rt = [res.rt(gen, op, s) for s in ("baseline", "native", "rust")]
            rows.append((OP_LABEL[op], cell(b), cell(n), cell(f) if f else "–", cell(r), ratio_cell(res.ratio(gen, op, "native")),
                         ratio_cell(res.ratio(gen, op, "ffi", base="native")) if f else "–",
                         ratio_cell(res.ratio(gen, op, "rust")),
                         " / ".join("n/a" if x is None else f"{x:.2f}" for x in rt)))
        add(md_table(["operation", "stock baseline jobs/s", "native (PHP shim) jobs/s", "FFI bridge jobs/s", "Rust API jobs/s",
                      "native / baseline", "FFI / native", "Rust / baseline", "round trips per job (baseline / native / Rust)"], rows))
        add("")
        add("jobs/s: median [min–max] over the rounds. Ratios: median [min–max] of the per-round ratios. "
            "Round trips per job: time per job / the `redis-benchmark -c 1` PING round trip; for pop + delete and the "
            "worker, the PING is measured just before and after each round (the median over the rounds of each round's "
            "quotient: the round trip of this VM drifts with its load), for the other operations the run's median floor.")
        busy = res.busy(gen, OPS)
        if busy:
            add(f"Other processes on the machine used {busy[0] * 100:.0f}% of its CPUs during a median measurement here, "
                f"{busy[1] * 100:.0f}% during the busiest one" + (" (rounds that shared the machine are slower: compare the "
                "min–max ranges)." if busy[1] > 0.1 else "."))
        spread = res.spread(gen)
        if spread:
            x, op, side = spread
            add(f"Largest round-to-round spread in this table: {x:.2f}× ({OP_SHORT[op]}, {SIDE_LABEL[side]})"
                + (": the machine was busy during some rounds; read the medians as indicative." if x > 1.5 else "."))
        add("")

    # metrics cost: the same sides with metrics off, in the same rounds
    mrows = []
    for gen in ("v1", "v3"):
        for op in ("pop", "worker"):
            for side in ("native", "rust"):
                off = res.stat(gen, op, side + "_nometrics")
                on = res.stat(gen, op, side)
                if off and on:
                    mrows.append((GEN_SHORT[gen], OP_LABEL[op], SIDE_LABEL[side], cell(off), cell(on),
                                  ratio_cell(res.ratio(gen, op, side, base=side + "_nometrics"))))
    if mrows:
        add("## The cost of metrics")
        add("")
        add(md_table(["gen", "operation", "side", "metrics off jobs/s", "metrics on (default) jobs/s", "on / off"], mrows,
                     ["l", "l", "l", "r", "r", "r"]))
        add("")
        add("Metrics on (the default) record each job's outcome, run time and wait time in the worker's memory and send "
            "them with a pop at most once a second; the workers registry's heartbeat thread beats every 5 s. Metrics off: "
            "`'metrics' => false` / `QueueOptions::metrics = false`. Both columns ran in the same rounds, back to back.")
        add("")

    # monitor
    if res.monitor:
        add("## Commands on the wire (MONITOR, 3 jobs per operation, this run)")
        add("")
        rows = []
        for gen in ("v1", "v3"):
            for op in OPS:
                b, n = res.mon(gen, op, "baseline"), res.mon(gen, op, "native")
                if not b and not n:
                    continue
                same = "n/a" if not b else ("yes" if b.get("matches_stock") else "**NO**")
                rows.append((GEN_SHORT[gen], OP_SHORT[op], monitor_summary(b), same, monitor_summary(n)))
        add(md_table(["gen", "operation", "stock baseline: commands", "= stock's sequence (wire spec §4)?", "native: commands"], rows,
                     ["l", "l", "l", "l", "l"]))
        add("")
        add("Client commands between the markers the benchmark sends around the timed part, its own helper connections left out; "
            "R = ready list, D = `:delayed`, S = `:reserved`. Pop + delete ends with one more pop that finds nothing. "
            "A native pop carries the previous job's delete (written behind) into its script. "
            "The exact bytes of the stock baseline are checked by its PHPUnit suite (tests/php/baseline).")
        add("")

    # pickup
    pk = [(g, s) for g in ("v1", "v3") for s in ("baseline", "baseline_blpop", "native", "rust") if res.pickup(g, s)]
    if pk:
        add("## Pickup latency: an idle worker, a job pushed by another process")
        add("")
        rows = []
        for g, s in pk:
            p = res.pickup(g, s)
            how = {
                "baseline": f"stock worker loop: pop, `sleep({p.get('sleep', 3)})` when empty (the default `--sleep 3`"
                            + (", no `block_for`" if g == "v3" else "") + ")",
                "baseline_blpop": f"stock 3.x with `block_for` {p.get('block_for', 5)}: BLPOP (with its LPOP-then-ZADD loss window)",
                "native": f"shim with `block_for` {p.get('block_for', 5)} (blocking wait, atomic pop), same worker, `--sleep {p.get('sleep', 3)}`",
                "rust": "Rust `Worker` (waits with `pop_blocking`)",
            }[s]
            rp = p.get("round_p99_ms")
            rows.append((GEN_SHORT[g], SIDE_LABEL.get(s, s), how,
                         f"{p['samples']:,}" + (f" ({p['rounds']} rounds)" if p.get("rounds", 1) > 1 else ""),
                         f"{p['gap_ms'][0]}–{p['gap_ms'][1]} ms", f"{p['p50_ms']:.2f} ms", f"**{p['p99_ms']:.2f} ms**",
                         f"{min(rp):.2f}–{max(rp):.2f} ms" if rp else "", f"{p['max_ms']:.2f} ms"))
        add(md_table(["gen", "side", "worker", "samples", "gaps between pushes (random)", "p50", "p99", "p99 of each round", "max"], rows,
                     ["l", "l", "l", "r", "r", "r", "r", "r", "r"]))
        add("")
        add("Latency = the moment the handler starts minus the producer's clock just before its push (one RPUSH by a "
            "separate PHP process, the same producer for every side). The blocking workers (native, Rust, stock BLPOP) run "
            "in rounds that alternate between them and their samples are pooled; the sleeping stock worker runs once. "
            "Percentiles are nearest-rank: with 15 samples p99 is the largest one. On a shared machine p99 is what "
            "moves most: a busy spell of the other processes shows up there first.")
        add("")

    # memory
    mm = [(g, s) for g in ("v1", "v3") for s in SIDES if res.memory(g, s)]
    if mm:
        add("## Memory per worker process (RSS)")
        add("")
        rows = []
        for g, s in mm:
            m = res.memory(g, s)
            rows.append((GEN_SHORT[g], SIDE_LABEL[s], f"{m['jobs']:,}", f"{m['rss_boot_kb']:,} KiB",
                         f"{m['rss_start_kb']:,} KiB", f"{m['rss_end_kb']:,} KiB", f"{m['rss_growth_kb']:+,} KiB",
                         f"{fmt_rate(m['jobs_per_s'])}"))
        add(md_table(["gen", "side", "jobs", "RSS before the first job", f"RSS after {mm and res.memory(*mm[0]).get('rss_at', 1000):,} jobs",
                      "RSS at the end", "growth", "jobs/s"], rows, ["l", "l", "r", "r", "r", "r", "r", "r"]))
        add("")
        add("One worker process (the same think-queue worker as above; Rust: `Worker`) consumes jobs prefilled by another "
            "process; VmRSS from /proc/self/status.")
        add("")

    # external
    add("## JSON encoder micro-benchmark")
    add("")
    if res.json:
        rows = []
        for j in res.json:
            ours, serde = j.get("ours_ns"), j.get("serde_ns")
            ratio = f"{ours / serde:.2f}" if ours and serde else "n/a"
            nb = " / ".join(str(j.get(k, "?")) for k in ("bytes", "serde_bytes"))
            rows.append((j.get("case", "?"), f"{ours:,.1f}" if ours is not None else "n/a", f"{serde:,.1f}" if serde is not None else "n/a",
                         ratio, nb))
        add(md_table(["case", "ours ns/op", "serde_json ns/op", "ours / serde_json (below 1: ours faster)", "bytes (ours / serde_json)"], rows))
        add("")
        add(f"From `scripts/bench-json.sh` (Criterion, `benches/json.rs`; median ns per operation): "
            f"{res.external.get('JSON encoder micro-benchmark', '')}. The outputs differ by design (PHP escapes `/` and non-ASCII, "
            "serde_json does not), so this compares speed, not bytes.")
    else:
        add(f"Not run: {res.external.get('JSON encoder micro-benchmark', 'not part of this run (BENCH_PHASES)')}.")
    add("")
    add("## Cluster")
    add("")
    if res.cluster:
        rows = []
        for c in res.cluster:
            extra = {k: v for k, v in c.items() if k not in ("bench", "setup", "jobs_per_s")}
            rows.append((c.get("setup", "?"), fmt_rate(c.get("jobs_per_s")), ", ".join(f"{k} {v}" for k, v in extra.items())))
        add(md_table(["setup", "jobs/s", "details"], rows, ["l", "r", "l"]))
        add("")
        single = [c["jobs_per_s"] for c in res.cluster if c.get("setup") == "single" and c.get("jobs_per_s")]
        multi = [c["jobs_per_s"] for c in res.cluster if c.get("setup") not in (None, "single") and c.get("jobs_per_s")]
        if single and multi:
            add(f"Best multi-node setup / single server: {fmt_ratio(max(multi) / med(single))}.")
            add("")
        add(f"From `scripts/bench-cluster.sh`: {res.external.get('Cluster', '')}.")
    else:
        add(f"Not run: {res.external.get('Cluster', 'not part of this run (BENCH_PHASES)')}.")
    add("")

    add("## Method")
    add("")
    add(METHOD.rstrip())
    add("")

    if res.errors:
        add("## Errors in this run")
        add("")
        for e in res.errors:
            add(f"- {e.get('what')}: `{str(e.get('message', '')).splitlines()[0][:300] if e.get('message') else ''}`")
        add("")

    png = os.path.join(out_dir, "BENCHMARKS.png")
    why = chart(res, png)
    if why:
        lines[lines.index("![jobs/s per operation, stock baseline vs native vs Rust](BENCHMARKS.png)")] = f"(chart: {why})"
    md = os.path.join(out_dir, "BENCHMARKS.md")
    with open(md, "w") as f:
        f.write("\n".join(lines).rstrip() + "\n")
    return md, (None if why else png), tg


def summary(res, tg):
    rtt = res.rtt_us()
    print()
    print(f"make bench summary ({res.meta.get('date', '')}, commit {res.meta.get('git_commit', '?')}, "
          f"{res.meta.get('rounds', '?')} rounds){'  [BENCH_QUICK: not meaningful]' if res.meta.get('quick') else ''}")
    if rtt:
        print(f"  PING floor: {rtt:.1f} us per round trip (one client), pipelined "
              f"{fmt_rate(med([p['pipelined_rps'] for p in res.pings]))}/s")
    for gen in ("v1", "v3"):
        if not any(res.stat(gen, op, "baseline") for op in OPS):
            continue
        print(f"  {GEN_LABEL[gen].replace('`', '')}")
        print(f"    {'operation':<28} {'baseline/s':>12} {'native/s':>12} {'ffi/s':>12} {'rust/s':>12} {'native/base':>12} {'ffi/native':>11} {'RT/job base/nat':>16}")
        for op in OPS:
            b, n, f, r = (res.stat(gen, op, s) for s in SIDES)
            ra = res.ratio(gen, op, "native")
            rf = res.ratio(gen, op, "ffi", base="native")
            rtb = res.rt(gen, op, "baseline")
            rtn = res.rt(gen, op, "native")
            rts = ("n/a" if rtb is None else f"{rtb:.2f}") + " / " + ("n/a" if rtn is None else f"{rtn:.2f}")
            print(f"    {OP_LABEL[op]:<28} {fmt_rate(b and b['median']):>12} {fmt_rate(n and n['median']):>12} "
                  f"{(fmt_rate(f['median']) if f else '-'):>12} {fmt_rate(r and r['median']):>12} {fmt_ratio(ra and ra['median']):>12} "
                  f"{(fmt_ratio(rf['median']) if rf else '-'):>11} {rts:>16}")
    for gen in ("v1", "v3"):
        for op in ("pop", "worker"):
            for side in ("native", "rust"):
                rm = res.ratio(gen, op, side, base=side + "_nometrics")
                if rm:
                    print(f"  metrics cost {GEN_SHORT[gen]} {OP_SHORT[op]:<10} {side:<7} on/off {fmt_ratio(rm['median'])} "
                          f"[{fmt_ratio(rm['min'])}-{fmt_ratio(rm['max'])}]")
    for gen in ("v1", "v3"):
        for s in ("baseline", "baseline_blpop", "native", "rust"):
            p = res.pickup(gen, s)
            if p:
                print(f"  pickup {GEN_SHORT[gen]} {SIDE_LABEL[s]:<32} p50 {p['p50_ms']:9.2f} ms  p99 {p['p99_ms']:9.2f} ms  ({p['samples']} samples)")
    for gen in ("v1", "v3"):
        for s in SIDES:
            m = res.memory(gen, s)
            if m:
                print(f"  memory {GEN_SHORT[gen]} {SIDE_LABEL[s]:<20} RSS {m['rss_start_kb']:>8,} -> {m['rss_end_kb']:>8,} KiB "
                      f"({m['rss_growth_kb']:+,} KiB over {m['jobs']:,} jobs)")
    busy = res.busy()
    if busy:
        print(f"  other processes' CPU use during the measurements: median {busy[0] * 100:.0f}%, max {busy[1] * 100:.0f}%")
    print("  targets:")
    for name, want, got, ok in tg:
        print(f"    {'PASS' if ok else 'MISS'}  {name}: {got} (wanted {want})")
    if res.errors:
        print(f"  {len(res.errors)} error(s): see BENCHMARKS.md")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    results, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    res = Results(load(results))
    md, png, tg = report(res, out_dir, results)
    summary(res, tg)
    print(f"  wrote {md}" + (f" and {png}" if png else " (no chart)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

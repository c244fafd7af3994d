//! The Rust-API side of `make bench` (driven by bench/run.py): one measurement per process, printed
//! as one JSON line, with the same operations, job data and checks as `bench/php/bench.php`.
//!
//! ```text
//! cargo run --release --example bench -- OP v1|v3 url=redis://127.0.0.1:6379/0 [jobs=N round=R queue=Q warm=N ...]
//! ```
//!
//! OP:
//! - `push`, `later` (60 s): N calls, one job each, data `{"mobile":"13800000000","n":i}`
//! - `bulk`: N jobs in one `RedisQueue::bulk` call (pipelined RPUSHes)
//! - `pop`: N jobs prefilled, then `pop` + `ack` (the delete written behind, sent with the next pop)
//!   until `pop` finds nothing
//! - `worker`: N jobs prefilled, then `Worker` with a no-op handler until the queue is empty
//! - `migrate`: N due jobs in `:delayed`, then `migrate` until it moves nothing
//! - `memory`: `Worker` over N jobs prefilled by the driver; RSS after `rss_at` jobs and at the end
//! - `pickup-worker`: `Worker` (it waits with `pop_blocking`) until `samples` jobs ran, each
//!   recording now minus the push time `t` its data carries (pushed by the PHP producer)
//! - `ping`: N `RedisQueue::ping` calls, one at a time: the round trip as this client sees it
//!
//! Timed parts exclude prefills and a warm-up of the same operation on another queue.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value as Json};
use think_queue_native::{ConnectionOptions, Delay, Dialect, NewJob, QueueOptions, RedisQueue, Result, Value, Worker};

const JOB: &str = "app\\job\\SendSms";

fn data(i: usize) -> Value {
    Value::map(vec![("mobile", Value::from("13800000000")), ("n", Value::Int(i as i64))])
}

fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn now_f64() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

fn fail(msg: String) -> think_queue_native::Error {
    think_queue_native::Error::Config(msg)
}

struct Bench {
    conn: ConnectionOptions,
    dialect: Dialect,
    /// `metrics=0`: queues and workers without metrics (make bench's metrics-cost column)
    metrics: bool,
}

impl Bench {
    fn options(&self) -> QueueOptions {
        let mut o = QueueOptions::new(self.dialect);
        o.metrics = self.metrics;
        o
    }

    fn queue(&self) -> Result<RedisQueue> {
        RedisQueue::connect(self.conn.clone(), self.options())
    }

    fn clear(&self, q: &mut RedisQueue, queue: &str) -> Result<()> {
        let keys = q.keys(Some(queue));
        let mut c = redis_conn(&self.conn)?;
        redis::cmd("DEL")
            .arg(&keys.ready)
            .arg(&keys.delayed)
            .arg(&keys.reserved)
            .arg(&keys.dead)
            .query::<()>(&mut c)
            .map_err(|e| fail(format!("DEL: {e}")))
    }

    /// N jobs in the ready list (bulk, not timed), or in `:delayed` due 10 s ago (pipelined ZADD).
    fn prefill(&self, q: &mut RedisQueue, queue: &str, n: usize, delayed: bool) -> Result<()> {
        if !delayed {
            let jobs: Vec<NewJob> = (0..n).map(|i| NewJob::new(JOB, data(i))).collect();
            for chunk in jobs.chunks(10_000) {
                q.bulk(chunk, Some(queue))?;
            }
            return Ok(());
        }
        let key = q.keys(Some(queue)).delayed;
        let due = think_queue_native::unix_now() - 10;
        let mut c = redis_conn(&self.conn)?;
        for start in (0..n).step_by(1000) {
            let mut pipe = redis::pipe();
            for i in start..n.min(start + 1000) {
                let (_, bytes) = q.build_payload(&NewJob::new(JOB, data(i)))?;
                pipe.cmd("ZADD").arg(&key).arg(due).arg(bytes).ignore();
            }
            pipe.query::<()>(&mut c).map_err(|e| fail(format!("ZADD: {e}")))?;
        }
        Ok(())
    }

    /// Runs `op` on `queue` with `n` jobs; returns the timed seconds and extra fields.
    fn run_op(&self, op: &str, queue: &str, n: usize) -> Result<(f64, Map<String, Json>)> {
        let mut q = self.queue()?;
        let mut extra = Map::new();
        let sizes_total = |q: &mut RedisQueue| -> Result<u64> { Ok(q.sizes(Some(queue))?.total()) };
        match op {
            "push" | "later" => {
                let t = Instant::now();
                for i in 0..n {
                    let job = NewJob::new(JOB, data(i));
                    if op == "push" {
                        q.push(&job, Some(queue))?;
                    } else {
                        q.later(Delay::Seconds(60), &job, Some(queue))?;
                    }
                }
                let secs = t.elapsed().as_secs_f64();
                let s = q.sizes(Some(queue))?;
                let stored = if op == "push" { s.ready } else { s.delayed };
                if stored != n as u64 {
                    return Err(fail(format!("{op}: {n} written, Redis holds {stored}")));
                }
                Ok((secs, extra))
            }
            "bulk" => {
                let jobs: Vec<NewJob> = (0..n).map(|_| NewJob::new(JOB, data(0))).collect();
                let t = Instant::now();
                q.bulk(&jobs, Some(queue))?;
                let secs = t.elapsed().as_secs_f64();
                let stored = q.sizes(Some(queue))?.ready;
                if stored != n as u64 {
                    return Err(fail(format!("bulk: {n} written, Redis holds {stored}")));
                }
                extra.insert("method".into(), json!("bulk()"));
                Ok((secs, extra))
            }
            "pop" => {
                self.prefill(&mut q, queue, n, false)?;
                let mut done = 0usize;
                let t = Instant::now();
                while let Some(job) = q.pop(Some(queue))? {
                    q.ack(&job)?;
                    done += 1;
                }
                let secs = t.elapsed().as_secs_f64();
                let left = sizes_total(&mut q)?;
                if done != n || left != 0 {
                    return Err(fail(format!("pop: {n} prefilled, {done} popped, {left} left")));
                }
                Ok((secs, extra))
            }
            "worker" => {
                self.prefill(&mut q, queue, n, false)?;
                let t = Instant::now();
                let stats = Worker::new(self.conn.clone(), self.options())
                    .queue(queue)
                    .handle(JOB, |_job: &mut think_queue_native::JobContext<'_>| Ok(()))
                    .stop_when_empty(true)
                    .handle_signals(false)
                    .run()?;
                let secs = t.elapsed().as_secs_f64();
                let left = sizes_total(&mut q)?;
                if stats.processed != n as u64 || left != 0 {
                    return Err(fail(format!("worker: {n} prefilled, {} handled, {left} left", stats.processed)));
                }
                Ok((secs, extra))
            }
            "migrate" => {
                self.prefill(&mut q, queue, n, true)?;
                let mut calls = 0u64;
                let t = Instant::now();
                loop {
                    let (moved, _) = q.migrate(Some(queue))?;
                    calls += 1;
                    if moved == 0 {
                        break;
                    }
                }
                let secs = t.elapsed().as_secs_f64();
                let s = q.sizes(Some(queue))?;
                if s.ready != n as u64 || s.delayed != 0 {
                    return Err(fail(format!("migrate: {n} due, ready {} delayed {}", s.ready, s.delayed)));
                }
                extra.insert("calls".into(), json!(calls));
                Ok((secs, extra))
            }
            _ => Err(fail(format!("unknown op {op}"))),
        }
    }

    fn memory(&self, queue: &str, n: usize, rss_at: u64) -> Result<Map<String, Json>> {
        let mut q = self.queue()?;
        let stored = q.sizes(Some(queue))?.ready;
        if stored != n as u64 {
            return Err(fail(format!("memory: expected {n} prefilled jobs, found {stored}")));
        }
        let boot = rss_kb();
        let count = Arc::new(AtomicU64::new(0));
        let start = Arc::new(AtomicU64::new(0));
        let (c, s) = (count.clone(), start.clone());
        let t = Instant::now();
        let stats = Worker::new(self.conn.clone(), self.options())
            .queue(queue)
            .handle(JOB, move |_job: &mut think_queue_native::JobContext<'_>| {
                if c.fetch_add(1, Ordering::Relaxed) + 1 == rss_at {
                    s.store(rss_kb(), Ordering::Relaxed);
                }
                Ok(())
            })
            .stop_when_empty(true)
            .handle_signals(false)
            .run()?;
        let secs = t.elapsed().as_secs_f64();
        let end = rss_kb();
        let left = q.sizes(Some(queue))?.total();
        if stats.processed != n as u64 || left != 0 {
            return Err(fail(format!("memory: {n} prefilled, {} handled, {left} left", stats.processed)));
        }
        let start = start.load(Ordering::Relaxed);
        let mut m = Map::new();
        m.insert("seconds".into(), json!(secs));
        m.insert("jobs_per_s".into(), json!(n as f64 / secs));
        m.insert("rss_boot_kb".into(), json!(boot));
        m.insert("rss_start_kb".into(), json!(start));
        m.insert("rss_end_kb".into(), json!(end));
        m.insert("rss_growth_kb".into(), json!(end as i64 - start as i64));
        m.insert("rss_at".into(), json!(rss_at));
        Ok(m)
    }

    fn pickup(&self, queue: &str, samples: usize, ready: Option<&str>) -> Result<Map<String, Json>> {
        let lat: Arc<Mutex<Vec<f64>>> = Arc::new(Mutex::new(Vec::with_capacity(samples)));
        let l = lat.clone();
        let worker = Worker::new(self.conn.clone(), self.options())
            .queue(queue)
            .handle(JOB, move |job: &mut think_queue_native::JobContext<'_>| {
                let now = now_f64();
                let t = match job.data().get("t") {
                    Some(Value::Float(f)) => *f,
                    Some(Value::Int(i)) => *i as f64,
                    _ => f64::NAN,
                };
                if let Ok(mut v) = l.lock() {
                    v.push((now - t) * 1000.0);
                }
                Ok(())
            })
            .max_jobs(samples as u64)
            .handle_signals(false);
        if let Some(path) = ready {
            std::fs::write(path, b"").map_err(|e| fail(format!("{path}: {e}")))?;
        }
        worker.run()?;
        let mut v = lat.lock().map(|v| v.clone()).unwrap_or_default();
        let mut q = self.queue()?;
        let left = q.sizes(Some(queue))?.total();
        if v.len() != samples || left != 0 {
            return Err(fail(format!("pickup: {samples} expected, {} handled, {left} left", v.len())));
        }
        let raw: Vec<f64> = v.iter().map(|x| (x * 1000.0).round() / 1000.0).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        let pct = |p: f64| v[((p / 100.0 * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        let mut m = Map::new();
        m.insert("samples".into(), json!(samples));
        m.insert("p50_ms".into(), json!(pct(50.0)));
        m.insert("p99_ms".into(), json!(pct(99.0)));
        m.insert("max_ms".into(), json!(v[v.len() - 1]));
        m.insert("lat_ms".into(), json!(raw));
        Ok(m)
    }
}

fn redis_conn(conn: &ConnectionOptions) -> Result<redis::Connection> {
    let url = format!("redis://{}/", conn.addr());
    redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .map_err(|e| fail(format!("connect: {e}")))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (op, gen) = (args.get(1).cloned().unwrap_or_default(), args.get(2).cloned().unwrap_or_default());
    let mut opts = std::collections::HashMap::new();
    for a in args.iter().skip(3) {
        match a.split_once('=') {
            Some((k, v)) => {
                opts.insert(k.to_owned(), v.to_owned());
            }
            None => {
                eprintln!("bench: expected key=value, got '{a}'");
                std::process::exit(2);
            }
        }
    }
    let dialect = match gen.as_str() {
        "v1" => Dialect::V1,
        "v3" => Dialect::V3,
        _ => {
            eprintln!("usage: bench push|later|bulk|pop|worker|migrate|memory|pickup-worker v1|v3 url=redis://... [jobs=N ...]");
            std::process::exit(2);
        }
    };
    let get = |k: &str, d: &str| opts.get(k).cloned().unwrap_or_else(|| d.to_owned());
    let n: usize = get("jobs", "10000").parse().unwrap_or(10000).max(1);
    let round: u64 = get("round", "0").parse().unwrap_or(0);
    let queue = get("queue", &format!("tqn-bench-{op}-rust-{round}"));
    let warm: usize = get("warm", &n.min(200).to_string()).parse().unwrap_or(200);
    let url = get("url", "redis://127.0.0.1:6379/0");

    let run = || -> Result<Json> {
        let bench = Bench {
            conn: ConnectionOptions::from_url(&url)?,
            dialect,
            metrics: get("metrics", "1") != "0",
        };
        let mut out = json!({"bench": "queue", "op": op, "dialect": gen, "side": "rust", "round": round});
        let fields = match op.as_str() {
            "memory" => {
                out["jobs"] = json!(n);
                bench.memory(&queue, n, get("rss_at", "1000").parse().unwrap_or(1000))?
            }
            "ping" => {
                let mut q = bench.queue()?;
                for _ in 0..1000 {
                    q.ping()?;
                }
                let t = Instant::now();
                for _ in 0..n {
                    q.ping()?;
                }
                let us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
                return Ok(json!({"bench": "ping_client", "client": "Rust RedisQueue::ping", "pings": n, "rtt_us": us}));
            }
            "pickup-worker" => bench.pickup(
                &queue,
                get("samples", "200").parse().unwrap_or(200),
                opts.get("ready").map(String::as_str),
            )?,
            _ => {
                let mut q = bench.queue()?;
                if q.sizes(Some(&queue))?.total() != 0 {
                    return Err(fail(format!("queue {queue} is not empty")));
                }
                if warm > 0 {
                    let wq = format!("tqn-bench-warm-{op}-rust");
                    bench.clear(&mut q, &wq)?;
                    bench.run_op(&op, &wq, warm)?;
                    bench.clear(&mut q, &wq)?;
                }
                let (secs, mut extra) = bench.run_op(&op, &queue, n)?;
                out["jobs"] = json!(n);
                extra.insert("seconds".into(), json!(secs));
                extra.insert("jobs_per_s".into(), json!(n as f64 / secs));
                extra
            }
        };
        let mut q = bench.queue()?;
        bench.clear(&mut q, &queue)?;
        if let Json::Object(m) = &mut out {
            m.extend(fields);
        }
        Ok(out)
    };
    match run() {
        Ok(v) => println!("{v}"),
        Err(e) => {
            eprintln!("bench {op} rust {gen}: {e}");
            std::process::exit(1);
        }
    }
}

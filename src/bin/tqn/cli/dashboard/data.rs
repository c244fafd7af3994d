//! What the dashboard shows, read from Redis with bounded, read-only commands: the overview (one
//! pipeline per queue), a queue's charts and job lists, the workers, and the Prometheus text.
//! Nothing here writes to Redis.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use think_queue_native::metrics::{parse_hash, Histogram, JobMetrics, BUCKETS};
use think_queue_native::registry::{WorkerInfo, TTL};
use think_queue_native::unstable::RedisConnection;
use think_queue_native::{available_at, ReservedJob};

use super::super::inspect::{queue_stats, QueueRef, QueueStats};
use super::super::CliResult;

/// Minutes of history the overview's rates look at.
const RATE_MINUTES: i64 = 5;
/// Most workers read per queue.
const MAX_WORKERS: usize = 200;
/// Most jobs listed per state.
pub const MAX_LIST: usize = 100;

/// One row of the overview: `tqn stats`'s figures and what the metrics and the registry add.
#[derive(Debug, Serialize)]
pub struct Overview {
    /// queue, dialect, key, ready, delayed, due, reserved, expired, dead, oldest_overdue
    #[serde(flatten)]
    pub stats: QueueStats,
    /// seconds the oldest waiting job has waited (the ready list's head when its push time is
    /// known, the delayed job due longest ago, or the reservation expired longest ago); null when
    /// unknown or nothing waits
    pub oldest_age: Option<i64>,
    /// jobs ended per minute over the last five minutes, this one included (processed + failed)
    pub per_minute: f64,
    /// failed / (processed + failed) over the last five minutes, null without jobs
    pub failure_rate: Option<f64>,
    /// workers that beat within the registry's TTL
    pub workers: u64,
    /// problems worth a look
    pub flags: Vec<String>,
}

fn minute_now(now: i64) -> i64 {
    now.div_euclid(60)
}

/// The overview of one queue: `tqn stats`'s pipeline, then one for the head of the ready list, the
/// last minutes' metrics and the live workers (and one more when it has live workers).
pub fn overview(raw: &mut RedisConnection, q: &QueueRef, now: i64) -> CliResult<Overview> {
    let stats = queue_stats(raw, q, now)?;
    let k = q.dialect.keys(&q.name);
    let mut pipe = redis::pipe();
    pipe.cmd("LRANGE").arg(&k.ready).arg(0).arg(0);
    pipe.cmd("ZRANGEBYSCORE")
        .arg(&k.workers)
        .arg(now - TTL)
        .arg("+inf")
        .arg("LIMIT")
        .arg(0)
        .arg(MAX_WORKERS);
    let m = minute_now(now);
    // the current minute and the four before it
    for minute in (m - RATE_MINUTES + 1)..=m {
        pipe.cmd("HGETALL").arg(k.metrics_minute(minute));
    }
    let values: Vec<redis::Value> = pipe.query(raw)?;
    let (head, rest) = values.split_at(values.len().min(2));
    let (first_ready, worker_ids): (Vec<Vec<u8>>, Vec<String>) =
        redis::FromRedisValue::from_redis_value(redis::Value::Array(head.to_vec()))?;
    let mut window = JobMetrics::default();
    for v in rest {
        let fields: Vec<(Vec<u8>, i64)> = redis::FromRedisValue::from_redis_value(v.clone())?;
        for jm in parse_hash(&fields).values() {
            window.merge(jm);
        }
    }
    // a delayed job due (or a reservation expired) that long ago, or the ready head's push time
    let mut oldest = stats.oldest_overdue;
    if let Some(bytes) = first_ready.first() {
        let job = ReservedJob::stored(&q.name, q.dialect, bytes.clone());
        if let Some(at) = job.id().ok().flatten().and_then(|id| available_at(&id, now * 1000 + 999)) {
            oldest = Some(oldest.unwrap_or(0).max(now - at / 1000));
        }
    }
    let finished = window.processed + window.failed;
    let mut flags = Vec::new();
    let workers = read_workers(raw, q, &worker_ids)?;
    if stats.ready + stats.due > 0 && workers.is_empty() && finished == 0 {
        flags.push("jobs wait and no worker was seen for 5 minutes".to_owned());
    }
    let overran = workers.iter().filter(|w| w.overran(now)).count();
    if overran > 0 {
        flags.push(format!("{overran} worker(s) running a job past retry_after"));
    }
    if stats.expired > 0 {
        flags.push(format!("{} expired reservation(s)", stats.expired));
    }
    Ok(Overview {
        stats,
        oldest_age: oldest,
        per_minute: finished as f64 / RATE_MINUTES as f64,
        failure_rate: (finished > 0).then(|| window.failed as f64 / finished as f64),
        workers: workers.len() as u64,
        flags,
    })
}

fn read_workers(raw: &mut RedisConnection, q: &QueueRef, ids: &[String]) -> CliResult<Vec<WorkerInfo>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let k = q.dialect.keys(&q.name);
    let mut pipe = redis::pipe();
    for id in ids {
        pipe.cmd("HGETALL").arg(k.worker(id));
    }
    let hashes: Vec<Vec<(String, String)>> = pipe.query(raw)?;
    // a hash that expired between the two reads is a worker that just stopped
    Ok(hashes.iter().filter(|h| !h.is_empty()).map(|h| WorkerInfo::from_hash(h)).collect())
}

/// The live workers of a queue.
pub fn workers(raw: &mut RedisConnection, q: &QueueRef, now: i64) -> CliResult<Vec<WorkerInfo>> {
    let k = q.dialect.keys(&q.name);
    let ids: Vec<String> = redis::cmd("ZRANGEBYSCORE")
        .arg(&k.workers)
        .arg(now - TTL)
        .arg("+inf")
        .arg("LIMIT")
        .arg(0)
        .arg(MAX_WORKERS)
        .query(raw)?;
    read_workers(raw, q, &ids)
}

/// Counts and quantiles of a set of jobs (a minute, or a job name over the window).
#[derive(Debug, Serialize)]
pub struct Summary {
    pub processed: u64,
    pub failed: u64,
    pub released: u64,
    pub buried: u64,
    pub run_p50: Option<f64>,
    pub run_p95: Option<f64>,
    pub run_p99: Option<f64>,
    pub wait_p50: Option<f64>,
    pub wait_p95: Option<f64>,
    pub wait_p99: Option<f64>,
}

impl Summary {
    fn of(m: &JobMetrics) -> Summary {
        let q = |h: &Histogram, x: f64| h.quantile(x);
        Summary {
            processed: m.processed,
            failed: m.failed,
            released: m.released,
            buried: m.buried,
            run_p50: q(&m.run, 0.5),
            run_p95: q(&m.run, 0.95),
            run_p99: q(&m.run, 0.99),
            wait_p50: q(&m.wait, 0.5),
            wait_p95: q(&m.wait, 0.95),
            wait_p99: q(&m.wait, 0.99),
        }
    }
}

/// One minute of a queue's chart.
#[derive(Debug, Serialize)]
pub struct Point {
    /// unix second the minute starts
    pub t: i64,
    #[serde(flatten)]
    pub summary: Summary,
}

/// One job name over the chart's window.
#[derive(Debug, Serialize)]
pub struct JobRow {
    pub job: String,
    #[serde(flatten)]
    pub summary: Summary,
}

/// A queue's charts: the last `minutes` minutes (one pipeline of HGETALLs).
pub fn history(raw: &mut RedisConnection, q: &QueueRef, now: i64, minutes: i64) -> CliResult<(Vec<Point>, Vec<JobRow>)> {
    let k = q.dialect.keys(&q.name);
    let last = minute_now(now);
    let first = last - minutes.clamp(1, 24 * 60) + 1;
    let mut pipe = redis::pipe();
    for minute in first..=last {
        pipe.cmd("HGETALL").arg(k.metrics_minute(minute));
    }
    let hashes: Vec<Vec<(Vec<u8>, i64)>> = pipe.query(raw)?;
    let mut points = Vec::new();
    let mut per_job: BTreeMap<String, JobMetrics> = BTreeMap::new();
    for (minute, fields) in (first..=last).zip(hashes) {
        let mut all = JobMetrics::default();
        for (job, m) in parse_hash(&fields) {
            all.merge(&m);
            per_job.entry(job).or_default().merge(&m);
        }
        points.push(Point {
            t: minute * 60,
            summary: Summary::of(&all),
        });
    }
    let rows = per_job
        .into_iter()
        .map(|(job, m)| JobRow {
            job,
            summary: Summary::of(&m),
        })
        .collect();
    Ok((points, rows))
}

/// One listed job. `payload` is the stored bytes as text (invalid UTF-8 replaced); `member` the
/// exact bytes in hex, which actions send back.
#[derive(Debug, Serialize)]
pub struct ListedJob {
    pub payload: String,
    pub member: String,
    pub name: Option<String>,
    pub id: Option<String>,
    pub attempts: Option<i64>,
    /// delayed: due time; reserved: reservation expiry (unix seconds)
    pub score: Option<i64>,
}

/// The first `n` (at most [`MAX_LIST`]) jobs of a state: ready, delayed, reserved or dead.
pub fn list(raw: &mut RedisConnection, q: &QueueRef, state: &str, n: usize) -> CliResult<Vec<ListedJob>> {
    let k = q.dialect.keys(&q.name);
    let n = n.clamp(1, MAX_LIST) as i64;
    let items: Vec<(Vec<u8>, Option<f64>)> = match state {
        "ready" | "dead" => {
            let key = if state == "ready" { &k.ready } else { &k.dead };
            let v: Vec<Vec<u8>> = redis::cmd("LRANGE").arg(key).arg(0).arg(n - 1).query(raw)?;
            v.into_iter().map(|b| (b, None)).collect()
        }
        "delayed" | "reserved" => {
            let key = if state == "delayed" { &k.delayed } else { &k.reserved };
            let v: Vec<(Vec<u8>, f64)> = redis::cmd("ZRANGE").arg(key).arg(0).arg(n - 1).arg("WITHSCORES").query(raw)?;
            v.into_iter().map(|(b, s)| (b, Some(s))).collect()
        }
        other => return Err(super::super::CliError(format!("no job state `{other}`"))),
    };
    Ok(items
        .into_iter()
        .map(|(bytes, score)| {
            let job = ReservedJob::stored(&q.name, q.dialect, bytes.clone());
            ListedJob {
                payload: String::from_utf8_lossy(&bytes).into_owned(),
                member: hex(&bytes),
                name: job.name().ok(),
                id: job.id().ok().flatten(),
                attempts: job.stored_attempts().ok(),
                score: score.map(|s| s as i64),
            }
        })
        .collect())
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Bytes of lower- or upper-case hex; `None` when it is not hex.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A label value as the exposition format escapes it.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The Prometheus text exposition of every queue: read-only (sizes, totals hashes, registry).
pub fn prometheus(raw: &mut RedisConnection, queues: &[QueueRef], now: i64) -> CliResult<String> {
    let mut sizes = String::new();
    let mut oldest = String::new();
    let mut workers = String::new();
    let mut counters: [(&str, &str, String); 4] = [
        ("processed", "Jobs deleted after running.", String::new()),
        ("failed", "Jobs failed (out of tries or past timeoutAt).", String::new()),
        ("released", "Jobs released to run again.", String::new()),
        ("buried", "Jobs moved to the dead-letter list.", String::new()),
    ];
    let mut duration = String::new();
    let mut wait = String::new();
    for q in queues {
        let o = overview(raw, q, now)?;
        let ql = format!("queue=\"{}\",dialect=\"{}\"", label(&q.name), q.dialect);
        for (state, n) in [
            ("ready", o.stats.ready),
            ("delayed", o.stats.delayed),
            ("reserved", o.stats.reserved),
            ("dead", o.stats.dead),
        ] {
            let _ = writeln!(sizes, "thinkqueue_queue_jobs{{{ql},state=\"{state}\"}} {n}");
        }
        if let Some(age) = o.oldest_age {
            let _ = writeln!(oldest, "thinkqueue_queue_oldest_job_age_seconds{{{ql}}} {age}");
        }
        let _ = writeln!(workers, "thinkqueue_workers{{{ql}}} {}", o.workers);
        let fields: Vec<(Vec<u8>, i64)> = redis::cmd("HGETALL").arg(q.dialect.keys(&q.name).metrics).query(raw)?;
        for (job, m) in parse_hash(&fields) {
            let jl = format!("{ql},job_name=\"{}\"", label(&job));
            for (i, n) in [m.processed, m.failed, m.released, m.buried].into_iter().enumerate() {
                let _ = writeln!(counters[i].2, "thinkqueue_jobs_{}_total{{{jl}}} {n}", counters[i].0);
            }
            histogram(&mut duration, "thinkqueue_job_duration_seconds", &jl, &m.run);
            if m.wait.count() > 0 {
                histogram(&mut wait, "thinkqueue_job_wait_seconds", &jl, &m.wait);
            }
        }
    }
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, body: &str| {
        let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{body}");
    };
    family(
        "thinkqueue_queue_jobs",
        "gauge",
        "Jobs in a queue by state (ready, delayed, reserved, dead).",
        &sizes,
    );
    family(
        "thinkqueue_queue_oldest_job_age_seconds",
        "gauge",
        "Seconds the oldest waiting job has waited (when known).",
        &oldest,
    );
    family(
        "thinkqueue_workers",
        "gauge",
        "Native workers alive on a queue (registry heartbeat).",
        &workers,
    );
    for (name, help, body) in &counters {
        family(&format!("thinkqueue_jobs_{name}_total"), "counter", help, body);
    }
    family(
        "thinkqueue_job_duration_seconds",
        "histogram",
        "Run time of jobs, from the pop to their delete, release or bury.",
        &duration,
    );
    family(
        "thinkqueue_job_wait_seconds",
        "histogram",
        "Wait of jobs from becoming available to the pop (first attempts of natively pushed jobs).",
        &wait,
    );
    Ok(out)
}

fn histogram(out: &mut String, name: &str, labels: &str, h: &Histogram) {
    let mut cumulative = 0;
    for (i, bound) in BUCKETS.iter().enumerate() {
        cumulative += h.counts[i];
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
    }
    let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", h.count());
    let _ = writeln!(out, "{name}_sum{{{labels}}} {}", h.sum);
    let _ = writeln!(out, "{name}_count{{{labels}}} {}", h.count());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let b = b"\x00\xff<script>";
        assert_eq!(unhex(&hex(b)).as_deref(), Some(&b[..]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(label("app\\job\\A\"\n"), "app\\\\job\\\\A\\\"\\n");
    }
}

//! Job metrics recorded by native workers, read back by `tqn dashboard` and `/metrics`.
//!
//! # What is recorded
//! Per queue and per job name (the payload's `job`): how many jobs were processed (deleted after
//! running), failed (out of tries: think-queue's failed path), released (put back to be retried)
//! and buried (moved to the dead-letter list); how long each ran (from the pop that reserved it to
//! its delete, release or bury, as a histogram over [`BUCKETS`]); and how long it waited (from the
//! moment it became available to the pop, same buckets) for the jobs whose availability time is
//! known: jobs pushed by a native producer (the extension, the FFI bridge, Rust, `tqn push`) on
//! their first attempt. Those producers spell the time the job becomes available (the push, or
//! the due time of `later`) into the first ten letters of the job id (see
//! [`new_job_id_at`](crate::new_job_id_at)), which stays 32 letters as think-helper's `Str::random(32)`, so the
//! payload bytes keep the stock shape and stock code never notices. Jobs pushed by stock PHP code,
//! and retries (attempts > 1), have no wait time: the stock payload does not say when they were
//! pushed.
//!
//! # Where and when
//! A [`RedisQueue`](crate::RedisQueue) adds each outcome to a small client-side tally per queue;
//! the tally rides along with the queue's next pop (the Lua pop script adds it with `HINCRBY`),
//! at most once a second, so recording costs no round trip of its own. Two HASHes per queue hold
//! it, both carrying the queue's hash tag (v3 keys, or a tagged v1 name) so a Cluster keeps them
//! in the queue's slot:
//! - `<ready>:metrics:<minute>` (minute = unix seconds / 60): that minute's counts, expiring
//!   [`RETENTION_SECS`] after the minute's last write: charts over the last 24 hours, no cron;
//! - `<ready>:metrics`: the totals since the queue was first used by a native worker, never reset
//!   (Prometheus counters), bounded by the number of job names.
//!
//! A tally not yet sent when the process ends is sent when the queue object is dropped; a worker
//! killed with SIGKILL loses at most its last second. `'metrics' => false`
//! ([`QueueOptions::metrics`](crate::QueueOptions::metrics)) records nothing.
//!
//! # Fields
//! `p:JOB`, `f:JOB`, `r:JOB`, `b:JOB` (processed, failed, released, buried), `rt:I:JOB` and
//! `wt:I:JOB` (run/wait time histogram: jobs in bucket `I`, not cumulative), `rs:JOB` and `ws:JOB`
//! (run/wait time sums in microseconds). [`parse_hash`] reads a hash back.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// Upper bounds (seconds) of the run and wait time buckets; one more bucket holds the rest.
pub const BUCKETS: [f64; 15] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0,
];

/// Seconds a per-minute metrics hash lives after its minute's last write.
pub const RETENTION_SECS: i64 = 24 * 3600 + 120;

/// The job name metrics and the workers registry use for a payload without a readable `job`.
pub const MALFORMED_NAME: &str = "(malformed payload)";

/// How often, at most, a queue object sends its tally (with a pop).
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// How a job's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// deleted after running
    Processed,
    /// out of tries: deleted (or kept dead) and its failed hook called
    Failed,
    /// put back to be run again
    Released,
    /// moved to the dead-letter list (unprocessable payload)
    Buried,
}

impl Outcome {
    fn prefix(self) -> &'static str {
        match self {
            Outcome::Processed => "p",
            Outcome::Failed => "f",
            Outcome::Released => "r",
            Outcome::Buried => "b",
        }
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            Outcome::Processed => 1,
            Outcome::Failed => 2,
            Outcome::Released => 3,
            Outcome::Buried => 4,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Outcome> {
        match code {
            1 => Some(Outcome::Processed),
            2 => Some(Outcome::Failed),
            3 => Some(Outcome::Released),
            4 => Some(Outcome::Buried),
            _ => None,
        }
    }
}

/// The bucket a duration falls in (index into [`BUCKETS`], or `BUCKETS.len()` for longer ones).
pub fn bucket(d: Duration) -> usize {
    let s = d.as_secs_f64();
    BUCKETS.iter().position(|&b| s <= b).unwrap_or(BUCKETS.len())
}

/// Counter slots of one job name in a tally: the four outcomes, the run time buckets and sum,
/// the wait time buckets and sum. Recording a job is index arithmetic; field names are spelled
/// only when the tally is sent (at most once a second).
const RUN: usize = 4;
const RUN_SUM: usize = RUN + BUCKETS.len() + 1;
const WAIT: usize = RUN_SUM + 1;
const WAIT_SUM: usize = WAIT + BUCKETS.len() + 1;
const SLOTS: usize = WAIT_SUM + 1;

/// The hash field a slot of `job` is written to.
fn field(slot: usize, job: &str) -> String {
    match slot {
        0..RUN => format!("{}:{job}", OUTCOMES[slot].prefix()),
        RUN_SUM => format!("rs:{job}"),
        WAIT_SUM => format!("ws:{job}"),
        s if s < RUN_SUM => format!("rt:{}:{job}", s - RUN),
        s => format!("wt:{}:{job}", s - WAIT),
    }
}

const OUTCOMES: [Outcome; 4] = [Outcome::Processed, Outcome::Failed, Outcome::Released, Outcome::Buried];

fn outcome_slot(o: Outcome) -> usize {
    usize::from(o.code() - 1)
}

/// One tally of one minute: counters per job name.
#[derive(Debug, Default)]
struct Batch {
    minute: i64,
    jobs: HashMap<String, [i64; SLOTS]>,
}

/// A queue's tally not yet sent.
#[derive(Debug)]
struct Pending {
    batches: Vec<Batch>,
    /// tallies taken for a pop that failed, sent with the next one
    returned: Flush,
    last_flush: Instant,
}

/// The client-side tallies of one queue object, by queue name.
#[derive(Debug)]
pub(crate) struct Recorder {
    queues: HashMap<String, Pending>,
    /// the process they were counted in: a forked child starts afresh (its parent sends them)
    pid: u32,
}

impl Default for Recorder {
    fn default() -> Recorder {
        Recorder {
            queues: HashMap::new(),
            pid: std::process::id(),
        }
    }
}

/// What goes into the pop script: the minute hashes' minutes and their field increments.
pub(crate) type Flush = Vec<(i64, Vec<(String, i64)>)>;

impl Recorder {
    fn forked(&mut self) {
        if self.pid != std::process::id() {
            *self = Recorder::default();
        }
    }

    fn pending(&mut self, queue: &str) -> &mut Pending {
        self.queues.entry(queue.to_owned()).or_insert_with(|| Pending {
            batches: Vec::new(),
            returned: Vec::new(),
            // a fresh tally waits a second before it goes, like every later one
            last_flush: Instant::now(),
        })
    }

    /// The counters of `job` in `queue`'s tally of the minute of `now`.
    fn counters(&mut self, queue: &str, job: &str, now: i64) -> &mut [i64; SLOTS] {
        self.forked();
        let minute = now.div_euclid(60);
        let pending = self.pending(queue);
        if pending.batches.last().map(|b| b.minute) != Some(minute) {
            pending.batches.push(Batch {
                minute,
                jobs: HashMap::new(),
            });
        }
        let last = pending.batches.len() - 1;
        pending.batches[last].jobs.entry(job.to_owned()).or_insert([0; SLOTS])
    }

    /// Adds one ended job: its outcome, run time, and wait time when known.
    pub(crate) fn record(&mut self, queue: &str, job: &str, outcome: Outcome, run: Duration, wait: Option<Duration>, now: i64) {
        let c = self.counters(queue, job, now);
        c[outcome_slot(outcome)] += 1;
        c[RUN + bucket(run)] += 1;
        c[RUN_SUM] = c[RUN_SUM].saturating_add(micros(run));
        if let Some(w) = wait {
            c[WAIT + bucket(w)] += 1;
            c[WAIT_SUM] = c[WAIT_SUM].saturating_add(micros(w));
        }
    }

    /// Turns an outcome already recorded for a job into another (a deleted job that turns out
    /// to be failed: think-queue deletes it first, then calls its failed hook).
    pub(crate) fn recount(&mut self, queue: &str, job: &str, from: Outcome, to: Outcome, now: i64) {
        let c = self.counters(queue, job, now);
        c[outcome_slot(from)] -= 1;
        c[outcome_slot(to)] += 1;
    }

    /// The tally of `queue` if it is due to go (a second since the last, or a minute ended).
    pub(crate) fn take_due(&mut self, queue: &str) -> Option<Flush> {
        self.forked();
        let pending = self.queues.get_mut(queue)?;
        let due = pending.batches.len() > 1 || !pending.returned.is_empty() || pending.last_flush.elapsed() >= FLUSH_EVERY;
        if !due || (pending.batches.is_empty() && pending.returned.is_empty()) {
            return None;
        }
        pending.last_flush = Instant::now();
        let mut out = std::mem::take(&mut pending.returned);
        out.extend(into_flush(std::mem::take(&mut pending.batches)));
        (!out.is_empty()).then_some(out)
    }

    /// Every tally, due or not (when the queue object goes away).
    pub(crate) fn take_all(&mut self) -> Vec<(String, Flush)> {
        self.forked();
        self.queues
            .drain()
            .map(|(q, p)| {
                let mut out = p.returned;
                out.extend(into_flush(p.batches));
                (q, out)
            })
            .filter(|(_, f)| !f.is_empty())
            .collect()
    }

    /// Puts back a tally that could not be sent (it is sent with a later pop).
    pub(crate) fn put_back(&mut self, queue: &str, flush: Flush) {
        self.forked();
        self.pending(queue).returned.extend(flush);
    }

    /// Whether nothing is waiting to be sent.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.queues.values().all(|p| p.batches.is_empty() && p.returned.is_empty())
    }
}

fn into_flush(batches: Vec<Batch>) -> Flush {
    batches
        .into_iter()
        .map(|b| {
            let mut fields: Vec<(String, i64)> = b
                .jobs
                .iter()
                .flat_map(|(job, c)| {
                    c.iter()
                        .enumerate()
                        .filter(|(_, n)| **n != 0)
                        .map(move |(slot, n)| (field(slot, job), *n))
                })
                .collect();
            fields.sort();
            (b.minute, fields)
        })
        .filter(|(_, f)| !f.is_empty())
        .collect()
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// A run or wait time histogram read back: jobs per bucket (not cumulative) and the sum.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// jobs per bucket; the last is the bucket above [`BUCKETS`]' last bound
    pub counts: [u64; BUCKETS.len() + 1],
    /// the sum of the times, in seconds
    pub sum: f64,
}

impl Histogram {
    /// How many times were recorded.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Adds another histogram's counts (e.g. two minutes, two job names).
    pub fn merge(&mut self, o: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(o.counts.iter()) {
            *a += b;
        }
        self.sum += o.sum;
    }

    /// The `q` quantile (0..=1) in seconds, interpolated linearly inside its bucket as
    /// Prometheus's `histogram_quantile` does; `None` when empty. The bucket above the last bound
    /// answers the last bound (nothing better is known).
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * total as f64;
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            if c == 0 {
                continue;
            }
            if (seen + c) as f64 >= rank {
                let Some(&upper) = BUCKETS.get(i) else {
                    return BUCKETS.last().copied();
                };
                let lower = if i == 0 { 0.0 } else { BUCKETS[i - 1] };
                let into = ((rank - seen as f64) / c as f64).clamp(0.0, 1.0);
                return Some(lower + (upper - lower) * into);
            }
            seen += c;
        }
        BUCKETS.last().copied()
    }
}

/// One job name's metrics read back from a metrics hash.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobMetrics {
    /// deleted after running
    pub processed: u64,
    /// failed (out of tries)
    pub failed: u64,
    /// released to run again
    pub released: u64,
    /// moved to the dead-letter list
    pub buried: u64,
    /// run times
    pub run: Histogram,
    /// wait times (jobs whose availability time is known)
    pub wait: Histogram,
}

impl JobMetrics {
    /// Adds another's counts.
    pub fn merge(&mut self, o: &JobMetrics) {
        self.processed += o.processed;
        self.failed += o.failed;
        self.released += o.released;
        self.buried += o.buried;
        self.run.merge(&o.run);
        self.wait.merge(&o.wait);
    }

    /// Jobs that ended in any way.
    pub fn ended(&self) -> u64 {
        self.processed + self.failed + self.released + self.buried
    }
}

/// Reads a metrics hash (`HGETALL` of `<ready>:metrics` or `<ready>:metrics:<minute>`) into
/// metrics per job name. Fields it does not know are skipped; negative counts read as 0.
pub fn parse_hash(fields: &[(Vec<u8>, i64)]) -> BTreeMap<String, JobMetrics> {
    let mut out: BTreeMap<String, JobMetrics> = BTreeMap::new();
    for (field, n) in fields {
        let Ok(field) = std::str::from_utf8(field) else { continue };
        let Some((kind, rest)) = field.split_once(':') else { continue };
        let count = u64::try_from(*n).unwrap_or(0);
        let bucketed = |rest: &str| -> Option<(usize, String)> {
            let (i, job) = rest.split_once(':')?;
            let i: usize = i.parse().ok()?;
            (i <= BUCKETS.len()).then(|| (i, job.to_owned()))
        };
        match kind {
            "p" | "f" | "r" | "b" => {
                let m = out.entry(rest.to_owned()).or_default();
                match kind {
                    "p" => m.processed += count,
                    "f" => m.failed += count,
                    "r" => m.released += count,
                    _ => m.buried += count,
                }
            }
            "rt" | "wt" => {
                let Some((i, job)) = bucketed(rest) else { continue };
                let m = out.entry(job).or_default();
                let h = if kind == "rt" { &mut m.run } else { &mut m.wait };
                h.counts[i] += count;
            }
            "rs" | "ws" => {
                let m = out.entry(rest.to_owned()).or_default();
                let h = if kind == "rs" { &mut m.run } else { &mut m.wait };
                h.sum += count as f64 / 1e6;
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_upper_bounds() {
        assert_eq!(bucket(Duration::ZERO), 0);
        assert_eq!(bucket(Duration::from_millis(5)), 0);
        assert_eq!(bucket(Duration::from_micros(5001)), 1);
        assert_eq!(bucket(Duration::from_secs(900)), 14);
        assert_eq!(bucket(Duration::from_secs(901)), 15);
    }

    #[test]
    fn a_tally_reads_back_as_recorded() {
        let mut r = Recorder::default();
        let now = 1_800_000_000;
        r.record(
            "q",
            "app\\job\\A",
            Outcome::Processed,
            Duration::from_millis(30),
            Some(Duration::from_secs(2)),
            now,
        );
        r.record("q", "app\\job\\A", Outcome::Processed, Duration::from_millis(40), None, now);
        r.record("q", "app\\job\\A", Outcome::Processed, Duration::from_millis(7), None, now);
        r.recount("q", "app\\job\\A", Outcome::Processed, Outcome::Failed, now);
        r.record("q", "x:y", Outcome::Released, Duration::from_secs(2000), None, now);
        assert!(r.take_due("q").is_none(), "a fresh tally waits a second");
        let all = r.take_all();
        assert!(r.is_empty());
        assert_eq!(all.len(), 1);
        let (queue, flush) = &all[0];
        assert_eq!(queue, "q");
        assert_eq!(flush.len(), 1);
        assert_eq!(flush[0].0, now / 60);
        let fields: Vec<(Vec<u8>, i64)> = flush[0].1.iter().map(|(f, n)| (f.clone().into_bytes(), *n)).collect();
        let m = parse_hash(&fields);
        let a = &m["app\\job\\A"];
        assert_eq!((a.processed, a.failed, a.released, a.buried), (2, 1, 0, 0));
        assert_eq!(a.run.count(), 3);
        assert_eq!(a.run.counts[bucket(Duration::from_millis(30))], 2);
        assert_eq!(a.run.counts[1], 1);
        assert!((a.run.sum - 0.077).abs() < 1e-9);
        assert_eq!(a.wait.count(), 1);
        assert!((a.wait.sum - 2.0).abs() < 1e-9);
        let xy = &m["x:y"];
        assert_eq!((xy.released, xy.run.counts[15]), (1, 1));
    }

    #[test]
    fn minutes_are_kept_apart_and_a_new_minute_is_due_at_once() {
        let mut r = Recorder::default();
        r.record("q", "J", Outcome::Processed, Duration::ZERO, None, 600);
        r.record("q", "J", Outcome::Processed, Duration::ZERO, None, 660);
        let flush = r.take_due("q").unwrap_or_default();
        assert_eq!(flush.iter().map(|(m, _)| *m).collect::<Vec<_>>(), vec![10, 11]);
        r.put_back("q", flush);
        assert_eq!(r.take_all()[0].1.len(), 2);
    }

    #[test]
    fn quantiles_interpolate_inside_buckets() {
        let mut h = Histogram::default();
        assert_eq!(h.quantile(0.5), None);
        h.counts[0] = 50; // <= 5 ms
        h.counts[4] = 50; // 50..100 ms
        assert!((h.quantile(0.5).unwrap_or(0.0) - 0.005).abs() < 1e-12);
        assert!((h.quantile(0.75).unwrap_or(0.0) - 0.075).abs() < 1e-12);
        assert!((h.quantile(1.0).unwrap_or(0.0) - 0.1).abs() < 1e-12);
        h.counts[15] = 1000;
        assert_eq!(h.quantile(0.99), Some(900.0));
    }

    #[test]
    fn unknown_and_broken_fields_are_skipped() {
        let fields = vec![
            (b"zz:A".to_vec(), 3),
            (b"rt:99:A".to_vec(), 3),
            (b"rt:x:A".to_vec(), 3),
            (b"nocolon".to_vec(), 1),
            (b"p:A".to_vec(), -2),
            (vec![0xff, b':'], 1),
        ];
        let m = parse_hash(&fields);
        assert_eq!(m.len(), 1);
        assert_eq!(m["A"], JobMetrics::default());
    }
}

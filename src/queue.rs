//! Queue operations over one Redis connection, each atomic and (where possible) one round trip.
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::Value as RedisValue;

use crate::clock::{unix_now, unix_now_f64, unix_now_ms};
use crate::config::{ConnectionOptions, QueueOptions};
use crate::dialect::{resolve_queue_name, Dialect, QueueKeys};
use crate::error::{Error, Result};
use crate::id::new_job_id_at;
use crate::job::ReservedJob;
use crate::metrics::{Outcome, Recorder, MALFORMED_NAME};
use crate::payload::{self, NewJob};
use crate::registry::Beacon;
use crate::scripts;

/// When a delayed job becomes due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delay {
    /// This many seconds from now (`later(60, ...)`); zero or negative means due at once.
    Seconds(i64),
    /// At this unix time (v3's `DateTimeInterface` delay).
    At(i64),
}

impl Delay {
    fn score(self, now: i64) -> i64 {
        match self {
            Delay::Seconds(s) => now.saturating_add(s),
            Delay::At(t) => t,
        }
    }
}

/// Longest single wait of [`RedisQueue::pop_blocking`]: between slices the caller's code (PHP
/// signal handlers, `pcntl_alarm`) runs, so SIGTERM and think-queue 3's `--timeout` keep working.
pub const BLOCK_SLICE: Duration = Duration::from_secs(1);

/// Most acknowledgements [`RedisQueue::ack`] holds back; one more sends them all at once.
pub const MAX_PENDING_ACKS: usize = 256;

/// What one run of the pop script gave.
enum Popped {
    Job(ReservedJob),
    /// Nothing ready; `next_due` is the unix second the earliest delayed job or expired
    /// reservation becomes due, if any.
    Empty {
        next_due: Option<i64>,
    },
}

/// How many jobs a queue holds, by state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueSize {
    /// in the ready list
    pub ready: u64,
    /// waiting in the delayed set (due or not)
    pub delayed: u64,
    /// reserved by workers (expired or not)
    pub reserved: u64,
}

impl QueueSize {
    /// think-queue 3's `size()`: all three together.
    pub fn total(&self) -> u64 {
        self.ready + self.delayed + self.reserved
    }
}

/// A think-queue Redis queue of one dialect over one connection.
///
/// Not `Sync`: give each thread its own `RedisQueue` (they may share queues in Redis freely).
pub struct RedisQueue {
    conn: crate::connection::Conn,
    opts: QueueOptions,
    clock: fn() -> i64,
    /// BLMOVE (Redis >= 6.2) answered; false after an "unknown command" reply
    blmove_supported: bool,
    /// reservation leases (`QueueOptions::lease` with an expiry)
    leases: Option<crate::lease::Leases>,
    /// acknowledgements written behind ([`RedisQueue::ack`]), oldest first
    acks: PendingAcks,
    /// the keys of the queue named last (a worker uses one or a few queues; spelling them
    /// costs four allocations per call otherwise)
    key_cache: Option<(String, Arc<QueueKeys>)>,
    /// metrics tallies not yet sent (`QueueOptions::metrics`)
    metrics: Option<Recorder>,
    /// the workers-registry heartbeat (`QueueOptions::metrics`), started by the first pop
    beacon: Option<Beacon>,
}

/// Reservations to remove (`ZREM reserved member`) with this queue's next command.
#[derive(Default)]
struct PendingAcks {
    /// (reserved-set key, member)
    items: Vec<(String, Vec<u8>)>,
    /// the process that acknowledged them: a forked child does not send its parent's when it
    /// drops the queue (if it runs a command first, they go out with it: removing a member twice
    /// is harmless)
    pid: u32,
}

impl Drop for RedisQueue {
    /// Sends acknowledgements still held back (best effort: when Redis cannot be reached, those
    /// jobs come back after `retry_after`, as after a crash). A forked child that inherited its
    /// parent's list leaves it to the parent.
    fn drop(&mut self) {
        if !self.acks.items.is_empty() && self.acks.pid == std::process::id() {
            let _ = self.flush_acks();
        }
        // a forked child's recorder is empty: its parent sends what was counted before the fork
        let _ = self.flush_metrics();
    }
}

impl RedisQueue {
    /// Connects now (connect, AUTH, SELECT), as think-queue's connector does in its constructor.
    pub fn connect(conn: ConnectionOptions, opts: QueueOptions) -> Result<RedisQueue> {
        let mut q = RedisQueue::lazy(conn, opts)?;
        q.conn.connect()?;
        Ok(q)
    }

    /// Validates the options and connects on first use.
    pub fn lazy(conn: ConnectionOptions, opts: QueueOptions) -> Result<RedisQueue> {
        opts.validate()?;
        let leases = match (opts.lease, opts.retry_after) {
            (true, Some(s)) => Some(crate::lease::Leases::new(s)),
            _ => None,
        };
        let (opts_metrics, dialect, retry_after) = (opts.metrics, opts.dialect, opts.retry_after);
        let conn = crate::connection::Conn::new(conn)?;
        // on a cluster, a 1.x default queue without a hash tag is refused now (see Conn::check_key)
        conn.check_key(&opts.dialect.keys(&opts.default_queue).ready)?;
        Ok(RedisQueue {
            conn,
            opts,
            clock: unix_now,
            blmove_supported: true,
            leases,
            acks: PendingAcks::default(),
            key_cache: None,
            metrics: opts_metrics.then(Recorder::default),
            beacon: opts_metrics.then(|| Beacon::new(dialect, retry_after)),
        })
    }

    /// Replaces the clock (unix seconds) used for scores; for tests that need a fixed `now`.
    pub fn set_clock(&mut self, clock: fn() -> i64) {
        self.clock = clock;
    }

    /// The queue options.
    pub fn options(&self) -> &QueueOptions {
        &self.opts
    }

    /// The connection options.
    pub fn connection_options(&self) -> &ConnectionOptions {
        self.conn.options()
    }

    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        self.opts.dialect
    }

    /// Closes the connection; the next operation reconnects.
    pub fn disconnect(&mut self) {
        self.conn.disconnect();
    }

    /// Whether an open connection (opened by this process) is held. Sends nothing: a connection
    /// the server has closed still counts until the next operation notices (and reconnects).
    pub fn is_connected(&self) -> bool {
        self.conn.is_connected()
    }

    /// Takes the open connection out of this queue (which is left disconnected; its next
    /// operation would open a new one), for a connection pool. `None` when not connected or
    /// when the connection belongs to the parent of this forked process.
    pub fn detach_connection(&mut self) -> Option<crate::connection::DetachedConnection> {
        self.conn.detach()
    }

    /// Uses `conn` from now on, if it was opened with options equal to this queue's
    /// [`connection_options`](Self::connection_options), by this process, and this queue holds no
    /// connection. Otherwise returns it unchanged (the caller keeps or drops it).
    pub fn attach_connection(&mut self, conn: crate::connection::DetachedConnection) -> Option<crate::connection::DetachedConnection> {
        self.conn.attach(conn)
    }

    /// The logical queue name a call with `queue` uses (falsy names mean the default queue).
    pub fn queue_name<'a>(&'a self, queue: Option<&'a str>) -> &'a str {
        resolve_queue_name(queue, &self.opts.default_queue)
    }

    /// The Redis keys for `queue`: ready, delayed, reserved, and our dead-letter list.
    pub fn keys(&self, queue: Option<&str>) -> QueueKeys {
        self.opts.dialect.keys(self.queue_name(queue))
    }

    /// [`keys`](Self::keys), remembered for the queue used last.
    fn keys_for(&mut self, queue: Option<&str>) -> Arc<QueueKeys> {
        let name = resolve_queue_name(queue, &self.opts.default_queue);
        match &self.key_cache {
            Some((cached, keys)) if cached == name => keys.clone(),
            _ => {
                let keys = Arc::new(self.opts.dialect.keys(name));
                self.key_cache = Some((name.to_owned(), keys.clone()));
                keys
            }
        }
    }

    /// The keys of the queue a popped job came from (its name is already resolved).
    fn job_keys(&mut self, job: &ReservedJob) -> Arc<QueueKeys> {
        match &self.key_cache {
            Some((cached, keys)) if cached == job.queue() => keys.clone(),
            _ => {
                let keys = Arc::new(self.opts.dialect.keys(job.queue()));
                self.key_cache = Some((job.queue().to_owned(), keys.clone()));
                keys
            }
        }
    }

    /// Builds the payload for `job` with a fresh id: `(id, bytes)`. Nothing is sent. The id
    /// carries the current time as the job's availability stamp (see [`crate::metrics`]).
    pub fn build_payload(&self, job: &NewJob) -> Result<(String, Vec<u8>)> {
        self.build_payload_at(job, unix_now_ms())
    }

    fn build_payload_at(&self, job: &NewJob, available_ms: i64) -> Result<(String, Vec<u8>)> {
        let id = new_job_id_at(available_ms);
        let bytes = payload::build(self.opts.dialect, job, &id)?;
        Ok((id, bytes))
    }

    /// `push($job, $data, $queue)`: RPUSH of a new payload. Returns the job id.
    pub fn push(&mut self, job: &NewJob, queue: Option<&str>) -> Result<String> {
        self.flush_acks()?;
        let (id, bytes) = self.build_payload(job)?;
        let keys = self.keys_for(queue);
        let key = &keys.ready;
        self.conn
            .run_write(key, |c| redis::cmd("RPUSH").arg(key).arg(&bytes).query::<i64>(c))?;
        Ok(id)
    }

    /// `pushRaw($payload, $queue)`: RPUSH of the bytes as given. Returns the payload's `id` when
    /// it has a string one (think-queue 3's `id ?? null`).
    pub fn push_raw(&mut self, payload: &[u8], queue: Option<&str>) -> Result<Option<String>> {
        self.flush_acks()?;
        let keys = self.keys_for(queue);
        let key = &keys.ready;
        self.conn
            .run_write(key, |c| redis::cmd("RPUSH").arg(key).arg(payload).query::<i64>(c))?;
        Ok(payload::payload_id(payload))
    }

    /// `later($delay, $job, $data, $queue)`: ZADD into the delayed set. Returns the job id
    /// (stock 1.x returns null; the id is more useful and harmless).
    pub fn later(&mut self, delay: Delay, job: &NewJob, queue: Option<&str>) -> Result<String> {
        self.flush_acks()?;
        let score = delay.score((self.clock)());
        let (id, bytes) = self.build_payload_at(job, score.saturating_mul(1000))?;
        let keys = self.keys_for(queue);
        let key = &keys.delayed;
        self.conn
            .run_write(key, |c| redis::cmd("ZADD").arg(key).arg(score).arg(&bytes).query::<i64>(c))?;
        Ok(id)
    }

    /// Delays raw bytes (`later` for a payload built elsewhere).
    pub fn later_raw(&mut self, delay: Delay, payload: &[u8], queue: Option<&str>) -> Result<()> {
        self.flush_acks()?;
        let keys = self.keys_for(queue);
        let key = &keys.delayed;
        let score = delay.score((self.clock)());
        self.conn
            .run_write(key, |c| redis::cmd("ZADD").arg(key).arg(score).arg(payload).query::<i64>(c))?;
        Ok(())
    }

    /// `bulk($jobs, $data, $queue)`: every payload is built first (one bad job fails the whole
    /// call and nothing is written), then they are appended in order with RPUSH commands of up
    /// to 1,000 payloads, pipelined in one round trip. Returns the ids in order.
    pub fn bulk(&mut self, jobs: &[NewJob], queue: Option<&str>) -> Result<Vec<String>> {
        let mut ids = Vec::with_capacity(jobs.len());
        let mut payloads = Vec::with_capacity(jobs.len());
        for job in jobs {
            let (id, bytes) = self.build_payload(job)?;
            ids.push(id);
            payloads.push(bytes);
        }
        self.push_raw_many(&payloads, queue)?;
        Ok(ids)
    }

    /// Appends raw payloads in order, pipelined (RPUSH of up to 1,000 each).
    pub fn push_raw_many(&mut self, payloads: &[Vec<u8>], queue: Option<&str>) -> Result<()> {
        self.flush_acks()?;
        if payloads.is_empty() {
            return Ok(());
        }
        let keys = self.keys_for(queue);
        let key = &keys.ready;
        let mut pipe = redis::pipe();
        for chunk in payloads.chunks(1000) {
            pipe.cmd("RPUSH").arg(key).arg(chunk).ignore();
        }
        self.conn.run_write(key, |c| pipe.query::<()>(c))
    }

    /// `pop($queue)`: in one Lua script, moves due delayed jobs and expired reservations to the
    /// ready list (at most `migrate_batch` of each), takes the head and records its reservation.
    /// Returns `None` when the queue has nothing ready.
    pub fn pop(&mut self, queue: Option<&str>) -> Result<Option<ReservedJob>> {
        match self.pop_or_next_due(queue)? {
            Popped::Job(job) => Ok(Some(job)),
            Popped::Empty { .. } => Ok(None),
        }
    }

    /// How many reservations this queue object's lease thread is keeping alive (0 without
    /// [`QueueOptions::lease`]).
    pub fn leased(&self) -> usize {
        self.leases.as_ref().map_or(0, |l| l.held())
    }

    fn end_lease(&mut self, job: &ReservedJob) {
        if self.leases.is_some() {
            let keys = self.job_keys(job);
            if let Some(l) = self.leases.as_mut() {
                l.release(&keys.reserved, job.reserved_body());
            }
        }
    }

    /// `pop` that waits up to `block` for a job, like think-queue 3's `block_for`, without its
    /// BLPOP-then-ZADD window: the wait is a non-destructive `BLMOVE ready ready LEFT LEFT` (it
    /// wakes as soon as anything, from any producer, lands in the ready list and moves nothing
    /// for good), and the job is then taken by the atomic pop script. It also wakes when the
    /// earliest delayed job or expired reservation becomes due (the pop script reports when that
    /// is), and waits in slices of at most [`BLOCK_SLICE`] so a caller's signal handlers and
    /// alarms get a chance to run between them. The socket's read timeout is widened for the wait,
    /// so a `block` longer than the configured `read_timeout` (or PHP's `default_socket_timeout`)
    /// raises no read error. `block` of zero is a plain [`pop`](Self::pop).
    pub fn pop_blocking(&mut self, queue: Option<&str>, block: Duration) -> Result<Option<ReservedJob>> {
        let deadline = Instant::now() + block;
        loop {
            let next_due = match self.pop_or_next_due(queue)? {
                Popped::Job(job) => return Ok(Some(job)),
                Popped::Empty { next_due } => next_due,
            };
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            let mut wait = (deadline - now).min(BLOCK_SLICE);
            if let Some(due) = next_due {
                // scores are whole unix seconds: a job scored `due` is taken once time() >= due
                let until_due = due as f64 - unix_now_f64();
                wait = wait.min(Duration::from_secs_f64(until_due.max(0.0)));
            }
            if wait >= Duration::from_millis(1) {
                self.wait_for_ready(queue, wait)?;
            }
        }
    }

    /// Blocks until the ready list of `queue` is non-empty or `wait` passed, without taking
    /// anything out of it.
    fn wait_for_ready(&mut self, queue: Option<&str>, wait: Duration) -> Result<()> {
        self.flush_acks()?;
        let keys = self.keys_for(queue);
        let key = &keys.ready;
        let seconds = format!("{:.3}", wait.as_secs_f64());
        let read_timeout = wait + Duration::from_secs(2);
        let blmove = self.blmove_supported;
        let result = self.conn.run_read_with_timeout(key, read_timeout, |c| {
            if blmove {
                redis::cmd("BLMOVE")
                    .arg(key)
                    .arg(key)
                    .arg("LEFT")
                    .arg("LEFT")
                    .arg(&seconds)
                    .query::<Option<Vec<u8>>>(c)
            } else {
                // Redis < 6.2: rotating the list onto itself is as non-destructive (the order of
                // a list with several jobs changes, but then there was no reason to wait)
                redis::cmd("BRPOPLPUSH").arg(key).arg(key).arg(&seconds).query::<Option<Vec<u8>>>(c)
            }
        });
        match result {
            Ok(_) => Ok(()),
            Err(Error::Redis { detail, .. }) if blmove && detail.to_ascii_lowercase().contains("unknown command") => {
                self.blmove_supported = false;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn pop_or_next_due(&mut self, queue: Option<&str>) -> Result<Popped> {
        let name = self.queue_name(queue).to_owned();
        let keys = self.keys_for(queue);
        let now = (self.clock)();
        let dialect = self.opts.dialect;
        let until = match self.opts.retry_after {
            Some(s) => now.saturating_add(s),
            None => now,
        };
        let flag = |b: bool| if b { "1" } else { "0" };
        if let Some(b) = self.beacon.as_mut() {
            b.popping(self.conn.options(), &name);
        }
        let tally = self.metrics.as_mut().and_then(|m| m.take_due(&name));
        let mut inv = scripts::POP.prepare_invoke();
        inv.key(&keys.ready).key(&keys.delayed).key(&keys.reserved);
        if let Some(t) = &tally {
            inv.key(&keys.metrics);
            for (minute, _) in t {
                inv.key(keys.metrics_minute(*minute));
            }
        }
        inv.arg(now)
            .arg(until)
            .arg(self.opts.migrate_batch)
            .arg(flag(self.opts.retry_after.is_some()))
            .arg(flag(dialect.bumps_on_expiry()))
            .arg(flag(dialect.bumps_on_pop()));
        // acknowledgements of this queue ride with the script (ARGV[7..]); others go first
        let riding = self.acks.take_for(&keys.reserved);
        if let Err(e) = self.flush_acks() {
            self.acks.put_back(&keys.reserved, riding);
            self.put_back_tally(&name, tally);
            return Err(e);
        }
        inv.arg(riding.len());
        for member in &riding {
            inv.arg(member.as_slice());
        }
        if let Some(t) = &tally {
            inv.arg(crate::metrics::RETENTION_SECS);
            for (_, fields) in t {
                inv.arg(fields.len());
                for (field, by) in fields {
                    inv.arg(field).arg(*by);
                }
            }
        }
        let reply: RedisValue = match self.conn.run_write(&keys.ready, |c| inv.invoke(c)) {
            Ok(reply) => reply,
            Err(e) => {
                // ZREM is idempotent: held back again whether or not the script ran (the tally
                // too: a script that ran before the connection dropped may count it twice, the
                // price of never losing it)
                self.acks.put_back(&keys.reserved, riding);
                self.put_back_tally(&name, tally);
                return Err(e);
            }
        };
        let (raw, reserved, spliced) = match reply {
            RedisValue::Nil => return Ok(Popped::Empty { next_due: None }),
            RedisValue::Int(due) => {
                return Ok(Popped::Empty {
                    next_due: (due >= 0).then_some(due),
                })
            }
            RedisValue::Array(mut items) if items.len() == 3 => {
                let spliced = matches!(items[2], RedisValue::Int(1));
                let reserved = bulk_bytes(items.swap_remove(1));
                let raw = bulk_bytes(items.swap_remove(0));
                match (raw, reserved) {
                    (Some(r), Some(s)) => (r, s, spliced),
                    _ => return Err(unexpected(&keys.ready, "pop")),
                }
            }
            _ => return Err(unexpected(&keys.ready, "pop")),
        };
        if dialect.bumps_on_pop() && !spliced {
            // The payload does not end in "attempts":N}: Lua reserved the raw bytes. Compute the
            // stock copy (decode, attempts+1, re-encode) and swap it in. A malformed payload stays
            // reserved as it is; the caller sees the error when it reads the job's fields.
            let job = ReservedJob::new(name.clone(), dialect, raw.clone(), reserved.clone());
            if let Ok(next) = job
                .attempts()
                .and_then(|a| payload::set_attempts(&raw, a).map_err(|r| Error::malformed(&name, r)))
            {
                let mut swap = scripts::SWAP_RESERVED.prepare_invoke();
                swap.key(&keys.reserved).arg(&reserved).arg(&next);
                let swapped: i64 = self.conn.run_write(&keys.reserved, |c| swap.invoke(c))?;
                if swapped == 1 {
                    return Ok(self.leased_job(ReservedJob::new(name, dialect, raw, next)));
                }
            }
        }
        Ok(self.leased_job(ReservedJob::new(name, dialect, raw, reserved)))
    }

    fn put_back_tally(&mut self, queue: &str, tally: Option<crate::metrics::Flush>) {
        if let (Some(m), Some(t)) = (self.metrics.as_mut(), tally) {
            m.put_back(queue, t);
        }
    }

    /// Sends the metrics tallies held back now (they normally ride with the next pop of their
    /// queue, at most once a second; see [`crate::metrics`]). Dropping the queue does this too.
    pub fn flush_metrics(&mut self) -> Result<()> {
        let Some(m) = self.metrics.as_mut() else {
            return Ok(());
        };
        for (queue, tally) in m.take_all() {
            let keys = self.opts.dialect.keys(&queue);
            let mut pipe = redis::pipe();
            for (minute, fields) in &tally {
                let minute_key = keys.metrics_minute(*minute);
                for (field, by) in fields {
                    pipe.cmd("HINCRBY").arg(&minute_key).arg(field).arg(*by).ignore();
                    pipe.cmd("HINCRBY").arg(&keys.metrics).arg(field).arg(*by).ignore();
                }
                pipe.cmd("EXPIRE").arg(&minute_key).arg(crate::metrics::RETENTION_SECS).ignore();
            }
            if let Err(e) = self.conn.run_write(&keys.metrics, |c| pipe.query::<()>(c)) {
                self.put_back_tally(&queue, Some(tally));
                return Err(e);
            }
        }
        Ok(())
    }

    /// Adds the end of `job` to the metrics (once per job) and tells the registry it ended.
    fn record(&mut self, job: &ReservedJob, outcome: Outcome) {
        if let Some(b) = self.beacon.as_mut() {
            b.ended();
        }
        let Some(m) = self.metrics.as_mut() else { return };
        if job.recorded_outcome().is_some() {
            return;
        }
        job.set_recorded_outcome(outcome);
        let name = job.name().unwrap_or_else(|_| MALFORMED_NAME.to_owned());
        m.record(job.queue(), &name, outcome, job.running_for(), job.waited(), unix_now());
    }

    /// Counts `job` as failed (think-queue's failed path: out of tries, or past `timeoutAt`) in
    /// the metrics instead of processed (or buried): think-queue deletes a failed job first and
    /// calls its failed hook after, so the shim and the [`Worker`](crate::Worker) say it here.
    /// Does nothing without metrics.
    pub fn mark_failed(&mut self, job: &ReservedJob) {
        let Some(m) = self.metrics.as_mut() else { return };
        match job.recorded_outcome() {
            Some(Outcome::Failed) => {}
            Some(previous) => {
                let name = job.name().unwrap_or_else(|_| MALFORMED_NAME.to_owned());
                m.recount(job.queue(), &name, previous, Outcome::Failed, unix_now());
                job.set_recorded_outcome(Outcome::Failed);
            }
            None => self.record(job, Outcome::Failed),
        }
    }

    fn leased_job(&mut self, job: ReservedJob) -> Popped {
        if let Some(b) = self.beacon.as_mut() {
            b.started(job.raw_body(), unix_now());
        }
        if self.leases.is_some() {
            let keys = self.job_keys(&job);
            if let Some(l) = self.leases.as_mut() {
                l.hold(self.conn.options(), &keys.reserved, job.reserved_body());
            }
        }
        Popped::Job(job)
    }

    /// `$job->delete()` written behind: the job is done and its reservation is removed with this
    /// queue's next command, in the same round trip (a worker's next [`pop`](Self::pop) carries it
    /// into the pop script, so a job costs one round trip), or when this queue is dropped. Any
    /// other operation sends held-back acknowledgements first, so this connection always reads
    /// its own writes; other clients see the reservation until then. If the process dies before
    /// they are sent, those jobs come back after `retry_after`, as after a crash between a job's
    /// end and its delete: at-least-once, nothing lost. More than [`MAX_PENDING_ACKS`] held back
    /// are sent at once. Use [`delete_reserved`](Self::delete_reserved) to remove it now and
    /// learn whether it was still reserved.
    pub fn ack(&mut self, job: &ReservedJob) -> Result<()> {
        self.end_lease(job);
        self.record(job, Outcome::Processed);
        let keys = self.job_keys(job);
        self.acks.push(&keys.reserved, job.reserved_body().to_vec());
        if self.acks.items.len() > MAX_PENDING_ACKS {
            self.flush_acks()?;
        }
        Ok(())
    }

    /// How many acknowledgements [`ack`](Self::ack) holds back.
    pub fn pending_acks(&self) -> usize {
        self.acks.items.len()
    }

    /// Sends the acknowledgements [`ack`](Self::ack) holds back now (ZREMs, pipelined, one round
    /// trip). On error they stay held back (removing a member twice is harmless).
    pub fn flush_acks(&mut self) -> Result<()> {
        if self.acks.items.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for (key, member) in &self.acks.items {
            pipe.cmd("ZREM").arg(key).arg(member).ignore();
        }
        let key = self.acks.items[0].0.clone();
        self.conn.run_write(&key, |c| pipe.query::<()>(c))?;
        self.acks.items.clear();
        Ok(())
    }

    /// `$job->delete()`: removes the reservation. Returns false when it was no longer there
    /// (it expired and the job was handed out again, or was already deleted).
    pub fn delete_reserved(&mut self, job: &ReservedJob) -> Result<bool> {
        self.flush_acks()?;
        self.end_lease(job);
        self.record(job, Outcome::Processed);
        let keys = self.job_keys(job);
        let key = &keys.reserved;
        let n: i64 = self
            .conn
            .run_write(key, |c| redis::cmd("ZREM").arg(key).arg(job.reserved_body()).query(c))?;
        Ok(n > 0)
    }

    /// `$job->release($delay)`: atomically removes the reservation and adds the job to the
    /// delayed set, due `delay` seconds from now, with the dialect's attempts rule. Returns false,
    /// adding nothing, when the reservation was gone (so a late release never duplicates a job).
    pub fn release(&mut self, job: &ReservedJob, delay: i64) -> Result<bool> {
        self.flush_acks()?;
        let body = job.released_body()?;
        self.end_lease(job);
        self.record(job, Outcome::Released);
        let keys = self.job_keys(job);
        let due = (self.clock)().saturating_add(delay);
        let mut inv = scripts::RELEASE.prepare_invoke();
        inv.key(&keys.reserved)
            .key(&keys.delayed)
            .arg(job.reserved_body())
            .arg(due)
            .arg(&body);
        let n: i64 = self.conn.run_write(&keys.reserved, |c| inv.invoke(c))?;
        Ok(n == 1)
    }

    /// Moves a reserved job whose payload cannot be processed (not JSON, no `attempts`, no string
    /// `job`: see [`Error::is_malformed`]) from the reserved set to the queue's dead-letter list
    /// ([`QueueKeys::dead`]) atomically, so it is neither lost nor handed out again after its
    /// reservation expires. Returns false, writing nothing, when the reservation was gone.
    pub fn bury(&mut self, job: &ReservedJob) -> Result<bool> {
        self.flush_acks()?;
        self.end_lease(job);
        self.record(job, Outcome::Buried);
        let keys = self.job_keys(job);
        let mut inv = scripts::BURY.prepare_invoke();
        inv.key(&keys.reserved).key(&keys.dead).arg(job.reserved_body()).arg(job.raw_body());
        let n: i64 = self.conn.run_write(&keys.reserved, |c| inv.invoke(c))?;
        Ok(n == 1)
    }

    /// Moves due delayed jobs and expired reservations of `queue` to its ready list now (one
    /// batch of each). Returns how many were moved from (delayed, reserved).
    pub fn migrate(&mut self, queue: Option<&str>) -> Result<(u64, u64)> {
        self.flush_acks()?;
        let keys = self.keys_for(queue);
        let now = (self.clock)();
        let mut inv = scripts::MIGRATE.prepare_invoke();
        inv.key(&keys.ready)
            .key(&keys.delayed)
            .key(&keys.reserved)
            .arg(now)
            .arg(self.opts.migrate_batch)
            .arg(if self.opts.retry_after.is_some() { "1" } else { "0" })
            .arg(if self.opts.dialect.bumps_on_expiry() { "1" } else { "0" });
        let (d, r): (u64, u64) = self.conn.run_write(&keys.ready, |c| inv.invoke(c))?;
        Ok((d, r))
    }

    /// Moves up to `max` jobs (at least 1) from the head of `queue`'s dead-letter list to the tail
    /// of its ready list, atomically (one script), with `attempts` reset to the dialect's initial
    /// value as think-queue's `queue:retry` does (payloads that do not end in `"attempts":N}` move
    /// unchanged). Returns how many were moved; 0 when the list is empty.
    pub fn retry_dead(&mut self, queue: Option<&str>, max: usize) -> Result<u64> {
        self.flush_acks()?;
        let keys = self.keys_for(queue);
        let mut inv = scripts::RETRY_DEAD.prepare_invoke();
        inv.key(&keys.dead)
            .key(&keys.ready)
            .arg(max.max(1))
            .arg(self.opts.dialect.initial_attempts());
        let n: u64 = self.conn.run_write(&keys.dead, |c| inv.invoke(c))?;
        Ok(n)
    }

    /// Moves one job of `queue`'s dead-letter list (its first occurrence of exactly these bytes)
    /// back to the tail of the ready list, attempts reset as [`retry_dead`](Self::retry_dead)
    /// does, atomically. Returns false when it is not in the list (any more).
    pub fn retry_dead_job(&mut self, queue: Option<&str>, member: &[u8]) -> Result<bool> {
        self.flush_acks()?;
        let keys = self.keys_for(queue);
        let mut inv = scripts::RETRY_DEAD.prepare_invoke();
        inv.key(&keys.dead)
            .key(&keys.ready)
            .arg(1)
            .arg(self.opts.dialect.initial_attempts())
            .arg(member);
        let n: u64 = self.conn.run_write(&keys.dead, |c| inv.invoke(c))?;
        Ok(n == 1)
    }

    /// Deletes one job of `queue`'s dead-letter list (its first occurrence of exactly these
    /// bytes). Returns false when it is not in the list (any more).
    pub fn delete_dead_job(&mut self, queue: Option<&str>, member: &[u8]) -> Result<bool> {
        self.flush_acks()?;
        let keys = self.keys_for(queue);
        let key = &keys.dead;
        let n: i64 = self
            .conn
            .run_write(key, |c| redis::cmd("LREM").arg(key).arg(1).arg(member).query(c))?;
        Ok(n == 1)
    }

    /// Counts of ready, delayed and reserved jobs (LLEN, ZCARD, ZCARD in one round trip).
    pub fn sizes(&mut self, queue: Option<&str>) -> Result<QueueSize> {
        self.flush_acks()?;
        let keys = self.keys_for(queue);
        let mut pipe = redis::pipe();
        pipe.cmd("LLEN")
            .arg(&keys.ready)
            .cmd("ZCARD")
            .arg(&keys.delayed)
            .cmd("ZCARD")
            .arg(&keys.reserved);
        let (ready, delayed, reserved): (u64, u64, u64) = self.conn.run_read(&keys.ready, |c| pipe.query(c))?;
        Ok(QueueSize { ready, delayed, reserved })
    }

    /// think-queue 3's `size($queue)`: ready + delayed + reserved.
    pub fn size(&mut self, queue: Option<&str>) -> Result<u64> {
        Ok(self.sizes(queue)?.total())
    }

    /// Sends PING; for health checks.
    pub fn ping(&mut self) -> Result<()> {
        self.flush_acks()?;
        self.conn.run_read("PING", |c| redis::cmd("PING").query::<String>(c)).map(|_| ())
    }
}

impl PendingAcks {
    fn push(&mut self, key: &str, member: Vec<u8>) {
        if self.items.is_empty() {
            // one getpid per batch, not per job (the list is sent with the next command)
            self.pid = std::process::id();
        }
        self.items.push((key.to_owned(), member));
    }

    /// Takes out the members held back for reserved-set `key` (this process's only).
    fn take_for(&mut self, key: &str) -> Vec<Vec<u8>> {
        if self.items.is_empty() {
            return Vec::new();
        }
        let mut taken = Vec::new();
        self.items.retain_mut(|(k, m)| {
            if k == key {
                taken.push(std::mem::take(m));
                false
            } else {
                true
            }
        });
        taken
    }

    fn put_back(&mut self, key: &str, members: Vec<Vec<u8>>) {
        self.items.extend(members.into_iter().map(|m| (key.to_owned(), m)));
    }
}

fn bulk_bytes(v: RedisValue) -> Option<Vec<u8>> {
    match v {
        RedisValue::BulkString(b) => Some(b),
        RedisValue::SimpleString(s) => Some(s.into_bytes()),
        _ => None,
    }
}

fn unexpected(key: &str, what: &str) -> Error {
    Error::Redis {
        key: key.to_owned(),
        detail: format!("unexpected reply to {what}"),
    }
}

//! A think-queue worker for Rust services: handlers registered per job name consume the same
//! queues as PHP's `queue:work`, with the attempts, tries, release and failed rules of the
//! queue's think-queue generation.
//!
//! ```no_run
//! use think_queue_native::{ConnectionOptions, Dialect, JobContext, QueueOptions, Worker};
//!
//! # fn main() -> think_queue_native::Result<()> {
//! let conn = ConnectionOptions::from_url("redis://127.0.0.1:6379/0")?;
//! let stats = Worker::new(conn, QueueOptions::new(Dialect::V3))
//!     .queues(["sms", "default"]) // priority order, like --queue=sms,default
//!     .tries(3) // --tries=3
//!     .delay(10) // --delay=10: a failing try is retried 10 s later
//!     .concurrency(4) // four handler threads, each with its own connection
//!     .handle("app\\job\\SendSms", |job: &mut JobContext<'_>| {
//!         let mobile = job.data().get("mobile").and_then(|v| v.as_str()).unwrap_or_default().to_vec();
//!         println!("sms to {} (attempt {})", String::from_utf8_lossy(&mobile), job.attempts());
//!         Ok(()) // done: the job is deleted; an Err releases it (or fails it when tries are used up)
//!     })
//!     .run()?; // until SIGTERM / SIGINT: the running jobs finish, nothing new is popped
//! println!("{} jobs processed", stats.processed);
//! # Ok(())
//! # }
//! ```
//!
//! ## Rules, per generation (the wire spec's §6-§7)
//! - **v1** (think-queue 1.x/2.x): with `tries(N)`, a job whose `attempts()` exceeds N when popped
//!   is failed without running, so it runs N times and fails on pop N+1. A handler error releases
//!   the job with the worker's delay (attempts + 1).
//! - **v3** (think-queue 3.x): the limit is the payload's `maxTries`, else the worker's tries.
//!   Before running: a job with a `timeoutAt` runs while `now <= timeoutAt`; without one while the
//!   limit is 0 or `attempts() <= limit`; otherwise it is failed. After a handler error it is
//!   failed when `timeoutAt` has passed or `attempts() >= limit > 0` (so `tries(N)` fails at the
//!   end of run N), else released with the worker's delay.
//! - A handler that returns `Ok` without deleting or releasing has its job deleted (like
//!   think-queue's object jobs; plain PHP handlers must call `$job->delete()` themselves). A
//!   panicking handler counts as an error.
//! - Failing deletes the job (or, with [`Worker::keep_failed`], moves it to the queue's
//!   dead-letter list) and then calls the handler's [`Handler::failed`] once, only when this worker
//!   still held the reservation (so a job whose reservation expired and was taken by another
//!   worker is not failed twice).
//! - A payload that cannot be read (not JSON, no `attempts`, no string `job`...) or names a job
//!   with no handler is moved to the queue's dead-letter list ([`QueueKeys::dead`](crate::QueueKeys))
//!   atomically: neither lost nor handed out again. `tqn retry --dead` puts such jobs back.
//! - Queues are polled in the given order; the first with a ready job wins (think-queue's
//!   `--queue=a,b`). Each pop also moves due delayed jobs and expired reservations of that queue.
//! - On SIGTERM or SIGINT (and [`Shutdown::request`]) every thread finishes its current job and
//!   pops nothing new; a second signal ends the process at once.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use crate::clock::unix_now;
use crate::config::{ConnectionOptions, QueueOptions};
use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::job::ReservedJob;
use crate::json::{encode, Value};
use crate::queue::RedisQueue;

/// What a handler returns: any error releases (or fails) the job.
pub type HandlerResult = std::result::Result<(), HandlerError>;

/// A handler's error: anything that converts with `?` (`std::io::Error`, [`Error`], `String`...).
pub type HandlerError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// How long one blocking wait of a single-queue worker lasts (it wakes at once on a push).
const BLOCK_WAIT: Duration = Duration::from_millis(500);

/// Default pause after a poll of every queue found nothing.
pub const DEFAULT_IDLE_SLEEP: Duration = Duration::from_millis(50);

/// Pause after a Redis error before the next pop (think-queue 3 sleeps 1 s too).
const ERROR_SLEEP: Duration = Duration::from_secs(1);

/// Longest single sleep while waiting, so a shutdown request is seen within this time.
const SLEEP_SLICE: Duration = Duration::from_millis(10);

/// The code behind a job name, like a think-queue job class.
///
/// Closures `Fn(&mut JobContext<'_>) -> HandlerResult` are handlers; [`FnHandler`] adds a
/// failed callback to one.
pub trait Handler: Send + Sync + 'static {
    /// Runs the job (think-queue's `fire`). `Ok` deletes it unless the handler released or
    /// deleted it; `Err` releases it with the worker's delay, or fails it when its tries are used up.
    fn fire(&self, job: &mut JobContext<'_>) -> HandlerResult;

    /// Called once when the job is failed (think-queue's `failed($data)`), after it was deleted.
    fn failed(&self, job: &FailedJob<'_>) {
        let _ = job;
    }
}

impl<F> Handler for F
where
    F: Fn(&mut JobContext<'_>) -> HandlerResult + Send + Sync + 'static,
{
    fn fire(&self, job: &mut JobContext<'_>) -> HandlerResult {
        self(job)
    }
}

type FireFn = dyn Fn(&mut JobContext<'_>) -> HandlerResult + Send + Sync;
type FailedFn = dyn Fn(&FailedJob<'_>) + Send + Sync;

/// A handler made of closures: `FnHandler::new(fire).on_failed(failed)`.
pub struct FnHandler {
    fire: Box<FireFn>,
    failed: Option<Box<FailedFn>>,
}

impl FnHandler {
    /// A handler that runs `fire`.
    pub fn new(fire: impl Fn(&mut JobContext<'_>) -> HandlerResult + Send + Sync + 'static) -> FnHandler {
        FnHandler {
            fire: Box::new(fire),
            failed: None,
        }
    }

    /// Also runs `failed` when a job of this handler is failed.
    pub fn on_failed(mut self, failed: impl Fn(&FailedJob<'_>) + Send + Sync + 'static) -> FnHandler {
        self.failed = Some(Box::new(failed));
        self
    }
}

impl Handler for FnHandler {
    fn fire(&self, job: &mut JobContext<'_>) -> HandlerResult {
        (self.fire)(job)
    }

    fn failed(&self, job: &FailedJob<'_>) {
        if let Some(f) = &self.failed {
            f(job);
        }
    }
}

/// Asks a running [`Worker`] to stop: each thread finishes its current job and pops nothing new.
/// Clones share the request. SIGTERM and SIGINT set the same flag while [`Worker::run`] runs
/// (with [`Worker::handle_signals`], the default). A request stays: a later `run` returns at once.
#[derive(Debug, Clone, Default)]
pub struct Shutdown(Arc<AtomicBool>);

impl Shutdown {
    /// A fresh, unrequested handle.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Requests the stop.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether the stop was requested.
    pub fn is_requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Sleeps up to `d`, returning early (false) when the stop is requested meanwhile.
    fn sleep(&self, d: Duration) -> bool {
        let end = Instant::now() + d;
        loop {
            if self.is_requested() {
                return false;
            }
            let now = Instant::now();
            if now >= end {
                return true;
            }
            std::thread::sleep((end - now).min(SLEEP_SLICE));
        }
    }
}

/// Who a job is, for events: what could be read of its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobInfo {
    /// The logical queue it was popped from.
    pub queue: String,
    /// The payload's `job`, when readable.
    pub name: Option<String>,
    /// The payload's `id`, when readable.
    pub id: Option<String>,
    /// `attempts()`, when readable.
    pub attempts: Option<i64>,
    /// Which handler thread (0-based) has it.
    pub worker: usize,
}

impl fmt::Display for JobInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.id.as_deref().unwrap_or("-"), self.name.as_deref().unwrap_or("?"))?;
        if let Some(a) = self.attempts {
            write!(f, " (queue {}, attempt {a})", self.queue)
        } else {
            write!(f, " (queue {})", self.queue)
        }
    }
}

/// Why a job was failed or buried.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailReason {
    /// The handler's error (or panic message) on its last allowed try.
    Handler(String),
    /// The job was popped with its tries used up or its `timeoutAt` passed, and was not run
    /// (think-queue 3's `MaxAttemptsExceededException`; the message is its text).
    MaxAttempts(String),
    /// No handler is registered for the job's name (buried, not run).
    UnknownJob(String),
    /// The payload cannot be read (buried, not run); says what is wrong with it.
    Malformed(String),
}

impl fmt::Display for FailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailReason::Handler(m) | FailReason::MaxAttempts(m) => f.write_str(m),
            FailReason::UnknownJob(name) => write!(f, "no handler for job `{name}`"),
            FailReason::Malformed(m) => f.write_str(m),
        }
    }
}

/// Something the worker did, for logging and metrics ([`Worker::on_event`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A job is about to be checked and run (think-queue's `JobProcessing`).
    Processing(&'a JobInfo),
    /// Its handler returned `Ok` (`JobProcessed`).
    Processed(&'a JobInfo),
    /// It was released: by the handler (`error` none) or after a handler error.
    Released {
        /// the job
        job: &'a JobInfo,
        /// seconds until it is due again
        delay: i64,
        /// the handler's error, when that was the cause
        error: Option<&'a str>,
    },
    /// It was failed (`JobFailed`): deleted (or kept in the dead-letter list) and its handler's
    /// `failed` called.
    Failed {
        /// the job
        job: &'a JobInfo,
        /// why
        reason: &'a FailReason,
    },
    /// An unreadable or unknown job was moved to the dead-letter list.
    Buried {
        /// the job
        job: &'a JobInfo,
        /// why
        reason: &'a FailReason,
    },
    /// A Redis operation failed; the worker goes on (after a pause when it was a pop). A job whose
    /// delete or release failed stays reserved and comes back when its reservation expires.
    Error {
        /// the handler thread
        worker: usize,
        /// what failed
        error: &'a Error,
    },
}

impl fmt::Display for Event<'_> {
    /// think-queue's console labels: `Processing: [id] name (queue q, attempt n)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Processing(job) => write!(f, "Processing: {job}"),
            Event::Processed(job) => write!(f, "Processed:  {job}"),
            Event::Released { job, delay, error } => match error {
                Some(e) => write!(f, "Released:   {job} for {delay} s after: {e}"),
                None => write!(f, "Released:   {job} for {delay} s"),
            },
            Event::Failed { job, reason } => write!(f, "Failed:     {job}: {reason}"),
            Event::Buried { job, reason } => write!(f, "Buried:     {job}: {reason}"),
            Event::Error { worker, error } => write!(f, "Error:      worker {worker}: {error}"),
        }
    }
}

/// A failed job, as the failed callback sees it (think-queue's `failed($data)`).
#[derive(Debug)]
pub struct FailedJob<'a> {
    /// who it is
    pub info: &'a JobInfo,
    /// its data
    pub data: &'a Value,
    /// the bytes that were in the ready list
    pub raw_body: &'a [u8],
    /// why it failed
    pub reason: &'a FailReason,
}

/// The job a handler runs, with think-queue's Job API: data, attempts, delete, release.
pub struct JobContext<'a> {
    queue: &'a mut RedisQueue,
    job: &'a ReservedJob,
    info: &'a JobInfo,
    name: &'a str,
    attempts: i64,
    deleted: bool,
    released: Option<i64>,
}

impl fmt::Debug for JobContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobContext")
            .field("info", self.info)
            .field("deleted", &self.deleted)
            .field("released", &self.released)
            .finish()
    }
}

impl<'a> JobContext<'a> {
    /// `getName()`: the payload's `job`, e.g. `app\job\SendSms` or `app\job\Sms@send`.
    pub fn name(&self) -> &str {
        self.name
    }

    /// The part after `@` of a `Class@method` name (`None` for a plain class name: `fire`).
    pub fn method(&self) -> Option<&str> {
        self.name.split_once('@').map(|(_, m)| m)
    }

    /// `getJobId()`: the payload's `id`.
    pub fn id(&self) -> Option<&str> {
        self.info.id.as_deref()
    }

    /// `getQueue()`: the logical queue it was popped from.
    pub fn queue(&self) -> &str {
        self.job.queue()
    }

    /// `attempts()`: 1 on the first run, in both generations.
    pub fn attempts(&self) -> i64 {
        self.attempts
    }

    /// The job data as PHP holds it (`json_decode($payload, true)['data']`).
    pub fn data(&self) -> &Value {
        static NULL: Value = Value::Null;
        self.job.data().unwrap_or(&NULL)
    }

    /// The job data as a Rust type (through its JSON text: a PHP list is a sequence, an
    /// associative array a map or struct).
    ///
    /// # Errors
    ///
    /// [`Error::MalformedPayload`] when the data does not fit `T`.
    pub fn data_as<T: DeserializeOwned>(&self) -> Result<T> {
        let bytes = encode(self.data())?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Error::malformed(self.queue(), format!("the job data does not fit the handler's type: {e}")))
    }

    /// v3 `maxTries()` (the payload's; `None` when absent or null).
    pub fn max_tries(&self) -> Option<i64> {
        self.job.max_tries().ok().flatten()
    }

    /// v3 `timeout()` (the payload's; informative: nothing kills a running handler).
    pub fn timeout(&self) -> Option<i64> {
        self.job.timeout().ok().flatten()
    }

    /// v3 `timeoutAt()` (unix seconds).
    pub fn timeout_at(&self) -> Option<i64> {
        self.job.timeout_at().ok().flatten()
    }

    /// `getRawBody()`.
    pub fn raw_body(&self) -> &[u8] {
        self.job.raw_body()
    }

    /// The popped job itself.
    pub fn reserved_job(&self) -> &ReservedJob {
        self.job
    }

    /// Which handler thread (0-based) runs it.
    pub fn worker(&self) -> usize {
        self.info.worker
    }

    /// `$job->delete()`: removes the reservation now. Returns false when it was gone already.
    ///
    /// # Errors
    ///
    /// A Redis error.
    pub fn delete(&mut self) -> Result<bool> {
        self.deleted = true;
        self.queue.delete_reserved(self.job)
    }

    /// `$job->release($delay)`: back to the queue, due in `delay` seconds, with the generation's
    /// attempts rule. The handler should then return `Ok`. Returns false when the reservation was
    /// gone (nothing is added).
    ///
    /// # Errors
    ///
    /// A Redis error, or a payload whose attempts cannot be rewritten.
    pub fn release(&mut self, delay: i64) -> Result<bool> {
        self.released = Some(delay);
        self.queue.release(self.job, delay)
    }

    /// `isDeleted()`.
    pub fn is_deleted(&self) -> bool {
        self.deleted
    }

    /// `isReleased()`.
    pub fn is_released(&self) -> bool {
        self.released.is_some()
    }

    /// This thread's queue connection, e.g. to push follow-up jobs.
    pub fn redis_queue(&mut self) -> &mut RedisQueue {
        self.queue
    }
}

/// What a [`Worker::run`] did, summed over its threads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// jobs whose handler returned `Ok`
    pub processed: u64,
    /// jobs released (after an error or by the handler)
    pub released: u64,
    /// jobs failed (tries used up, timeoutAt passed)
    pub failed: u64,
    /// unreadable or unknown jobs moved to the dead-letter list
    pub buried: u64,
    /// Redis errors met (and survived)
    pub errors: u64,
}

impl WorkerStats {
    fn add(&mut self, o: WorkerStats) {
        self.processed += o.processed;
        self.released += o.released;
        self.failed += o.failed;
        self.buried += o.buried;
        self.errors += o.errors;
    }
}

type EventFn = dyn Fn(&Event<'_>) + Send + Sync;

/// Consumes think-queue jobs with Rust handlers; see the [module docs](self) for the rules.
pub struct Worker {
    conn: ConnectionOptions,
    opts: QueueOptions,
    queues: Vec<String>,
    handlers: HashMap<String, Box<dyn Handler>>,
    tries: i64,
    delay: i64,
    idle_sleep: Duration,
    concurrency: usize,
    stop_when_empty: bool,
    max_jobs: Option<u64>,
    keep_failed: bool,
    handle_signals: bool,
    on_event: Option<Box<EventFn>>,
    shutdown: Shutdown,
}

impl fmt::Debug for Worker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.handlers.keys().collect();
        names.sort();
        f.debug_struct("Worker")
            .field("conn", &self.conn)
            .field("opts", &self.opts)
            .field("queues", &self.queues)
            .field("handlers", &names)
            .field("tries", &self.tries)
            .field("delay", &self.delay)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker on the options' default queue, one thread, unlimited tries, release delay 0,
    /// idle sleep [`DEFAULT_IDLE_SLEEP`], stopping on SIGTERM/SIGINT.
    pub fn new(conn: ConnectionOptions, opts: QueueOptions) -> Worker {
        Worker {
            conn,
            opts,
            queues: Vec::new(),
            handlers: HashMap::new(),
            tries: 0,
            delay: 0,
            idle_sleep: DEFAULT_IDLE_SLEEP,
            concurrency: 1,
            stop_when_empty: false,
            max_jobs: None,
            keep_failed: false,
            handle_signals: true,
            on_event: None,
            shutdown: Shutdown::new(),
        }
    }

    /// Adds a queue to poll, after those already given (`--queue=a,b`: `a` first).
    pub fn queue(mut self, name: impl Into<String>) -> Worker {
        self.queues.push(name.into());
        self
    }

    /// Adds queues to poll, in priority order.
    pub fn queues<I, S>(mut self, names: I) -> Worker
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.queues.extend(names.into_iter().map(Into::into));
        self
    }

    /// Registers the handler of a job name: exactly as producers write it (`app\job\SendSms`,
    /// `app\job\Sms@send`). A name without a namespace is also found under the class name
    /// think-queue resolves it to (v1 `SendSms` / `index/Report` -> `app\job\SendSms` /
    /// `app\index\job\Report`; v3 `send_sms` -> `app\job\SendSms`), and `Class@fire` under `Class`.
    pub fn handle(mut self, name: impl Into<String>, handler: impl Handler) -> Worker {
        self.handlers.insert(name.into(), Box::new(handler));
        self
    }

    /// `--tries`: 0 (the default) means unlimited; see the module docs for each generation's rule.
    pub fn tries(mut self, tries: u32) -> Worker {
        self.tries = i64::from(tries);
        self
    }

    /// `--delay`: seconds before a job whose handler failed is due again (default 0).
    pub fn delay(mut self, seconds: i64) -> Worker {
        self.delay = seconds;
        self
    }

    /// Pause after a poll of all queues found nothing (default 50 ms; cut short by a shutdown).
    pub fn idle_sleep(mut self, d: Duration) -> Worker {
        self.idle_sleep = d;
        self
    }

    /// Handler threads, each with its own Redis connection (default 1; 0 counts as 1).
    pub fn concurrency(mut self, threads: usize) -> Worker {
        self.concurrency = threads.max(1);
        self
    }

    /// Each thread stops once a poll of all queues finds nothing ready (delayed jobs that are not
    /// due yet stay); for batch runs and tests. Off by default.
    pub fn stop_when_empty(mut self, yes: bool) -> Worker {
        self.stop_when_empty = yes;
        self
    }

    /// Stops after this many jobs were taken (over all threads).
    pub fn max_jobs(mut self, jobs: u64) -> Worker {
        self.max_jobs = Some(jobs);
        self
    }

    /// Failed jobs go to the queue's dead-letter list instead of being deleted, so
    /// `tqn retry --dead` can run them again (think-queue keeps failed jobs in a database table;
    /// this is the Redis-only equivalent). Off by default (stock: deleted).
    pub fn keep_failed(mut self, yes: bool) -> Worker {
        self.keep_failed = yes;
        self
    }

    /// Whether `run` stops on SIGTERM/SIGINT (default true). Off: only [`Shutdown::request`] stops it.
    pub fn handle_signals(mut self, yes: bool) -> Worker {
        self.handle_signals = yes;
        self
    }

    /// Called for every [`Event`], from the handler threads.
    pub fn on_event(mut self, f: impl Fn(&Event<'_>) + Send + Sync + 'static) -> Worker {
        self.on_event = Some(Box::new(f));
        self
    }

    /// Uses `shutdown` as the stop flag (to share one among workers).
    pub fn with_shutdown(mut self, shutdown: Shutdown) -> Worker {
        self.shutdown = shutdown;
        self
    }

    /// A handle that stops [`run`](Self::run).
    pub fn shutdown_handle(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Runs until a shutdown (signal or [`Shutdown::request`]), or until the queues are empty
    /// ([`stop_when_empty`](Self::stop_when_empty)) or [`max_jobs`](Self::max_jobs) were taken.
    /// Returns what was done.
    ///
    /// # Errors
    ///
    /// Only at start: bad options, or Redis unreachable (connect, AUTH, SELECT). Later Redis
    /// errors are reported as [`Event::Error`] and survived.
    pub fn run(&self) -> Result<WorkerStats> {
        // fail fast on a wrong address or password; the threads connect on their own
        RedisQueue::connect(self.conn.clone(), self.opts.clone())?.ping()?;
        let signals = if self.handle_signals {
            register_signals(&self.shutdown)?
        } else {
            Vec::new()
        };
        let taken = AtomicU64::new(0);
        let mut total = WorkerStats::default();
        std::thread::scope(|s| {
            let taken = &taken;
            let threads: Vec<_> = (0..self.concurrency).map(|i| s.spawn(move || self.thread_loop(i, taken))).collect();
            for t in threads {
                match t.join() {
                    Ok(stats) => total.add(stats),
                    // thread_loop catches handler panics; a panic here is our bug
                    Err(_) => total.errors += 1,
                }
            }
        });
        for id in signals {
            signal_hook::low_level::unregister(id);
        }
        Ok(total)
    }

    fn emit(&self, e: &Event<'_>) {
        if let Some(f) = &self.on_event {
            f(e);
        }
    }

    fn thread_loop(&self, worker: usize, taken: &AtomicU64) -> WorkerStats {
        let mut stats = WorkerStats::default();
        let mut rq = match RedisQueue::lazy(self.conn.clone(), self.opts.clone()) {
            Ok(q) => q,
            Err(e) => {
                self.report_error(worker, &e, &mut stats);
                return stats;
            }
        };
        while !self.shutdown.is_requested() {
            if let Some(max) = self.max_jobs {
                // take a slot before popping, so threads never take more than max together
                if taken
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| (t < max).then_some(t + 1))
                    .is_err()
                {
                    break;
                }
            }
            match self.next_job(&mut rq) {
                Ok(Some(job)) => self.process(&mut rq, worker, &job, &mut stats),
                Ok(None) => {
                    if self.max_jobs.is_some() {
                        taken.fetch_sub(1, Ordering::SeqCst);
                    }
                    if self.stop_when_empty {
                        break;
                    }
                }
                Err(e) => {
                    if self.max_jobs.is_some() {
                        taken.fetch_sub(1, Ordering::SeqCst);
                    }
                    self.report_error(worker, &e, &mut stats);
                    self.shutdown.sleep(ERROR_SLEEP);
                }
            }
        }
        stats
    }

    /// The next job of the first queue (in priority order) that has one; after a round that found
    /// nothing, the idle sleep (cut short by a shutdown) and `None`.
    ///
    /// This is the one place that waits for work. A worker on one queue waits with
    /// `RedisQueue::pop_blocking` in calls of [`BLOCK_WAIT`]: it wakes within about a millisecond
    /// of a push (by any producer) or when a delayed job or expired reservation falls due, and
    /// notices a shutdown request between calls. Several queues are polled in priority order with
    /// `pop`, sleeping `idle_sleep` when all are empty.
    fn next_job(&self, rq: &mut RedisQueue) -> Result<Option<ReservedJob>> {
        if self.queues.len() <= 1 && !self.stop_when_empty {
            return rq.pop_blocking(self.queues.first().map(String::as_str), BLOCK_WAIT);
        }
        if self.queues.is_empty() {
            if let Some(job) = rq.pop(None)? {
                return Ok(Some(job));
            }
        }
        for name in &self.queues {
            if let Some(job) = rq.pop(Some(name))? {
                return Ok(Some(job));
            }
        }
        if !self.stop_when_empty {
            self.shutdown.sleep(self.idle_sleep);
        }
        Ok(None)
    }

    /// The registered handler of `name`, by the lookup rules of [`Worker::handle`].
    fn handler(&self, name: &str) -> Option<&dyn Handler> {
        let lookup = |n: &str| -> Option<&dyn Handler> {
            self.handlers.get(n).map(|h| h.as_ref()).or_else(|| {
                n.strip_suffix("@fire")
                    .and_then(|class| self.handlers.get(class))
                    .map(|h| h.as_ref())
            })
        };
        lookup(name).or_else(|| resolve_name(self.opts.dialect, name).and_then(|full| lookup(&full)))
    }

    fn process(&self, rq: &mut RedisQueue, worker: usize, job: &ReservedJob, stats: &mut WorkerStats) {
        let mut info = JobInfo {
            queue: job.queue().to_owned(),
            name: job.name().ok(),
            id: job.id().ok().flatten(),
            attempts: job.attempts().ok(),
            worker,
        };
        // everything the rules read must be readable, else the job goes to the dead-letter list
        let fields = (|| -> Result<(String, i64, Option<i64>, Option<i64>)> {
            let name = job.name()?;
            let attempts = job.attempts()?;
            job.data()?;
            Ok((name, attempts, job.max_tries()?, job.timeout_at()?))
        })();
        let (name, attempts, max_tries, timeout_at) = match fields {
            Ok(f) => f,
            Err(e) => {
                info.attempts = None;
                return self.bury(rq, &info, job, FailReason::Malformed(e.to_string()), stats);
            }
        };
        let Some(handler) = self.handler(&name) else {
            return self.bury(rq, &info, job, FailReason::UnknownJob(name), stats);
        };
        self.emit(&Event::Processing(&info));

        let limits = Limits::new(self.opts.dialect, self.tries, max_tries, timeout_at);
        if let Some(message) = limits.before_run(&name, attempts, unix_now()) {
            let mut run = Run {
                rq,
                info: &info,
                job,
                stats,
            };
            return self.fail(&mut run, handler, false, FailReason::MaxAttempts(message));
        }

        let mut ctx = JobContext {
            queue: rq,
            job,
            info: &info,
            name: &name,
            attempts,
            deleted: false,
            released: None,
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| handler.fire(&mut ctx)));
        let (deleted, released) = (ctx.deleted, ctx.released);
        let error = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(panic) => Some(panic_message(panic.as_ref())),
        };
        let mut run = Run {
            rq,
            info: &info,
            job,
            stats,
        };
        match error {
            None => self.succeeded(&mut run, deleted, released),
            Some(message) if limits.exhausted_after_failure(attempts, unix_now()) => {
                self.fail(&mut run, handler, deleted, FailReason::Handler(message));
            }
            Some(message) => self.handler_failed(&mut run, deleted, released, &message),
        }
    }

    /// The handler returned Ok: acknowledge the job unless it deleted or released it itself.
    fn succeeded(&self, run: &mut Run<'_>, deleted: bool, released: Option<i64>) {
        if !deleted && released.is_none() {
            if let Err(e) = run.rq.ack(run.job) {
                self.report_error(run.info.worker, &e, run.stats);
            }
        }
        run.stats.processed += 1;
        self.emit(&Event::Processed(run.info));
        if let Some(delay) = released {
            run.stats.released += 1;
            self.emit(&Event::Released {
                job: run.info,
                delay,
                error: None,
            });
        }
    }

    /// The handler failed and the job has attempts left: release it (unless the handler deleted
    /// or released it itself), due after the worker's `--delay`.
    fn handler_failed(&self, run: &mut Run<'_>, deleted: bool, released: Option<i64>, message: &str) {
        if deleted {
            return;
        }
        if let Some(delay) = released {
            run.stats.released += 1;
            self.emit(&Event::Released {
                job: run.info,
                delay,
                error: Some(message),
            });
            return;
        }
        match run.rq.release(run.job, self.delay) {
            // the reservation expired and another worker has the job now
            Ok(false) => {}
            Ok(true) => {
                run.stats.released += 1;
                self.emit(&Event::Released {
                    job: run.info,
                    delay: self.delay,
                    error: Some(message),
                });
            }
            Err(e) => {
                self.report_error(run.info.worker, &e, run.stats);
            }
        }
    }

    /// think-queue's `failJob`: unless the handler deleted the job, delete it (or keep it in the
    /// dead-letter list) and, when that removed our reservation, call `failed` once.
    fn fail(&self, run: &mut Run<'_>, handler: &dyn Handler, deleted: bool, reason: FailReason) {
        if deleted {
            return;
        }
        let removed = if self.keep_failed {
            run.rq.bury(run.job)
        } else {
            run.rq.delete_reserved(run.job)
        };
        match removed {
            Ok(true) => {
                run.rq.mark_failed(run.job);
                let failed = FailedJob {
                    info: run.info,
                    data: run.job.data().unwrap_or(&Value::Null),
                    raw_body: run.job.raw_body(),
                    reason: &reason,
                };
                // a panicking callback is the handler's bug (the panic hook has reported it); the
                // job is failed all the same
                let _ = catch_unwind(AssertUnwindSafe(|| handler.failed(&failed)));
                run.stats.failed += 1;
                self.emit(&Event::Failed {
                    job: run.info,
                    reason: &reason,
                });
            }
            // the reservation expired and another worker has the job now: it is theirs to fail
            Ok(false) => {}
            Err(e) => {
                self.report_error(run.info.worker, &e, run.stats);
            }
        }
    }

    /// A Redis error while working: reported as an [`Event::Error`] and counted.
    fn report_error(&self, worker: usize, error: &Error, stats: &mut WorkerStats) {
        self.emit(&Event::Error { worker, error });
        stats.errors += 1;
    }

    fn bury(&self, rq: &mut RedisQueue, info: &JobInfo, job: &ReservedJob, reason: FailReason, stats: &mut WorkerStats) {
        match rq.bury(job) {
            Ok(true) => {
                stats.buried += 1;
                self.emit(&Event::Buried {
                    job: info,
                    reason: &reason,
                });
            }
            Ok(false) => {}
            Err(e) => {
                self.report_error(info.worker, &e, stats);
            }
        }
    }
}

/// think-queue's limits of one job, read from its payload and the worker's `--tries`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Limits {
    dialect: Dialect,
    /// the attempts allowed (0: no limit): 1.x `--tries`; 3.x the payload's `maxTries`, else `--tries`
    limit: i64,
    /// 3.x: the payload's `timeoutAt` (a falsy one is none, as in PHP)
    timeout_at: Option<i64>,
}

impl Limits {
    fn new(dialect: Dialect, tries: i64, max_tries: Option<i64>, timeout_at: Option<i64>) -> Limits {
        Limits {
            dialect,
            limit: match dialect {
                Dialect::V1 => tries,
                Dialect::V3 => max_tries.unwrap_or(tries),
            },
            timeout_at: timeout_at.filter(|t| *t != 0),
        }
    }

    /// think-queue's check before the handler runs: `None` when the job may run, else the
    /// message it fails with (1.x: attempts beyond `--tries`; 3.x: past `timeoutAt`, or attempts
    /// beyond the limit when there is no `timeoutAt`).
    fn before_run(&self, name: &str, attempts: i64, now: i64) -> Option<String> {
        let may_run = match (self.dialect, self.timeout_at) {
            (Dialect::V1, _) => self.limit <= 0 || attempts <= self.limit,
            (Dialect::V3, Some(t)) => now <= t,
            (Dialect::V3, None) => self.limit == 0 || attempts <= self.limit,
        };
        (!may_run).then(|| match self.dialect {
            Dialect::V1 => format!("{name} has been attempted too many times."),
            Dialect::V3 => format!("{name} has been attempted too many times or run too long. The job may have previously timed out."),
        })
    }

    /// After the handler failed: whether the job is failed now (3.x: past `timeoutAt` or out of
    /// attempts) rather than released to run again (1.x releases; its next run's check fails it).
    fn exhausted_after_failure(&self, attempts: i64, now: i64) -> bool {
        self.dialect == Dialect::V3 && (self.timeout_at.is_some_and(|t| t <= now) || (self.limit > 0 && attempts >= self.limit))
    }
}

/// One job being processed: the queue it came from and what is reported about it.
struct Run<'a> {
    rq: &'a mut RedisQueue,
    info: &'a JobInfo,
    job: &'a ReservedJob,
    stats: &'a mut WorkerStats,
}

/// SIGTERM and SIGINT set the flag; when it is already set (a second signal), they end the process.
fn register_signals(shutdown: &Shutdown) -> Result<Vec<signal_hook::SigId>> {
    let mut ids = Vec::new();
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        let registered = signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, shutdown.0.clone())
            .and_then(|a| signal_hook::flag::register(sig, shutdown.0.clone()).map(|b| [a, b]));
        match registered {
            Ok(pair) => ids.extend(pair),
            Err(e) => {
                for id in ids {
                    signal_hook::low_level::unregister(id);
                }
                return Err(Error::Config(format!("cannot install the signal handlers: {e}")));
            }
        }
    }
    Ok(ids)
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned());
    format!("the handler panicked: {text}")
}

/// The class think-queue resolves a namespace-less job name to (spec §3.4), with its `@method`.
fn resolve_name(dialect: Dialect, name: &str) -> Option<String> {
    let (class, method) = match name.split_once('@') {
        Some((c, m)) => (c, Some(m)),
        None => (name, None),
    };
    if class.is_empty() || class.contains('\\') {
        return None;
    }
    let full = match dialect {
        Dialect::V1 => match class.split_once('/') {
            Some((module, job)) => format!("app\\{}\\job\\{job}", module.to_lowercase()),
            None => format!("app\\job\\{class}"),
        },
        Dialect::V3 => format!("app\\job\\{}", studly(class)),
    };
    Some(match method {
        Some(m) => format!("{full}@{m}"),
        None => full,
    })
}

/// think-helper's `Str::studly`: `-` and `_` separate words, each word's first letter upper-cased.
fn studly(s: &str) -> String {
    s.replace(['-', '_'], " ")
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(first) => first.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn think_queue_pre_checks_per_generation() {
        // 1.x: --tries only, checked before the run (attempts count from 1)
        let v1 = Limits::new(Dialect::V1, 3, Some(1), Some(1));
        assert_eq!(v1.before_run("J", 3, 100), None);
        assert_eq!(v1.before_run("J", 4, 100).as_deref(), Some("J has been attempted too many times."));
        assert!(
            Limits::new(Dialect::V1, 0, None, None).before_run("J", 99, 0).is_none(),
            "0 tries: no limit"
        );
        assert!(!v1.exhausted_after_failure(3, 100), "1.x releases; the next run's check fails it");
        // 3.x: the payload's maxTries wins over --tries
        let v3 = Limits::new(Dialect::V3, 5, Some(2), None);
        assert_eq!(v3.before_run("J", 2, 100), None);
        assert!(v3
            .before_run("J", 3, 100)
            .is_some_and(|m| m.ends_with("The job may have previously timed out.")));
        assert!(v3.exhausted_after_failure(2, 100) && !v3.exhausted_after_failure(1, 100));
        // 3.x: with a timeoutAt, only the time counts before the run; after a failure both do
        let until = Limits::new(Dialect::V3, 1, None, Some(200));
        assert_eq!(until.before_run("J", 9, 200), None);
        assert!(until.before_run("J", 1, 201).is_some());
        assert!(until.exhausted_after_failure(1, 150), "out of attempts");
        assert!(
            Limits::new(Dialect::V3, 0, None, Some(200)).exhausted_after_failure(1, 200),
            "past timeoutAt"
        );
        // a falsy timeoutAt (0) is none
        assert_eq!(Limits::new(Dialect::V3, 0, None, Some(0)).timeout_at, None);
        assert!(
            Limits::new(Dialect::V3, 0, None, None).before_run("J", 1_000, 0).is_none(),
            "0 tries: no limit"
        );
    }

    #[test]
    fn names_resolve_as_think_queue_does() {
        assert_eq!(resolve_name(Dialect::V3, "send_sms").as_deref(), Some("app\\job\\SendSms"));
        assert_eq!(resolve_name(Dialect::V3, "ok").as_deref(), Some("app\\job\\Ok"));
        assert_eq!(resolve_name(Dialect::V3, "some-job@run").as_deref(), Some("app\\job\\SomeJob@run"));
        assert_eq!(resolve_name(Dialect::V1, "SendSms").as_deref(), Some("app\\job\\SendSms"));
        assert_eq!(
            resolve_name(Dialect::V1, "Index/Report").as_deref(),
            Some("app\\index\\job\\Report")
        );
        assert_eq!(resolve_name(Dialect::V1, "send_sms").as_deref(), Some("app\\job\\send_sms"));
        assert_eq!(resolve_name(Dialect::V3, "app\\job\\X"), None);
        assert_eq!(resolve_name(Dialect::V3, "@x"), None);
    }

    #[test]
    fn lookup_order() {
        let w = Worker::new(ConnectionOptions::default(), QueueOptions::new(Dialect::V3))
            .handle("app\\job\\SendSms", |_: &mut JobContext<'_>| Ok(()))
            .handle("app\\job\\Sms@send", |_: &mut JobContext<'_>| Ok(()));
        for found in [
            "app\\job\\SendSms",
            "app\\job\\SendSms@fire",
            "send_sms",
            "SendSms@fire",
            "sms@send",
        ] {
            assert!(w.handler(found).is_some(), "{found}");
        }
        for missing in ["app\\job\\Other", "app\\job\\SendSms@other", "app\\job\\Sms", "other"] {
            assert!(w.handler(missing).is_none(), "{missing}");
        }
    }

    #[test]
    fn shutdown_cuts_sleeps_short() {
        let s = Shutdown::new();
        let t = Instant::now();
        assert!(s.sleep(Duration::from_millis(20)));
        assert!(t.elapsed() >= Duration::from_millis(20));
        let s2 = s.clone();
        let h = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            s2.request();
        });
        let t = Instant::now();
        assert!(!s.sleep(Duration::from_secs(10)));
        assert!(t.elapsed() < Duration::from_secs(2));
        h.join().ok();
        assert!(s.is_requested());
    }

    #[test]
    fn panic_messages() {
        let p: Box<dyn std::any::Any + Send> = Box::new("boom");
        assert_eq!(panic_message(p.as_ref()), "the handler panicked: boom");
        let p: Box<dyn std::any::Any + Send> = Box::new(String::from("bang"));
        assert_eq!(panic_message(p.as_ref()), "the handler panicked: bang");
        let p: Box<dyn std::any::Any + Send> = Box::new(7);
        assert!(panic_message(p.as_ref()).contains("non-string"));
    }
}

//! `think\queue\native\RedisQueue`: one connection (or a persistent one borrowed from the
//! process pool) and one wire dialect; every method is one core operation.

use ext_php_rs::binary_slice::BinarySlice;
use ext_php_rs::boxed::ZBox;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};

use super::args::{ArrayArg, Data};
use super::convert::{assoc, config_entries, prefer_utf8, to_array, Converter, Fail};
use super::errors::{ExtError, ExtResult};
use super::ffi::entries;
use super::guard;
use super::job::ReservedJob;
use crate::adapter;
use crate::config::options_summary;
use crate::{Delay, Dialect, NewJob, RedisQueue as CoreQueue, Value};

/// Longest `$block` accepted by `pop()` (one day).
const MAX_BLOCK_SECONDS: f64 = 86_400.0;

/// A think-queue Redis queue: `new RedisQueue($config)` takes a think-queue connection config
/// (see docs/php-api.md) and connects at once.
#[allow(unsafe_code)]
#[php_class]
#[php(name = "think\\queue\\native\\RedisQueue")]
#[php(flags = ext_php_rs::flags::ClassFlags::Final)]
pub struct RedisQueue {
    q: CoreQueue,
    persistent: bool,
}

impl Drop for RedisQueue {
    fn drop(&mut self) {
        self.release_connection();
    }
}

impl RedisQueue {
    fn open(options: Option<&ZendHashTable>, generation: Option<&str>) -> ExtResult<RedisQueue> {
        let generation = match generation {
            None => None,
            Some(g) => Some(adapter::parse_generation(g).ok_or_else(|| {
                ExtError::Value(format!(
                    "think\\queue\\native\\RedisQueue::__construct(): Argument #2 ($generation) must be 'v1' (think-queue 1.x/2.x) or 'v3' (3.x), '{g}' given"
                ))
            })?),
        };
        let entries = options.map(config_entries).unwrap_or_default();
        let (q, persistent) = adapter::open_queue(&entries, generation)?;
        Ok(RedisQueue { q, persistent })
    }

    /// The core queue (a persistent one that gave its connection back borrows an idle one again).
    fn queue(&mut self) -> &mut CoreQueue {
        adapter::reattach(&mut self.q, self.persistent);
        &mut self.q
    }

    /// Runs a method body; after a panic the connection is dropped (its state is unknown).
    fn run<T>(&mut self, body: impl FnOnce(&mut RedisQueue) -> ExtResult<T>) -> PhpResult<T> {
        let result = guard(|| body(self));
        if matches!(result, Err(ExtError::Internal(_))) {
            self.q.disconnect();
        }
        Ok(result?)
    }

    /// Sends held-back acknowledgements, then gives a persistent connection back to the pool or
    /// closes the connection.
    fn release_connection(&mut self) {
        adapter::release(&mut self.q, self.persistent);
    }

    /// The payload parts for one job, converted in the order json_encode meets them. With
    /// `$meta['object']` (the `serialize()`d job object) `$job` is the object's class and the job
    /// is think-queue's object job (the core's [`NewJob::object`]: handler `CallQueuedHandler@call`,
    /// data `{commandName, command}`, v3 `timeoutAt` always written); `$data` is then unused.
    fn new_job(&self, job: &[u8], data: DataSource<'_>, meta: Option<&ZendHashTable>) -> ExtResult<NewJob> {
        let mut conv = Converter::default();
        let object = match meta.and_then(|m| m.get("object")).filter(|z| !z.is_null()) {
            None => None,
            Some(z) => Some(z.zend_str().map(|s| s.as_bytes().to_vec()).ok_or_else(|| {
                ExtError::Type(format!(
                    "`object` in $meta must be the serialize()d job object, {} given",
                    type_name(z)
                ))
            })?),
        };
        let mut new = match &object {
            Some(serialized) => NewJob::object(job, serialized, Value::Null, Value::Null, Value::Null),
            None => NewJob::new(Value::Str(job.to_vec()), Value::Null),
        };
        let mut earlier: Vec<Value> = vec![new.job.clone()];
        let fail = |e: Fail, earlier: &[Value]| ExtError::from(prefer_utf8(e, earlier));
        if self.q.dialect() == Dialect::V3 {
            if let Some(meta) = meta {
                for (key, slot) in [("maxTries", &mut new.max_tries), ("timeout", &mut new.timeout)] {
                    if let Some(v) = meta.get(key) {
                        *slot = conv.value(v).map_err(|e| fail(e, &earlier))?;
                        earlier.push(slot.clone());
                    }
                }
                if let Some(v) = meta.get("timeoutAt") {
                    let at = conv.value(v).map_err(|e| fail(e, &earlier))?;
                    earlier.push(at.clone());
                    new.timeout_at = Some(at);
                }
            }
        }
        if object.is_none() {
            new.data = match data {
                DataSource::Omitted => Value::Str(Vec::new()),
                DataSource::Zval(z) => conv.value(z).map_err(|e| fail(e, &earlier))?,
                DataSource::Value(v) => v.clone(),
            };
        }
        Ok(new)
    }

    fn check_dialect(&self, job: &ReservedJob) -> ExtResult<()> {
        let (ours, its) = (self.q.dialect(), job.job.dialect());
        if ours == its {
            Ok(())
        } else {
            Err(ExtError::Value(format!(
                "think\\queue\\native\\RedisQueue: the job was popped by a {its} queue, this queue speaks {ours}"
            )))
        }
    }
}

/// Where a job's data comes from.
enum DataSource<'a> {
    /// `$data` omitted: think-queue's default `''`.
    Omitted,
    /// A PHP value to convert.
    Zval(&'a Zval),
    /// Already converted (bulk's shared `$data`).
    Value(&'a Value),
}

impl<'a> From<&Data<'a>> for DataSource<'a> {
    fn from(d: &Data<'a>) -> Self {
        match d.zval() {
            Some(z) => DataSource::Zval(z),
            None => DataSource::Omitted,
        }
    }
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// PHP's name of a value's type, for TypeError messages.
fn type_name(z: &Zval) -> &'static str {
    use ext_php_rs::flags::DataType;
    match z.dereference().get_type() {
        DataType::Null => "null",
        DataType::False | DataType::True | DataType::Bool => "bool",
        DataType::Long => "int",
        DataType::Double => "float",
        DataType::String => "string",
        DataType::Array => "array",
        DataType::Object(_) => "object",
        DataType::Resource => "resource",
        _ => "mixed",
    }
}

#[allow(unsafe_code)]
#[php_impl]
impl RedisQueue {
    /// Connects now (connect, AUTH, SELECT), or borrows an idle persistent connection.
    /// `$options`: a think-queue connection config; unknown keys are ignored. `$generation`:
    /// which think-queue generation's config it is ('v1' = 1.x/2.x: `expire`, `default`; 'v3':
    /// `retry_after ?? 60`, `queue`); null: the config's `dialect`, else 'v3'.
    #[php(defaults(options = ArrayArg::EMPTY, generation = None))]
    pub fn __construct(options: ArrayArg, generation: Option<String>) -> PhpResult<RedisQueue> {
        Ok(guard(|| RedisQueue::open(options.table(), generation.as_deref()))?)
    }

    /// 'v1' (think-queue 1.x/2.x wire) or 'v3' (think-queue 3.x).
    pub fn dialect(&mut self) -> PhpResult<String> {
        self.run(|s| Ok(s.q.dialect().to_string()))
    }

    /// What the config given to the constructor means, resolved: dialect, default_queue,
    /// retry_after, migrate_batch, lease and the connection settings (`password_set`, never the
    /// password). The same map as `tqn --config FILE config --json`.
    pub fn options(&mut self) -> PhpResult<ZBox<ZendHashTable>> {
        self.run(|s| to_array(&options_summary(s.q.connection_options(), s.q.options())))
    }

    /// The queue used when a call names none.
    pub fn get_default_queue(&mut self) -> PhpResult<String> {
        self.run(|s| Ok(s.q.options().default_queue.clone()))
    }

    /// Pushes a job (RPUSH of its payload). Returns the job id.
    #[php(defaults(data = Data::OMITTED, meta = ArrayArg::EMPTY))]
    pub fn push(&mut self, job: BinarySlice<u8>, data: Data, queue: Option<String>, meta: ArrayArg) -> PhpResult<String> {
        self.run(|s| {
            let new = s.new_job(&job, (&data).into(), meta.table())?;
            Ok(s.queue().push(&new, queue.as_deref())?)
        })
    }

    /// Delays a job by `$delay` seconds (ZADD to the delayed set; <= 0 is due at once). Returns the job id.
    #[php(defaults(data = Data::OMITTED, meta = ArrayArg::EMPTY))]
    pub fn later(&mut self, delay: i64, job: BinarySlice<u8>, data: Data, queue: Option<String>, meta: ArrayArg) -> PhpResult<String> {
        self.run(|s| {
            let new = s.new_job(&job, (&data).into(), meta.table())?;
            Ok(s.queue().later(Delay::Seconds(delay), &new, queue.as_deref())?)
        })
    }

    /// Delays a job until the unix time `$timestamp`. Returns the job id.
    #[php(defaults(data = Data::OMITTED, meta = ArrayArg::EMPTY))]
    pub fn later_at(
        &mut self,
        timestamp: i64,
        job: BinarySlice<u8>,
        data: Data,
        queue: Option<String>,
        meta: ArrayArg,
    ) -> PhpResult<String> {
        self.run(|s| {
            let new = s.new_job(&job, (&data).into(), meta.table())?;
            Ok(s.queue().later(Delay::At(timestamp), &new, queue.as_deref())?)
        })
    }

    /// Pushes payload bytes as given. Returns the payload's "id", or null.
    pub fn push_raw(&mut self, payload: BinarySlice<u8>, queue: Option<String>) -> PhpResult<Option<String>> {
        self.run(|s| Ok(s.queue().push_raw(&payload, queue.as_deref())?))
    }

    /// Delays payload bytes as given by `$delay` seconds.
    pub fn later_raw(&mut self, delay: i64, payload: BinarySlice<u8>, queue: Option<String>) -> PhpResult<()> {
        self.run(|s| Ok(s.queue().later_raw(Delay::Seconds(delay), &payload, queue.as_deref())?))
    }

    /// Pushes many jobs: each element is a handler name (with `$data`) or
    /// `[string $job, mixed $data, array $meta = []]`. All payloads are built first (one bad
    /// element throws and nothing is written), then pushed in one round trip. Returns the ids.
    #[php(defaults(data = Data::OMITTED))]
    pub fn bulk(&mut self, jobs: &ZendHashTable, data: Data, queue: Option<String>) -> PhpResult<Vec<String>> {
        self.run(|s| {
            let mut shared: Option<Value> = None;
            let mut new_jobs = Vec::with_capacity(jobs.len());
            for (key, element) in entries(jobs) {
                let element = element.dereference();
                let bad = || {
                    let key = key.long().map(|i| i.to_string()).or_else(|| key.str().map(|k| format!("'{k}'")));
                    ExtError::Type(format!(
                        "think\\queue\\native\\RedisQueue::bulk(): Argument #1 ($jobs) element {} must be a job name string or an array [string $job, mixed $data, array $meta = []], {} given",
                        key.unwrap_or_default(),
                        type_name(element)
                    ))
                };
                if let Some(name) = element.zend_str() {
                    let source = match (data.zval(), &shared) {
                        (None, _) => DataSource::Omitted,
                        (Some(_), Some(v)) => DataSource::Value(v),
                        (Some(z), None) => {
                            let new = s.new_job(name.as_bytes(), DataSource::Zval(z), None)?;
                            shared = Some(new.data.clone());
                            new_jobs.push(new);
                            continue;
                        }
                    };
                    new_jobs.push(s.new_job(name.as_bytes(), source, None)?);
                } else if let Some(parts) = element.array() {
                    let name = parts.get_index(0).and_then(|z| z.zend_str()).ok_or_else(bad)?;
                    let meta = match parts.get_index(2).map(Zval::dereference) {
                        None => None,
                        Some(m) if m.is_null() => None,
                        Some(m) => Some(m.array().ok_or_else(bad)?),
                    };
                    let source = match parts.get_index(1) {
                        Some(z) => DataSource::Zval(z),
                        None => DataSource::Omitted,
                    };
                    new_jobs.push(s.new_job(name.as_bytes(), source, meta)?);
                } else {
                    return Err(bad());
                }
            }
            Ok(s.queue().bulk(&new_jobs, queue.as_deref())?)
        })
    }

    /// Takes the next job (moving due delayed jobs and expired reservations first) and reserves
    /// it, atomically. Null when nothing is ready. With `$block` > 0, waits up to that many
    /// seconds for a job (think-queue 3's `block_for`), waking as soon as one is pushed or
    /// becomes due, in slices of at most one second.
    #[php(defaults(block = 0.0))]
    pub fn pop(&mut self, queue: Option<String>, block: f64) -> PhpResult<Option<ReservedJob>> {
        self.run(|s| {
            if !block.is_finite() || !(0.0..=MAX_BLOCK_SECONDS).contains(&block) {
                return Err(ExtError::Value(format!(
                    "think\\queue\\native\\RedisQueue::pop(): Argument #2 ($block) must be between 0 and {MAX_BLOCK_SECONDS}"
                )));
            }
            let job = if block > 0.0 {
                s.queue()
                    .pop_blocking(queue.as_deref(), std::time::Duration::from_secs_f64(block))?
            } else {
                s.queue().pop(queue.as_deref())?
            };
            Ok(job.map(ReservedJob::new))
        })
    }

    /// Removes the job's reservation (it is done). False when it was no longer reserved.
    pub fn delete_reserved(&mut self, job: &ReservedJob) -> PhpResult<bool> {
        self.run(|s| {
            s.check_dialect(job)?;
            Ok(s.queue().delete_reserved(&job.job)?)
        })
    }

    /// Acknowledges the job written behind: its reservation is removed with this queue's next
    /// command in the same round trip (a worker's next `pop()` carries it), or at `close()` /
    /// destruction at the latest. Other clients see it reserved until then; if the process is
    /// killed first, the job comes back after `retry_after`, as after a crash before `delete`.
    pub fn ack(&mut self, job: &ReservedJob) -> PhpResult<()> {
        self.run(|s| {
            s.check_dialect(job)?;
            Ok(s.queue().ack(&job.job)?)
        })
    }

    /// Counts the job as failed in the metrics instead of processed (think-queue deletes a failed
    /// job first, then calls its failed hook); nothing else changes.
    pub fn mark_failed(&mut self, job: &ReservedJob) -> PhpResult<()> {
        self.run(|s| {
            s.check_dialect(job)?;
            s.queue().mark_failed(&job.job);
            Ok(())
        })
    }

    /// Sends the acknowledgements `ack()` holds back now, and the metrics tally (normally sent
    /// with a pop at most once a second). Returns how many acknowledgements were sent.
    pub fn flush(&mut self) -> PhpResult<i64> {
        self.run(|s| {
            let n = s.q.pending_acks();
            s.queue().flush_acks()?;
            s.queue().flush_metrics()?;
            Ok(i64::try_from(n).unwrap_or(i64::MAX))
        })
    }

    /// Moves a reserved job whose payload cannot be processed (not JSON, no `attempts`, no string
    /// `job`) to the queue's dead-letter list `<ready>:dead`, atomically: neither lost nor handed
    /// out again. False when it was no longer reserved.
    pub fn bury(&mut self, job: &ReservedJob) -> PhpResult<bool> {
        self.run(|s| {
            s.check_dialect(job)?;
            Ok(s.queue().bury(&job.job)?)
        })
    }

    /// Moves the reserved job to the delayed set, due in `$delay` seconds, atomically. False,
    /// adding nothing, when it was no longer reserved.
    #[php(defaults(delay = 0))]
    pub fn release(&mut self, job: &ReservedJob, delay: i64) -> PhpResult<bool> {
        self.run(|s| {
            s.check_dialect(job)?;
            Ok(s.queue().release(&job.job, delay)?)
        })
    }

    /// Jobs in the queue: ready + delayed + reserved.
    pub fn size(&mut self, queue: Option<String>) -> PhpResult<i64> {
        self.run(|s| Ok(count(s.queue().size(queue.as_deref())?)))
    }

    /// `['ready' => n, 'delayed' => n, 'reserved' => n]`.
    pub fn sizes(&mut self, queue: Option<String>) -> PhpResult<ZBox<ZendHashTable>> {
        self.run(|s| {
            let n = s.queue().sizes(queue.as_deref())?;
            assoc(vec![
                ("ready", count(n.ready)),
                ("delayed", count(n.delayed)),
                ("reserved", count(n.reserved)),
            ])
        })
    }

    /// Moves due delayed jobs and expired reservations to the ready list now (one batch of
    /// each). Returns `['delayed' => moved, 'reserved' => moved]`.
    pub fn migrate(&mut self, queue: Option<String>) -> PhpResult<ZBox<ZendHashTable>> {
        self.run(|s| {
            let (d, r) = s.queue().migrate(queue.as_deref())?;
            assoc(vec![("delayed", count(d)), ("reserved", count(r))])
        })
    }

    /// The Redis keys of the queue: `['ready' => ..., 'delayed' => ..., 'reserved' => ...]`.
    pub fn keys(&mut self, queue: Option<String>) -> PhpResult<ZBox<ZendHashTable>> {
        self.run(|s| {
            let k = s.q.keys(queue.as_deref());
            assoc(vec![
                ("ready", k.ready),
                ("delayed", k.delayed),
                ("reserved", k.reserved),
                ("dead", k.dead),
            ])
        })
    }

    /// Sends PING. True, or throws.
    pub fn ping(&mut self) -> PhpResult<bool> {
        self.run(|s| {
            s.queue().ping()?;
            Ok(true)
        })
    }

    /// Drops the connection (a persistent one goes back to the pool); the next call reconnects.
    pub fn close(&mut self) -> PhpResult<()> {
        self.run(|s| {
            s.release_connection();
            Ok(())
        })
    }
}

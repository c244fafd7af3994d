//! A job taken from a queue and reserved for this worker.
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::json::{self, Value};
use crate::payload::{self, field};

/// A popped job: the bytes that were in the ready list (`raw`), the member recorded in the
/// reserved set (`reserved`, which `delete`/`release` remove), and lazily decoded fields.
#[derive(Debug)]
pub struct ReservedJob {
    queue: String,
    dialect: Dialect,
    raw: Vec<u8>,
    reserved: Vec<u8>,
    decoded: OnceLock<std::result::Result<Value, String>>,
    /// when it was popped (run time is measured from here)
    taken: Instant,
    /// unix milliseconds of the pop (wait time is measured up to here)
    taken_ms: i64,
    /// the outcome recorded for its metrics (0: none yet; see `metrics::Outcome::code`)
    outcome: AtomicU8,
}

impl ReservedJob {
    pub(crate) fn new(queue: String, dialect: Dialect, raw: Vec<u8>, reserved: Vec<u8>) -> ReservedJob {
        ReservedJob {
            queue,
            dialect,
            raw,
            reserved,
            decoded: OnceLock::new(),
            taken: Instant::now(),
            taken_ms: crate::clock::unix_now_ms(),
            outcome: AtomicU8::new(0),
        }
    }

    /// How long since it was popped.
    pub fn running_for(&self) -> Duration {
        self.taken.elapsed()
    }

    /// How long it waited between becoming available and the pop, when known: on its first
    /// attempt, for a job whose id carries an availability stamp (made by a native producer; see
    /// the metrics module).
    pub fn waited(&self) -> Option<Duration> {
        if !matches!(self.attempts(), Ok(1)) {
            return None;
        }
        let id = self.id().ok()??;
        let at = crate::id::available_at(&id, self.taken_ms)?;
        Some(Duration::from_millis(u64::try_from(self.taken_ms - at).unwrap_or(0)))
    }

    pub(crate) fn recorded_outcome(&self) -> Option<crate::metrics::Outcome> {
        crate::metrics::Outcome::from_code(self.outcome.load(Ordering::Relaxed))
    }

    pub(crate) fn set_recorded_outcome(&self, o: crate::metrics::Outcome) {
        self.outcome.store(o.code(), Ordering::Relaxed);
    }

    /// A payload as it is stored in one of a queue's keys (ready, delayed, reserved or dead), to
    /// read its fields without taking it (`tqn peek`): raw and reserved bytes are the same.
    pub fn stored(queue: &str, dialect: Dialect, bytes: Vec<u8>) -> ReservedJob {
        ReservedJob::new(queue.to_owned(), dialect, bytes.clone(), bytes)
    }

    /// The logical queue name it was popped from.
    pub fn queue(&self) -> &str {
        &self.queue
    }

    /// The dialect it was popped with.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// think-queue's `getRawBody()`: the bytes that were in the ready list.
    pub fn raw_body(&self) -> &[u8] {
        &self.raw
    }

    /// The exact member of the reserved set that stands for this job.
    pub fn reserved_body(&self) -> &[u8] {
        &self.reserved
    }

    /// The decoded payload (`json_decode($raw, true)`), or a malformed-payload error.
    pub fn payload(&self) -> Result<&Value> {
        let decoded = self.decoded.get_or_init(|| match json::decode(&self.raw) {
            Ok(v @ Value::Array(_)) => Ok(v),
            Ok(_) => Err("the payload is not a JSON object".to_owned()),
            Err(e) => Err(format!("the payload is not valid JSON ({e})")),
        });
        decoded.as_ref().map_err(|reason| Error::malformed(&self.queue, reason.clone()))
    }

    fn field(&self, name: &str) -> Result<Option<&Value>> {
        Ok(self.payload()?.get(name))
    }

    /// The `attempts` field as the raw payload stores it (think-queue's [`attempts`](Self::attempts)
    /// adds 1 to it in v3).
    pub fn stored_attempts(&self) -> Result<i64> {
        if let Some((_, n)) = payload::trailing_attempts(&self.raw) {
            return Ok(n);
        }
        match self.field(field::ATTEMPTS)? {
            Some(Value::Int(n)) => Ok(*n),
            Some(Value::Float(f)) if f.fract() == 0.0 && f.abs() < 1e15 => Ok(*f as i64),
            Some(_) => Err(Error::malformed(&self.queue, "`attempts` is not an integer")),
            None => Err(Error::malformed(&self.queue, "the payload has no `attempts`")),
        }
    }

    /// think-queue's `attempts()`: v1 the payload's value (1 on the first run), v3 the payload's
    /// value + 1 (also 1 on the first run).
    pub fn attempts(&self) -> Result<i64> {
        let n = self.stored_attempts()?;
        Ok(match self.dialect {
            Dialect::V1 => n,
            Dialect::V3 => n.saturating_add(1),
        })
    }

    /// The member `release()` writes into the delayed set: v1 the raw payload with
    /// `attempts()+1`, v3 the reserved copy (whose attempts is already +1).
    pub fn released_body(&self) -> Result<Vec<u8>> {
        match self.dialect {
            Dialect::V1 => {
                let next = self.attempts()?.saturating_add(1);
                payload::set_attempts(&self.raw, next).map_err(|reason| Error::malformed(&self.queue, reason))
            }
            Dialect::V3 => Ok(self.reserved.clone()),
        }
    }

    fn string_field(&self, name: &str) -> Result<Option<String>> {
        match self.field(name)? {
            Some(Value::Str(s)) => Ok(Some(String::from_utf8_lossy(s).into_owned())),
            Some(Value::Null) | None => Ok(None),
            Some(_) => Err(Error::malformed(&self.queue, format!("`{name}` is not a string"))),
        }
    }

    /// `getJobId()`: the payload's `id`.
    pub fn id(&self) -> Result<Option<String>> {
        self.string_field(field::ID)
    }

    /// `getName()`: the payload's `job` (handler name). A missing or non-string `job` is malformed.
    pub fn name(&self) -> Result<String> {
        match self.string_field(field::JOB)? {
            Some(n) => Ok(n),
            None => Err(Error::malformed(&self.queue, "the payload has no `job`")),
        }
    }

    /// The payload's `data` (`Value::Null` when absent).
    pub fn data(&self) -> Result<&Value> {
        static NULL: Value = Value::Null;
        Ok(self.field(field::DATA)?.unwrap_or(&NULL))
    }

    /// v3 `maxTries()`, `None` when absent or null.
    pub fn max_tries(&self) -> Result<Option<i64>> {
        self.int_field(field::MAX_TRIES)
    }

    /// v3 `timeout()`, `None` when absent or null.
    pub fn timeout(&self) -> Result<Option<i64>> {
        self.int_field(field::TIMEOUT)
    }

    /// v3 `timeoutAt()`, `None` when absent or null.
    pub fn timeout_at(&self) -> Result<Option<i64>> {
        self.int_field(field::TIMEOUT_AT)
    }

    fn int_field(&self, name: &str) -> Result<Option<i64>> {
        match self.field(name)? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Int(n)) => Ok(Some(*n)),
            Some(Value::Float(f)) if f.is_finite() => Ok(Some(*f as i64)),
            Some(_) => Err(Error::malformed(&self.queue, format!("`{name}` is not a number"))),
        }
    }
}

//! Typed job data: producers hand over any `serde::Serialize` value, written as PHP's
//! `json_encode` writes the equivalent PHP value (see [`to_value`] for the mapping).
#![forbid(unsafe_code)]

use serde::Serialize;

use crate::error::Result;
use crate::json::{to_value, Value};
use crate::payload::NewJob;
use crate::queue::{Delay, RedisQueue};

impl NewJob {
    /// A plain job whose data is `data` turned into its PHP value by [`to_value`]: the bytes a
    /// PHP producer writes with `Queue::push($job, $data)` for the equivalent PHP array.
    ///
    /// ```
    /// use serde::Serialize;
    /// use think_queue_native::{build_payload, Dialect, NewJob};
    ///
    /// #[derive(Serialize)]
    /// struct SendSms { mobile: String, codes: Vec<u32> }
    ///
    /// let job = NewJob::serialize("app\\job\\SendSms", &SendSms { mobile: "13800000000".into(), codes: vec![1, 2] })?;
    /// let bytes = build_payload(Dialect::V3, &job, "ID")?;
    /// assert_eq!(
    ///     String::from_utf8_lossy(&bytes),
    ///     r#"{"job":"app\\job\\SendSms","maxTries":null,"timeout":null,"data":{"mobile":"13800000000","codes":[1,2]},"id":"ID","attempts":0}"#
    /// );
    /// # Ok::<(), think_queue_native::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Payload`](crate::Error::Payload) for `NaN`/`INF` or nesting beyond PHP's limit,
    /// [`Error::Serialize`](crate::Error::Serialize) when the type's `Serialize` fails or a map
    /// key cannot be a PHP array key.
    pub fn serialize<T: Serialize + ?Sized>(job: &str, data: &T) -> Result<NewJob> {
        Ok(NewJob::new(Value::from(job), to_value(data)?))
    }
}

impl RedisQueue {
    /// `push($job, $data, $queue)` with typed data ([`NewJob::serialize`]). Returns the job id.
    ///
    /// # Errors
    ///
    /// As [`NewJob::serialize`] (nothing is written), and as [`RedisQueue::push`].
    pub fn push_serialize<T: Serialize + ?Sized>(&mut self, job: &str, data: &T, queue: Option<&str>) -> Result<String> {
        self.push(&NewJob::serialize(job, data)?, queue)
    }

    /// `later($delay, $job, $data, $queue)` with typed data. Returns the job id.
    ///
    /// # Errors
    ///
    /// As [`NewJob::serialize`] (nothing is written), and as [`RedisQueue::later`].
    pub fn later_serialize<T: Serialize + ?Sized>(&mut self, delay: Delay, job: &str, data: &T, queue: Option<&str>) -> Result<String> {
        self.later(delay, &NewJob::serialize(job, data)?, queue)
    }

    /// `bulk` of one job name with typed data items, in order: every payload is built first (one
    /// bad item fails the call and nothing is written), then pipelined. Returns the ids in order.
    ///
    /// # Errors
    ///
    /// As [`NewJob::serialize`] (nothing is written), and as [`RedisQueue::bulk`].
    pub fn bulk_serialize<T: Serialize>(&mut self, job: &str, items: &[T], queue: Option<&str>) -> Result<Vec<String>> {
        let jobs = items.iter().map(|item| NewJob::serialize(job, item)).collect::<Result<Vec<_>>>()?;
        self.bulk(&jobs, queue)
    }
}

//! `think\queue\native\ReservedJob`: a job `RedisQueue::pop()` reserved; handed back to
//! `deleteReserved()` / `release()`. Not constructible from PHP.

use ext_php_rs::binary::Binary;
use ext_php_rs::boxed::ZBox;
use ext_php_rs::prelude::*;
use ext_php_rs::types::{ZendHashTable, Zval};

use super::convert::{to_array, to_zval};
use super::guard;
use crate::ReservedJob as CoreJob;

/// A reserved job: the raw payload that was in the ready list, the member recorded in the
/// reserved set, and its decoded fields. Methods that need the payload throw
/// `MalformedPayloadException` when it is not what think-queue writes.
#[allow(unsafe_code)]
#[php_class]
#[php(name = "think\\queue\\native\\ReservedJob")]
#[php(flags = ext_php_rs::flags::ClassFlags::Final)]
pub struct ReservedJob {
    pub(crate) job: CoreJob,
}

impl ReservedJob {
    pub(crate) fn new(job: CoreJob) -> ReservedJob {
        ReservedJob { job }
    }
}

#[allow(unsafe_code)]
#[php_impl]
impl ReservedJob {
    /// The logical queue name it was popped from.
    pub fn get_queue(&self) -> PhpResult<String> {
        Ok(guard(|| Ok(self.job.queue().to_owned()))?)
    }

    /// The bytes that were in the ready list (think-queue's `getRawBody()`).
    pub fn get_raw_body(&self) -> PhpResult<Binary<u8>> {
        Ok(guard(|| Ok(Binary::from(self.job.raw_body().to_vec())))?)
    }

    /// The member of the reserved set that stands for this job (v3: the payload with attempts+1).
    pub fn get_reserved_body(&self) -> PhpResult<Binary<u8>> {
        Ok(guard(|| Ok(Binary::from(self.job.reserved_body().to_vec())))?)
    }

    /// think-queue's `attempts()`: 1 on the first run, in both dialects.
    pub fn attempts(&self) -> PhpResult<i64> {
        Ok(guard(|| Ok(self.job.attempts()?))?)
    }

    /// The payload's `id`, or null.
    pub fn get_job_id(&self) -> PhpResult<Option<String>> {
        Ok(guard(|| Ok(self.job.id()?))?)
    }

    /// The payload's `job` (handler name).
    pub fn get_name(&self) -> PhpResult<String> {
        Ok(guard(|| Ok(self.job.name()?))?)
    }

    /// The payload's `data`, decoded like `json_decode($raw, true)`.
    pub fn get_data(&self) -> PhpResult<Zval> {
        Ok(guard(|| to_zval(self.job.data()?))?)
    }

    /// The whole payload, decoded like `json_decode($raw, true)`.
    pub fn payload(&self) -> PhpResult<ZBox<ZendHashTable>> {
        Ok(guard(|| to_array(self.job.payload()?))?)
    }

    /// v3 `maxTries`, or null.
    pub fn max_tries(&self) -> PhpResult<Option<i64>> {
        Ok(guard(|| Ok(self.job.max_tries()?))?)
    }

    /// v3 `timeout`, or null.
    pub fn timeout(&self) -> PhpResult<Option<i64>> {
        Ok(guard(|| Ok(self.job.timeout()?))?)
    }

    /// v3 `timeoutAt`, or null.
    pub fn timeout_at(&self) -> PhpResult<Option<i64>> {
        Ok(guard(|| Ok(self.job.timeout_at()?))?)
    }
}

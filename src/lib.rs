//! # think-queue-native
//!
//! A native core for ThinkPHP's queue package, think-queue, over Redis: the same keys, the same
//! payload bytes and the same attempts rules as the stock PHP connector, with every queue
//! operation done atomically in Redis (Lua), so no crash can lose a job between pop and
//! reservation. Usable directly from Rust services and, with the `php` feature, as a PHP
//! extension that stock think-queue workers load.
//!
//! ## Map
//! - [`Dialect`]: which think-queue generation's wire to speak (`V1` = 1.x/2.x, `V3` = 3.x), and
//!   its [`QueueKeys`].
//! - [`Value`], [`encode`], [`decode`], [`normalise`]: a PHP value model and a JSON codec that
//!   writes exactly what PHP's `json_encode` writes and reads as `json_decode($s, true)` does.
//! - [`NewJob`], [`build_payload`]: payload bytes as think-queue builds them.
//! - [`ConnectionOptions`], [`QueueOptions`]: think-queue's config names and defaults.
//! - [`RedisQueue`]: push, push_raw, later, bulk, pop, delete_reserved, release, size, migrate.
//! - [`ReservedJob`]: what pop returns: raw body, reserved member, attempts, id, name, data.
//! - [`to_value`], [`NewJob::serialize`], [`RedisQueue::push_serialize`] (`later_serialize`,
//!   `bulk_serialize`): job data from any `serde::Serialize` type, written as PHP's `json_encode`
//!   writes the equivalent PHP value.
//! - [`Worker`], [`JobContext`], [`Handler`]: consume jobs with Rust handlers per job name, with
//!   think-queue's attempts/tries/release/failed rules per generation, several queues in priority
//!   order, N threads, graceful shutdown on SIGTERM/SIGINT.
//! - [`Error`]: the one error type.
//!
//! The `tqn` binary (src/bin/tqn/, feature `cli`) is the operator's CLI over the same queues; it is not part of
//! this API.
//!
//! ## Example
//! ```no_run
//! use think_queue_native::{ConnectionOptions, Dialect, NewJob, QueueOptions, RedisQueue, Value};
//!
//! # fn main() -> think_queue_native::Result<()> {
//! let conn = ConnectionOptions::from_url("redis://127.0.0.1:6379/0")?;
//! let mut queue = RedisQueue::connect(conn, QueueOptions::new(Dialect::V3))?;
//! let data = Value::map(vec![("mobile", Value::from("13800000000"))]);
//! let id = queue.push(&NewJob::new("app\\job\\SendSms", data), Some("sms"))?;
//! if let Some(job) = queue.pop(Some("sms"))? {
//!     assert_eq!(job.id()?.as_deref(), Some(id.as_str()));
//!     assert_eq!(job.attempts()?, 1);
//!     queue.delete_reserved(&job)?;
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Typed data, as a PHP producer would write it:
//! ```
//! use serde::Serialize;
//! use think_queue_native::{build_payload, Dialect, NewJob};
//!
//! #[derive(Serialize)]
//! struct Remind { user: u64, channels: Vec<&'static str>, note: Option<String> }
//!
//! let job = NewJob::serialize("app\\job\\Remind", &Remind { user: 7, channels: vec!["sms"], note: None })?;
//! assert_eq!(
//!     build_payload(Dialect::V1, &job, "ID")?,
//!     br#"{"job":"app\\job\\Remind","data":{"user":7,"channels":["sms"],"note":null},"id":"ID","attempts":1}"#
//! );
//! # Ok::<(), think_queue_native::Error>(())
//! ```
// The core is free of unsafe code: every core module file also says `#![forbid(unsafe_code)]`,
// so that stays true with the `php` feature on, where the ext-php-rs macros in `src/ext` expand
// to unsafe code (`src/ext` denies it and allows it item by item, each use documented).
#![cfg_attr(not(feature = "php"), forbid(unsafe_code))]
#![warn(missing_docs)]

#[doc(hidden)]
pub mod adapter;
mod clock;
mod config;
mod connection;
mod dialect;
mod error;
mod id;
mod job;
mod json;
mod lease;
pub mod metrics;
mod payload;
mod php_value;
mod queue;
pub mod registry;
mod scripts;
mod typed;
mod worker;

/// The PHP extension (`think_queue_native.so`): classes in `think\queue\native`, see docs/php-api.md.
#[cfg(feature = "php")]
mod ext;

pub use clock::unix_now;
pub use config::{options_from_config, ConnectionOptions, QueueOptions, SentinelOptions, WaitOptions, DEFAULT_WAIT_TIMEOUT_MS};
pub use dialect::{hash_tag, resolve_queue_name, Dialect, KeyKind, ParsedKey, QueueKeys};
pub use error::{Error, Result};
pub use id::{available_at, new_job_id, new_job_id_at, JOB_ID_LEN};
pub use job::ReservedJob;
pub use json::{
    decode, encode, encode_into, normalise, to_value, DecodeError, EncodeError, Key, SerializeError, Value, MAX_DECODE_NESTING,
    MAX_ENCODE_DEPTH,
};
pub use payload::{build as build_payload, NewJob, CALL_QUEUED_HANDLER};
pub use queue::{Delay, QueueSize, RedisQueue, BLOCK_SLICE, MAX_PENDING_ACKS};
pub use worker::{
    Event, FailReason, FailedJob, FnHandler, Handler, HandlerError, HandlerResult, JobContext, JobInfo, Shutdown, Worker, WorkerStats,
    DEFAULT_IDLE_SLEEP,
};

/// What the `tqn` CLI, the FFI bridge and the tests build on besides the API above: public so that
/// they can, but not a stable API (it changes with those tools). A Rust service needs none of it.
pub mod unstable {
    pub use crate::config::options_summary;
    pub use crate::connection::{DetachedConnection, RedisConnection};
    pub use crate::payload::{payload_id, set_attempts, splice_attempts, trailing_attempts};
    pub use crate::scripts::script_source;
}

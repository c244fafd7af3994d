//! What the two PHP adapters share: the extension (`src/ext`, feature `php`) and the FFI bridge
//! (`ffi/`, a plain C ABI for PHP's FFI). Both only adapt PHP calls to the core; what they must do
//! alike (open a queue from a think-queue config, pool persistent connections, name the
//! exception class of an error) is here, once.
//!
//! Not a stable API: it changes with the adapters.
#![forbid(unsafe_code)]

pub mod pool;

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::{options_from_config, Dialect, Error, RedisQueue, Result, Value};

/// The exception class (in `think\queue\native`) an error becomes in PHP, and its FFI status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// `QueueException`: a Redis error reply, an internal error, anything else
    Queue,
    /// `ConnectionException`: dead Redis, broken connection, timeout
    Connection,
    /// `AuthException` (a ConnectionException): wrong password or user
    Auth,
    /// `PayloadException`: data json_encode refuses
    Payload,
    /// `MalformedPayloadException`: a payload in Redis that is not what think-queue writes
    Malformed,
    /// `ConfigException`: a bad option value
    Config,
}

impl ErrorClass {
    /// The class of a core error, by kind.
    pub fn of(e: &Error) -> ErrorClass {
        if e.is_auth() {
            ErrorClass::Auth
        } else if e.is_connection() {
            ErrorClass::Connection
        } else if e.is_payload() {
            ErrorClass::Payload
        } else if e.is_malformed() {
            ErrorClass::Malformed
        } else if e.is_config() {
            ErrorClass::Config
        } else {
            // a Redis error reply (WRONGTYPE, OOM, script error), an internal error, anything added later
            ErrorClass::Queue
        }
    }

    /// The PHP class name.
    pub fn php_class(self) -> &'static str {
        match self {
            ErrorClass::Queue => "think\\queue\\native\\QueueException",
            ErrorClass::Connection => "think\\queue\\native\\ConnectionException",
            ErrorClass::Auth => "think\\queue\\native\\AuthException",
            ErrorClass::Payload => "think\\queue\\native\\PayloadException",
            ErrorClass::Malformed => "think\\queue\\native\\MalformedPayloadException",
            ErrorClass::Config => "think\\queue\\native\\ConfigException",
        }
    }
}

/// A queue opened from a think-queue config the way both adapters open one: options read by the
/// core for `generation`; a persistent one borrows an idle pooled connection of the same
/// configuration before it opens a new one. Returns the queue and whether it is persistent.
pub fn open_queue(entries: &[(String, Value)], generation: Option<Dialect>) -> Result<(RedisQueue, bool)> {
    let (conn, opts) = options_from_config(entries.iter().map(|(k, v)| (k.as_str(), v)), generation)?;
    let persistent = conn.persistent;
    let q = match persistent.then(|| pool::borrow(&conn)).flatten() {
        Some(idle) => {
            let mut q = RedisQueue::lazy(conn.clone(), opts.clone())?;
            match q.attach_connection(idle) {
                None => q,
                Some(_refused) => RedisQueue::connect(conn, opts)?,
            }
        }
        None => RedisQueue::connect(conn, opts)?,
    };
    Ok((q, persistent))
}

/// Before a call: a persistent queue that gave its connection back (`close()`) borrows an idle
/// one again before it would open a new one.
pub fn reattach(q: &mut RedisQueue, persistent: bool) {
    if persistent && !q.is_connected() {
        if let Some(idle) = pool::borrow(q.connection_options()) {
            if let Some(refused) = q.attach_connection(idle) {
                pool::give_back(refused);
            }
        }
    }
}

/// `close()` / destruction: sends held-back acknowledgements (best effort: if Redis is
/// unreachable they stay held and the core tries again when the queue is dropped), then gives a
/// persistent connection back to the pool or closes it.
pub fn release(q: &mut RedisQueue, persistent: bool) {
    let _ = q.flush_acks();
    if persistent {
        if let Some(conn) = q.detach_connection() {
            pool::give_back(conn);
        }
    } else {
        q.disconnect();
    }
}

/// The generation argument of the adapters: `'v1'` (1.x/2.x) or `'v3'` (and their aliases).
pub fn parse_generation(text: &str) -> Option<Dialect> {
    Dialect::parse(text)
}

thread_local! {
    /// Where the last panic of this thread happened, recorded by the quiet hook.
    static PANIC_AT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs a panic hook that prints nothing (a PHP process's stderr is the user's) and remembers
/// where the panic happened for [`catch_panic`]. The hook is this library's own: a cdylib has its
/// own copy of std, so other Rust code in the process keeps its hook.
pub fn install_quiet_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
        let _ = PANIC_AT.try_with(|slot| {
            if let Ok(mut slot) = slot.try_borrow_mut() {
                *slot = location;
            }
        });
    }));
}

/// Runs `body`; a panic (a bug) becomes `Err(message)`, saying where and asking for a report.
/// Both adapters run every call from PHP through this, so no panic crosses into PHP.
pub fn catch_panic<T>(body: impl FnOnce() -> T) -> std::result::Result<T, String> {
    catch_unwind(AssertUnwindSafe(body)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".into());
        let location = PANIC_AT
            .try_with(|slot| slot.try_borrow_mut().ok().and_then(|mut s| s.take()))
            .ok()
            .flatten();
        match location {
            Some(at) => format!("{message} (at {at}; this is a bug in think-queue-native, please report it)"),
            None => format!("{message} (this is a bug in think-queue-native, please report it)"),
        }
    })
}

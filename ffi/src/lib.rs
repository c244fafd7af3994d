//! `libthink_queue_native_ffi.so`: the C ABI of `think_queue_native_ffi.h` over the Rust core.
//!
//! A second adapter next to the PHP extension: it only turns (pointer, length) arguments into
//! core calls and core results into status codes, owned byte buffers and borrowed views. What
//! a config means, key names, payload bytes and the exception class of an error are the core's
//! (`think_queue_native` and its `adapter` module, shared with the extension).
//!
//! # Safety
//! Every exported function is `unsafe extern "C"`: the caller promises what C callers always
//! promise. A `(ptr, len)` pair is either `ptr == NULL` (where the header allows it; `len` is
//! then ignored) or `len` readable bytes that stay unchanged during the call; out-pointers are
//! NULL or point to writable memory of their type; handles are NULL or come from this library,
//! are not freed yet and are used by one thread at a time. Nothing else is assumed: bad bytes,
//! bad JSON, bad UTF-8 and NULLs where something is required are reported as status codes.
#![deny(unsafe_op_in_unsafe_fn)]

use std::cell::RefCell;
use std::sync::Once;
use std::time::Duration;

use think_queue_native::adapter::{self, ErrorClass};
use think_queue_native::unstable::{options_summary, payload_id};
use think_queue_native::{decode, Delay, Error, Key, NewJob, RedisQueue, ReservedJob, Value};

/// The ABI revision (`tqn_abi_version()`); bumped whenever a signature or struct changes.
pub const ABI_VERSION: u32 = 2;

/// Status codes (`enum tqn_status`).
pub mod status {
    /// success
    pub const OK: i32 = 0;
    /// QueueException
    pub const QUEUE: i32 = 1;
    /// ConnectionException
    pub const CONNECTION: i32 = 2;
    /// AuthException
    pub const AUTH: i32 = 3;
    /// PayloadException
    pub const PAYLOAD: i32 = 4;
    /// MalformedPayloadException
    pub const MALFORMED: i32 = 5;
    /// ConfigException
    pub const CONFIG: i32 = 6;
    /// \ValueError
    pub const VALUE: i32 = 7;
    /// \TypeError
    pub const TYPE: i32 = 8;
    /// internal error (a caught panic)
    pub const INTERNAL: i32 = 9;
}

/// Longest wait a pop may ask for (one day), as the extension.
const MAX_BLOCK_SECONDS: f64 = 86_400.0;

/// A failed call: status code and message.
struct Fail(i32, String);

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        let code = match ErrorClass::of(&e) {
            ErrorClass::Queue => status::QUEUE,
            ErrorClass::Connection => status::CONNECTION,
            ErrorClass::Auth => status::AUTH,
            ErrorClass::Payload => status::PAYLOAD,
            ErrorClass::Malformed => status::MALFORMED,
            ErrorClass::Config => status::CONFIG,
        };
        Fail(code, e.to_string())
    }
}

fn value_error(message: impl Into<String>) -> Fail {
    Fail(status::VALUE, message.into())
}

type Res<T> = Result<T, Fail>;

thread_local! {
    /// The last failure of this thread: code and message.
    static LAST_ERROR: RefCell<(i32, Vec<u8>)> = const { RefCell::new((0, Vec::new())) };
}

fn set_last_error(code: i32, message: &str) {
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            slot.0 = code;
            slot.1.clear();
            slot.1.extend_from_slice(message.as_bytes());
        }
    });
}

/// Runs the body of an exported function: a failure is stored as the thread's last error and
/// its code returned; a panic becomes `TQN_E_INTERNAL` (this library's panic hook prints nothing:
/// the message reaches the caller instead of its stderr).
fn call(body: impl FnOnce() -> Res<()>) -> i32 {
    static QUIET: Once = Once::new();
    QUIET.call_once(adapter::install_quiet_panic_hook);
    match adapter::catch_panic(body) {
        Ok(Ok(())) => status::OK,
        Ok(Err(Fail(code, message))) => {
            set_last_error(code, &message);
            code
        }
        Err(message) => {
            set_last_error(status::INTERNAL, &format!("internal error: {message}"));
            status::INTERNAL
        }
    }
}

/// `(ptr, len)` as bytes; `None` for a NULL pointer.
///
/// # Safety
/// See the crate docs: `ptr` is NULL or points to `len` readable bytes.
unsafe fn bytes<'a>(ptr: *const u8, len: usize) -> Option<&'a [u8]> {
    if ptr.is_null() {
        None
    } else {
        // SAFETY: non-null, and the caller promises `len` readable bytes for the call's duration
        Some(unsafe { std::slice::from_raw_parts(ptr, len) })
    }
}

/// A queue name argument: NULL means the default queue; otherwise UTF-8.
///
/// # Safety
/// As [`bytes`].
unsafe fn queue_name<'a>(ptr: *const u8, len: usize) -> Res<Option<&'a str>> {
    // SAFETY: forwarded caller promise
    match unsafe { bytes(ptr, len) } {
        None => Ok(None),
        Some(b) => std::str::from_utf8(b)
            .map(Some)
            .map_err(|_| value_error("the queue name must be UTF-8")),
    }
}

/// A required `(ptr, len)` argument.
///
/// # Safety
/// As [`bytes`].
unsafe fn required<'a>(what: &str, ptr: *const u8, len: usize) -> Res<&'a [u8]> {
    // SAFETY: forwarded caller promise
    unsafe { bytes(ptr, len) }.ok_or_else(|| Fail(status::TYPE, format!("{what} must not be NULL")))
}

/// Writes `value` through an out-pointer that must not be NULL.
///
/// # Safety
/// `out` is NULL or points to writable memory of type `T`.
unsafe fn put<T>(what: &str, out: *mut T, value: T) -> Res<()> {
    if out.is_null() {
        return Err(Fail(status::TYPE, format!("{what} must not be NULL")));
    }
    // SAFETY: non-null and writable per the caller's promise
    unsafe { out.write(value) };
    Ok(())
}

/// Hands owned bytes to the caller (released with `tqn_bytes_free`).
///
/// # Safety
/// As [`put`].
unsafe fn give(what: &str, out: *mut Bytes, data: Vec<u8>) -> Res<()> {
    let boxed = data.into_boxed_slice();
    let len = boxed.len();
    let ptr = Box::into_raw(boxed) as *mut u8;
    // SAFETY: forwarded caller promise
    match unsafe { put(what, out, Bytes { ptr, len }) } {
        Ok(()) => Ok(()),
        Err(e) => {
            // SAFETY: `ptr`/`len` come from the Box made just above and were not handed out
            drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) });
            Err(e)
        }
    }
}

/// `tqn_bytes`.
#[repr(C)]
pub struct Bytes {
    /// start, or NULL
    pub ptr: *mut u8,
    /// length
    pub len: usize,
}

/// `tqn_job_view`.
#[repr(C)]
pub struct JobView {
    raw: *const u8,
    raw_len: usize,
    reserved: *const u8,
    reserved_len: usize,
    queue: *const u8,
    queue_len: usize,
    payload_error: *const u8,
    payload_error_len: usize,
    name: *const u8,
    name_len: usize,
    name_error: *const u8,
    name_error_len: usize,
    attempts: i64,
    attempts_error: *const u8,
    attempts_error_len: usize,
    id: *const u8,
    id_len: usize,
    id_error: *const u8,
    id_error_len: usize,
    dialect: i32,
}

/// `tqn_queue`: a core queue and whether its connection is a pooled persistent one.
pub struct Queue {
    q: RedisQueue,
    persistent: bool,
}

impl Queue {
    fn queue(&mut self) -> &mut RedisQueue {
        adapter::reattach(&mut self.q, self.persistent);
        &mut self.q
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        adapter::release(&mut self.q, self.persistent);
    }
}

/// `tqn_job`: a reserved job and its fields, read once at pop (each `Err` is the
/// MalformedPayloadException message the extension's `ReservedJob` method would throw).
pub struct Job {
    job: ReservedJob,
    payload_error: Option<String>,
    name: Result<String, String>,
    attempts: Result<i64, String>,
    id: Result<Option<String>, String>,
}

impl Job {
    fn new(job: ReservedJob) -> Job {
        let text = |e: Error| e.to_string();
        Job {
            payload_error: job.payload().err().map(text),
            name: job.name().map_err(text),
            attempts: job.attempts().map_err(text),
            id: job.id().map_err(text),
            job,
        }
    }
}

/// A handle argument.
///
/// # Safety
/// `ptr` is NULL or a live handle of type `T` from this library, used by this thread only.
unsafe fn handle<'a, T>(what: &str, ptr: *mut T) -> Res<&'a mut T> {
    // SAFETY: forwarded caller promise
    unsafe { ptr.as_mut() }.ok_or_else(|| Fail(status::TYPE, format!("{what} must not be NULL")))
}

/// A job argument popped by a queue of the same dialect.
///
/// # Safety
/// As [`handle`].
unsafe fn job_of<'a>(q: &Queue, job: *const Job) -> Res<&'a Job> {
    // SAFETY: forwarded caller promise
    let job = unsafe { job.as_ref() }.ok_or_else(|| Fail(status::TYPE, "job must not be NULL".into()))?;
    let (ours, its) = (q.q.dialect(), job.job.dialect());
    if ours != its {
        return Err(value_error(format!(
            "think\\queue\\native\\RedisQueue: the job was popped by a {its} queue, this queue speaks {ours}"
        )));
    }
    Ok(job)
}

fn encode_json(v: &Value) -> Res<Vec<u8>> {
    think_queue_native::encode(v).map_err(|e| Fail(status::INTERNAL, format!("internal error: {e}")))
}

/// The string-keyed entries of a JSON object (a config), as the core's option parser reads them.
fn config_entries(json: &[u8]) -> Res<Vec<(String, Value)>> {
    match decode(json) {
        Ok(Value::Array(items)) => Ok(items
            .into_iter()
            .filter_map(|(k, v)| match k {
                Key::Str(s) => String::from_utf8(s).ok().map(|k| (k, v)),
                Key::Int(_) => None,
            })
            .collect()),
        Ok(_) => Err(Fail(
            status::CONFIG,
            "invalid configuration: the config must be a JSON object".into(),
        )),
        Err(e) => Err(Fail(
            status::CONFIG,
            format!("invalid configuration: the config is not valid JSON: {e}"),
        )),
    }
}

/// The job of one push: plain or object, v3 meta fields from a JSON object, data as JSON.
fn new_job(job: &[u8], data_json: Option<&[u8]>, meta_json: Option<&[u8]>, object: Option<&[u8]>) -> Res<NewJob> {
    let mut new = match object {
        Some(serialized) => NewJob::object(job, serialized, Value::Null, Value::Null, Value::Null),
        None => {
            let mut n = NewJob::new(Value::Str(job.to_vec()), Value::Str(Vec::new()));
            n.data_json = data_json.map(<[u8]>::to_vec);
            n
        }
    };
    if let Some(meta) = meta_json {
        let meta = match decode(meta) {
            Ok(m @ Value::Array(_)) => m,
            Ok(Value::Str(_)) | Ok(Value::Int(_)) | Ok(Value::Null) | Ok(_) => {
                return Err(Fail(status::TYPE, "meta_json must be a JSON object".into()))
            }
            Err(e) => return Err(Fail(status::TYPE, format!("meta_json is not valid JSON: {e}"))),
        };
        if let Some(v) = meta.get("maxTries") {
            new.max_tries = v.clone();
        }
        if let Some(v) = meta.get("timeout") {
            new.timeout = v.clone();
        }
        if let Some(v) = meta.get("timeoutAt") {
            new.timeout_at = Some(v.clone());
        }
    }
    Ok(new)
}

fn delay_of(kind: i32, delay: i64) -> Res<Option<Delay>> {
    match kind {
        0 => Ok(None),
        1 => Ok(Some(Delay::Seconds(delay))),
        2 => Ok(Some(Delay::At(delay))),
        other => Err(value_error(format!(
            "delay_kind must be 0 (now), 1 (seconds) or 2 (at), got {other}"
        ))),
    }
}

/// The fields of `tqn_bulk`'s frames.
fn frames(mut input: &[u8]) -> Res<Vec<[Option<&[u8]>; 4]>> {
    let bad = |what: &str| Fail(status::TYPE, format!("bulk frames: {what}"));
    let mut out = Vec::new();
    while !input.is_empty() {
        let mut fields: [Option<&[u8]>; 4] = [None; 4];
        for field in fields.iter_mut() {
            let (len, rest) = input.split_at_checked(4).ok_or_else(|| bad("truncated length"))?;
            let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]);
            input = rest;
            if len == u32::MAX {
                continue;
            }
            let (bytes, rest) = input
                .split_at_checked(len as usize)
                .ok_or_else(|| bad("a field is longer than the frames"))?;
            *field = Some(bytes);
            input = rest;
        }
        if fields[0].is_none() {
            return Err(bad("a job without a name"));
        }
        out.push(fields);
    }
    Ok(out)
}

// ------------------------------------------------------------------------------------- exports

/// # Safety
/// None needed (no arguments).
#[no_mangle]
pub extern "C" fn tqn_abi_version() -> u32 {
    ABI_VERSION
}

/// # Safety
/// See the crate docs.
#[no_mangle]
pub unsafe extern "C" fn tqn_version(ptr: *mut *const u8, len: *mut usize) {
    const VERSION: &str = env!("CARGO_PKG_VERSION");
    // SAFETY: caller promise on out-pointers; errors (NULL) are ignored here
    let _ = unsafe { put("ptr", ptr, VERSION.as_ptr()) };
    // SAFETY: as above
    let _ = unsafe { put("len", len, VERSION.len()) };
}

/// # Safety
/// See the crate docs.
#[no_mangle]
pub unsafe extern "C" fn tqn_last_error(ptr: *mut *const u8, len: *mut usize) -> i32 {
    LAST_ERROR
        .try_with(|slot| {
            let slot = slot.borrow();
            // SAFETY: caller promise on out-pointers; the message lives in the thread-local until
            // the next failure of this thread
            let _ = unsafe { put("ptr", ptr, slot.1.as_ptr()) };
            // SAFETY: as above
            let _ = unsafe { put("len", len, slot.1.len()) };
            slot.0
        })
        .unwrap_or(status::INTERNAL)
}

/// # Safety
/// See the crate docs: `bytes` is NULL or was filled by this library and not freed yet.
#[no_mangle]
pub unsafe extern "C" fn tqn_bytes_free(bytes: *mut Bytes) {
    // SAFETY: caller promise
    let Some(b) = (unsafe { bytes.as_mut() }) else {
        return;
    };
    if !b.ptr.is_null() {
        // SAFETY: ptr/len come from `give` (a boxed slice) and are released once: reset below
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(b.ptr, b.len)) });
    }
    b.ptr = std::ptr::null_mut();
    b.len = 0;
}

/// # Safety
/// See the crate docs.
#[no_mangle]
pub unsafe extern "C" fn tqn_queue_open(
    config_json: *const u8,
    config_len: usize,
    generation: *const u8,
    generation_len: usize,
    out: *mut *mut Queue,
) -> i32 {
    call(|| {
        // SAFETY (all blocks below): forwarded caller promises, see the crate docs
        let config = unsafe { required("config_json", config_json, config_len) }?;
        let generation = match unsafe { bytes(generation, generation_len) } {
            None => None,
            Some(g) => {
                let text = String::from_utf8_lossy(g);
                Some(adapter::parse_generation(&text).ok_or_else(|| {
                    value_error(format!(
                        "think\\queue\\native\\RedisQueue::__construct(): Argument #2 ($generation) must be 'v1' (think-queue 1.x/2.x) or 'v3' (3.x), '{text}' given"
                    ))
                })?)
            }
        };
        let (q, persistent) = adapter::open_queue(&config_entries(config)?, generation)?;
        let handle = Box::into_raw(Box::new(Queue { q, persistent }));
        unsafe { put("out", out, handle) }.inspect_err(|_| {
            // SAFETY: made just above, never handed out
            drop(unsafe { Box::from_raw(handle) });
        })
    })
}

/// # Safety
/// See the crate docs.
#[no_mangle]
pub unsafe extern "C" fn tqn_queue_close(q: *mut Queue) -> i32 {
    call(|| {
        // SAFETY: caller promise
        let q = unsafe { handle("q", q) }?;
        adapter::release(&mut q.q, q.persistent);
        Ok(())
    })
}

/// # Safety
/// See the crate docs: `q` is NULL or a live queue handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn tqn_queue_free(q: *mut Queue) {
    if q.is_null() {
        return;
    }
    let _ = call(|| {
        // SAFETY: a live handle from tqn_queue_open, freed once (caller promise); Drop releases
        drop(unsafe { Box::from_raw(q) });
        Ok(())
    });
}

/// # Safety
/// See the crate docs.
#[no_mangle]
pub unsafe extern "C" fn tqn_queue_dialect(q: *const Queue) -> i32 {
    // SAFETY: caller promise
    match unsafe { q.as_ref() } {
        Some(q) if q.q.dialect() == think_queue_native::Dialect::V1 => 1,
        Some(_) => 3,
        None => 0,
    }
}

/// # Safety
/// See the crate docs.
#[no_mangle]
pub unsafe extern "C" fn tqn_queue_options(q: *const Queue, json_out: *mut Bytes) -> i32 {
    call(|| {
        // SAFETY: caller promise
        let q = unsafe { q.as_ref() }.ok_or_else(|| Fail(status::TYPE, "q must not be NULL".into()))?;
        let json = encode_json(&options_summary(q.q.connection_options(), q.q.options()))?;
        // SAFETY: caller promise
        unsafe { give("json_out", json_out, json) }
    })
}

/// # Safety
/// See the crate docs.
#[no_mangle]
pub unsafe extern "C" fn tqn_queue_keys(q: *const Queue, queue: *const u8, queue_len: usize, json_out: *mut Bytes) -> i32 {
    call(|| {
        // SAFETY (both): caller promises
        let q = unsafe { q.as_ref() }.ok_or_else(|| Fail(status::TYPE, "q must not be NULL".into()))?;
        let name = unsafe { queue_name(queue, queue_len) }?;
        let k = q.q.keys(name);
        let map = Value::map(vec![
            ("ready", Value::from(k.ready)),
            ("delayed", Value::from(k.delayed)),
            ("reserved", Value::from(k.reserved)),
            ("dead", Value::from(k.dead)),
        ]);
        // SAFETY: caller promise
        unsafe { give("json_out", json_out, encode_json(&map)?) }
    })
}

/// # Safety
/// See the crate docs.
#[no_mangle]
pub unsafe extern "C" fn tqn_ping(q: *mut Queue) -> i32 {
    call(|| {
        // SAFETY: caller promise
        let q = unsafe { handle("q", q) }?;
        Ok(q.queue().ping()?)
    })
}

/// # Safety
/// See the crate docs.
#[no_mangle]
#[allow(clippy::too_many_arguments)] // the C signature: (pointer, length) pairs
pub unsafe extern "C" fn tqn_push(
    q: *mut Queue,
    queue: *const u8,
    queue_len: usize,
    delay_kind: i32,
    delay: i64,
    job: *const u8,
    job_len: usize,
    data_json: *const u8,
    data_len: usize,
    meta_json: *const u8,
    meta_len: usize,
    object: *const u8,
    object_len: usize,
    id_out: *mut Bytes,
) -> i32 {
    call(|| {
        // SAFETY (all blocks): forwarded caller promises
        let q = unsafe { handle("q", q) }?;
        let name = unsafe { queue_name(queue, queue_len) }?;
        let job = unsafe { required("job", job, job_len) }?;
        let new = new_job(
            job,
            unsafe { bytes(data_json, data_len) },
            unsafe { bytes(meta_json, meta_len) },
            unsafe { bytes(object, object_len) },
        )?;
        let id = match delay_of(delay_kind, delay)? {
            None => q.queue().push(&new, name)?,
            Some(d) => q.queue().later(d, &new, name)?,
        };
        unsafe { give("id_out", id_out, id.into_bytes()) }
    })
}

/// # Safety
/// See the crate docs.
#[no_mangle]
pub unsafe extern "C" fn tqn_push_raw(
    q: *mut Queue,
    queue: *const u8,
    queue_len: usize,
    delay_kind: i32,
    delay: i64,
    payload: *const u8,
    payload_len: usize,
    id_out: *mut Bytes,
) -> i32 {
    call(|| {
        // SAFETY (all blocks): forwarded caller promises
        let q = unsafe { handle("q", q) }?;
        let name = unsafe { queue_name(queue, queue_len) }?;
        let payload = unsafe { required("payload", payload, payload_len) }?;
        let id = match delay_of(delay_kind, delay)? {
            None => q.queue().push_raw(payload, name)?,
            Some(d) => {
                q.queue().later_raw(d, payload, name)?;
                payload_id(payload)
            }
        };
        match id {
            Some(id) => unsafe { give("id_out", id_out, id.into_bytes()) },
            None => unsafe {
                put(
                    "id_out",
                    id_out,
                    Bytes {
                        ptr: std::ptr::null_mut(),
                        len: 0,
                    },
                )
            },
        }
    })
}

/// # Safety
/// See the crate docs.
#[no_mangle]
pub unsafe extern "C" fn tqn_bulk(
    q: *mut Queue,
    queue: *const u8,
    queue_len: usize,
    frames_ptr: *const u8,
    frames_len: usize,
    ids_out: *mut Bytes,
) -> i32 {
    call(|| {
        // SAFETY (all blocks): forwarded caller promises
        let q = unsafe { handle("q", q) }?;
        let name = unsafe { queue_name(queue, queue_len) }?;
        let input = unsafe { required("frames", frames_ptr, frames_len) }?;
        let mut jobs = Vec::new();
        for [job, data, meta, object] in frames(input)? {
            jobs.push(new_job(job.unwrap_or_default(), data, meta, object)?);
        }
        let ids = q.queue().bulk(&jobs, name)?;
        let list = Value::list(ids.into_iter().map(Value::from).collect());
        unsafe { give("ids_out", ids_out, encode_json(&list)?) }
    })
}

/// # Safety
/// See the crate docs.
#[no_mangle]
pub unsafe extern "C" fn tqn_pop(q: *mut Queue, queue: *const u8, queue_len: usize, block_seconds: f64, out: *mut *mut Job) -> i32 {
    call(|| {
        // SAFETY (all blocks): forwarded caller promises
        let q = unsafe { handle("q", q) }?;
        let name = unsafe { queue_name(queue, queue_len) }?;
        if out.is_null() {
            return Err(Fail(status::TYPE, "out must not be NULL".into()));
        }
        if !block_seconds.is_finite() || !(0.0..=MAX_BLOCK_SECONDS).contains(&block_seconds) {
            return Err(value_error(format!(
                "think\\queue\\native\\RedisQueue::pop(): Argument #2 ($block) must be between 0 and {MAX_BLOCK_SECONDS}"
            )));
        }
        let job = if block_seconds > 0.0 {
            q.queue().pop_blocking(name, Duration::from_secs_f64(block_seconds))?
        } else {
            q.queue().pop(name)?
        };
        let handle = job.map_or(std::ptr::null_mut(), |j| Box::into_raw(Box::new(Job::new(j))));
        unsafe { put("out", out, handle) }
    })
}

/// # Safety
/// See the crate docs.
#[no_mangle]
pub unsafe extern "C" fn tqn_job_view_get(job: *const Job, out: *mut JobView) -> i32 {
    call(|| {
        // SAFETY: caller promise
        let j = unsafe { job.as_ref() }.ok_or_else(|| Fail(status::TYPE, "job must not be NULL".into()))?;
        let text = |s: Option<&String>| s.map_or((std::ptr::null(), 0), |s| (s.as_ptr(), s.len()));
        let (payload_error, payload_error_len) = text(j.payload_error.as_ref());
        let (name, name_len) = text(j.name.as_ref().ok());
        let (name_error, name_error_len) = text(j.name.as_ref().err());
        let (attempts_error, attempts_error_len) = text(j.attempts.as_ref().err());
        let (id, id_len) = text(j.id.as_ref().ok().and_then(Option::as_ref));
        let (id_error, id_error_len) = text(j.id.as_ref().err());
        let view = JobView {
            raw: j.job.raw_body().as_ptr(),
            raw_len: j.job.raw_body().len(),
            reserved: j.job.reserved_body().as_ptr(),
            reserved_len: j.job.reserved_body().len(),
            queue: j.job.queue().as_ptr(),
            queue_len: j.job.queue().len(),
            payload_error,
            payload_error_len,
            name,
            name_len,
            name_error,
            name_error_len,
            attempts: *j.attempts.as_ref().unwrap_or(&0),
            attempts_error,
            attempts_error_len,
            id,
            id_len,
            id_error,
            id_error_len,
            dialect: if j.job.dialect() == think_queue_native::Dialect::V1 { 1 } else { 3 },
        };
        // SAFETY: caller promise
        unsafe { put("out", out, view) }
    })
}

/// # Safety
/// See the crate docs: `job` is NULL or a live job handle, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn tqn_job_free(job: *mut Job) {
    if job.is_null() {
        return;
    }
    let _ = call(|| {
        // SAFETY: a live handle from tqn_pop, freed once (caller promise)
        drop(unsafe { Box::from_raw(job) });
        Ok(())
    });
}

/// # Safety
/// See the crate docs.
#[no_mangle]
pub unsafe extern "C" fn tqn_ack(q: *mut Queue, job: *const Job) -> i32 {
    call(|| {
        // SAFETY (both): caller promises
        let q = unsafe { handle("q", q) }?;
        let job = unsafe { job_of(q, job) }?;
        Ok(q.queue().ack(&job.job)?)
    })
}

/// Counts a job as failed in the metrics (after its delete: think-queue's failed path).
///
/// # Safety
/// See the crate docs.
#[no_mangle]
pub unsafe extern "C" fn tqn_mark_failed(q: *mut Queue, job: *const Job) -> i32 {
    call(|| {
        // SAFETY (both): caller promises
        let q = unsafe { handle("q", q) }?;
        let job = unsafe { job_of(q, job) }?;
        q.queue().mark_failed(&job.job);
        Ok(())
    })
}

/// Runs one reserved-job operation that answers whether it found the reservation.
///
/// # Safety
/// See the crate docs.
unsafe fn job_op(
    q: *mut Queue,
    job: *const Job,
    done: *mut i32,
    op: impl FnOnce(&mut RedisQueue, &ReservedJob) -> Result<bool, Error>,
) -> i32 {
    call(|| {
        // SAFETY (all blocks): caller promises
        let q = unsafe { handle("q", q) }?;
        let job = unsafe { job_of(q, job) }?;
        let found = op(q.queue(), &job.job)?;
        unsafe { put("done", done, i32::from(found)) }
    })
}

/// # Safety
/// See the crate docs.
#[no_mangle]
pub unsafe extern "C" fn tqn_delete_reserved(q: *mut Queue, job: *const Job, done: *mut i32) -> i32 {
    // SAFETY: forwarded caller promises
    unsafe { job_op(q, job, done, |q, j| q.delete_reserved(j)) }
}

/// # Safety
/// See the crate docs.
#[no_mangle]
pub unsafe extern "C" fn tqn_release(q: *mut Queue, job: *const Job, delay: i64, done: *mut i32) -> i32 {
    // SAFETY: forwarded caller promises
    unsafe { job_op(q, job, done, |q, j| q.release(j, delay)) }
}

/// # Safety
/// See the crate docs.
#[no_mangle]
pub unsafe extern "C" fn tqn_bury(q: *mut Queue, job: *const Job, done: *mut i32) -> i32 {
    // SAFETY: forwarded caller promises
    unsafe { job_op(q, job, done, |q, j| q.bury(j)) }
}

/// # Safety
/// See the crate docs.
#[no_mangle]
pub unsafe extern "C" fn tqn_flush(q: *mut Queue, sent: *mut i64) -> i32 {
    call(|| {
        // SAFETY (both): caller promises
        let q = unsafe { handle("q", q) }?;
        let n = q.q.pending_acks();
        q.queue().flush_acks()?;
        q.queue().flush_metrics()?;
        unsafe { put("sent", sent, i64::try_from(n).unwrap_or(i64::MAX)) }
    })
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// # Safety
/// See the crate docs.
#[no_mangle]
pub unsafe extern "C" fn tqn_size(q: *mut Queue, queue: *const u8, queue_len: usize, out: *mut i64) -> i32 {
    call(|| {
        // SAFETY (all blocks): caller promises
        let q = unsafe { handle("q", q) }?;
        let name = unsafe { queue_name(queue, queue_len) }?;
        let n = q.queue().size(name)?;
        unsafe { put("out", out, count(n)) }
    })
}

/// # Safety
/// See the crate docs.
#[no_mangle]
pub unsafe extern "C" fn tqn_sizes(
    q: *mut Queue,
    queue: *const u8,
    queue_len: usize,
    ready: *mut i64,
    delayed: *mut i64,
    reserved: *mut i64,
) -> i32 {
    call(|| {
        // SAFETY (all blocks): caller promises
        let q = unsafe { handle("q", q) }?;
        let name = unsafe { queue_name(queue, queue_len) }?;
        let n = q.queue().sizes(name)?;
        unsafe { put("ready", ready, count(n.ready)) }?;
        unsafe { put("delayed", delayed, count(n.delayed)) }?;
        unsafe { put("reserved", reserved, count(n.reserved)) }
    })
}

/// # Safety
/// See the crate docs.
#[no_mangle]
pub unsafe extern "C" fn tqn_migrate(q: *mut Queue, queue: *const u8, queue_len: usize, delayed: *mut i64, reserved: *mut i64) -> i32 {
    call(|| {
        // SAFETY (all blocks): caller promises
        let q = unsafe { handle("q", q) }?;
        let name = unsafe { queue_name(queue, queue_len) }?;
        let (d, r) = q.queue().migrate(name)?;
        unsafe { put("delayed", delayed, count(d)) }?;
        unsafe { put("reserved", reserved, count(r)) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last_error() -> (i32, String) {
        let (mut ptr, mut len) = (std::ptr::null(), 0usize);
        // SAFETY: valid out-pointers; the message is copied before any other call
        let code = unsafe { tqn_last_error(&mut ptr, &mut len) };
        // SAFETY: ptr/len describe the thread-local message
        let text = unsafe { bytes(ptr, len) }.map(|b| String::from_utf8_lossy(b).into_owned());
        (code, text.unwrap_or_default())
    }

    #[test]
    fn bad_arguments_are_status_codes_with_messages() {
        let mut q: *mut Queue = std::ptr::null_mut();
        // SAFETY: NULL config with a valid out-pointer
        let code = unsafe { tqn_queue_open(std::ptr::null(), 0, std::ptr::null(), 0, &mut q) };
        assert_eq!(
            (code, last_error()),
            (status::TYPE, (status::TYPE, "config_json must not be NULL".to_owned()))
        );
        let bad = b"{nope";
        // SAFETY: valid slices
        let code = unsafe { tqn_queue_open(bad.as_ptr(), bad.len(), std::ptr::null(), 0, &mut q) };
        assert_eq!(code, status::CONFIG);
        assert!(last_error().1.contains("not valid JSON"));
        let cfg = b"{\"port\":\"x\"}";
        let generation = b"v4";
        // SAFETY: valid slices
        let code = unsafe { tqn_queue_open(cfg.as_ptr(), cfg.len(), generation.as_ptr(), generation.len(), &mut q) };
        assert_eq!((code, q.is_null()), (status::VALUE, true));
        assert!(last_error().1.contains("Argument #2 ($generation)"));
        // SAFETY: valid slices
        let code = unsafe { tqn_queue_open(cfg.as_ptr(), cfg.len(), std::ptr::null(), 0, &mut q) };
        assert_eq!(code, status::CONFIG);
        assert!(last_error().1.contains("`port`"));
        // SAFETY: NULL handles are refused, not dereferenced
        assert_eq!(unsafe { tqn_ping(std::ptr::null_mut()) }, status::TYPE);
        // SAFETY: NULL is a no-op
        unsafe { tqn_queue_free(std::ptr::null_mut()) };
        assert_eq!(tqn_abi_version(), ABI_VERSION);
    }

    #[test]
    fn a_panic_is_an_internal_status_with_its_place() {
        let code = call(|| panic!("boom"));
        let (last, message) = last_error();
        assert_eq!((code, last), (status::INTERNAL, status::INTERNAL));
        assert!(message.starts_with("internal error: boom (at ffi/src/lib.rs:"), "{message}");
        assert!(message.ends_with("please report it)"), "{message}");
    }

    #[test]
    fn bulk_frames() {
        let mut input = Vec::new();
        for field in [Some(&b"A"[..]), Some(b"[1]"), None, None] {
            match field {
                Some(b) => {
                    input.extend_from_slice(&(b.len() as u32).to_le_bytes());
                    input.extend_from_slice(b);
                }
                None => input.extend_from_slice(&u32::MAX.to_le_bytes()),
            }
        }
        let parsed = frames(&input).unwrap_or_default();
        assert_eq!(parsed, vec![[Some(&b"A"[..]), Some(&b"[1]"[..]), None, None]]);
        assert!(frames(&input[..input.len() - 1]).is_err());
        assert!(frames(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn meta_and_object_jobs() {
        let job = new_job(
            b"app\\job\\A",
            None,
            Some(br#"{"maxTries":3,"timeoutAt":null}"#),
            Some(b"O:1:\"A\":0:{}"),
        )
        .unwrap_or_else(|_| NewJob::new("x", Value::Null));
        let bytes = think_queue_native::build_payload(think_queue_native::Dialect::V3, &job, "ID").unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            r#"{"job":"think\\queue\\CallQueuedHandler@call","maxTries":3,"timeout":null,"timeoutAt":null,"data":{"commandName":"app\\job\\A","command":"O:1:\"A\":0:{}"},"id":"ID","attempts":0}"#
        );
        assert!(new_job(b"A", None, Some(b"[1"), None).is_err());
    }
}

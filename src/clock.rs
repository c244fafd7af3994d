//! The wall clock, as think-queue reads it (`time()`): whole unix seconds. A leaf module, so the
//! queue, the lease thread and the worker share it without depending on each other.
#![forbid(unsafe_code)]

use std::time::{SystemTime, UNIX_EPOCH};

/// Current unix time in whole seconds, as think-queue's `time()`.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Current unix time with its fraction (for waits until a due time).
pub(crate) fn unix_now_f64() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Current unix time in whole milliseconds.
pub(crate) fn unix_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

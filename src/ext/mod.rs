//! The PHP extension `think_queue_native`: the API of docs/php-api.md.
//!
//! - [`queue`]: `think\queue\native\RedisQueue`; [`job`]: `think\queue\native\ReservedJob`.
//! - [`errors`]: the exception classes and the one mapping from errors to them.
//! - [`convert`]: PHP values ⇄ the core's `Value`; [`args`]: argument types.
//! - persistent connections: the core's `adapter::pool`, shared with the FFI bridge; [`ffi`]: the Zend APIs ext-php-rs does not wrap (the only
//!   hand-written unsafe code).
//!
//! Every PHP-visible function runs its body through [`guard`], so a panic (a bug) becomes a
//! `QueueException("internal error: ...")` instead of ext-php-rs' `\Error("Rust panic: ...")`,
//! and the quiet panic hook installed at startup keeps it off stderr.
//!
//! Unsafe code: the ext-php-rs attribute macros expand to `unsafe` blocks and `#[no_mangle]`
//! exports, so the items carrying them say `#[allow(unsafe_code)]`; nothing else here is unsafe
//! except [`ffi`], whose blocks are documented one by one.
#![deny(unsafe_code)]

mod args;
mod convert;
mod errors;
mod ffi;
mod job;
mod queue;

use std::panic::catch_unwind;

use ext_php_rs::prelude::*;
use ext_php_rs::zend::ModuleEntry;
use ext_php_rs::{info_table_end, info_table_row, info_table_start};

use errors::{ExtError, ExtResult};

/// The module name (`php -m`, `extension_loaded()`).
pub(crate) const MODULE_NAME: &str = "think_queue_native";

/// Runs the body of a PHP-visible function: a panic becomes [`ExtError::Internal`].
pub(crate) fn guard<T>(body: impl FnOnce() -> ExtResult<T>) -> ExtResult<T> {
    crate::adapter::catch_panic(body).unwrap_or_else(|message| Err(ExtError::Internal(message)))
}

/// The crate version.
#[allow(unsafe_code)]
#[php_function]
#[php(name = "think\\queue\\native\\version")]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Test hook: panics when the environment variable `TQN_TEST_HOOKS` is `1` (to prove a panic
/// becomes a `QueueException` whose message starts with "internal error"); otherwise throws
/// `QueueException("test hooks are disabled")`.
#[allow(unsafe_code)]
#[php_function]
#[php(name = "think\\queue\\native\\__test_panic")]
pub fn test_panic() -> PhpResult<()> {
    Ok(guard(|| {
        if std::env::var("TQN_TEST_HOOKS").as_deref() == Ok("1") {
            panic!("test panic requested through think\\queue\\native\\__test_panic()");
        }
        Err(ExtError::Queue("test hooks are disabled".into()))
    })?)
}

/// Module startup: the quiet panic hook, then the exception classes (before the classes ext-php-rs
/// registers after this function).
extern "C" fn startup(_ty: i32, _module_number: i32) -> i32 {
    // a panic must not unwind into PHP's MINIT
    let ok = catch_unwind(|| {
        crate::adapter::install_quiet_panic_hook();
        errors::register_exception_classes().is_ok()
    });
    if matches!(ok, Ok(true)) {
        0 // SUCCESS
    } else {
        -1 // FAILURE: PHP reports "Unable to start think_queue_native module"
    }
}

/// `phpinfo()` / `php -i` section.
extern "C" fn module_info(_module: *mut ModuleEntry) {
    let _ = catch_unwind(|| {
        info_table_start!();
        info_table_row!("think_queue_native support", "enabled");
        info_table_row!("version", env!("CARGO_PKG_VERSION"));
        info_table_row!("idle persistent connections", crate::adapter::pool::idle_count().to_string());
        info_table_end!();
    });
}

#[allow(unsafe_code)]
#[php_module]
pub fn get_module(module: ModuleBuilder) -> ModuleBuilder {
    module
        .name(MODULE_NAME)
        .startup_function(startup)
        .info_function(module_info)
        .class::<job::ReservedJob>()
        .class::<queue::RedisQueue>()
        .function(wrap_function!(version))
        .function(wrap_function!(test_panic))
}

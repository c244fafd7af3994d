//! The extension's exception classes and the one mapping from errors to them.
//!
//! Everything the extension throws goes through [`ExtError`] and its `From<ExtError> for
//! PhpException`: core [`Error`]s by kind (`is_auth`, `is_connection`, ...), PHP argument errors
//! as `\TypeError`/`\ValueError`, and panics as `QueueException("internal error: ...")`. No other
//! code builds a `PhpException`.

use std::cell::RefCell;

use ext_php_rs::builders::ClassBuilder;
use ext_php_rs::exception::PhpException;
use ext_php_rs::zend::{ce, ClassEntry};

use crate::Error;

/// `think\queue\native\QueueException extends \RuntimeException`: base of the family.
pub(crate) const QUEUE_EXCEPTION: &str = "think\\queue\\native\\QueueException";
/// Dead Redis, dropped connection, timeout.
pub(crate) const CONNECTION_EXCEPTION: &str = "think\\queue\\native\\ConnectionException";
/// Wrong password / user (a ConnectionException).
pub(crate) const AUTH_EXCEPTION: &str = "think\\queue\\native\\AuthException";
/// Data json_encode refuses.
pub(crate) const PAYLOAD_EXCEPTION: &str = "think\\queue\\native\\PayloadException";
/// A payload read from Redis is not what think-queue writes.
pub(crate) const MALFORMED_PAYLOAD_EXCEPTION: &str = "think\\queue\\native\\MalformedPayloadException";
/// A bad option value.
pub(crate) const CONFIG_EXCEPTION: &str = "think\\queue\\native\\ConfigException";

/// Why an extension call failed.
#[derive(Debug)]
pub(crate) enum ExtError {
    /// A core error: mapped by kind to the exception classes above.
    Core(Error),
    /// A PHP argument of the wrong type (`\TypeError`).
    Type(String),
    /// A PHP argument of the right type but a bad value (`\ValueError`).
    Value(String),
    /// A panic in our code (a bug): `QueueException("internal error: ...")`.
    Internal(String),
    /// A PHP exception is already pending (user code we called, e.g. `jsonSerialize()`, threw):
    /// it propagates unchanged.
    PhpPending,
    /// A `QueueException` with this message (test hooks).
    Queue(String),
}

/// The extension's result type.
pub(crate) type ExtResult<T> = Result<T, ExtError>;

impl From<Error> for ExtError {
    fn from(e: Error) -> Self {
        ExtError::Core(e)
    }
}

/// Which class a core error becomes (decided in the core's adapter module, shared with the FFI bridge).
fn class_of(e: &Error) -> &'static str {
    crate::adapter::ErrorClass::of(e).php_class()
}

impl From<ExtError> for PhpException {
    fn from(e: ExtError) -> Self {
        let (class, message) = match e {
            ExtError::Core(e) => (find(class_of(&e)), e.to_string()),
            ExtError::Type(m) => (ce::type_error(), m),
            ExtError::Value(m) => (ce::value_error(), m),
            ExtError::Internal(m) => (find(QUEUE_EXCEPTION), format!("internal error: {m}")),
            ExtError::Queue(m) => (find(QUEUE_EXCEPTION), m),
            // `throw()` does nothing while an exception is pending: this one is never seen
            ExtError::PhpPending => (find(QUEUE_EXCEPTION), "a PHP exception is pending".into()),
        };
        PhpException::new(message, 0, class)
    }
}

thread_local! {
    /// Class entries registered at module startup, found again by their name. PHP NTS runs
    /// startup and requests on one thread; a thread without them finds classes through PHP.
    static REGISTERED: RefCell<Vec<&'static ClassEntry>> = const { RefCell::new(Vec::new()) };
}

/// The family, parents first: (name, parent name; `None` = `\RuntimeException`).
const CLASSES: [(&str, Option<&str>); 6] = [
    (QUEUE_EXCEPTION, None),
    (CONNECTION_EXCEPTION, Some(QUEUE_EXCEPTION)),
    (AUTH_EXCEPTION, Some(CONNECTION_EXCEPTION)),
    (PAYLOAD_EXCEPTION, Some(QUEUE_EXCEPTION)),
    (MALFORMED_PAYLOAD_EXCEPTION, Some(QUEUE_EXCEPTION)),
    (CONFIG_EXCEPTION, Some(QUEUE_EXCEPTION)),
];

/// The class entry of one of our exception classes (or `\Exception` if it cannot be found,
/// which would be a bug: they are registered at module startup).
fn find(name: &str) -> &'static ClassEntry {
    REGISTERED
        .try_with(|r| r.borrow().iter().copied().find(|ce| ce.name() == Some(name)))
        .ok()
        .flatten()
        .or_else(|| ClassEntry::try_find(name))
        .unwrap_or_else(ce::exception)
}

/// The registration callback: keeps the entry; [`find`] tells them apart by name.
fn keep(ce: &'static mut ClassEntry, _: ext_php_rs::args::ArgInfoTables) {
    let _ = REGISTERED.try_with(|r| r.borrow_mut().push(ce));
}

/// Parent getters for `ClassBuilder::extends` (plain `fn`s, one per parent).
fn parent_runtime_exception() -> &'static ClassEntry {
    super::ffi::runtime_exception()
}
fn parent_queue_exception() -> &'static ClassEntry {
    find(QUEUE_EXCEPTION)
}
fn parent_connection_exception() -> &'static ClassEntry {
    find(CONNECTION_EXCEPTION)
}

/// Registers the exception classes (module startup). They are plain PHP subclasses of
/// `\RuntimeException` (no Rust object behind them), so they keep file/line/trace, can be
/// constructed and subclassed from PHP.
pub(crate) fn register_exception_classes() -> ext_php_rs::error::Result<()> {
    for (name, parent) in CLASSES {
        let parent: (fn() -> &'static ClassEntry, &'static str) = match parent {
            None => (parent_runtime_exception, "\\RuntimeException"),
            Some(QUEUE_EXCEPTION) => (parent_queue_exception, "QueueException"),
            Some(_) => (parent_connection_exception, "ConnectionException"),
        };
        ClassBuilder::new(name).extends(parent).registration(keep).register()?;
    }
    Ok(())
}

//! redis-rs errors as the crate's [`Error`]: which are credentials, configuration, a broken or
//! demoted connection, or Redis refusing a command; and messages that never carry a password.
//! A leaf: it knows the options (for the passwords and the read timeout) and the error type,
//! nothing else of the connection layer.
#![forbid(unsafe_code)]

use redis::{ErrorKind, RedisError, ServerErrorKind};

use crate::config::ConnectionOptions;
use crate::error::Error;

/// A redis-rs error as ours: `addr` names the server (never with the password).
pub(crate) fn translate(e: RedisError, key: &str, addr: &str, opts: &ConnectionOptions) -> Error {
    let addr = addr.to_owned();
    let detail = describe(&e, opts);
    match e.kind() {
        ErrorKind::AuthenticationFailed => Error::Auth { addr, detail },
        ErrorKind::Server(ServerErrorKind::ResponseError) | ErrorKind::Extension
            if matches!(e.code(), Some("NOAUTH") | Some("WRONGPASS")) || detail.contains("NOAUTH") || detail.contains("WRONGPASS") =>
        {
            Error::Auth { addr, detail }
        }
        ErrorKind::InvalidClientConfig => Error::Config(detail),
        _ if is_broken(&e) || e.is_timeout() => Error::Connection { addr, detail },
        _ if is_readonly(&e) || e.code() == Some("MASTERDOWN") || e.code() == Some("CLUSTERDOWN") => Error::Connection { addr, detail },
        _ => Error::Redis {
            key: key.to_owned(),
            detail,
        },
    }
}

/// The connection cannot be used any more (I/O error, dropped, refused, unrecoverable).
pub(crate) fn is_broken(e: &RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_unrecoverable_error()
}

/// `READONLY You can't write against a read only replica`: the node was demoted.
pub(crate) fn is_readonly(e: &RedisError) -> bool {
    e.kind() == ErrorKind::Server(ServerErrorKind::ReadOnly) || e.code() == Some("READONLY")
}

/// `text` with the configured passwords (data and sentinel) replaced.
pub(crate) fn redact(text: &str, opts: &ConnectionOptions) -> String {
    let mut s = text.to_owned();
    let sentinel = opts.sentinel.as_ref().and_then(|s| s.password.as_deref());
    for p in [opts.password.as_deref(), sentinel].into_iter().flatten().filter(|p| p.len() >= 3) {
        s = s.replace(p, "<redacted>");
    }
    s
}

/// A readable message without the password.
fn describe(e: &RedisError, opts: &ConnectionOptions) -> String {
    let mut s = if e.is_timeout() {
        match opts.read_timeout_duration() {
            Some(t) => format!("timed out (read_timeout {:.3}s): {e}", t.as_secs_f64()),
            None => format!("timed out: {e}"),
        }
    } else {
        e.to_string()
    };
    // "Resource temporarily unavailable (os error 11)" is what a read timeout looks like on Linux
    // (EAGAIN; not "(os error 111)", a refused connection)
    if !e.is_timeout() && s.contains("(os error 11)") {
        s = format!("read timed out ({})", s);
    }
    redact(&s, opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(code: i32) -> RedisError {
        RedisError::from(std::io::Error::from_raw_os_error(code))
    }

    #[test]
    fn describe_names_read_timeouts_only() {
        let opts = ConnectionOptions::default();
        let eagain = describe(&io(11), &opts);
        assert!(eagain.contains("timed out") && !eagain.contains("timed out (timed out"), "{eagain}");
        // ECONNREFUSED is not a timeout
        let refused = describe(&io(111), &opts);
        assert!(!refused.contains("timed out") && refused.contains("os error 111"), "{refused}");
    }

    #[test]
    fn describe_hides_the_password() {
        let opts = ConnectionOptions {
            password: Some("hunter2".into()),
            ..Default::default()
        };
        let e = RedisError::from((ErrorKind::AuthenticationFailed, "bad", "hunter2 rejected".to_owned()));
        assert!(!describe(&e, &opts).contains("hunter2"));
    }
}

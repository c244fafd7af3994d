//! The crate's one error type.
#![forbid(unsafe_code)]

use crate::json::{DecodeError, EncodeError, SerializeError};

/// Everything that can go wrong in a queue operation.
///
/// The `is_*` predicates tell callers (the PHP boundary, the worker loop) what kind of failure
/// it was without matching on variants, so new variants can be added without breaking them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The job data could not be turned into a payload: invalid UTF-8, INF/NAN, nesting deeper
    /// than PHP allows. Nothing was written to Redis. The message is think-queue's own
    /// (`Unable to create payload: Malformed UTF-8 characters, possibly incorrectly encoded`).
    #[error("Unable to create payload: {0}")]
    Payload(#[from] EncodeError),

    /// A `serde::Serialize` value could not become job data (its `Serialize` implementation
    /// failed, or a map key cannot be a PHP array key). Nothing was written. `NaN`/`INF` and
    /// too-deep values are [`Error::Payload`], as for any data.
    #[error("Unable to create payload: {0}")]
    Serialize(String),

    /// The payload would encode, but PHP's `json_decode` could not read it back (nesting of 512
    /// levels), so a PHP worker would lose the job. Refused; nothing was written.
    #[error(
        "Unable to create payload: Maximum stack depth exceeded (the payload would nest {depth} levels; json_decode reads at most {max})"
    )]
    PayloadTooDeep {
        /// nesting the payload would have
        depth: usize,
        /// the deepest nesting PHP's json_decode accepts
        max: usize,
    },

    /// A payload found in Redis (or handed to us) is not what think-queue writes: not JSON, not
    /// an object, no integer `attempts`, a non-string `job`... `reason` says which.
    #[error("malformed payload in queue `{queue}`: {reason}")]
    MalformedPayload {
        /// the logical queue name
        queue: String,
        /// what is wrong with it
        reason: String,
    },

    /// A bad option or argument (unknown URL scheme, port out of range, negative delay...).
    #[error("invalid configuration: {0}")]
    Config(String),

    /// Redis could not be reached, or the connection broke and one reconnect did not help.
    #[error("cannot reach Redis at {addr}: {detail}")]
    Connection {
        /// `host:port` (never the password)
        addr: String,
        /// what the socket said
        detail: String,
    },

    /// AUTH was refused (wrong password or user).
    #[error("Redis at {addr} refused the credentials: {detail}")]
    Auth {
        /// `host:port`
        addr: String,
        /// the server's answer
        detail: String,
    },

    /// A bug on our side (an invariant that did not hold, a panic caught at a language
    /// boundary). Not the caller's fault; please report it.
    #[error("internal error: {0}")]
    Internal(String),

    /// Redis answered a command with an error (WRONGTYPE, OOM, a script error...).
    #[error("Redis error on `{key}`: {detail}")]
    Redis {
        /// the key (or queue) the command was about
        key: String,
        /// the server's error text
        detail: String,
    },
}

impl Error {
    /// The job data or payload was refused before anything was sent to Redis.
    pub fn is_payload(&self) -> bool {
        matches!(self, Error::Payload(_) | Error::PayloadTooDeep { .. } | Error::Serialize(_))
    }

    /// A payload read from Redis is malformed.
    pub fn is_malformed(&self) -> bool {
        matches!(self, Error::MalformedPayload { .. })
    }

    /// Redis is unreachable or the connection broke: retrying later may help.
    pub fn is_connection(&self) -> bool {
        matches!(self, Error::Connection { .. })
    }

    /// Credentials were refused: retrying will not help.
    pub fn is_auth(&self) -> bool {
        matches!(self, Error::Auth { .. })
    }

    /// A bug on our side (see [`Error::Internal`]).
    pub fn is_internal(&self) -> bool {
        matches!(self, Error::Internal(_))
    }

    /// A configuration or argument error.
    pub fn is_config(&self) -> bool {
        matches!(self, Error::Config(_))
    }

    pub(crate) fn malformed(queue: &str, reason: impl Into<String>) -> Error {
        Error::MalformedPayload {
            queue: queue.to_owned(),
            reason: reason.into(),
        }
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::MalformedPayload {
            queue: String::new(),
            reason: format!("not valid JSON: {e}"),
        }
    }
}

impl From<SerializeError> for Error {
    fn from(e: SerializeError) -> Self {
        match e {
            SerializeError::Encode(e) => Error::Payload(e),
            SerializeError::Custom(m) => Error::Serialize(m),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_messages_are_think_queues() {
        // what the PHP extension reports for data json_encode refuses by type
        for (e, msg) in [
            (EncodeError::UnsupportedType, "Unable to create payload: Type is not supported"),
            (
                EncodeError::NonBackedEnum,
                "Unable to create payload: Non-backed enums have no default serialization",
            ),
            (EncodeError::Recursion, "Unable to create payload: Recursion detected"),
        ] {
            let e = Error::from(e);
            assert!(e.is_payload());
            assert_eq!(e.to_string(), msg);
        }
        // typed data: NaN is the encoder's error, a failing Serialize a payload error too
        let e = Error::from(SerializeError::Encode(EncodeError::InfOrNan));
        assert!(matches!(e, Error::Payload(EncodeError::InfOrNan)));
        assert_eq!(e.to_string(), "Unable to create payload: Inf and NaN cannot be JSON encoded");
        let e = Error::from(SerializeError::Custom("bad key".into()));
        assert!(e.is_payload());
        assert_eq!(e.to_string(), "Unable to create payload: bad key");
    }
}

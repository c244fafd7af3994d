//! A PHP-compatible JSON codec.
//!
//! The encoder reproduces, byte for byte, what PHP 8.2 `json_encode($v)`
//! writes with default flags and `serialize_precision = -1`; the decoder
//! reproduces `json_decode($s, true)` (objects become associative arrays).
//! Both exist so that queue payloads written by this crate are identical to
//! those written by PHP's think-queue, and so that payloads written by PHP can
//! be read back with the same semantics.
//!
//! * [`Value`] / [`Key`] model a PHP value as `json_encode` sees it.
//! * [`encode`](fn@encode) / [`encode_into`] implement `json_encode`: `/` written as `\/`, every non-ASCII
//!   character as `\uXXXX` (lower-case hex, surrogate pairs), control characters as `\n`,
//!   `\u001f`, ...; floats as PHP prints them (`0.1`, `2`, `-0`, `1.0e+25`, `3.0e-5`); lists
//!   as `[...]`, other arrays and objects as `{...}`; and, for a value PHP refuses, the error
//!   PHP reports (when there are several, the one PHP reports).
//! * [`decode`](fn@decode) implements `json_decode($s, true)`, with PHP's error for invalid input.
//! * [`normalise`] implements `json_decode(json_encode($v), true)`.
//! * [`to_value`] turns any `serde::Serialize` value into the PHP value a PHP producer would
//!   hand over (structs and maps as associative arrays, sequences as lists, ...).
//!
//! Depth limits follow PHP's defaults: [`MAX_ENCODE_DEPTH`] (512) levels of
//! arrays/objects can be encoded, and [`MAX_DECODE_NESTING`] (511) levels can
//! be decoded (PHP's parser starts its depth counter at one).
//!
//! The encoder is `serde_json`'s serializer with a PHP formatter (float digits from `ryu`); the
//! decoder is a small parser of its own, since PHP's errors, number rules and depth limit are
//! not `serde_json`'s.
#![forbid(unsafe_code)]

mod decode;
mod encode;
mod float;
mod ser;
mod value;

pub use decode::{decode, DecodeError, MAX_DECODE_NESTING};
pub use encode::{encode, encode_into, normalise, EncodeError, MAX_ENCODE_DEPTH};
pub use ser::{to_value, SerializeError};
pub use value::{Key, Value};

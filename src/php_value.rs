//! Reading PHP config values as PHP itself reads them: truthiness, numeric strings, integral
//! floats, `''`/`null` meaning "none". Used by [`options_from_config`](crate::options_from_config);
//! knows nothing about think-queue's key names (that is `config.rs`).
#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use crate::json::Value;

/// `Error::Config` naming the key, what it must be and what it got.
pub(crate) fn bad(key: &str, expected: &str, got: &Value) -> Error {
    Error::Config(format!("`{key}` must be {expected}, got {}", describe_value(got)))
}

/// A short description of a config value for error messages.
pub(crate) fn describe_value(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(n) => n.to_string(),
        Value::Float(f) => format!("float {f}"),
        Value::Str(b) => {
            let s = String::from_utf8_lossy(b);
            let mut short: String = s.chars().take(40).collect();
            if short.len() < s.len() {
                short.push_str("...");
            }
            format!("'{short}'")
        }
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// A string value (UTF-8); `Ok(None)` for other kinds.
pub(crate) fn text(key: &str, v: &Value) -> Result<Option<String>> {
    match v {
        Value::Str(b) => String::from_utf8(b.clone())
            .map(Some)
            .map_err(|_| Error::Config(format!("`{key}` is not UTF-8"))),
        _ => Ok(None),
    }
}

/// `password` / `username`: a string or an int (`123456`); `null`/`''` mean none. The value is
/// never echoed in errors.
pub(crate) fn secret(key: &str, v: &Value) -> Result<Option<String>> {
    match v {
        Value::Null => Ok(None),
        Value::Str(b) if b.is_empty() => Ok(None),
        Value::Int(n) => Ok(Some(n.to_string())),
        Value::Str(_) => text(key, v),
        _ => Err(Error::Config(format!("`{key}` must be a string"))),
    }
}

/// A number as PHP configs hold them: int, float, or a numeric string (surrounding whitespace
/// allowed, as PHP 8 allows it).
pub(crate) fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(n) => Some(*n as f64),
        Value::Float(f) => Some(*f),
        Value::Str(b) => std::str::from_utf8(b).ok()?.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// An integer: an int, an integral float, or a numeric string of one; `true` is 1 as in PHP.
pub(crate) fn integer(key: &str, v: &Value) -> Result<i64> {
    match v {
        Value::Int(n) => Ok(*n),
        Value::Bool(true) => Ok(1),
        Value::Str(b) => {
            let s = std::str::from_utf8(b).unwrap_or("").trim();
            match s.parse::<i64>() {
                Ok(n) => Ok(n),
                Err(_) => whole(number(v)).ok_or_else(|| bad(key, "an integer", v)),
            }
        }
        _ => whole(number(v)).ok_or_else(|| bad(key, "an integer", v)),
    }
}

pub(crate) fn whole(f: Option<f64>) -> Option<i64> {
    f.filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64)
}

/// PHP truthiness (`(bool) $v`).
pub(crate) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Int(n) => *n != 0,
        Value::Float(f) => *f != 0.0,
        Value::Str(b) => !(b.is_empty() || b.as_slice() == b"0"),
        Value::Array(items) => !items.is_empty(),
        Value::Object(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn php_truthiness() {
        for (v, want) in [
            (Value::Null, false),
            (Value::Bool(true), true),
            (Value::Int(0), false),
            (Value::Int(-1), true),
            (Value::Float(0.0), false),
            (Value::from(""), false),
            (Value::from("0"), false),
            (Value::from("0.0"), true),
            (Value::from("false"), true),
            (Value::list(vec![]), false),
            (Value::list(vec![Value::Null]), true),
        ] {
            assert_eq!(truthy(&v), want, "{v:?}");
        }
    }

    #[test]
    fn numbers_as_php_configs_hold_them() {
        assert_eq!(number(&Value::from(" 1.5 ")), Some(1.5));
        assert_eq!(number(&Value::from("1e3")), Some(1000.0));
        assert_eq!(number(&Value::from("abc")), None);
        assert_eq!(number(&Value::Bool(true)), None);
        assert_eq!(integer("k", &Value::from("42")).ok(), Some(42));
        assert_eq!(integer("k", &Value::Float(7.0)).ok(), Some(7));
        assert_eq!(integer("k", &Value::from("7.0")).ok(), Some(7));
        assert_eq!(integer("k", &Value::Bool(true)).ok(), Some(1));
        assert!(integer("k", &Value::Float(7.5)).is_err_and(|e| e.to_string().contains("`k` must be an integer, got float 7.5")));
        assert!(integer("k", &Value::from("x")).is_err());
    }

    #[test]
    fn secrets_are_never_echoed() {
        assert_eq!(secret("password", &Value::Int(123)).ok().flatten().as_deref(), Some("123"));
        assert_eq!(secret("password", &Value::from("")).ok().flatten(), None);
        let e = secret("password", &Value::list(vec![Value::from("hunter2")]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("`password`") && !e.contains("hunter2"), "{e}");
        let long = "x".repeat(100);
        assert!(describe_value(&Value::from(long.as_str())).ends_with("...'"));
    }
}

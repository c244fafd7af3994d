//! The PHP value model used by the JSON codec.
#![forbid(unsafe_code)]

use std::collections::HashMap;

/// A PHP array key: PHP arrays have integer or string keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// An integer key.
    Int(i64),
    /// A string key (raw bytes).
    Str(Vec<u8>),
}

/// A PHP value as `json_encode` sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// PHP `null`.
    Null,
    /// PHP `true` / `false`.
    Bool(bool),
    /// PHP int.
    Int(i64),
    /// PHP float.
    Float(f64),
    /// PHP string: raw bytes; must be valid UTF-8 to be encoded.
    Str(Vec<u8>),
    /// PHP array, entries in insertion order. Encoded as a JSON list when its
    /// keys are exactly `Int(0), Int(1), .., Int(n-1)` in that order (and when
    /// empty: `[]`), else as a JSON object whose keys are the decimal text of
    /// `Int` keys or the `Str` bytes.
    Array(Vec<(Key, Value)>),
    /// An object (stdClass / public properties): always a JSON object, `{}`
    /// when empty.
    ///
    /// As in PHP, entries whose name is non-empty and starts with a NUL byte
    /// (PHP's mangled protected/private property names) are not encoded.
    Object(Vec<(Vec<u8>, Value)>),
}

/// Parses `b` as PHP's "canonical integer string" (the rule PHP applies to
/// array keys): an optional `-` followed by decimal digits with no leading
/// zero (except the single string `"0"`; `"-0"` is not canonical), fitting in
/// an `i64`.
pub(crate) fn parse_canonical_int(b: &[u8]) -> Option<i64> {
    let digits = b.strip_prefix(b"-").unwrap_or(b);
    let canonical = match digits {
        [b'0'] => digits.len() == b.len(),
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    // `parse` refuses what does not fit in an i64
    canonical.then(|| std::str::from_utf8(b).ok()?.parse().ok()).flatten()
}

impl Key {
    /// Converts a string key using PHP's numeric-string rule for array keys:
    /// a canonical decimal integer that fits in an `i64` (`"0"`, `"123"`,
    /// `"-5"`) becomes [`Key::Int`]; anything else (`"05"`, `"-0"`, `"+1"`,
    /// `" 1"`, `"1.0"`, out-of-range numbers, ...) stays [`Key::Str`].
    pub fn from_bytes(b: &[u8]) -> Key {
        match parse_canonical_int(b) {
            Some(i) => Key::Int(i),
            None => Key::Str(b.to_vec()),
        }
    }

    /// Like [`Key::from_bytes`] but reuses the allocation of `v`.
    pub(crate) fn from_vec(v: Vec<u8>) -> Key {
        match parse_canonical_int(&v) {
            Some(i) => Key::Int(i),
            None => Key::Str(v),
        }
    }
}

impl From<i64> for Key {
    fn from(i: i64) -> Self {
        Key::Int(i)
    }
}

impl From<&str> for Key {
    fn from(s: &str) -> Self {
        Key::from_bytes(s.as_bytes())
    }
}

impl From<String> for Key {
    fn from(s: String) -> Self {
        Key::from_vec(s.into_bytes())
    }
}

impl Value {
    /// A PHP string.
    pub fn str(s: impl Into<Vec<u8>>) -> Value {
        Value::Str(s.into())
    }

    /// A PHP list: an array with keys `0..n-1`.
    pub fn list(items: Vec<Value>) -> Value {
        Value::Array(items.into_iter().enumerate().map(|(i, v)| (Key::Int(index_key(i)), v)).collect())
    }

    /// A PHP array from `(key, value)` pairs, in order. String keys go through
    /// PHP's numeric-string rule when converted with `Key::from(&str)`.
    pub fn map<K: Into<Key>>(entries: Vec<(K, Value)>) -> Value {
        Value::Array(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// An object (stdClass) from `(property name, value)` pairs, in order.
    pub fn object<K: Into<Vec<u8>>>(entries: Vec<(K, Value)>) -> Value {
        Value::Object(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// Looks `key` up in an array or object. In an array this matches a
    /// `Str` key equal to `key` or an `Int` key whose decimal text equals
    /// `key`. Returns `None` for scalars or a missing key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        let kb = key.as_bytes();
        match self {
            Value::Array(entries) => {
                let as_int = parse_canonical_int(kb);
                entries
                    .iter()
                    .find(|(k, _)| match k {
                        Key::Int(i) => as_int == Some(*i),
                        Key::Str(s) => s.as_slice() == kb,
                    })
                    .map(|(_, v)| v)
            }
            Value::Object(entries) => entries.iter().find(|(k, _)| k.as_slice() == kb).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The bytes of a `Str`.
    pub fn as_str(&self) -> Option<&[u8]> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value of an `Int`.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// True for an `Array` whose keys are exactly `Int(0)..Int(n-1)` in
    /// order (including the empty array); such an array encodes as a JSON
    /// list.
    pub fn is_list(&self) -> bool {
        match self {
            Value::Array(entries) => entries_are_list(entries),
            _ => false,
        }
    }
}

/// Converts a position to an `i64` key. Vectors can never hold more than
/// `isize::MAX` elements, so this never saturates in practice.
#[inline]
pub(crate) fn index_key(i: usize) -> i64 {
    i64::try_from(i).unwrap_or(i64::MAX)
}

/// PHP's `zend_array_is_list`: keys are `0..n-1` in order.
#[inline]
pub(crate) fn entries_are_list(entries: &[(Key, Value)]) -> bool {
    entries
        .iter()
        .enumerate()
        .all(|(i, (k, _))| matches!(k, Key::Int(n) if *n == index_key(i)))
}

/// A PHP array filled by assignments (`$a[$key] = $value`), as `json_decode` fills an object's
/// array and [`super::to_value`] a map's: a new key is appended, a repeated key keeps its first
/// position and takes the new value. Past a few entries, keys are found through a hash index, so
/// that an input with many keys costs linear, not quadratic, time.
#[derive(Default)]
pub(crate) struct ArrayBuilder {
    entries: Vec<(Key, Value)>,
    index: Option<HashMap<Key, usize>>,
}

impl ArrayBuilder {
    /// `$a[] = $value`, for an array that is only pushed to (a list).
    pub(crate) fn push(&mut self, value: Value) {
        let key = Key::Int(index_key(self.entries.len()));
        self.entries.push((key, value));
    }

    /// `$a[$key] = $value`.
    pub(crate) fn insert(&mut self, key: Key, value: Value) {
        if self.index.is_none() && self.entries.len() >= 16 {
            self.index = Some(self.entries.iter().enumerate().map(|(i, (k, _))| (k.clone(), i)).collect());
        }
        let found = match &self.index {
            Some(index) => index.get(&key).copied(),
            None => self.entries.iter().position(|(k, _)| *k == key),
        };
        match found.and_then(|i| self.entries.get_mut(i)) {
            Some(slot) => slot.1 = value,
            None => {
                if let Some(index) = &mut self.index {
                    index.insert(key.clone(), self.entries.len());
                }
                self.entries.push((key, value));
            }
        }
    }

    pub(crate) fn into_value(self) -> Value {
        Value::Array(self.entries)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.as_bytes().to_vec())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s.into_bytes())
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<i32> for Value {
    fn from(i: i32) -> Self {
        Value::Int(i64::from(i))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::list(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_string_keys() {
        assert_eq!(Key::from("0"), Key::Int(0));
        assert_eq!(Key::from("123"), Key::Int(123));
        assert_eq!(Key::from("-5"), Key::Int(-5));
        assert_eq!(Key::from("9223372036854775807"), Key::Int(i64::MAX));
        assert_eq!(Key::from("-9223372036854775808"), Key::Int(i64::MIN));
        for s in [
            "",
            "-",
            "05",
            "-0",
            "+1",
            " 1",
            "1 ",
            "1.0",
            "1e3",
            "00",
            "-05",
            "0x1",
            "a",
            "9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999",
            "12a",
            "１",
        ] {
            assert_eq!(Key::from(s), Key::Str(s.as_bytes().to_vec()), "{s:?}");
        }
        assert_eq!(Key::from(String::from("42")), Key::Int(42));
        assert_eq!(Key::from(String::from("042")), Key::Str(b"042".to_vec()));
        assert_eq!(Key::from(7i64), Key::Int(7));
        assert_eq!(Key::from_bytes(b"\xff"), Key::Str(vec![0xff]));
    }

    #[test]
    fn helpers() {
        let l = Value::list(vec![Value::from(1), Value::from("a")]);
        assert!(l.is_list());
        assert_eq!(
            l,
            Value::Array(vec![(Key::Int(0), Value::Int(1)), (Key::Int(1), Value::Str(b"a".to_vec()))])
        );
        assert_eq!(Value::from(vec![Value::Null]), Value::list(vec![Value::Null]));
        assert!(Value::Array(vec![]).is_list());
        assert!(!Value::Object(vec![]).is_list());
        assert!(!Value::Null.is_list());
        let m = Value::map(vec![("1", Value::from(true)), ("x", Value::from(2.5))]);
        assert!(!m.is_list());
        assert_eq!(m.get("1"), Some(&Value::Bool(true)));
        assert_eq!(m.get("x"), Some(&Value::Float(2.5)));
        assert_eq!(m.get("01"), None);
        assert_eq!(m.get("y"), None);
        let m2 = Value::map(vec![(1i64, Value::Null), (0i64, Value::Null)]);
        assert!(!m2.is_list());
        let m3 = Value::map(vec![("0", Value::Null), ("1", Value::Null)]);
        assert!(m3.is_list());
        // A Str key that looks numeric is still found by get.
        let raw = Value::Array(vec![(Key::Str(b"5".to_vec()), Value::Int(5))]);
        assert_eq!(raw.get("5").and_then(Value::as_int), Some(5));
        assert!(!raw.is_list());
        let o = Value::object(vec![("a", Value::str("b")), ("1", Value::Int(1))]);
        assert_eq!(o.get("a").and_then(Value::as_str), Some(&b"b"[..]));
        assert_eq!(o.get("1").and_then(Value::as_int), Some(1));
        assert_eq!(o.get("z"), None);
        assert_eq!(Value::Int(3).get("a"), None);
        assert_eq!(Value::from(String::from("s")).as_str(), Some(&b"s"[..]));
        assert_eq!(Value::from(7i32).as_int(), Some(7));
        assert_eq!(Value::from(7i64).as_int(), Some(7));
        assert_eq!(Value::Float(1.0).as_int(), None);
        assert_eq!(Value::Int(1).as_str(), None);
        assert_eq!(Value::str(vec![0xffu8]).as_str(), Some(&[0xffu8][..]));
    }
}

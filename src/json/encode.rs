//! `json_encode` (PHP 8.2, default flags, `serialize_precision = -1`).
//!
//! The text is written by `serde_json`'s serializer over `Serialize for Value` with
//! [`PhpFormatter`], which supplies PHP's escaping and float text. The serializer refuses invalid
//! UTF-8; a walk before it ([`check`]) refuses INF/NAN and nesting beyond PHP's limit (which also
//! bounds the serializer's recursion). When either refuses, the output is dropped and a walk in
//! PHP's order finds the error PHP reports.
#![forbid(unsafe_code)]

use std::io;

use serde::Serialize as _;

use super::decode::decode;
use super::float::write_php_float;
use super::value::{Key, Value};

/// PHP `json_encode`'s default `$depth`: arrays/objects may nest this many
/// levels (an empty array/object counts as a level); one more fails with
/// [`EncodeError::Depth`].
pub const MAX_ENCODE_DEPTH: usize = 512;

/// Why a value cannot be encoded. The messages are PHP's
/// `json_last_error_msg()` texts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A string or key is not valid UTF-8 (`JSON_ERROR_UTF8`).
    #[error("Malformed UTF-8 characters, possibly incorrectly encoded")]
    MalformedUtf8,
    /// A float is INF or NAN (`JSON_ERROR_INF_OR_NAN`).
    #[error("Inf and NaN cannot be JSON encoded")]
    InfOrNan,
    /// Arrays/objects nest deeper than [`MAX_ENCODE_DEPTH`]
    /// (`JSON_ERROR_DEPTH`).
    #[error("Maximum stack depth exceeded")]
    Depth,
    /// A value `json_encode` refuses by type: a resource (`JSON_ERROR_UNSUPPORTED_TYPE`).
    /// Never produced by [`encode`](fn@encode) (a [`Value`] cannot hold one): converters from PHP values
    /// (the PHP extension) report it, so the message is PHP's.
    #[error("Type is not supported")]
    UnsupportedType,
    /// An enum case without a backing value (`JSON_ERROR_NON_BACKED_ENUM`). Reported by
    /// converters from PHP values, like [`EncodeError::UnsupportedType`].
    #[error("Non-backed enums have no default serialization")]
    NonBackedEnum,
    /// An array or object that contains itself (`JSON_ERROR_RECURSION`). Reported by
    /// converters from PHP values, like [`EncodeError::UnsupportedType`].
    #[error("Recursion detected")]
    Recursion,
}

/// Encodes `v` exactly as PHP 8.2 `json_encode($v)` would.
///
/// # Errors
///
/// The [`EncodeError`] PHP would report (`json_last_error_msg()`): invalid
/// UTF-8 in a string or key, INF/NAN, or nesting deeper than
/// [`MAX_ENCODE_DEPTH`].
pub fn encode(v: &Value) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(128);
    encode_into(&mut out, v)?;
    Ok(out)
}

/// Appends the `json_encode($v)` text of `v` to `out`.
///
/// On error `out` is left as it was.
///
/// When a value has several problems, the error reported is the one PHP
/// reports: PHP keeps encoding after an INF/NAN float or an invalid UTF-8
/// *key* (remembering the error, later errors overwriting it) but stops at an
/// invalid UTF-8 string *value* or at the depth limit.
///
/// # Errors
///
/// As for [`encode`](fn@encode).
pub fn encode_into(out: &mut Vec<u8>, v: &Value) -> Result<(), EncodeError> {
    // The serializer refuses invalid UTF-8 itself; INF/NAN and the depth are checked before.
    if php_error(v, false).is_none() {
        let start = out.len();
        if v.serialize(&mut serde_json::Serializer::with_formatter(&mut *out, PhpFormatter))
            .is_ok()
        {
            return Ok(());
        }
        out.truncate(start);
    }
    // Some error: the walk finds the one PHP reports (it finds one: it refuses all the
    // serializer refuses).
    Err(php_error(v, true).unwrap_or(EncodeError::MalformedUtf8))
}

/// PHP `json_decode(json_encode($v), true)`: the value as PHP code would see
/// it after a round trip through a JSON payload (objects become arrays,
/// numeric-string keys become int keys, integral floats in plain notation
/// become ints, ...).
///
/// Fails with the encoder's error when `v` cannot be encoded. A value that
/// encodes but cannot be decoded maps to [`EncodeError::Depth`]: the only way
/// that happens for encoder output is nesting of exactly
/// [`MAX_ENCODE_DEPTH`] levels, which `json_encode` accepts but `json_decode`
/// (limit [`super::MAX_DECODE_NESTING`]) rejects.
///
/// # Errors
///
/// As for [`encode`](fn@encode), plus [`EncodeError::Depth`] as described above.
pub fn normalise(v: &Value) -> Result<Value, EncodeError> {
    let bytes = encode(v)?;
    decode(&bytes).map_err(|_| EncodeError::Depth)
}

/// The error PHP's encoder ends with for `v`, if any; with `utf8` false, strings and keys are
/// not looked at.
fn php_error(v: &Value, utf8: bool) -> Option<EncodeError> {
    let mut deferred = None;
    check(v, 0, utf8, &mut deferred).err().or(deferred)
}

/// Walks `v` (inside `depth` arrays/objects) in PHP's encoding order. A bad string value stops
/// PHP's encoder (`Err`), as does the depth limit; an INF/NAN float or a bad key does not, the
/// most recent one is remembered in `deferred`.
fn check(v: &Value, depth: usize, utf8: bool, deferred: &mut Option<EncodeError>) -> Result<(), EncodeError> {
    let bad = |s: &[u8]| utf8 && std::str::from_utf8(s).is_err();
    match v {
        Value::Float(f) if !f.is_finite() => *deferred = Some(EncodeError::InfOrNan),
        Value::Str(s) if bad(s) => return Err(EncodeError::MalformedUtf8),
        Value::Array(_) | Value::Object(_) if depth >= MAX_ENCODE_DEPTH => return Err(error_beyond_depth(v)),
        _ => {
            for (key, child) in children(v) {
                if key.is_some_and(bad) {
                    *deferred = Some(EncodeError::MalformedUtf8);
                }
                check(child, depth + 1, utf8, deferred)?;
            }
        }
    }
    Ok(())
}

/// The entries of an array or object that PHP encodes, with their string keys. PHP skips object
/// properties whose (mangled) name starts with a NUL byte: protected/private members.
fn children(v: &Value) -> impl Iterator<Item = (Option<&[u8]>, &Value)> {
    let array = match v {
        Value::Array(entries) => &entries[..],
        _ => &[],
    };
    let object = match v {
        Value::Object(entries) => &entries[..],
        _ => &[],
    };
    let array = array.iter().map(|(key, child)| match key {
        Key::Str(s) => (Some(&s[..]), child),
        Key::Int(_) => (None, child),
    });
    let object = object.iter().filter(|(name, _)| name.first() != Some(&0));
    array.chain(object.map(|(name, child)| (Some(&name[..]), child)))
}

/// The error PHP reports for an array/object that sits one level too deep.
///
/// PHP checks the depth only when it *closes* an array, after encoding its
/// children, so an invalid UTF-8 string met before the first array closes
/// wins over the depth error (INF/NAN and bad keys are overwritten by it).
/// The first array to close is found by always descending into the first
/// array/object child; that walk is a loop, so arbitrarily deep input cannot
/// overflow the stack.
fn error_beyond_depth(mut container: &Value) -> EncodeError {
    'descend: loop {
        for (_, child) in children(container) {
            match child {
                Value::Str(s) if std::str::from_utf8(s).is_err() => return EncodeError::MalformedUtf8,
                Value::Array(_) | Value::Object(_) => {
                    container = child;
                    continue 'descend;
                }
                _ => {}
            }
        }
        return EncodeError::Depth;
    }
}

/// serde_json's compact output with PHP's float text and escaping. serde_json escapes `"`, `\`
/// and control characters itself, exactly as PHP does (`\n`, `\u001f`: lower-case hex).
struct PhpFormatter;

impl serde_json::ser::Formatter for PhpFormatter {
    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        write_php_float(w, value)
    }

    /// Text between serde_json's escapes: PHP also escapes `/` as `\/` and every non-ASCII
    /// character as `\uXXXX` (lower-case hex, UTF-16 surrogate pairs beyond U+FFFF).
    fn write_string_fragment<W: ?Sized + io::Write>(&mut self, w: &mut W, fragment: &str) -> io::Result<()> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut rest = fragment;
        while let Some(at) = rest.bytes().position(|b| b == b'/' || !b.is_ascii()) {
            // `at` is a character boundary: every byte before it is ASCII
            let Some((plain, tail)) = rest.split_at_checked(at) else {
                break;
            };
            w.write_all(plain.as_bytes())?;
            let mut chars = tail.chars();
            match chars.next() {
                Some('/') => w.write_all(b"\\/")?,
                Some(c) => {
                    for unit in c.encode_utf16(&mut [0; 2]).iter().map(|&u| usize::from(u)) {
                        let hex = |shift: usize| HEX[(unit >> shift) & 0xF];
                        w.write_all(&[b'\\', b'u', hex(12), hex(8), hex(4), hex(0)])?;
                    }
                }
                None => {}
            }
            rest = chars.as_str();
        }
        w.write_all(rest.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: &Value) -> String {
        String::from_utf8(encode(v).expect("encodes")).expect("utf8 output")
    }

    fn nest_lists(inner: Value, levels: usize) -> Value {
        let mut v = inner;
        for _ in 0..levels {
            v = Value::list(vec![v]);
        }
        v
    }

    #[test]
    fn think_queue_payload() {
        let v = Value::map(vec![("job", Value::from("app\\job\\Foo@bar")), ("data", Value::from("http://x/y"))]);
        assert_eq!(enc(&v), r#"{"job":"app\\job\\Foo@bar","data":"http:\/\/x\/y"}"#);
    }

    #[test]
    fn scalars() {
        assert_eq!(enc(&Value::Null), "null");
        assert_eq!(enc(&Value::Bool(true)), "true");
        assert_eq!(enc(&Value::Bool(false)), "false");
        assert_eq!(enc(&Value::Int(0)), "0");
        assert_eq!(enc(&Value::Int(7)), "7");
        assert_eq!(enc(&Value::Int(-7)), "-7");
        assert_eq!(enc(&Value::Int(10)), "10");
        assert_eq!(enc(&Value::Int(99)), "99");
        assert_eq!(enc(&Value::Int(100)), "100");
        assert_eq!(enc(&Value::Int(1234567890)), "1234567890");
        assert_eq!(enc(&Value::Int(i64::MAX)), "9223372036854775807");
        assert_eq!(enc(&Value::Int(i64::MIN)), "-9223372036854775808");
        assert_eq!(enc(&Value::str("")), r#""""#);
    }

    #[test]
    fn ints_match_std() {
        let mut x: u64 = 0x1234_5678_9abc_def1;
        for shift in 0..64 {
            for _ in 0..50 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let v = (x >> shift) as i64;
                for v in [v, -v, v / 3] {
                    assert_eq!(enc(&Value::Int(v)), v.to_string());
                }
            }
        }
    }

    #[test]
    fn unicode_escapes() {
        assert_eq!(enc(&Value::from("中文 é 😀")), r#""\u4e2d\u6587 \u00e9 \ud83d\ude00""#);
        assert_eq!(
            enc(&Value::from("\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}")),
            r#""\u0080\u07ff\u0800\uffff\ud800\udc00\udbff\udfff""#
        );
        assert_eq!(enc(&Value::from("\u{2028}\u{2029}\u{feff}")), r#""\u2028\u2029\ufeff""#);
    }

    #[test]
    fn ascii_escapes() {
        assert_eq!(enc(&Value::from("a\tb\n\"q\"'<>&\x01")), r#""a\tb\n\"q\"'<>&\u0001""#);
        assert_eq!(enc(&Value::from("\x7f")), "\"\x7f\"");
        assert_eq!(enc(&Value::from("\x1f")), r#""\u001f""#);
        assert_eq!(enc(&Value::from("\0")), r#""\u0000""#);
        assert_eq!(enc(&Value::from("\x08\x0c\r\x0b\x1a/\\")), r#""\b\f\r\u000b\u001a\/\\""#);
        let all: Vec<u8> = (0u8..0x80).collect();
        let want = concat!(
            r#""\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f"#,
            r#"\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f"#,
            r##" !\"#$%&'()*+,-.\/0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"##,
            "\x7f\""
        );
        assert_eq!(enc(&Value::Str(all)), want);
    }

    /// Straightforward per-character reference for PHP's default escaping.
    fn reference_escape(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '/' => out.push_str("\\/"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 || (c as u32) >= 0x80 => {
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{:04x}", u));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    #[test]
    fn fast_path_sees_specials_at_every_offset() {
        let specials: Vec<String> = (0u8..0x20)
            .map(|b| char::from(b).to_string())
            .chain(["\"", "\\", "/", "\u{7f}", "é", "中", "😀", "~", " "].map(String::from))
            .collect();
        for special in &specials {
            for len in [7usize, 8, 9, 15, 16, 17, 24, 33] {
                for at in 0..len {
                    let mut s = "a".repeat(at);
                    s.push_str(special);
                    s.push_str(&"Z".repeat(len - at));
                    assert_eq!(enc(&Value::from(s.as_str())), reference_escape(&s), "{s:?}");
                }
            }
        }
        // Long mixed strings.
        let mut x: u32 = 12345;
        let pieces = ["plain text ", "/", "\"", "\\", "\n", "\u{1}", "é", "😀", "\u{7f}", "abcdefgh"];
        for _ in 0..200 {
            let mut s = String::new();
            for _ in 0..20 {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                s.push_str(pieces[(x >> 16) as usize % pieces.len()]);
            }
            assert_eq!(enc(&Value::from(s.as_str())), reference_escape(&s));
        }
    }

    #[test]
    fn two_specials_anywhere_in_a_chunk() {
        // The 8-byte scan reports the first special byte of a chunk even when a later one (or a
        // borrow from an earlier lane) also sets bits; bytes next to the special ranges included.
        let bytes = [
            "\0", "\u{1f}", " ", "!", "\"", "#", ".", "/", "0", "[", "\\", "]", "~", "\u{7f}", "é", "中", "😀",
        ];
        for first in bytes {
            for second in bytes {
                for p in 0..12 {
                    for q in p..12 {
                        let mut s = "a".repeat(p);
                        s.push_str(first);
                        s.push_str(&"b".repeat(q - p));
                        s.push_str(second);
                        s.push_str(&"c".repeat(12 - q));
                        assert_eq!(enc(&Value::from(s.as_str())), reference_escape(&s), "{s:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn floats() {
        let v = Value::list(vec![
            Value::from(1.0),
            Value::from(0.1),
            Value::from(1.5e20),
            Value::from(3.0e-5),
            Value::from(-0.0),
            Value::from(100.0),
        ]);
        assert_eq!(enc(&v), "[1,0.1,1.5e+20,3.0e-5,-0,100]");
    }

    #[test]
    fn arrays_and_objects() {
        let v = Value::map(vec![("data", Value::Array(vec![])), ("obj", Value::Object(vec![]))]);
        assert_eq!(enc(&v), r#"{"data":[],"obj":{}}"#);
        let v = Value::map(vec![(1i64, Value::from("a")), (2i64, Value::from("b"))]);
        assert_eq!(enc(&v), r#"{"1":"a","2":"b"}"#);
        let v = Value::map(vec![(1i64, Value::from("b")), (0i64, Value::from("a"))]);
        assert_eq!(enc(&v), r#"{"1":"b","0":"a"}"#);
        let v = Value::map(vec![(0i64, Value::from("a")), (1i64, Value::from("b"))]);
        assert_eq!(enc(&v), r#"["a","b"]"#);
        let v = Value::map(vec![(-1i64, Value::Null), (i64::MIN, Value::Null)]);
        assert_eq!(enc(&v), r#"{"-1":null,"-9223372036854775808":null}"#);
        // Str keys are never list keys, even when they look numeric.
        let v = Value::Array(vec![(Key::Str(b"0".to_vec()), Value::Int(1))]);
        assert_eq!(enc(&v), r#"{"0":1}"#);
        let v = Value::object(vec![
            ("a/b", Value::list(vec![Value::Int(1), Value::Object(vec![])])),
            ("", Value::Null),
            ("é", Value::Bool(true)),
        ]);
        assert_eq!(enc(&v), r#"{"a\/b":[1,{}],"":null,"\u00e9":true}"#);
        // Object with numeric names is still an object.
        let v = Value::object(vec![("0", Value::Int(1))]);
        assert_eq!(enc(&v), r#"{"0":1}"#);
        // Mangled protected/private names are skipped, as in PHP.
        let v = Value::Object(vec![
            (b"\0*\0p".to_vec(), Value::Int(1)),
            (b"b".to_vec(), Value::Int(2)),
            (b"\0A\0q".to_vec(), Value::Int(3)),
        ]);
        assert_eq!(enc(&v), r#"{"b":2}"#);
        let v = Value::Object(vec![(b"\0x".to_vec(), Value::Int(1))]);
        assert_eq!(enc(&v), "{}");
    }

    #[test]
    fn encode_into_appends() {
        let mut out = b"prefix:".to_vec();
        encode_into(&mut out, &Value::list(vec![Value::Int(1)])).expect("ok");
        assert_eq!(out, b"prefix:[1]");
    }

    #[test]
    fn malformed_utf8() {
        let bad: [&[u8]; 12] = [
            b"\xff",
            b"\xc3",
            b"\xed\xa0\x80",
            b"\xc0\xaf",
            b"\xc1\xbf",
            b"\xe0\x80\xaf",
            b"\xf0\x80\x80\xaf",
            b"\xf4\x90\x80\x80",
            b"\xf5\x80\x80\x80",
            b"\x80",
            b"a\xe2\x82",
            b"\xed\xbf\xbf",
        ];
        for s in bad {
            assert_eq!(encode(&Value::Str(s.to_vec())), Err(EncodeError::MalformedUtf8), "{s:?}");
            let in_obj = Value::Object(vec![(s.to_vec(), Value::Int(1))]);
            assert_eq!(encode(&in_obj), Err(EncodeError::MalformedUtf8), "{s:?}");
            let in_arr = Value::Array(vec![(Key::Str(s.to_vec()), Value::Int(1))]);
            assert_eq!(encode(&in_arr), Err(EncodeError::MalformedUtf8), "{s:?}");
            let nested = Value::list(vec![Value::Int(1), Value::list(vec![Value::Str(s.to_vec())])]);
            assert_eq!(encode(&nested), Err(EncodeError::MalformedUtf8), "{s:?}");
        }
        // Valid edge cases.
        for s in ["\u{7f}", "\u{80}", "\u{d7ff}", "\u{e000}", "\u{10ffff}"] {
            assert!(encode(&Value::from(s)).is_ok());
        }
    }

    #[test]
    fn utf8_validation_matches_std() {
        // Every lead byte >= 0x80 with every second byte and boundary values
        // for the third and fourth bytes, plus truncations.
        const EDGES: [u8; 10] = [0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0];
        let mut checked = 0usize;
        let mut check = |s: &[u8]| {
            let ours = encode(&Value::Str(s.to_vec()));
            match std::str::from_utf8(s) {
                Ok(text) => {
                    let want = reference_escape(text).into_bytes();
                    assert_eq!(ours.as_ref(), Ok(&want), "{s:x?}");
                }
                Err(_) => assert_eq!(ours, Err(EncodeError::MalformedUtf8), "{s:x?}"),
            }
            checked += 1;
        };
        for lead in 0x80u8..=0xff {
            check(&[lead]);
            for second in 0u8..=0xff {
                check(&[lead, second]);
                for third in EDGES {
                    check(&[lead, second, third]);
                    for fourth in EDGES {
                        check(&[lead, second, third, fourth]);
                    }
                }
            }
        }
        assert!(checked > 1_000_000);
    }

    #[test]
    fn inf_nan() {
        for f in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
            assert_eq!(encode(&Value::Float(f)), Err(EncodeError::InfOrNan));
            let v = Value::map(vec![("a", Value::list(vec![Value::Float(f)]))]);
            assert_eq!(encode(&v), Err(EncodeError::InfOrNan));
        }
    }

    #[test]
    fn error_precedence_matches_php() {
        // Verified against PHP 8.2: INF/NAN and bad keys do not stop the
        // encoder; a later error overwrites them.
        let bad = || Value::Str(b"\xff".to_vec());
        let inf = || Value::Float(f64::INFINITY);
        assert_eq!(encode(&Value::list(vec![inf(), bad()])), Err(EncodeError::MalformedUtf8));
        assert_eq!(encode(&Value::list(vec![bad(), inf()])), Err(EncodeError::MalformedUtf8));
        let v = Value::Array(vec![(Key::Str(b"\xff".to_vec()), Value::Int(1)), (Key::from("a"), inf())]);
        assert_eq!(encode(&v), Err(EncodeError::InfOrNan));
        let v = Value::Array(vec![(Key::from("a"), inf()), (Key::Str(b"\xff".to_vec()), Value::Int(1))]);
        assert_eq!(encode(&v), Err(EncodeError::MalformedUtf8));
    }

    #[test]
    fn converter_errors_use_php_messages() {
        // json_last_error_msg() texts of PHP 8.2
        assert_eq!(EncodeError::UnsupportedType.to_string(), "Type is not supported");
        assert_eq!(
            EncodeError::NonBackedEnum.to_string(),
            "Non-backed enums have no default serialization"
        );
        assert_eq!(EncodeError::Recursion.to_string(), "Recursion detected");
    }

    #[test]
    fn depth_limit() {
        let ok = nest_lists(Value::Int(1), MAX_ENCODE_DEPTH);
        let text = enc(&ok);
        assert_eq!(text.len(), 2 * MAX_ENCODE_DEPTH + 1);
        assert_eq!(encode(&nest_lists(Value::Int(1), MAX_ENCODE_DEPTH + 1)), Err(EncodeError::Depth));
        // An empty array counts as a level.
        assert!(encode(&nest_lists(Value::Array(vec![]), MAX_ENCODE_DEPTH - 1)).is_ok());
        assert_eq!(encode(&nest_lists(Value::Array(vec![]), MAX_ENCODE_DEPTH)), Err(EncodeError::Depth));
        assert_eq!(
            encode(&nest_lists(Value::Object(vec![]), MAX_ENCODE_DEPTH)),
            Err(EncodeError::Depth)
        );
        let mut obj = Value::Int(1);
        for _ in 0..=MAX_ENCODE_DEPTH {
            obj = Value::object(vec![("k", obj)]);
        }
        assert_eq!(encode(&obj), Err(EncodeError::Depth));
        // Siblings of a deep branch do not matter.
        let wide = Value::list(vec![
            nest_lists(Value::Int(1), MAX_ENCODE_DEPTH - 1),
            nest_lists(Value::Int(2), MAX_ENCODE_DEPTH - 1),
        ]);
        assert!(encode(&wide).is_ok());
    }

    #[test]
    fn depth_error_precedence_matches_php() {
        let bad = || Value::Str(b"\xff".to_vec());
        // PHP encodes the children of the too-deep array before noticing
        // its depth, so a bad string inside wins...
        assert_eq!(encode(&nest_lists(bad(), MAX_ENCODE_DEPTH + 1)), Err(EncodeError::MalformedUtf8));
        // ...unless a deeper array closes first.
        let inner = Value::list(vec![Value::list(vec![Value::Int(1)]), bad()]);
        assert_eq!(encode(&nest_lists(inner, MAX_ENCODE_DEPTH)), Err(EncodeError::Depth));
        let inner = Value::list(vec![Value::Float(f64::NAN), Value::list(vec![])]);
        assert_eq!(encode(&nest_lists(inner, MAX_ENCODE_DEPTH)), Err(EncodeError::Depth));
        let inner = Value::Array(vec![(Key::Str(b"\xff".to_vec()), Value::list(vec![]))]);
        assert_eq!(encode(&nest_lists(inner, MAX_ENCODE_DEPTH)), Err(EncodeError::Depth));
    }

    #[test]
    fn very_deep_input_does_not_overflow() {
        let mut v = Value::Int(1);
        for _ in 0..100_000 {
            v = Value::list(vec![v]);
        }
        assert_eq!(encode(&v), Err(EncodeError::Depth));
        // Drop iteratively to keep the test itself from overflowing.
        let mut cur = v;
        while let Value::Array(mut entries) = cur {
            cur = match entries.pop() {
                Some((_, child)) => child,
                None => break,
            };
        }
    }

    #[test]
    fn errors_display_php_messages() {
        assert_eq!(
            EncodeError::MalformedUtf8.to_string(),
            "Malformed UTF-8 characters, possibly incorrectly encoded"
        );
        assert_eq!(EncodeError::InfOrNan.to_string(), "Inf and NaN cannot be JSON encoded");
        assert_eq!(EncodeError::Depth.to_string(), "Maximum stack depth exceeded");
    }

    #[test]
    fn normalise_matches_php_round_trip() {
        assert_eq!(normalise(&Value::Object(vec![])), Ok(Value::Array(vec![])));
        assert_eq!(enc(&normalise(&Value::Object(vec![])).expect("ok")), "[]");
        assert_eq!(
            normalise(&Value::list(vec![Value::Object(vec![])])),
            Ok(Value::list(vec![Value::Array(vec![])]))
        );
        assert_eq!(normalise(&Value::Float(2.0)), Ok(Value::Int(2)));
        assert_eq!(normalise(&Value::Float(-0.0)), Ok(Value::Int(0)));
        assert_eq!(normalise(&Value::Float(1e20)), Ok(Value::Float(1e20)));
        assert_eq!(normalise(&Value::Float(0.5)), Ok(Value::Float(0.5)));
        assert_eq!(normalise(&Value::Float(1e16)), Ok(Value::Int(10_000_000_000_000_000)));
        let v = Value::Array(vec![
            (Key::Str(b"0".to_vec()), Value::from("a")),
            (Key::Str(b"1".to_vec()), Value::from("b")),
        ]);
        let n = normalise(&v).expect("ok");
        assert_eq!(n, Value::list(vec![Value::from("a"), Value::from("b")]));
        assert!(n.is_list());
        let n = normalise(&Value::object(vec![("1", Value::from("x"))])).expect("ok");
        assert_eq!(n, Value::Array(vec![(Key::Int(1), Value::from("x"))]));
        assert_eq!(enc(&n), r#"{"1":"x"}"#);
        let s = Value::from("中文 \u{0} / \\ \"");
        assert_eq!(normalise(&s), Ok(s.clone()));
        assert_eq!(normalise(&Value::Float(f64::NAN)), Err(EncodeError::InfOrNan));
        // 512 levels encode but do not decode.
        assert_eq!(normalise(&nest_lists(Value::Int(1), MAX_ENCODE_DEPTH)), Err(EncodeError::Depth));
        assert!(normalise(&nest_lists(Value::Int(1), MAX_ENCODE_DEPTH - 1)).is_ok());
    }
}

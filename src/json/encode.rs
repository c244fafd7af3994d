//! `json_encode` (PHP 8.2, default flags, `serialize_precision = -1`).
#![forbid(unsafe_code)]

use super::decode::decode;
use super::float::format_php_float;
use super::value::{entries_are_list, Key, Value};

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
    /// Never produced by [`encode`] (a [`Value`] cannot hold one): converters from PHP values
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
/// On error `out` may hold partial output, which the caller should discard.
///
/// When a value has several problems, the error reported is the one PHP
/// reports: PHP keeps encoding after an INF/NAN float or an invalid UTF-8
/// *key* (remembering the error, later errors overwriting it) but stops at an
/// invalid UTF-8 string *value* or at the depth limit.
///
/// # Errors
///
/// As for [`encode`].
pub fn encode_into(out: &mut Vec<u8>, v: &Value) -> Result<(), EncodeError> {
    let mut enc = Encoder { out, deferred: None };
    enc.value(v, 0)?;
    match enc.deferred {
        Some(e) => Err(e),
        None => Ok(()),
    }
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
/// As for [`encode`], plus [`EncodeError::Depth`] as described above.
pub fn normalise(v: &Value) -> Result<Value, EncodeError> {
    let bytes = encode(v)?;
    decode(&bytes).map_err(|_| EncodeError::Depth)
}

struct Encoder<'a> {
    out: &'a mut Vec<u8>,
    /// The most recent non-fatal error (PHP keeps encoding after these).
    deferred: Option<EncodeError>,
}

impl Encoder<'_> {
    /// Encodes `v`, which sits inside `depth` enclosing arrays/objects.
    fn value(&mut self, v: &Value, depth: usize) -> Result<(), EncodeError> {
        match v {
            Value::Null => self.out.extend_from_slice(b"null"),
            Value::Bool(true) => self.out.extend_from_slice(b"true"),
            Value::Bool(false) => self.out.extend_from_slice(b"false"),
            Value::Int(i) => write_i64(self.out, *i),
            Value::Float(f) => {
                if f.is_finite() {
                    format_php_float(*f, self.out);
                } else {
                    self.deferred = Some(EncodeError::InfOrNan);
                    self.out.push(b'0');
                }
            }
            Value::Str(s) => write_string(self.out, s)?,
            Value::Array(entries) => {
                let depth = depth + 1;
                if depth > MAX_ENCODE_DEPTH {
                    return Err(error_beyond_depth(v));
                }
                if entries_are_list(entries) {
                    self.out.push(b'[');
                    for (i, (_, child)) in entries.iter().enumerate() {
                        if i > 0 {
                            self.out.push(b',');
                        }
                        self.value(child, depth)?;
                    }
                    self.out.push(b']');
                } else {
                    self.out.push(b'{');
                    for (i, (key, child)) in entries.iter().enumerate() {
                        if i > 0 {
                            self.out.push(b',');
                        }
                        match key {
                            Key::Int(n) => {
                                self.out.push(b'"');
                                write_i64(self.out, *n);
                                self.out.push(b'"');
                            }
                            Key::Str(s) => self.key(s),
                        }
                        self.out.push(b':');
                        self.value(child, depth)?;
                    }
                    self.out.push(b'}');
                }
            }
            Value::Object(entries) => {
                let depth = depth + 1;
                if depth > MAX_ENCODE_DEPTH {
                    return Err(error_beyond_depth(v));
                }
                self.out.push(b'{');
                let mut first = true;
                for (name, child) in entries {
                    if is_hidden_property(name) {
                        continue;
                    }
                    if !first {
                        self.out.push(b',');
                    }
                    first = false;
                    self.key(name);
                    self.out.push(b':');
                    self.value(child, depth)?;
                }
                self.out.push(b'}');
            }
        }
        Ok(())
    }

    /// Writes an object key. An invalid key does not stop PHP's encoder: it
    /// records the error and carries on with the value.
    fn key(&mut self, s: &[u8]) {
        let checkpoint = self.out.len();
        if write_string(self.out, s).is_err() {
            self.out.truncate(checkpoint);
            self.out.extend_from_slice(b"\"\"");
            self.deferred = Some(EncodeError::MalformedUtf8);
        }
    }
}

/// PHP skips object properties whose (mangled) name starts with a NUL byte:
/// those are protected/private members.
#[inline]
fn is_hidden_property(name: &[u8]) -> bool {
    name.first() == Some(&0)
}

/// The error PHP reports for an array/object that sits one level too deep.
///
/// PHP checks the depth only when it *closes* an array, after encoding its
/// children, so an invalid UTF-8 string met before the first array closes
/// wins over the depth error (INF/NAN and bad keys are overwritten by it).
/// The first array to close is found by always descending into the first
/// array/object child; that walk is a loop, so arbitrarily deep input cannot
/// overflow the stack.
fn error_beyond_depth(container: &Value) -> EncodeError {
    enum Step<'v> {
        Next,
        Descend(&'v Value),
        Fail,
    }
    fn step(child: &Value) -> Step<'_> {
        match child {
            Value::Str(s) if std::str::from_utf8(s).is_err() => Step::Fail,
            Value::Array(_) | Value::Object(_) => Step::Descend(child),
            _ => Step::Next,
        }
    }
    let mut current = container;
    'walk: loop {
        match current {
            Value::Array(entries) => {
                for (_, child) in entries {
                    match step(child) {
                        Step::Next => {}
                        Step::Descend(next) => {
                            current = next;
                            continue 'walk;
                        }
                        Step::Fail => return EncodeError::MalformedUtf8,
                    }
                }
            }
            Value::Object(entries) => {
                for (name, child) in entries {
                    if is_hidden_property(name) {
                        continue;
                    }
                    match step(child) {
                        Step::Next => {}
                        Step::Descend(next) => {
                            current = next;
                            continue 'walk;
                        }
                        Step::Fail => return EncodeError::MalformedUtf8,
                    }
                }
            }
            _ => {}
        }
        return EncodeError::Depth;
    }
}

/// Escape class of each byte: 0 = copy verbatim, `NON_ASCII` = start of a
/// multi-byte UTF-8 sequence, `b'u'` = `\u00XX`, anything else = the letter
/// written after a backslash.
const NON_ASCII: u8 = 1;
const ESCAPES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t[b'/' as usize] = b'/';
    let mut i = 0x80;
    while i < 0x100 {
        t[i] = NON_ASCII;
        i += 1;
    }
    t
};

/// The two lowercase hex digits of each byte value.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [HEX[i >> 4], HEX[i & 0xF]];
        i += 1;
    }
    t
};

/// Writes `s` as a JSON string literal with PHP's default escaping.
///
/// UTF-8 is validated on the fly (ASCII needs no check); on invalid input
/// `out` is left with partial output and `MalformedUtf8` is returned.
///
/// Alternates between a plain run, found 8 bytes at a time and copied in one
/// go, and a run of bytes that need escaping, handled one character at a
/// time without going back to the 8-byte scan (text in CJK and the like is
/// one long such run).
fn write_string(out: &mut Vec<u8>, s: &[u8]) -> Result<(), EncodeError> {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let mut i = 0;
    while i < s.len() {
        let start = i;
        i = next_special(s, i);
        out.extend_from_slice(s.get(start..i).unwrap_or_default());
        while let Some(&b) = s.get(i) {
            match ESCAPES[usize::from(b)] {
                0 => break,
                NON_ASCII => {
                    let (cp, len) = decode_char(s, i).ok_or(EncodeError::MalformedUtf8)?;
                    if cp >= 0x1_0000 {
                        let v = cp - 0x1_0000;
                        write_u_escape(out, 0xD800 | (v >> 10));
                        write_u_escape(out, 0xDC00 | (v & 0x3FF));
                    } else {
                        write_u_escape(out, cp);
                    }
                    i += len;
                }
                b'u' => {
                    write_u_escape(out, u32::from(b));
                    i += 1;
                }
                letter => {
                    out.extend_from_slice(&[b'\\', letter]);
                    i += 1;
                }
            }
        }
    }
    out.push(b'"');
    Ok(())
}

/// The index of the first byte at or after `i` that needs escaping (see
/// [`ESCAPES`]), or `s.len()`. Looks at 8 bytes at a time, then at the
/// last few bytes one by one.
#[inline]
fn next_special(s: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = s.get(i..i + 8) {
        let hits = special_lanes(chunk);
        if hits != 0 {
            return i + first_lane(hits);
        }
        i += 8;
    }
    while let Some(&b) = s.get(i) {
        if ESCAPES[usize::from(b)] != 0 {
            return i;
        }
        i += 1;
    }
    s.len()
}

/// The lane (byte index) of the lowest set high bit of a non-zero
/// [`special_lanes`] result.
#[inline]
fn first_lane(hits: u64) -> usize {
    (hits.trailing_zeros() / 8) as usize
}

/// SWAR test of the 8 bytes of `chunk` (little-endian lanes) for bytes
/// < 0x20, quote, backslash, slash and bytes >= 0x80: a word whose lane high
/// bits are set for matching bytes, 0 when none matches (and for a chunk that
/// is not 8 bytes long). Borrows can only set extra bits *above* a real hit,
/// so the lowest set bit marks the first byte that needs escaping.
#[inline]
fn special_lanes(chunk: &[u8]) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
        return 0;
    };
    let x = u64::from_le_bytes(bytes);
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v;
    let below_space = x.wrapping_sub(ONES * 0x20) & !x;
    let hits = below_space
        | has_zero(x ^ (ONES * u64::from(b'"')))
        | has_zero(x ^ (ONES * u64::from(b'\\')))
        | has_zero(x ^ (ONES * u64::from(b'/')))
        | x;
    hits & HIGHS
}

/// Decodes and validates the UTF-8 sequence starting at `s[i]` (a
/// non-ASCII byte): returns the code point and the sequence length, or `None` for
/// anything that is not well-formed UTF-8 (stray continuation bytes,
/// overlong forms, surrogates, code points above U+10FFFF, truncation).
#[inline]
fn decode_char(s: &[u8], i: usize) -> Option<(u32, usize)> {
    let byte = |j: usize| s.get(i + j).map(|&b| u32::from(b));
    let cont = |j: usize| byte(j).filter(|b| b & 0xC0 == 0x80).map(|b| b & 0x3F);
    let lead = byte(0)?;
    match lead {
        0xC2..=0xDF => Some((((lead & 0x1F) << 6) | cont(1)?, 2)),
        0xE0..=0xEF => {
            let second = byte(1)?;
            let allowed = match lead {
                0xE0 => 0xA0..=0xBF,
                0xED => 0x80..=0x9F,
                _ => 0x80..=0xBF,
            };
            if !allowed.contains(&second) {
                return None;
            }
            Some((((lead & 0x0F) << 12) | ((second & 0x3F) << 6) | cont(2)?, 3))
        }
        0xF0..=0xF4 => {
            let second = byte(1)?;
            let allowed = match lead {
                0xF0 => 0x90..=0xBF,
                0xF4 => 0x80..=0x8F,
                _ => 0x80..=0xBF,
            };
            if !allowed.contains(&second) {
                return None;
            }
            let cp = ((lead & 0x07) << 18) | ((second & 0x3F) << 12) | (cont(2)? << 6) | cont(3)?;
            Some((cp, 4))
        }
        _ => None,
    }
}

#[inline]
fn write_u_escape(out: &mut Vec<u8>, unit: u32) {
    let [h1, h2] = HEX_PAIRS[((unit >> 8) & 0xFF) as usize];
    let [l1, l2] = HEX_PAIRS[(unit & 0xFF) as usize];
    out.extend_from_slice(&[b'\\', b'u', h1, h2, l1, l2]);
}

const DIGIT_PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

/// Appends the decimal text of `v`.
pub(crate) fn write_i64(out: &mut Vec<u8>, v: i64) {
    let mut buf = [0u8; 20];
    let mut pos = buf.len();
    let mut n = v.unsigned_abs();
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        pos -= 2;
        buf[pos] = DIGIT_PAIRS[pair];
        buf[pos + 1] = DIGIT_PAIRS[pair + 1];
    }
    if n >= 10 {
        let pair = n as usize * 2;
        pos -= 2;
        buf[pos] = DIGIT_PAIRS[pair];
        buf[pos + 1] = DIGIT_PAIRS[pair + 1];
    } else {
        pos -= 1;
        buf[pos] = b'0' + n as u8;
    }
    if v < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&buf[pos..]);
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
        let mut out = Vec::new();
        for shift in 0..64 {
            for _ in 0..50 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let v = (x >> shift) as i64;
                for v in [v, -v, v / 3] {
                    out.clear();
                    write_i64(&mut out, v);
                    assert_eq!(out, v.to_string().as_bytes());
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

//! `json_decode($s, true)` (PHP 8.2, default depth 512).
//!
//! A small lexer and a loop over an explicit stack of open arrays/objects, so deep input cannot
//! overflow the call stack; opening a level beyond [`MAX_DECODE_NESTING`] fails at once anyway.
#![forbid(unsafe_code)]

use super::value::{ArrayBuilder, Key, Value};

/// Deepest array/object nesting `json_decode($s, true)` accepts with its
/// default `$depth` of 512 (PHP's parser starts counting at one): opening a
/// 512th level fails with [`DecodeError::Depth`].
pub const MAX_DECODE_NESTING: usize = 511;

/// Why input cannot be decoded. Except for the byte offset of syntax errors,
/// the messages are PHP's `json_last_error_msg()` texts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Not valid JSON (`JSON_ERROR_SYNTAX`; also used for PHP's
    /// `JSON_ERROR_STATE_MISMATCH`, e.g. `[1}`). `offset` is the byte offset
    /// of the offending token or escape sequence.
    #[error("Syntax error at byte {offset}")]
    Syntax {
        /// Byte offset into the input.
        offset: usize,
    },
    /// Invalid UTF-8 in the input (`JSON_ERROR_UTF8`).
    #[error("Malformed UTF-8 characters, possibly incorrectly encoded")]
    MalformedUtf8,
    /// A `\uXXXX` escape is a lone surrogate (`JSON_ERROR_UTF16`).
    #[error("Single unpaired UTF-16 surrogate in unicode escape")]
    Utf16,
    /// A raw control character (also: input ending inside a string, which
    /// PHP's scanner sees as a NUL byte) (`JSON_ERROR_CTRL_CHAR`).
    #[error("Control character error, possibly incorrectly encoded")]
    ControlCharacter,
    /// Nesting deeper than [`MAX_DECODE_NESTING`] (`JSON_ERROR_DEPTH`).
    #[error("Maximum stack depth exceeded")]
    Depth,
}

/// Decodes `input` like PHP `json_decode($input, true)`: objects become
/// [`Value::Array`]s with keys converted by [`Key::from_bytes`] (duplicate
/// keys: the last value wins, at the first key's position), arrays become
/// lists, integers that fit `i64` become [`Value::Int`] and other numbers
/// [`Value::Float`].
///
/// # Errors
///
/// The [`DecodeError`] matching PHP's `json_last_error()` for the input
/// (PHP's "State mismatch" is reported as [`DecodeError::Syntax`]). The input
/// is read front to back and the first problem met is reported, as PHP does.
pub fn decode(input: &[u8]) -> Result<Value, DecodeError> {
    let mut p = Parser { input, pos: 0, start: 0 };
    // The open arrays/objects: entries so far, closing byte, key of the value being read.
    let mut open: Vec<(ArrayBuilder, u8, Option<Key>)> = Vec::new();
    let mut tok = p.token()?;
    loop {
        // A value starts with `tok`.
        let mut value = match tok {
            Tok::Scalar(v) => v,
            Tok::Punct(b @ (b'[' | b'{')) => {
                if open.len() >= MAX_DECODE_NESTING {
                    return Err(DecodeError::Depth);
                }
                let close = if b == b'[' { b']' } else { b'}' };
                tok = p.token()?;
                if matches!(tok, Tok::Punct(c) if c == close) {
                    Value::Array(Vec::new())
                } else {
                    let key = if close == b'}' { Some(p.key(&mut tok)?) } else { None };
                    open.push((ArrayBuilder::default(), close, key));
                    continue;
                }
            }
            _ => return Err(p.syntax()),
        };
        // `value` is complete: store it, and close the arrays/objects that end after it.
        loop {
            let Some((array, close, key)) = open.last_mut() else {
                return match p.token()? {
                    Tok::Eof => Ok(value),
                    _ => Err(p.syntax()),
                };
            };
            match key.take() {
                Some(key) => array.insert(key, value),
                None => array.push(value),
            }
            match p.token()? {
                Tok::Punct(b',') => {
                    tok = p.token()?;
                    if *close == b'}' {
                        *key = Some(p.key(&mut tok)?);
                    }
                    break;
                }
                Tok::Punct(c) if c == *close => {}
                _ => return Err(p.syntax()),
            }
            value = match open.pop() {
                Some((array, _, _)) => array.into_value(),
                None => return Err(p.syntax()),
            };
        }
    }
}

enum Tok {
    /// One of `{}[]:,`.
    Punct(u8),
    /// A string, number, `true`, `false` or `null`.
    Scalar(Value),
    Eof,
}

struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
    /// Where the most recent token starts.
    start: usize,
}

impl Parser<'_> {
    fn syntax(&self) -> DecodeError {
        DecodeError::Syntax { offset: self.start }
    }

    /// An object key: `tok` must be a string and a colon must follow; `tok` becomes the token
    /// after the colon (the start of the value).
    fn key(&mut self, tok: &mut Tok) -> Result<Key, DecodeError> {
        let Tok::Scalar(Value::Str(key)) = std::mem::replace(tok, Tok::Eof) else {
            return Err(self.syntax());
        };
        if !matches!(self.token()?, Tok::Punct(b':')) {
            return Err(self.syntax());
        }
        *tok = self.token()?;
        Ok(Key::from_vec(key))
    }

    fn token(&mut self) -> Result<Tok, DecodeError> {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.input.get(self.pos) {
            self.pos += 1;
        }
        self.start = self.pos;
        let rest = self.input.get(self.pos..).unwrap_or_default();
        let (tok, len) = match rest {
            [] => return Ok(Tok::Eof),
            [b @ (b'{' | b'}' | b'[' | b']' | b':' | b','), ..] => (Tok::Punct(*b), 1),
            [b'"', ..] => return self.string(),
            [b'-' | b'0'..=b'9', ..] => return self.number(),
            [b't', b'r', b'u', b'e', ..] => (Tok::Scalar(Value::Bool(true)), 4),
            [b'f', b'a', b'l', b's', b'e', ..] => (Tok::Scalar(Value::Bool(false)), 5),
            [b'n', b'u', b'l', b'l', ..] => (Tok::Scalar(Value::Null), 4),
            [0x00..=0x1f, ..] => return Err(DecodeError::ControlCharacter),
            // PHP: a valid UTF-8 character here is a syntax error, an invalid byte a UTF-8 error.
            [0x80..=0xff, ..] if !starts_with_char(rest) => return Err(DecodeError::MalformedUtf8),
            _ => return Err(self.syntax()),
        };
        self.pos += len;
        Ok(tok)
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.input.get(self.pos + ahead).copied()
    }

    fn skip_digits(&mut self) {
        while self.peek(0).is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, longest match; what follows is the
    /// next token (so `01` is two tokens, a syntax error). Integers that fit `i64` are ints,
    /// other numbers floats (integers beyond `i64` too, as without `JSON_BIGINT_AS_STRING`;
    /// overflow gives ±INF, like `zend_strtod`).
    fn number(&mut self) -> Result<Tok, DecodeError> {
        let start = self.pos;
        if self.peek(0) == Some(b'-') {
            self.pos += 1;
        }
        match self.peek(0) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.skip_digits(),
            _ => return Err(self.syntax()),
        }
        let int_end = self.pos;
        if self.peek(0) == Some(b'.') && self.peek(1).is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
            self.skip_digits();
        }
        if let Some(b'e' | b'E') = self.peek(0) {
            let sign = usize::from(matches!(self.peek(1), Some(b'+' | b'-')));
            if self.peek(1 + sign).is_some_and(|b| b.is_ascii_digit()) {
                self.pos += 1 + sign;
                self.skip_digits();
            }
        }
        let text = std::str::from_utf8(self.input.get(start..self.pos).unwrap_or_default()).unwrap_or_default();
        if self.pos == int_end {
            if let Ok(i) = text.parse() {
                return Ok(Tok::Scalar(Value::Int(i)));
            }
        }
        text.parse().map(|f| Tok::Scalar(Value::Float(f))).map_err(|_| self.syntax())
    }

    /// The string whose opening quote is at `self.pos`.
    fn string(&mut self) -> Result<Tok, DecodeError> {
        let mut buf = Vec::new();
        let mut i = self.pos + 1;
        loop {
            let rest = self.input.get(i..).unwrap_or_default();
            let run = rest.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).unwrap_or(rest.len());
            let (plain, rest) = rest.split_at(run);
            if std::str::from_utf8(plain).is_err() {
                return Err(DecodeError::MalformedUtf8);
            }
            buf.extend_from_slice(plain);
            i += run;
            match rest.first() {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(Tok::Scalar(Value::Str(buf)));
                }
                Some(b'\\') => i = self.escape(i, &mut buf)?,
                // A raw control character, or the end of the input (PHP's scanner reads the
                // terminating NUL as a control character).
                _ => return Err(DecodeError::ControlCharacter),
            }
        }
    }

    /// Decodes the escape sequence at `input[at] == b'\\'` into `buf`; returns the position
    /// after it.
    fn escape(&self, at: usize, buf: &mut Vec<u8>) -> Result<usize, DecodeError> {
        let bad = DecodeError::Syntax { offset: at };
        let byte = match self.input.get(at + 1) {
            Some(b'"') => b'"',
            Some(b'\\') => b'\\',
            Some(b'/') => b'/',
            Some(b'b') => 0x08,
            Some(b'f') => 0x0c,
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b't') => b'\t',
            Some(b'u') => {
                let unit = self.hex4(at + 2).ok_or(bad)?;
                let (code, next) = match unit {
                    0xD800..=0xDBFF => match self.input.get(at + 6..at + 8) {
                        Some(b"\\u") => match self.hex4(at + 8) {
                            Some(low @ 0xDC00..=0xDFFF) => (0x1_0000 + ((unit - 0xD800) << 10) + (low - 0xDC00), at + 12),
                            _ => return Err(DecodeError::Utf16),
                        },
                        _ => return Err(DecodeError::Utf16),
                    },
                    0xDC00..=0xDFFF => return Err(DecodeError::Utf16),
                    _ => (unit, at + 6),
                };
                let c = char::from_u32(code).ok_or(DecodeError::Utf16)?;
                buf.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                return Ok(next);
            }
            _ => return Err(bad),
        };
        buf.push(byte);
        Ok(at + 2)
    }

    /// Four hex digits (either case) at `input[at..at + 4]`.
    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.input.get(at..at + 4)?;
        digits.iter().try_fold(0, |v, &d| Some(v << 4 | char::from(d).to_digit(16)?))
    }
}

/// Whether `s` starts with one complete, valid UTF-8 character.
fn starts_with_char(s: &[u8]) -> bool {
    match std::str::from_utf8(s.get(..4).unwrap_or(s)) {
        Ok(head) => !head.is_empty(),
        Err(e) => e.valid_up_to() > 0,
    }
}

#[cfg(test)]
mod tests {
    use super::super::encode::{encode, normalise, EncodeError};
    use super::*;

    fn dec(s: &str) -> Value {
        decode(s.as_bytes()).unwrap_or_else(|e| panic!("decode {s:?}: {e}"))
    }

    /// `json_encode(json_decode($s, true))`.
    fn reenc(s: &str) -> String {
        String::from_utf8(encode(&dec(s)).expect("encodes")).expect("utf8")
    }

    fn syntax(s: &[u8]) -> bool {
        matches!(decode(s), Err(DecodeError::Syntax { .. }))
    }

    #[test]
    fn objects_become_arrays() {
        assert_eq!(dec("{}"), Value::Array(vec![]));
        assert_eq!(reenc("{}"), "[]");
        assert_eq!(reenc(r#"{"0":"a","1":"b"}"#), r#"["a","b"]"#);
        assert_eq!(reenc(r#"{"1":"a"}"#), r#"{"1":"a"}"#);
        assert_eq!(
            dec(r#"{"1":"a","05":"b","-0":1,"-5":2}"#),
            Value::Array(vec![
                (Key::Int(1), Value::from("a")),
                (Key::Str(b"05".to_vec()), Value::from("b")),
                (Key::Str(b"-0".to_vec()), Value::Int(1)),
                (Key::Int(-5), Value::Int(2)),
            ])
        );
        assert_eq!(reenc(r#"{"a":1,"b":2,"a":3}"#), r#"{"a":3,"b":2}"#);
        assert_eq!(reenc(r#"{"1":1,"x":2,"1":3}"#), r#"{"1":3,"x":2}"#);
        assert_eq!(reenc(r#"{"":1,"\u0000a":2}"#), r#"{"":1,"\u0000a":2}"#);
        assert_eq!(
            dec(r#"{"\u0000a":1}"#),
            Value::Array(vec![(Key::Str(b"\0a".to_vec()), Value::Int(1))])
        );
        assert_eq!(reenc(r#"[{},[],{"a":{}}]"#), r#"[[],[],{"a":[]}]"#);
    }

    #[test]
    fn many_duplicate_keys_use_the_index() {
        let mut text = String::from("{");
        for round in 0..3 {
            for k in 0..40 {
                if text.len() > 1 {
                    text.push(',');
                }
                text.push_str(&format!("\"k{k}\":{}", round * 100 + k));
            }
        }
        text.push_str(",\"7\":1,\"7\":2}");
        let v = dec(&text);
        let Value::Array(entries) = &v else { panic!("array expected") };
        assert_eq!(entries.len(), 41);
        assert_eq!(entries[0], (Key::Str(b"k0".to_vec()), Value::Int(200)));
        assert_eq!(entries[39], (Key::Str(b"k39".to_vec()), Value::Int(239)));
        assert_eq!(entries[40], (Key::Int(7), Value::Int(2)));
    }

    #[test]
    fn numbers() {
        assert_eq!(reenc("1.50"), "1.5");
        assert_eq!(reenc("10.0"), "10");
        assert_eq!(dec("10.0"), Value::Float(10.0));
        assert_eq!(reenc("1E2"), "100");
        assert_eq!(dec("1E2"), Value::Float(100.0));
        assert_eq!(dec("1e+2"), Value::Float(100.0));
        assert_eq!(dec("1e-2"), Value::Float(0.01));
        assert_eq!(dec("-0"), Value::Int(0));
        assert_eq!(reenc("-0"), "0");
        assert_eq!(reenc("-0.0"), "-0");
        assert!(matches!(dec("-0.0"), Value::Float(f) if f == 0.0 && f.is_sign_negative()));
        assert_eq!(reenc("12345678901234567890"), "1.2345678901234567e+19");
        assert_eq!(dec("9223372036854775807"), Value::Int(i64::MAX));
        assert_eq!(dec("-9223372036854775808"), Value::Int(i64::MIN));
        assert_eq!(dec("9223372036854775808"), Value::Float(9223372036854775808.0));
        assert_eq!(dec("-9223372036854775809"), Value::Float(-9223372036854775808.0));
        assert_eq!(dec("1e400"), Value::Float(f64::INFINITY));
        assert_eq!(dec("-1e400"), Value::Float(f64::NEG_INFINITY));
        assert_eq!(encode(&dec("1e400")), Err(EncodeError::InfOrNan));
        assert_eq!(dec("0"), Value::Int(0));
        assert_eq!(dec("[0,-1,23]"), Value::list(vec![0i64.into(), (-1i64).into(), 23i64.into()]));
        assert_eq!(dec("0.1"), Value::Float(0.1));
        assert_eq!(dec("2.5e-3"), Value::Float(0.0025));
        assert_eq!(reenc("1.0e+25"), "1.0e+25");
        for bad in [
            "01",
            "-01",
            "+1",
            ".5",
            "1.",
            "1.e5",
            "-",
            "--1",
            "1e",
            "1e+",
            "0x10",
            "1.5.5",
            "- 1",
            "1 2",
            "Infinity",
            "NaN",
            "-Infinity",
            "00",
        ] {
            assert!(syntax(bad.as_bytes()), "{bad:?}");
        }
    }

    #[test]
    fn strings() {
        assert_eq!(reenc(r#""a/b""#), r#""a\/b""#);
        assert_eq!(dec(r#""a\/b""#), Value::from("a/b"));
        assert_eq!(reenc("\"中文 é 😀\""), r#""\u4e2d\u6587 \u00e9 \ud83d\ude00""#);
        assert_eq!(dec(r#""\ud83d\ude00""#), Value::from("😀"));
        assert_eq!(dec(r#""\uD83D\uDE00""#), Value::from("😀"));
        assert_eq!(dec(r#""\u00e9\u00E9\u4E2D""#), Value::from("éé中"));
        assert_eq!(dec(r#""\"\\\/\b\f\n\r\t\u0000\u001F""#), Value::from("\"\\/\x08\x0c\n\r\t\0\x1f"));
        assert_eq!(dec(r#""""#), Value::from(""));
        assert_eq!(dec("\"\x7f'<>&\""), Value::from("\x7f'<>&"));
        assert_eq!(dec("\"\u{10ffff}\""), Value::from("\u{10ffff}"));
    }

    #[test]
    fn string_errors() {
        assert_eq!(decode(b"\"\x01\""), Err(DecodeError::ControlCharacter));
        assert_eq!(decode(b"\"a\nb\""), Err(DecodeError::ControlCharacter));
        assert_eq!(decode(b"\"a\tb\""), Err(DecodeError::ControlCharacter));
        assert_eq!(decode(b"\"\x00\""), Err(DecodeError::ControlCharacter));
        // Unterminated string: PHP reports a control character (the NUL
        // terminator).
        assert_eq!(decode(b"\"abc"), Err(DecodeError::ControlCharacter));
        assert_eq!(decode(b"[\"abc"), Err(DecodeError::ControlCharacter));
        for bad in [
            &b"\"\xff\""[..],
            b"\"\xc3\"",
            b"\"\xc3",
            b"\"\xed\xa0\x80\"",
            b"\"\xc0\xaf\"",
            b"\"\xf4\x90\x80\x80\"",
            b"\"a\x80\"",
            b"{\"\xff\":1}",
            b"\"\xc3\\n\"",
        ] {
            assert_eq!(decode(bad), Err(DecodeError::MalformedUtf8), "{bad:?}");
        }
        for bad in [
            r#""\ud800""#,
            r#""\udc00""#,
            r#""\ud83d\u0041""#,
            r#""\ud83dx""#,
            r#""\ud800\ud800""#,
            r#""\ude00\ud83d""#,
            r#""\ud83d\uZZZZ""#,
        ] {
            assert_eq!(decode(bad.as_bytes()), Err(DecodeError::Utf16), "{bad}");
        }
        for bad in [r#""\u12""#, r#""\u12G4""#, r#""\x""#, r#""\U0041""#, "\"\\", r#""\'""#] {
            assert!(syntax(bad.as_bytes()), "{bad}");
        }
        // The first problem in the string decides.
        assert_eq!(decode(b"\"\xff\x01\""), Err(DecodeError::MalformedUtf8));
        assert_eq!(decode(b"\"\x01\xff\""), Err(DecodeError::ControlCharacter));
        assert_eq!(decode(b"\"\\ud800\xff\""), Err(DecodeError::Utf16));
    }

    #[test]
    fn string_scan_sees_stops_at_every_offset() {
        for stop in [&b"\""[..], b"\\n", b"\x01", b"\x1f", b"\x00", b"\xff"] {
            for len in [7usize, 8, 9, 16, 17, 31] {
                for at in 0..len {
                    let mut s = b"\"".to_vec();
                    s.extend(std::iter::repeat_n(b'a', at));
                    s.extend_from_slice("é".as_bytes());
                    s.extend_from_slice(stop);
                    s.extend(std::iter::repeat_n(b'z', len - at));
                    s.push(b'"');
                    let got = decode(&s);
                    match stop {
                        b"\"" => assert!(syntax(&s), "{s:?}"),
                        b"\\n" => {
                            let mut want = "a".repeat(at);
                            want.push_str("é\n");
                            want.push_str(&"z".repeat(len - at));
                            assert_eq!(got, Ok(Value::from(want)), "{s:?}");
                        }
                        b"\xff" => assert_eq!(got, Err(DecodeError::MalformedUtf8), "{s:?}"),
                        _ => assert_eq!(got, Err(DecodeError::ControlCharacter), "{s:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn structure_and_whitespace() {
        assert_eq!(dec(" \t\r\n[ 1 , { \"a\" : null } ]\n"), {
            Value::list(vec![Value::Int(1), Value::map(vec![("a", Value::Null)])])
        });
        assert_eq!(dec("true"), Value::Bool(true));
        assert_eq!(dec("false"), Value::Bool(false));
        assert_eq!(dec("null"), Value::Null);
        assert_eq!(dec("\"x\""), Value::from("x"));
        for bad in [
            "",
            " ",
            "{\"a\":1,}",
            "[1,]",
            "[,1]",
            "[01]",
            "{\"a\" 1}",
            "{\"a\":}",
            "{a:1}",
            "{1:1}",
            "{\"a\":1 \"b\":2}",
            "[1 2]",
            "[1}",
            "{\"a\":1]",
            "[}",
            "{]",
            "[",
            "{",
            "[1",
            "{\"a\"",
            "{\"a\":",
            "{\"a\":1",
            "]",
            "}",
            ":",
            ",",
            "nul",
            "truex",
            "True",
            "null null",
            "[] []",
            "1 x",
            "'a'",
            "\"a\" \"b\"",
            "/* */1",
            "[1,,2]",
            "{,}",
        ] {
            assert!(syntax(bad.as_bytes()), "{bad:?}");
        }
        // Only space, tab, CR and LF are whitespace.
        assert_eq!(decode(b"\x0c1"), Err(DecodeError::ControlCharacter));
        assert_eq!(decode(b"1\x00"), Err(DecodeError::ControlCharacter));
        assert_eq!(decode(b"[1,\x01]"), Err(DecodeError::ControlCharacter));
        assert!(syntax("\u{a0}1".as_bytes()));
        assert!(syntax("é".as_bytes()));
        assert_eq!(decode(b"\xff"), Err(DecodeError::MalformedUtf8));
        assert_eq!(decode(b"1 \xc3"), Err(DecodeError::MalformedUtf8));
        assert_eq!(decode(b"[1,2] x"), Err(DecodeError::Syntax { offset: 6 }));
        assert_eq!(decode(b"  }"), Err(DecodeError::Syntax { offset: 2 }));
        assert_eq!(decode(b"\"\\q\""), Err(DecodeError::Syntax { offset: 1 }));
    }

    fn nested(levels: usize, inner: &str) -> String {
        let mut s = "[".repeat(levels);
        s.push_str(inner);
        s.push_str(&"]".repeat(levels));
        s
    }

    #[test]
    fn depth_limit() {
        assert!(decode(nested(MAX_DECODE_NESTING, "1").as_bytes()).is_ok());
        assert!(decode(nested(MAX_DECODE_NESTING, "").as_bytes()).is_ok());
        assert_eq!(decode(nested(MAX_DECODE_NESTING + 1, "1").as_bytes()), Err(DecodeError::Depth));
        assert_eq!(decode(nested(MAX_DECODE_NESTING + 1, "").as_bytes()), Err(DecodeError::Depth));
        let mut obj = "{\"a\":".repeat(MAX_DECODE_NESTING);
        obj.push('1');
        obj.push_str(&"}".repeat(MAX_DECODE_NESTING));
        assert!(decode(obj.as_bytes()).is_ok());
        let mut obj = "{\"a\":".repeat(MAX_DECODE_NESTING + 1);
        obj.push('1');
        obj.push_str(&"}".repeat(MAX_DECODE_NESTING + 1));
        assert_eq!(decode(obj.as_bytes()), Err(DecodeError::Depth));
        // The depth error comes as soon as the level is opened.
        let mut s = "[".repeat(MAX_DECODE_NESTING + 1);
        s.push('\x01');
        assert_eq!(decode(s.as_bytes()), Err(DecodeError::Depth));
        // Huge nesting fails fast without overflowing the stack.
        assert_eq!(decode("[".repeat(1_000_000).as_bytes()), Err(DecodeError::Depth));
        // Width is not depth.
        let wide = format!("[{}1]", "[1],".repeat(10_000));
        assert!(decode(wide.as_bytes()).is_ok());
    }

    #[test]
    fn errors_display_php_messages() {
        assert_eq!(DecodeError::Syntax { offset: 3 }.to_string(), "Syntax error at byte 3");
        assert_eq!(
            DecodeError::MalformedUtf8.to_string(),
            "Malformed UTF-8 characters, possibly incorrectly encoded"
        );
        assert_eq!(DecodeError::Utf16.to_string(), "Single unpaired UTF-16 surrogate in unicode escape");
        assert_eq!(
            DecodeError::ControlCharacter.to_string(),
            "Control character error, possibly incorrectly encoded"
        );
        assert_eq!(DecodeError::Depth.to_string(), "Maximum stack depth exceeded");
    }

    /// xorshift64* — a small deterministic PRNG for the round-trip test.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn random_bytes(rng: &mut Rng) -> Vec<u8> {
        const PIECES: &[&str] = &[
            "a",
            "Z",
            "0",
            "1",
            "-",
            "/",
            "\\",
            "\"",
            "'",
            "<",
            "&",
            " ",
            "\n",
            "\t",
            "\u{0}",
            "\u{1f}",
            "\u{7f}",
            "é",
            "中",
            "😀",
            "\u{2028}",
            "\u{ffff}",
            "\u{10ffff}",
            "05",
            "app\\job",
            "@",
            ".",
        ];
        let len = rng.below(6);
        let mut s = Vec::new();
        for _ in 0..len {
            let piece = PIECES[rng.below(PIECES.len() as u64) as usize];
            s.extend_from_slice(piece.as_bytes());
        }
        s
    }

    fn random_key(rng: &mut Rng) -> Key {
        match rng.below(4) {
            0 => Key::Int(rng.below(5) as i64),
            1 => Key::Int(rng.next() as i64),
            2 => Key::Str(format!("{}", rng.below(4)).into_bytes()),
            _ => Key::Str(random_bytes(rng)),
        }
    }

    fn random_float(rng: &mut Rng) -> f64 {
        match rng.below(6) {
            0 => rng.below(1000) as f64,
            1 => -(rng.below(1000) as f64) / 8.0,
            2 => [0.0, -0.0, 1e16, 1e17, 1e20, 0.1, 1e-5, 5e-324, f64::MAX][rng.below(9) as usize],
            _ => loop {
                let f = f64::from_bits(rng.next());
                if f.is_finite() {
                    break f;
                }
            },
        }
    }

    fn random_value(rng: &mut Rng, depth: u32) -> Value {
        let kinds = if depth >= 4 { 6 } else { 9 };
        match rng.below(kinds) {
            0 => Value::Null,
            1 => Value::Bool(rng.below(2) == 0),
            2 => Value::Int(match rng.below(3) {
                0 => rng.below(100) as i64,
                1 => -(rng.below(100) as i64),
                _ => rng.next() as i64,
            }),
            3 => Value::Float(random_float(rng)),
            4 | 5 => Value::Str(random_bytes(rng)),
            6 => {
                let n = rng.below(5) as usize;
                Value::list((0..n).map(|_| random_value(rng, depth + 1)).collect())
            }
            7 => {
                let n = rng.below(5);
                Value::Array((0..n).map(|_| (random_key(rng), random_value(rng, depth + 1))).collect())
            }
            _ => {
                let n = rng.below(4);
                Value::Object(
                    (0..n)
                        .map(|_| {
                            let mut name = random_bytes(rng);
                            if name.first() == Some(&0) {
                                name.insert(0, b'p');
                            }
                            (name, random_value(rng, depth + 1))
                        })
                        .collect(),
                )
            }
        }
    }

    #[test]
    fn random_round_trip() {
        let mut rng = Rng(0x0123_4567_89AB_CDEF);
        for _ in 0..3000 {
            let v = random_value(&mut rng, 0);
            let first = encode(&v).expect("random values are encodable");
            let decoded = decode(&first).expect("encoder output decodes");
            let norm = normalise(&v).expect("normalises");
            assert_eq!(decoded, norm);
            let again = encode(&decoded).expect("re-encodes");
            assert_eq!(again, encode(&norm).expect("normalised value encodes"));
            // Fix point: decoding and re-encoding changes nothing more.
            let third = encode(&decode(&again).expect("decodes")).expect("encodes");
            assert_eq!(third, again);
            assert_eq!(normalise(&norm).as_ref(), Ok(&norm));
        }
    }
}

//! A reader for PHP `serialize()` output (the subset plain data uses), producing the crate's
//! [`Value`]; plus the helpers that get a test vector's input bytes out of its JSON line.
//!
//! Supported, as PHP 8 `unserialize()` reads them:
//! - `N;` null, `b:0;` / `b:1;` bool, `i:-12;` int (`[+-]?[0-9]+`, must fit an `i64`);
//! - `d:…;` float: PHP's decimal / exponent forms (`d:0.1;`, `d:2;`, `d:1.0E+25;`, `d:-0;` keeps the
//!   sign), `d:INF;`, `d:-INF;`, `d:NAN;`;
//! - `s:LEN:"…";` with LEN a **byte** count of raw bytes (any bytes: `"`, `;`, NUL, invalid UTF-8);
//! - `a:N:{key;value;…}` → [`Value::Array`], entries in order. Keys are `i:` ([`Key::Int`]) or `s:`
//!   ([`Key::Str`]); as in PHP, a string key that is a canonical decimal integer (`"5"`, `"-3"`, not
//!   `"05"`/`"-0"`) becomes an int key, and a repeated key overwrites the earlier value in place;
//! - `O:8:"stdClass":N:{name;value;…}` → [`Value::Object`] (names as bytes; an `i:` name becomes its
//!   decimal text; a repeated name overwrites).
//!
//! Everything else (other classes, `C:`, `E:`, references `r:`/`R:`, malformed or truncated
//! input, trailing bytes, nesting deeper than [`MAX_DEPTH`]) is an `Err` naming the byte offset.

use std::collections::HashMap;

use think_queue_native::{Key, Value};

/// Deepest array/object nesting accepted: PHP's default `unserialize_max_depth`. (The reader
/// itself does not recurse; note that dropping, comparing or printing a `Value` does.)
pub const MAX_DEPTH: usize = 4096;

/// Parses one complete PHP-serialized value; the whole input must be consumed.
pub fn unserialize(input: &[u8]) -> Result<Value, String> {
    let mut p = Parser { b: input, pos: 0 };
    let v = p.value()?;
    if p.pos != input.len() {
        return Err(p.err(format!("{} trailing byte(s) after the value", input.len() - p.pos)));
    }
    Ok(v)
}

/// Parses `serialize([$job, $data, $queue])`: the top value must be an array with exactly the keys
/// 0, 1, 2 in that order. Returns `(job, data, queue)`.
pub fn unserialize_call(input: &[u8]) -> Result<(Value, Value, Value), String> {
    match unserialize(input)? {
        Value::Array(entries) => {
            let keys: Vec<&Key> = entries.iter().map(|(k, _)| k).collect();
            if keys != [&Key::Int(0), &Key::Int(1), &Key::Int(2)] {
                return Err(format!("expected a 3-element list [job, data, queue], got keys {keys:?}"));
            }
            let mut it = entries.into_iter().map(|(_, v)| v);
            match (it.next(), it.next(), it.next()) {
                (Some(job), Some(data), Some(queue)) => Ok((job, data, queue)),
                _ => unreachable!("three entries were checked above"),
            }
        }
        other => Err(format!("expected a 3-element list [job, data, queue], got {other:?}")),
    }
}

/// A vector line's input bytes: the `input` string's UTF-8 bytes, or, when `input` is `null`
/// (the bytes are not valid UTF-8), the base64-decoded `input_b64`. Panics when neither is usable.
pub fn input_bytes(line: &serde_json::Value) -> Vec<u8> {
    if let Some(s) = line["input"].as_str() {
        return s.as_bytes().to_vec();
    }
    let id = line["id"].as_str().unwrap_or("?");
    let b64 = line["input_b64"]
        .as_str()
        .unwrap_or_else(|| panic!("{id}: neither `input` nor `input_b64` is a string"));
    base64_decode(b64).unwrap_or_else(|e| panic!("{id}: input_b64: {e}"))
}

/// Standard base64 (RFC 4648 alphabet `A-Z a-z 0-9 + /`), `=` padding optional, no whitespace.
pub fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    fn sextet(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    let data = match bytes.iter().position(|&c| c == b'=') {
        Some(i) => {
            let pad = &bytes[i..];
            if pad.len() > 2 || pad.iter().any(|&c| c != b'=') || bytes.len() % 4 != 0 {
                return Err(format!("bad padding at offset {i}"));
            }
            &bytes[..i]
        }
        None => bytes,
    };
    if data.len() % 4 == 1 {
        return Err(format!("impossible length {} (a lone 6-bit group)", data.len()));
    }
    let mut out = Vec::with_capacity(data.len() / 4 * 3 + 2);
    for (ci, chunk) in data.chunks(4).enumerate() {
        let mut acc: u32 = 0;
        for (j, &c) in chunk.iter().enumerate() {
            let v = sextet(c).ok_or_else(|| format!("invalid base64 byte 0x{c:02x} at offset {}", ci * 4 + j))?;
            acc |= v << (18 - 6 * j);
        }
        let produced = chunk.len() * 6 / 8; // 4 -> 3, 3 -> 2, 2 -> 1
        out.extend_from_slice(&acc.to_be_bytes()[1..1 + produced]);
        // Non-canonical encodings (leftover bits set) are rejected.
        let unused_bits = 24 - 8 * produced;
        if produced < 3 && acc & ((1 << unused_bits) - 1) != 0 {
            return Err(format!("non-zero trailing bits in the last group at offset {}", ci * 4));
        }
    }
    Ok(out)
}

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, msg: impl std::fmt::Display) -> String {
        err_at(self.pos, msg)
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        match self.peek() {
            Some(got) if got == c => {
                self.pos += 1;
                Ok(())
            }
            Some(got) => Err(self.err(format!("expected {:?}, found {:?}", c as char, got as char))),
            None => Err(self.err(format!("expected {:?}, found end of input", c as char))),
        }
    }

    /// The bytes up to (not including) the next `stop`, consuming them and `stop`.
    fn until(&mut self, stop: u8) -> Result<&[u8], String> {
        let start = self.pos;
        match self.b[start..].iter().position(|&c| c == stop) {
            Some(n) => {
                self.pos = start + n + 1;
                Ok(&self.b[start..start + n])
            }
            None => Err(self.err(format!("missing {:?} (truncated input)", stop as char))),
        }
    }

    /// An unsigned decimal count terminated by `stop` (`s:LEN:`, `a:N:`, `O:LEN:`, `O:..:N:`).
    fn count(&mut self, stop: u8) -> Result<usize, String> {
        let start = self.pos;
        let text = self.until(stop)?;
        if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
            return Err(err_at(
                start,
                format!("expected a decimal count, found {:?}", String::from_utf8_lossy(text)),
            ));
        }
        std::str::from_utf8(text)
            .ok()
            .and_then(|t| t.parse::<usize>().ok())
            .ok_or_else(|| err_at(start, "count too large"))
    }

    /// `i:` body up to `;`.
    fn int_body(&mut self) -> Result<i64, String> {
        let start = self.pos;
        let text = self.until(b';')?;
        let digits = text.strip_prefix(b"-").or_else(|| text.strip_prefix(b"+")).unwrap_or(text);
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(err_at(start, format!("invalid integer {:?}", String::from_utf8_lossy(text))));
        }
        let t = std::str::from_utf8(text).expect("ASCII checked");
        t.parse::<i64>()
            .map_err(|_| err_at(start, format!("integer {t} out of the i64 range")))
    }

    /// `d:` body up to `;`.
    fn float_body(&mut self) -> Result<f64, String> {
        let start = self.pos;
        let text = self.until(b';')?;
        match text {
            b"INF" => return Ok(f64::INFINITY),
            b"-INF" => return Ok(f64::NEG_INFINITY),
            b"NAN" => return Ok(f64::NAN),
            _ => {}
        }
        if !is_php_float_literal(text) {
            return Err(err_at(start, format!("invalid float {:?}", String::from_utf8_lossy(text))));
        }
        let t = std::str::from_utf8(text).expect("ASCII checked");
        t.parse::<f64>().map_err(|e| err_at(start, format!("invalid float {t:?}: {e}")))
    }

    /// `s:` body after `s:`: `LEN:"bytes"` (the caller consumes the terminator).
    fn string_body(&mut self) -> Result<Vec<u8>, String> {
        let len = self.count(b':')?;
        self.expect(b'"')?;
        let start = self.pos;
        let end = start.checked_add(len).filter(|&e| e <= self.b.len()).ok_or_else(|| {
            self.err(format!(
                "string of {len} byte(s) runs past the end of input ({} left)",
                self.b.len() - start
            ))
        })?;
        self.pos = end;
        if self.peek() != Some(b'"') {
            return Err(self.err(format!("string of {len} byte(s) is not followed by '\"' (wrong length?)")));
        }
        self.pos += 1;
        Ok(self.b[start..end].to_vec())
    }

    /// One complete value. Iterative (an explicit stack of open containers), so deep nesting
    /// cannot overflow the thread's stack.
    fn value(&mut self) -> Result<Value, String> {
        let mut stack: Vec<Container> = Vec::new();
        loop {
            let mut done = match self.item(stack.len())? {
                Item::Done(v) => v,
                Item::Open(c) => {
                    stack.push(c);
                    match self.key_or_close(&mut stack)? {
                        Some(closed) => closed,
                        None => continue, // a key was read: its value comes next
                    }
                }
            };
            // Hand the finished value to its container, closing every container it completes.
            loop {
                let Some(top) = stack.last_mut() else {
                    return Ok(done);
                };
                top.insert(done);
                match self.key_or_close(&mut stack)? {
                    Some(closed) => done = closed,
                    None => break,
                }
            }
        }
    }

    /// A scalar, or the header of an array/object up to and including its `{`. `depth` is the
    /// number of containers already open around it.
    fn item(&mut self, depth: usize) -> Result<Item, String> {
        let start = self.pos;
        let Some(tag) = self.peek() else {
            return Err(self.err("expected a value, found end of input"));
        };
        self.pos += 1;
        if tag == b'N' {
            self.expect(b';')?;
            return Ok(Item::Done(Value::Null));
        }
        self.expect(b':')?;
        match tag {
            b'b' => {
                let at = self.pos;
                match self.until(b';')? {
                    b"0" => Ok(Item::Done(Value::Bool(false))),
                    b"1" => Ok(Item::Done(Value::Bool(true))),
                    other => Err(err_at(at, format!("invalid bool {:?}", String::from_utf8_lossy(other)))),
                }
            }
            b'i' => Ok(Item::Done(Value::Int(self.int_body()?))),
            b'd' => Ok(Item::Done(Value::Float(self.float_body()?))),
            b's' => {
                let s = self.string_body()?;
                self.expect(b';')?;
                Ok(Item::Done(Value::Str(s)))
            }
            b'a' | b'O' => {
                if depth >= MAX_DEPTH {
                    return Err(err_at(start, format!("nesting deeper than {MAX_DEPTH}")));
                }
                let is_object = tag == b'O';
                if is_object {
                    let name_at = self.pos;
                    let class = self.string_body()?;
                    if class != b"stdClass" {
                        return Err(err_at(
                            name_at,
                            format!("unsupported class {:?} (only stdClass)", String::from_utf8_lossy(&class)),
                        ));
                    }
                    self.expect(b':')?;
                }
                let n = self.count(b':')?;
                self.expect(b'{')?;
                // Do not trust `n` for the allocation: each entry takes at least 4 bytes.
                let capacity = n.min((self.b.len() - self.pos) / 4);
                Ok(Item::Open(Container {
                    is_object,
                    remaining: n,
                    pending: None,
                    entries: Vec::with_capacity(capacity),
                    int_index: HashMap::new(),
                    str_index: HashMap::new(),
                }))
            }
            other => Err(err_at(start, format!("unsupported or invalid type tag {:?}", other as char))),
        }
    }

    /// For the innermost open container: if all its entries are read, consume its `}`, pop it and
    /// return its value; else read its next key (normalised) and return `None`.
    fn key_or_close(&mut self, stack: &mut Vec<Container>) -> Result<Option<Value>, String> {
        let top = stack.last_mut().expect("an open container");
        if top.remaining == 0 {
            self.expect(b'}')?;
            let c = stack.pop().expect("an open container");
            return Ok(Some(c.finish()));
        }
        let key = self.key()?;
        top.pending = Some(match (top.is_object, key) {
            // object property names are strings
            (true, Key::Int(i)) => Key::Str(i.to_string().into_bytes()),
            // array keys that are canonical integer strings are integers
            (false, Key::Str(s)) => match canonical_int(&s) {
                Some(i) => Key::Int(i),
                None => Key::Str(s),
            },
            (_, key) => key,
        });
        top.remaining -= 1;
        Ok(None)
    }

    /// An array key or property name as written: `i:N;` or `s:LEN:"…";`.
    fn key(&mut self) -> Result<Key, String> {
        let start = self.pos;
        match self.peek() {
            Some(b'i') => {
                self.pos += 1;
                self.expect(b':')?;
                Ok(Key::Int(self.int_body()?))
            }
            Some(b's') => {
                self.pos += 1;
                self.expect(b':')?;
                let s = self.string_body()?;
                self.expect(b';')?;
                Ok(Key::Str(s))
            }
            Some(c) => Err(err_at(start, format!("expected an i: or s: key, found {:?}", c as char))),
            None => Err(err_at(start, "expected a key, found end of input")),
        }
    }
}

/// What [`Parser::item`] read.
enum Item {
    Done(Value),
    Open(Container),
}

/// An array or object being read.
struct Container {
    is_object: bool,
    /// Entries still to read.
    remaining: usize,
    /// The key read whose value is being parsed.
    pending: Option<Key>,
    /// For objects, every key is a `Key::Str`.
    entries: Vec<(Key, Value)>,
    int_index: HashMap<i64, usize>,
    str_index: HashMap<Vec<u8>, usize>,
}

impl Container {
    /// Stores `value` under the pending key; as in PHP, a repeated key overwrites in place.
    fn insert(&mut self, value: Value) {
        let key = self.pending.take().expect("a key precedes every value");
        let slot = match &key {
            Key::Int(i) => self.int_index.get(i).copied(),
            Key::Str(s) => self.str_index.get(s).copied(),
        };
        if let Some(idx) = slot {
            self.entries[idx].1 = value;
            return;
        }
        match &key {
            Key::Int(i) => self.int_index.insert(*i, self.entries.len()),
            Key::Str(s) => self.str_index.insert(s.clone(), self.entries.len()),
        };
        self.entries.push((key, value));
    }

    fn finish(self) -> Value {
        if self.is_object {
            let props = self
                .entries
                .into_iter()
                .map(|(k, v)| match k {
                    Key::Str(name) => (name, v),
                    Key::Int(i) => (i.to_string().into_bytes(), v),
                })
                .collect();
            Value::Object(props)
        } else {
            Value::Array(self.entries)
        }
    }
}

fn err_at(offset: usize, msg: impl std::fmt::Display) -> String {
    format!("unserialize: offset {offset}: {msg}")
}

/// PHP's unserialize float grammar (besides INF/NAN): `iv | nv | (iv | nv) [eE] iv`, where
/// `iv = [+-]?[0-9]+` and `nv = [+-]?([0-9]*\.[0-9]+ | [0-9]+\.[0-9]*)`.
fn is_php_float_literal(t: &[u8]) -> bool {
    let (mantissa, exponent) = match t.iter().position(|&c| c == b'e' || c == b'E') {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    fn unsigned(s: &[u8]) -> &[u8] {
        match s.first() {
            Some(b'+' | b'-') => &s[1..],
            _ => s,
        }
    }
    let m = unsigned(mantissa);
    let m_ok = match m.iter().position(|&c| c == b'.') {
        Some(dot) => {
            let (int, frac) = (&m[..dot], &m[dot + 1..]);
            (!int.is_empty() || !frac.is_empty()) && int.iter().chain(frac).all(u8::is_ascii_digit)
        }
        None => !m.is_empty() && m.iter().all(u8::is_ascii_digit),
    };
    let e_ok = match exponent {
        None => true,
        Some(e) => {
            let e = unsigned(e);
            !e.is_empty() && e.iter().all(u8::is_ascii_digit)
        }
    };
    m_ok && e_ok
}

/// PHP's rule for numeric string array keys: `-?[1-9][0-9]*` or `0`, fitting an `i64`
/// (`"-0"`, `"05"`, `"+5"`, `" 5"` stay strings).
fn canonical_int(s: &[u8]) -> Option<i64> {
    let digits = s.strip_prefix(b"-").unwrap_or(s);
    let ok = match digits {
        [b'0'] => digits.len() == s.len(),
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    if !ok {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse::<i64>().ok()
}

//! Payload bytes: building them exactly as think-queue does, reading their fields, and changing
//! their `attempts`. The only place where payload field names are spelled.
#![forbid(unsafe_code)]

use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::json::{self, DecodeError, EncodeError, Key, Value, MAX_DECODE_NESTING, MAX_ENCODE_DEPTH};

/// Payload field names, in the order think-queue writes them.
pub(crate) mod field {
    pub const JOB: &str = "job";
    pub const MAX_TRIES: &str = "maxTries";
    pub const TIMEOUT: &str = "timeout";
    pub const TIMEOUT_AT: &str = "timeoutAt";
    pub const DATA: &str = "data";
    pub const ID: &str = "id";
    pub const ATTEMPTS: &str = "attempts";
}

/// The handler name think-queue stores for object jobs (`Queue::push(new SomeJob)`).
pub const CALL_QUEUED_HANDLER: &str = "think\\queue\\CallQueuedHandler@call";

/// What a producer asks to enqueue: the handler name, the data, and (v3 only) the job limits.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// `Class`, `Class@method`, or [`CALL_QUEUED_HANDLER`] for object jobs. A string in practice;
    /// kept as a [`Value`] because PHP callers may hand over any value (and invalid UTF-8).
    pub job: Value,
    /// The job data, `""` when the caller gave none (think-queue's default).
    pub data: Value,
    /// v3 `maxTries` (`null` for plain jobs, the object's `$tries` for object jobs).
    pub max_tries: Value,
    /// v3 `timeout` (`null` for plain jobs, the object's `$timeout` for object jobs).
    pub timeout: Value,
    /// v3 `timeoutAt`: written only for object jobs (`Some(Value::Null)` when they have none);
    /// plain jobs have no such key (`None`).
    pub timeout_at: Option<Value>,
    /// The data already encoded as JSON, by the producer's own `json_encode` (the FFI bridge:
    /// PHP encodes `$data` itself, so the bytes are that PHP version's). When set, [`data`](Self::data)
    /// is not used: v3 writes these bytes verbatim, v1 reads them back and re-encodes them, as
    /// stock 1.x's `setMeta` does with its own encoding. Must be valid JSON.
    pub data_json: Option<Vec<u8>>,
}

impl NewJob {
    /// A plain job: `push($job, $data)`.
    pub fn new(job: impl Into<Value>, data: impl Into<Value>) -> NewJob {
        NewJob {
            job: job.into(),
            data: data.into(),
            max_tries: Value::Null,
            timeout: Value::Null,
            timeout_at: None,
            data_json: None,
        }
    }

    /// An object job as think-queue serialises it: `CallQueuedHandler@call` with
    /// `{"commandName": class, "command": serialize($job)}` and the object's limits.
    pub fn object(class: &[u8], serialized: &[u8], max_tries: Value, timeout: Value, timeout_at: Value) -> NewJob {
        let data = Value::Array(vec![
            (Key::from("commandName"), Value::Str(class.to_vec())),
            (Key::from("command"), Value::Str(serialized.to_vec())),
        ]);
        NewJob {
            job: Value::from(CALL_QUEUED_HANDLER),
            data,
            max_tries,
            timeout,
            timeout_at: Some(timeout_at),
            data_json: None,
        }
    }
}

fn entry(name: &str, v: Value) -> (Key, Value) {
    (Key::Str(name.as_bytes().to_vec()), v)
}

fn too_deep(depth: usize) -> Error {
    Error::PayloadTooDeep {
        depth,
        max: MAX_DECODE_NESTING,
    }
}

/// Builds the payload bytes a stock think-queue Redis connector of `dialect` writes for `job`,
/// with the given id. Fails, writing nothing, on data PHP could not encode, and on data PHP
/// could encode but not decode again (512 levels), where stock would silently lose the job.
pub fn build(dialect: Dialect, job: &NewJob, id: &str) -> Result<Vec<u8>> {
    // the job with `null` as data: its bytes end in `"data":null` + what follows the data, so
    // data encoded elsewhere (`data_json`) is spliced in place of that `null`
    let data_json = match &job.data_json {
        Some(raw) => Some(checked_json(raw)?),
        None => None,
    };
    let data = if data_json.is_some() { &Value::Null } else { &job.data };
    match dialect {
        Dialect::V1 => {
            // createPayload encodes {job,data}; setMeta decodes it (normalising), appends the id,
            // encodes; the second setMeta round trip is an identity on normalised data.
            let base = Value::Array(vec![entry(field::JOB, job.job.clone()), entry(field::DATA, data.clone())]);
            let mut first = json::encode(&base)?;
            if let Some(raw) = data_json {
                splice_null(&mut first, 1, raw)?;
                encodable_depth(&first)?;
            }
            let normalised = match json::decode(&first) {
                Ok(v) => v,
                Err(DecodeError::Depth) => return Err(too_deep(json_nesting(&first))),
                Err(_) => return Err(Error::Payload(EncodeError::MalformedUtf8)),
            };
            let mut entries = match normalised {
                Value::Array(entries) => entries,
                _ => return Err(Error::Internal("the payload did not decode to an array".into())),
            };
            entries.push(entry(field::ID, Value::from(id)));
            entries.push(entry(field::ATTEMPTS, Value::Int(dialect.initial_attempts())));
            let mut out = Vec::with_capacity(first.len() + 64);
            json::encode_into(&mut out, &Value::Array(entries))?;
            Ok(out)
        }
        Dialect::V3 => {
            let mut entries = Vec::with_capacity(7);
            entries.push(entry(field::JOB, job.job.clone()));
            entries.push(entry(field::MAX_TRIES, job.max_tries.clone()));
            entries.push(entry(field::TIMEOUT, job.timeout.clone()));
            if let Some(at) = &job.timeout_at {
                entries.push(entry(field::TIMEOUT_AT, at.clone()));
            }
            entries.push(entry(field::DATA, data.clone()));
            entries.push(entry(field::ID, Value::from(id)));
            entries.push(entry(field::ATTEMPTS, Value::Int(dialect.initial_attempts())));
            let payload = Value::Array(entries);
            let mut out = Vec::with_capacity(128);
            json::encode_into(&mut out, &payload)?;
            if let Some(raw) = data_json {
                let tail = json::encode(&Value::Array(vec![
                    entry(field::ID, Value::from(id)),
                    entry(field::ATTEMPTS, Value::Int(dialect.initial_attempts())),
                ]))?;
                // `,"id":...,"attempts":0}` is the tail of `{"id":...,"attempts":0}` without its `{`
                splice_null(&mut out, tail.len(), raw)?;
                encodable_depth(&out)?;
            }
            // 512 levels need at least 1024 bracket bytes: skip the walk for ordinary payloads
            if out.len() >= 2 * (MAX_DECODE_NESTING + 1) {
                let depth = json_nesting(&out);
                if depth > MAX_DECODE_NESTING {
                    return Err(too_deep(depth));
                }
            }
            Ok(out)
        }
    }
}

/// `raw` when it is one JSON value (as `json_decode` would read it, any depth PHP could encode).
fn checked_json(raw: &[u8]) -> Result<&[u8]> {
    match json::decode(raw) {
        Ok(_) | Err(DecodeError::Depth) => Ok(raw),
        Err(e) => Err(Error::Config(format!("the job data given as JSON is not valid JSON: {e}"))),
    }
}

/// The error PHP's `json_encode` of the whole payload gives when data encoded on its own nests
/// so deep that the payload around it passes PHP's 512 levels.
fn encodable_depth(payload: &[u8]) -> Result<()> {
    if payload.len() > 2 * MAX_ENCODE_DEPTH && json_nesting(payload) > MAX_ENCODE_DEPTH {
        return Err(Error::Payload(EncodeError::Depth));
    }
    Ok(())
}

/// Replaces the `null` that ends `bytes[..len - tail]` by `raw`.
fn splice_null(bytes: &mut Vec<u8>, tail: usize, raw: &[u8]) -> Result<()> {
    let end = bytes.len().checked_sub(tail).filter(|e| *e >= 4 && &bytes[*e - 4..*e] == b"null");
    let Some(end) = end else {
        return Err(Error::Internal("no `null` data to replace in the payload".into()));
    };
    bytes.splice(end - 4..end, raw.iter().copied());
    Ok(())
}

/// Array/object nesting of JSON text (brackets outside strings).
fn json_nesting(bytes: &[u8]) -> usize {
    let (mut depth, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Where a payload's trailing `"attempts":N}` sits: `(start of the digits, N)`, or `None` when the
/// payload does not end that way. Every payload think-queue writes ends so.
pub fn trailing_attempts(payload: &[u8]) -> Option<(usize, i64)> {
    const KEY: &[u8] = b"\"attempts\":";
    let body = payload.strip_suffix(b"}")?;
    let digits = body.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    // same bound as the Lua splice (lib.lua): at most 13 digits
    if digits == 0 || digits > 13 {
        return None;
    }
    let start = body.len() - digits;
    let head = body[..start].strip_suffix(KEY)?;
    if !matches!(head.last(), Some(b',') | Some(b'{')) {
        return None;
    }
    let n = std::str::from_utf8(&body[start..]).ok()?.parse::<i64>().ok()?;
    Some((start, n))
}

/// Replaces the trailing `"attempts":N}` by `attempts`, leaving every other byte as it is.
pub fn splice_attempts(payload: &[u8], attempts: i64) -> Option<Vec<u8>> {
    let (start, _) = trailing_attempts(payload)?;
    let mut out = Vec::with_capacity(payload.len() + 2);
    out.extend_from_slice(&payload[..start]);
    out.extend_from_slice(attempts.to_string().as_bytes());
    out.push(b'}');
    Some(out)
}

/// think-queue's `setMeta($payload, 'attempts', n)`: the payload with `attempts` set. Splices when
/// the payload ends in `"attempts":N}` (byte-identical to stock for every payload stock writes);
/// otherwise decodes, sets the key (in place, or appended) and re-encodes, normalising as PHP does.
pub fn set_attempts(payload: &[u8], attempts: i64) -> std::result::Result<Vec<u8>, String> {
    if let Some(out) = splice_attempts(payload, attempts) {
        return Ok(out);
    }
    let mut entries = match json::decode(payload) {
        Ok(Value::Array(entries)) => entries,
        Ok(_) => return Err("payload is not a JSON object".into()),
        Err(e) => return Err(format!("payload is not valid JSON: {e}")),
    };
    let key = Key::from(field::ATTEMPTS);
    match entries.iter_mut().find(|(k, _)| *k == key) {
        Some((_, v)) => *v = Value::Int(attempts),
        None => entries.push((key, Value::Int(attempts))),
    }
    json::encode(&Value::Array(entries)).map_err(|e| format!("payload cannot be re-encoded: {e}"))
}

/// The `id` of a payload (think-queue's `json_decode($payload, true)['id'] ?? null`), when it is
/// a string.
pub fn payload_id(payload: &[u8]) -> Option<String> {
    match json::decode(payload).ok()?.get(field::ID)? {
        Value::Str(s) => String::from_utf8(s.clone()).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_given_as_json_builds_the_same_bytes() {
        let object = Value::Object(vec![]);
        let values = [
            Value::Str(Vec::new()),
            Value::Null,
            Value::map(vec![
                ("a/b", Value::from("中")),
                ("n", Value::Float(0.1)),
                ("l", Value::list(vec![Value::Int(1)])),
            ]),
            object.clone(),
            Value::map(vec![("o", object)]),
        ];
        for dialect in [Dialect::V1, Dialect::V3] {
            for data in &values {
                let mut job = NewJob::object(b"app\\job\\A", b"O:1:\"A\":0:{}", Value::Int(3), Value::Null, Value::Null);
                job.data = data.clone();
                let want = build(dialect, &job, "ID").unwrap_or_default();
                job.data = Value::from("ignored");
                job.data_json = json::encode(data).ok();
                assert_eq!(
                    build(dialect, &job, "ID").map_err(|e| e.to_string()),
                    Ok(want),
                    "{dialect} {data:?}"
                );
            }
        }
        // v3 keeps `{}` as written, v1 normalises it to `[]` as stock 1.x's setMeta does
        let mut job = NewJob::new("A", Value::Null);
        job.data_json = Some(b"{}".to_vec());
        assert_eq!(
            build(Dialect::V3, &job, "I").unwrap_or_default(),
            br#"{"job":"A","maxTries":null,"timeout":null,"data":{},"id":"I","attempts":0}"#.to_vec()
        );
        assert_eq!(
            build(Dialect::V1, &job, "I").unwrap_or_default(),
            br#"{"job":"A","data":[],"id":"I","attempts":1}"#.to_vec()
        );
        job.data_json = Some(b"{nope".to_vec());
        assert!(build(Dialect::V3, &job, "I").is_err_and(|e| e.is_config()));
        // too deep for json_decode: refused, as for data given as values
        let deep = format!("{}{}", "[".repeat(511), "]".repeat(511));
        job.data_json = Some(deep.into_bytes());
        for dialect in [Dialect::V1, Dialect::V3] {
            assert!(matches!(build(dialect, &job, "I"), Err(Error::PayloadTooDeep { .. })), "{dialect}");
        }
        // data PHP encodes on its own (512 levels) inside a payload PHP could not encode (513)
        let deeper = format!("{}{}", "[".repeat(512), "]".repeat(512));
        job.data_json = Some(deeper.into_bytes());
        for dialect in [Dialect::V1, Dialect::V3] {
            let e = build(dialect, &job, "I").err().map(|e| e.to_string());
            assert_eq!(
                e.as_deref(),
                Some("Unable to create payload: Maximum stack depth exceeded"),
                "{dialect}"
            );
        }
    }

    #[test]
    fn trailing_attempts_forms() {
        assert_eq!(trailing_attempts(br#"{"job":"a","attempts":1}"#), Some((22, 1)));
        assert_eq!(trailing_attempts(br#"{"attempts":12}"#), Some((12, 12)));
        assert_eq!(trailing_attempts(br#"{"job":"a","data":{"attempts":1}}"#), None);
        assert_eq!(trailing_attempts(br#"{"job":"a","xattempts":1}"#), None);
        assert_eq!(trailing_attempts(br#"{"job":"\"attempts":1}"#), None);
        assert_eq!(trailing_attempts(br#"{"job":"a","attempts":-1}"#), None);
        assert_eq!(trailing_attempts(br#"{"job":"a","attempts":}"#), None);
        assert_eq!(trailing_attempts(b"not json"), None);
        assert_eq!(trailing_attempts(br#"{"attempts":12345678901234}"#), None);
    }

    #[test]
    fn splice_keeps_other_bytes() {
        let p = br#"{"job":"x","data":{"e":{},"f":1.0e+20,"n":-0},"id":"abc","attempts":0}"#;
        let out = splice_attempts(p, 1).unwrap_or_default();
        assert_eq!(
            out,
            br#"{"job":"x","data":{"e":{},"f":1.0e+20,"n":-0},"id":"abc","attempts":1}"#.to_vec()
        );
        assert_eq!(
            splice_attempts(br#"{"attempts":9}"#, 10).unwrap_or_default(),
            br#"{"attempts":10}"#.to_vec()
        );
    }

    #[test]
    fn set_attempts_falls_back_to_stock_re_encoding() {
        // attempts not last: decoded, set in place, re-encoded (normalised: {} -> [])
        let p = br#"{"attempts":1,"job":"x","data":{}}"#;
        assert_eq!(
            set_attempts(p, 2).unwrap_or_default(),
            br#"{"attempts":2,"job":"x","data":[]}"#.to_vec()
        );
        // no attempts at all: appended
        assert_eq!(
            set_attempts(br#"{"job":"x"}"#, 1).unwrap_or_default(),
            br#"{"job":"x","attempts":1}"#.to_vec()
        );
        assert!(set_attempts(b"nope", 1).is_err());
        // a JSON list is a PHP array too: PHP's `$p['attempts'] = 1` turns it into an object
        assert_eq!(set_attempts(b"[1]", 1).unwrap_or_default(), br#"{"0":1,"attempts":1}"#.to_vec());
        assert!(set_attempts(b"1", 1).is_err());
    }

    #[test]
    fn build_v1_and_v3() {
        let job = NewJob::new(
            "app\\job\\SendSms",
            Value::map(vec![("mobile", Value::from("13800000000")), ("n", Value::Int(1))]),
        );
        let v1 = build(Dialect::V1, &job, "ID").unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&v1),
            r#"{"job":"app\\job\\SendSms","data":{"mobile":"13800000000","n":1},"id":"ID","attempts":1}"#
        );
        let v3 = build(Dialect::V3, &job, "ID").unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&v3),
            r#"{"job":"app\\job\\SendSms","maxTries":null,"timeout":null,"data":{"mobile":"13800000000","n":1},"id":"ID","attempts":0}"#
        );
    }

    #[test]
    fn build_refuses_what_php_cannot_decode() {
        let mut data = Value::list(vec![Value::Int(1)]);
        for _ in 0..510 {
            data = Value::list(vec![data]);
        }
        // data nests 511 levels: the payload nests 512, json_decode's limit is 511
        for d in [Dialect::V1, Dialect::V3] {
            let err = build(d, &NewJob::new("J", data.clone()), "ID");
            assert!(matches!(err, Err(Error::PayloadTooDeep { depth: 512, max: 511 })), "{d}: {err:?}");
        }
        let data = match data {
            Value::Array(mut v) => v.remove(0).1,
            v => v,
        };
        for d in [Dialect::V1, Dialect::V3] {
            assert!(build(d, &NewJob::new("J", data.clone()), "ID").is_ok());
        }
    }
}

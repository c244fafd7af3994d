//! Every v1 and v3 line of `tests/data/payloads.jsonl` (a copy of `shared/vectors/payloads.jsonl`:
//! bytes observed from stock think-queue), replayed through `RedisQueue` against a real redis-server: the pushed bytes, the
//! key, the return value, the reserved member after pop, the delayed member after release(0), and
//! the error cases (typed error, Redis untouched).
//!
//! Deliberate differences from stock, asserted here as such:
//! - v3 lines with `normalisation_changes_data: true`: stock writes the reserved (and released)
//!   copy as `json_encode(json_decode($raw, true))` with attempts+1, which rewrites the user's data
//!   (`{}` -> `[]`, `-0` -> `0`, `{"0":..}` -> `[..]`). We splice the trailing `"attempts":N` in
//!   Lua instead, in the same script as the pop (no lost-job window, no cjson). Our copy is the
//!   raw bytes with attempts+1; the test checks that it decodes to exactly what stock's copy
//!   decodes to (PHP consumers, which decode with assoc=true, see the same data).
//! - `nested.d511_list`: data nested 511 levels makes a payload PHP can encode but not decode.
//!   Stock v1 then silently stores `{"id":..,"attempts":1}` (job and data dropped) and stock v3
//!   stores a job that its pop loses. We refuse with `Error::PayloadTooDeep` and write nothing.

mod support;

use serde_json::Value as J;
use support::php_unserialize::{input_bytes, unserialize_call};
use support::redis_server::{client, RedisServer};
use think_queue_native::unstable::splice_attempts;
use think_queue_native::{decode, encode, unix_now, ConnectionOptions, Delay, Dialect, Error, NewJob, QueueOptions, RedisQueue, Value};

fn cases(version: &str) -> Vec<J> {
    let text = std::fs::read_to_string(support::vectors_path()).expect("the vectors file (set TQN_VECTORS to its path)");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<J>(l).expect("a JSON line"))
        .filter(|c| c["version"] == version)
        .collect()
}

/// Expected string with `<ID>` replaced by the id.
fn with_id(expected: &J, id: &str) -> Option<Vec<u8>> {
    expected.as_str().map(|s| s.replace("<ID>", id).into_bytes())
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn queue_arg(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::Str(s) => Some(String::from_utf8(s.clone()).expect("queue names in the vectors are UTF-8")),
        Value::Int(n) => Some(n.to_string()),
        other => panic!("unexpected queue argument {other:?}"),
    }
}

fn run_version(version: &str, dialect: Dialect) {
    let server = RedisServer::start();
    let mut r = client(server.port());
    let conn = ConnectionOptions {
        port: server.port(),
        ..Default::default()
    };
    // the stock keys only: metrics and the workers registry (written by the pops, and by a
    // heartbeat thread at its own pace) are ours and checked in tests/metrics.rs
    let mut opts = QueueOptions::new(dialect);
    opts.metrics = false;
    let mut q = RedisQueue::connect(conn, opts).expect("connect");
    let all = cases(version);
    assert_eq!(all.len(), 226, "{version}: every input of the vector file");
    let mut checked = 0;
    let mut deviations = Vec::new();
    for case in &all {
        let name = case["id"].as_str().unwrap_or("?").to_owned();
        let _: () = redis::cmd("FLUSHALL").query(&mut r).expect("flushall");
        let (job, data, queue) = unserialize_call(&input_bytes(case)).unwrap_or_else(|e| panic!("{name}: input: {e}"));
        let queue = queue_arg(&queue);
        let new_job = NewJob::new(job, data);
        let is_later = case["op"] == "later";
        let before = unix_now();
        let result = if is_later {
            let delay = case["delay"].as_i64().expect("delay");
            q.later(Delay::Seconds(delay), &new_job, queue.as_deref())
        } else {
            q.push(&new_job, queue.as_deref())
        };
        let after = unix_now();

        // error lines: a typed payload error with think-queue's message, and Redis untouched
        if !case["error"].is_null() {
            let err = result.expect_err(&name);
            assert!(err.is_payload(), "{name}: {err:?}");
            assert_eq!(err.to_string(), case["error"]["message"].as_str().unwrap_or_default(), "{name}");
            let size: i64 = redis::cmd("DBSIZE").query(&mut r).expect("dbsize");
            assert_eq!(size, 0, "{name}: nothing may be written");
            checked += 1;
            continue;
        }
        if name == "nested.d511_list" {
            let err = result.expect_err(&name);
            assert!(matches!(err, Error::PayloadTooDeep { depth: 512, .. }), "{name}: {err:?}");
            let size: i64 = redis::cmd("DBSIZE").query(&mut r).expect("dbsize");
            assert_eq!(size, 0, "{name}: nothing may be written");
            deviations.push(name);
            checked += 1;
            continue;
        }
        let id = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(id.len(), 32, "{name}");
        assert!(id.bytes().all(|b| b.is_ascii_alphabetic()), "{name}: {id}");
        if version == "v1" && is_later {
            assert_eq!(case["returns"], J::Null, "stock v1 later() returns null; we return the id");
        } else {
            assert_eq!(case["returns"], "<ID>", "{name}");
        }

        // the key and the exact bytes
        let key = case["key"].as_str().expect("key").to_owned();
        let expected = with_id(&case["payload"], &id).expect("payload");
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut r).expect("keys");
        assert_eq!(keys, vec![key.clone()], "{name}: the only key written");
        if is_later {
            let members: Vec<(Vec<u8>, i64)> = redis::cmd("ZRANGE")
                .arg(&key)
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES")
                .query(&mut r)
                .expect("zrange");
            assert_eq!(members.len(), 1, "{name}");
            assert_eq!(show(&members[0].0), show(&expected), "{name}: delayed bytes");
            let delay = case["delay"].as_i64().unwrap_or(0);
            assert!(
                members[0].1 >= before + delay && members[0].1 <= after + delay,
                "{name}: score {}",
                members[0].1
            );
            // as the vectors were made: make it due, so pop migrates it
            let _: i64 = redis::cmd("ZADD")
                .arg(&key)
                .arg("XX")
                .arg(0)
                .arg(&members[0].0)
                .query(&mut r)
                .expect("zadd xx");
        } else {
            let items: Vec<Vec<u8>> = redis::cmd("LRANGE").arg(&key).arg(0).arg(-1).query(&mut r).expect("lrange");
            assert_eq!(items.len(), 1, "{name}");
            assert_eq!(show(&items[0]), show(&expected), "{name}: pushed bytes");
        }

        // pop: the reserved member
        let keys = q.keys(queue.as_deref());
        let popped = q
            .pop(queue.as_deref())
            .unwrap_or_else(|e| panic!("{name}: pop: {e}"))
            .unwrap_or_else(|| panic!("{name}: pop found nothing"));
        assert_eq!(show(popped.raw_body()), show(&expected), "{name}: raw body");
        assert_eq!(popped.attempts().expect("attempts"), 1, "{name}");
        assert_eq!(popped.id().expect("id").as_deref(), Some(id.as_str()), "{name}");
        let reserved: Vec<(Vec<u8>, i64)> = redis::cmd("ZRANGE")
            .arg(&keys.reserved)
            .arg(0)
            .arg(-1)
            .arg("WITHSCORES")
            .query(&mut r)
            .expect("zrange");
        assert_eq!(reserved.len(), 1, "{name}");
        assert_eq!(reserved[0].0, popped.reserved_body(), "{name}");
        assert!(
            reserved[0].1 >= before + 60 && reserved[0].1 <= unix_now() + 60,
            "{name}: reserved score"
        );
        let stock_reserved = with_id(&case["reserved"], &id).expect("reserved");
        let changes = case["normalisation_changes_data"] == true;
        if changes {
            assert_eq!(version, "v3", "{name}: v1 payloads are already normalised");
            // ours: the raw bytes with attempts spliced; stock's: the normalised re-encode
            let ours = splice_attempts(&expected, 1).expect("splice");
            assert_eq!(show(&reserved[0].0), show(&ours), "{name}: reserved = raw with attempts+1");
            let same = encode(&decode(&reserved[0].0).expect("decode ours")).expect("re-encode");
            assert_eq!(
                show(&same),
                show(&stock_reserved),
                "{name}: ours decodes to what stock's copy holds"
            );
            deviations.push(name.clone());
        } else {
            assert_eq!(show(&reserved[0].0), show(&stock_reserved), "{name}: reserved bytes");
        }

        // release(0): the delayed member; reserved and ready empty afterwards
        assert!(q.release(&popped, 0).expect("release"), "{name}: release");
        let delayed: Vec<Vec<u8>> = redis::cmd("ZRANGE")
            .arg(&keys.delayed)
            .arg(0)
            .arg(-1)
            .query(&mut r)
            .expect("zrange");
        let stock_released = with_id(&case["released"], &id).expect("released");
        assert_eq!(delayed.len(), 1, "{name}");
        if changes {
            assert_eq!(
                show(&delayed[0]),
                show(popped.reserved_body()),
                "{name}: v3 releases the reserved copy"
            );
            let same = encode(&decode(&delayed[0]).expect("decode")).expect("re-encode");
            assert_eq!(show(&same), show(&stock_released), "{name}: released decodes as stock's");
        } else {
            assert_eq!(show(&delayed[0]), show(&stock_released), "{name}: released bytes");
        }
        let (ready, reserved_n): (i64, i64) = redis::pipe()
            .cmd("LLEN")
            .arg(&keys.ready)
            .cmd("ZCARD")
            .arg(&keys.reserved)
            .query(&mut r)
            .expect("sizes");
        assert_eq!((ready, reserved_n), (0, 0), "{name}");
        checked += 1;
    }
    assert_eq!(checked, 226);
    eprintln!("{version}: {checked} vectors checked; documented deviations: {deviations:?}");
}

#[test]
fn v1_vectors_match_stock_bytes() {
    run_version("v1", Dialect::V1);
}

#[test]
fn v3_vectors_match_stock_bytes() {
    run_version("v3", Dialect::V3);
}

#[test]
fn the_vector_copy_matches_the_shared_original_when_present() {
    let shared = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/vectors/payloads.jsonl");
    if let Ok(original) = std::fs::read(shared) {
        let ours = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/payloads.jsonl")).expect("tests/data/payloads.jsonl");
        assert!(ours == original, "tests/data/payloads.jsonl differs from {shared}: copy it again");
    }
}

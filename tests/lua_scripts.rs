//! Each Lua script alone, run with EVAL against a real redis-server on hand-built keys.

mod support;

use redis::Value as R;
use support::redis_server::{client, shared, unique_queue};
use think_queue_native::unstable::{script_source, splice_attempts};

fn eval(r: &mut redis::Connection, script: &str, keys: &[&str], args: &[&str]) -> R {
    let src = script_source(script).expect("script exists");
    let mut c = redis::cmd("EVAL");
    c.arg(src).arg(keys.len());
    for k in keys {
        c.arg(*k);
    }
    for a in args {
        c.arg(*a);
    }
    c.query(r).unwrap_or_else(|e| panic!("{script}: {e}"))
}

fn keys3(label: &str) -> (String, String, String) {
    let q = unique_queue(label);
    let ready = format!("{{queues:{q}}}");
    (ready.clone(), format!("{ready}:delayed"), format!("{ready}:reserved"))
}

fn bytes(v: &R) -> Vec<u8> {
    match v {
        R::BulkString(b) => b.clone(),
        other => panic!("not a bulk string: {other:?}"),
    }
}

fn list(r: &mut redis::Connection, key: &str) -> Vec<String> {
    redis::cmd("LRANGE").arg(key).arg(0).arg(-1).query(r).expect("lrange")
}

fn zset(r: &mut redis::Connection, key: &str) -> Vec<(String, i64)> {
    redis::cmd("ZRANGE")
        .arg(key)
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(r)
        .expect("zrange")
}

fn zadd(r: &mut redis::Connection, key: &str, score: i64, member: &str) {
    let _: i64 = redis::cmd("ZADD").arg(key).arg(score).arg(member).query(r).expect("zadd");
}

#[test]
fn pop_on_empty_keys_returns_minus_one_and_writes_nothing() {
    let mut r = client(shared().port());
    let (ready, delayed, reserved) = keys3("lua_empty");
    let out = eval(
        &mut r,
        "pop.lua",
        &[&ready, &delayed, &reserved],
        &["1000", "1060", "100", "1", "0", "1"],
    );
    assert_eq!(out, R::Int(-1), "nothing ready and nothing will become due");
    let n: i64 = redis::cmd("EXISTS")
        .arg(&ready)
        .arg(&delayed)
        .arg(&reserved)
        .query(&mut r)
        .expect("exists");
    assert_eq!(n, 0);
}

#[test]
fn pop_migrates_due_jobs_in_score_order_then_reserves_the_head() {
    let mut r = client(shared().port());
    let (ready, delayed, reserved) = keys3("lua_pop");
    let _: i64 = redis::cmd("RPUSH")
        .arg(&ready)
        .arg(r#"{"job":"head","attempts":0}"#)
        .query(&mut r)
        .expect("rpush");
    zadd(&mut r, &delayed, 900, r#"{"job":"d2","attempts":0}"#);
    zadd(&mut r, &delayed, 800, r#"{"job":"d1","attempts":0}"#);
    zadd(&mut r, &delayed, 1001, r#"{"job":"future","attempts":0}"#);
    zadd(&mut r, &reserved, 1000, r#"{"job":"expired","attempts":3}"#);
    zadd(&mut r, &reserved, 1500, r#"{"job":"running","attempts":1}"#);
    // v3 rules: no bump on expiry, bump in the reserved copy
    let out = eval(
        &mut r,
        "pop.lua",
        &[&ready, &delayed, &reserved],
        &["1000", "1060", "100", "1", "0", "1"],
    );
    let items = match out {
        R::Array(items) => items,
        other => panic!("{other:?}"),
    };
    assert_eq!(bytes(&items[0]), br#"{"job":"head","attempts":0}"#.to_vec());
    assert_eq!(bytes(&items[1]), br#"{"job":"head","attempts":1}"#.to_vec());
    assert_eq!(items[2], R::Int(1));
    assert_eq!(
        list(&mut r, &ready),
        vec![
            r#"{"job":"d1","attempts":0}"#,
            r#"{"job":"d2","attempts":0}"#,
            r#"{"job":"expired","attempts":3}"#
        ]
    );
    assert_eq!(zset(&mut r, &delayed), vec![(r#"{"job":"future","attempts":0}"#.to_owned(), 1001)]);
    assert_eq!(
        zset(&mut r, &reserved),
        vec![
            (r#"{"job":"head","attempts":1}"#.to_owned(), 1060),
            (r#"{"job":"running","attempts":1}"#.to_owned(), 1500)
        ]
    );
}

#[test]
fn pop_v1_rules_bump_on_expiry_and_reserve_raw_bytes() {
    let mut r = client(shared().port());
    let (ready, delayed, reserved) = keys3("lua_pop_v1");
    zadd(&mut r, &reserved, 5, r#"{"job":"expired","data":{"e":{}},"id":"x","attempts":1}"#);
    let out = eval(
        &mut r,
        "pop.lua",
        &[&ready, &delayed, &reserved],
        &["10", "70", "100", "1", "1", "0"],
    );
    let items = match out {
        R::Array(items) => items,
        other => panic!("{other:?}"),
    };
    let expected = r#"{"job":"expired","data":{"e":{}},"id":"x","attempts":2}"#;
    assert_eq!(
        bytes(&items[0]),
        expected.as_bytes(),
        "expiry migration bumped attempts, bytes otherwise kept"
    );
    assert_eq!(bytes(&items[1]), expected.as_bytes(), "v1 reserves the popped bytes");
    assert_eq!(items[2], R::Int(0));
    assert_eq!(zset(&mut r, &reserved), vec![(expected.to_owned(), 70)]);
}

#[test]
fn pop_without_expiry_leaves_expired_reservations_alone() {
    let mut r = client(shared().port());
    let (ready, delayed, reserved) = keys3("lua_noexp");
    zadd(&mut r, &reserved, 1, r#"{"job":"old","attempts":1}"#);
    let out = eval(
        &mut r,
        "pop.lua",
        &[&ready, &delayed, &reserved],
        &["100", "100", "100", "0", "1", "0"],
    );
    assert_eq!(out, R::Int(-1), "nothing ready and nothing will become due");
    assert_eq!(zset(&mut r, &reserved).len(), 1);
}

#[test]
fn an_empty_pop_reports_when_the_next_job_becomes_due() {
    let mut r = client(shared().port());
    let (ready, delayed, reserved) = keys3("lua_due");
    zadd(&mut r, &delayed, 2000, r#"{"job":"later","attempts":0}"#);
    zadd(&mut r, &reserved, 1500, r#"{"job":"running","attempts":1}"#);
    // expiry on: the reservation expiring at 1500 comes first
    let out = eval(
        &mut r,
        "pop.lua",
        &[&ready, &delayed, &reserved],
        &["1000", "1060", "100", "1", "0", "1"],
    );
    assert_eq!(out, R::Int(1500));
    // expiry off: only the delayed job counts
    let out = eval(
        &mut r,
        "pop.lua",
        &[&ready, &delayed, &reserved],
        &["1000", "1060", "100", "0", "0", "1"],
    );
    assert_eq!(out, R::Int(2000));
    assert_eq!(list(&mut r, &ready).len(), 0);
    // a fractional score (not think-queue's, but possible) is reported rounded up: the member is
    // only taken once `now` (whole seconds) reaches it
    let (ready2, delayed2, reserved2) = keys3("lua_due_frac");
    let _: i64 = redis::cmd("ZADD")
        .arg(&delayed2)
        .arg("1000.5")
        .arg("F")
        .query(&mut r)
        .expect("zadd");
    let out = eval(
        &mut r,
        "pop.lua",
        &[&ready2, &delayed2, &reserved2],
        &["1000", "1060", "100", "1", "0", "1"],
    );
    assert_eq!(out, R::Int(1001));
}

#[test]
fn pop_moves_at_most_a_batch_from_each_set() {
    let mut r = client(shared().port());
    let (ready, delayed, reserved) = keys3("lua_batch");
    for i in 0..30 {
        zadd(&mut r, &delayed, i, &format!(r#"{{"d":{i},"attempts":0}}"#));
        zadd(&mut r, &reserved, i, &format!(r#"{{"r":{i},"attempts":0}}"#));
    }
    eval(
        &mut r,
        "pop.lua",
        &[&ready, &delayed, &reserved],
        &["100", "160", "10", "1", "0", "1"],
    );
    // 10 + 10 moved, one popped (and now reserved)
    assert_eq!(list(&mut r, &ready).len(), 19);
    let d: i64 = redis::cmd("ZCARD").arg(&delayed).query(&mut r).expect("zcard");
    let s: i64 = redis::cmd("ZCARD").arg(&reserved).query(&mut r).expect("zcard");
    assert_eq!((d, s), (20, 21));
}

#[test]
fn bump_splices_only_a_trailing_top_level_attempts() {
    let mut r = client(shared().port());
    let cases = [
        (r#"{"job":"a","attempts":0}"#, Some(r#"{"job":"a","attempts":1}"#)),
        (r#"{"attempts":9}"#, Some(r#"{"attempts":10}"#)),
        (
            r#"{"job":"a","data":{"e":{},"f":1.0e+20},"attempts":41}"#,
            Some(r#"{"job":"a","data":{"e":{},"f":1.0e+20},"attempts":42}"#),
        ),
        (r#"{"job":"a","data":{"attempts":1}}"#, None),
        (r#"{"job":"a","xattempts":1}"#, None),
        (r#"{"job":"\"attempts":1}"#, None),
        (r#"{"job":"a","attempts":"1"}"#, None),
        (r#"{"job":"a","attempts":-1}"#, None),
        ("garbage", None),
        (r#"{"attempts":99999999999999}"#, None),
        (r#"{"attempts":9999999999999}"#, Some(r#"{"attempts":10000000000000}"#)),
    ];
    for (input, want) in cases {
        let (ready, delayed, reserved) = keys3("lua_bump");
        let _: i64 = redis::cmd("RPUSH").arg(&ready).arg(input).query(&mut r).expect("rpush");
        let out = eval(
            &mut r,
            "pop.lua",
            &[&ready, &delayed, &reserved],
            &["1", "61", "100", "1", "0", "1"],
        );
        let items = match out {
            R::Array(items) => items,
            other => panic!("{other:?}"),
        };
        let lua = bytes(&items[1]);
        let spliced = items[2] == R::Int(1);
        match want {
            Some(w) => {
                assert!(spliced, "{input}");
                assert_eq!(String::from_utf8_lossy(&lua), w, "{input}");
            }
            None => {
                assert!(!spliced, "{input}");
                assert_eq!(lua, input.as_bytes(), "{input}: unchanged");
            }
        }
        // the Rust splice agrees with the Lua one, byte for byte
        let rust = splice_attempts(input.as_bytes(), input_attempts(input).map_or(0, |n| n + 1));
        assert_eq!(rust.is_some(), spliced, "{input}: Rust and Lua agree on what can be spliced");
        if let Some(rust) = rust {
            assert_eq!(rust, lua, "{input}");
        }
    }
}

fn input_attempts(s: &str) -> Option<i64> {
    think_queue_native::unstable::trailing_attempts(s.as_bytes()).map(|(_, n)| n)
}

#[test]
fn migrate_moves_due_members_and_reports_counts() {
    let mut r = client(shared().port());
    let (ready, delayed, reserved) = keys3("lua_migrate");
    zadd(&mut r, &delayed, 10, r#"{"d":1,"attempts":1}"#);
    zadd(&mut r, &delayed, 99, r#"{"d":2,"attempts":1}"#);
    zadd(&mut r, &reserved, 10, r#"{"r":1,"attempts":1}"#);
    let out = eval(&mut r, "migrate.lua", &[&ready, &delayed, &reserved], &["50", "100", "1", "1"]);
    assert_eq!(out, R::Array(vec![R::Int(1), R::Int(1)]));
    assert_eq!(list(&mut r, &ready), vec![r#"{"d":1,"attempts":1}"#, r#"{"r":1,"attempts":2}"#]);
    // reserved migration off
    zadd(&mut r, &reserved, 10, r#"{"r":2,"attempts":1}"#);
    let out = eval(&mut r, "migrate.lua", &[&ready, &delayed, &reserved], &["100", "100", "0", "1"]);
    assert_eq!(out, R::Array(vec![R::Int(1), R::Int(0)]));
    assert_eq!(zset(&mut r, &reserved).len(), 1);
}

#[test]
fn release_moves_a_reservation_to_the_delayed_set_or_does_nothing() {
    let mut r = client(shared().port());
    let (_, delayed, reserved) = keys3("lua_release");
    zadd(&mut r, &reserved, 60, "RES");
    let out = eval(&mut r, "release.lua", &[&reserved, &delayed], &["RES", "130", "REL"]);
    assert_eq!(out, R::Int(1));
    assert_eq!(zset(&mut r, &reserved), vec![]);
    assert_eq!(zset(&mut r, &delayed), vec![("REL".to_owned(), 130)]);
    // the reservation is gone now: nothing is added
    let out = eval(&mut r, "release.lua", &[&reserved, &delayed], &["RES", "140", "REL2"]);
    assert_eq!(out, R::Int(0));
    assert_eq!(zset(&mut r, &delayed), vec![("REL".to_owned(), 130)]);
}

#[test]
fn bury_moves_a_reservation_to_the_dead_letter_list_once() {
    let mut r = client(shared().port());
    let (ready, _, reserved) = keys3("lua_bury");
    let dead = format!("{ready}:dead");
    zadd(&mut r, &reserved, 60, "RESERVED-COPY");
    assert_eq!(eval(&mut r, "bury.lua", &[&reserved, &dead], &["RESERVED-COPY", "RAW"]), R::Int(1));
    assert_eq!(zset(&mut r, &reserved), vec![]);
    assert_eq!(list(&mut r, &dead), vec!["RAW".to_owned()]);
    assert_eq!(eval(&mut r, "bury.lua", &[&reserved, &dead], &["RESERVED-COPY", "RAW"]), R::Int(0));
    assert_eq!(list(&mut r, &dead).len(), 1, "a second bury writes nothing");
}

#[test]
fn swap_reserved_keeps_the_score() {
    let mut r = client(shared().port());
    let (_, _, reserved) = keys3("lua_swap");
    zadd(&mut r, &reserved, 77, "OLD");
    assert_eq!(eval(&mut r, "swap_reserved.lua", &[&reserved], &["OLD", "NEW"]), R::Int(1));
    assert_eq!(zset(&mut r, &reserved), vec![("NEW".to_owned(), 77)]);
    assert_eq!(eval(&mut r, "swap_reserved.lua", &[&reserved], &["OLD", "NEWER"]), R::Int(0));
    assert_eq!(zset(&mut r, &reserved), vec![("NEW".to_owned(), 77)]);
}

#[test]
fn every_script_has_a_header_naming_keys_argv_and_return() {
    for name in [
        "pop.lua",
        "migrate.lua",
        "release.lua",
        "swap_reserved.lua",
        "bury.lua",
        "retry_dead.lua",
    ] {
        let src = script_source(name).expect("exists");
        let body = src
            .split(&format!("-- {name}"))
            .nth(1)
            .unwrap_or_else(|| panic!("{name} starts with its name"));
        for word in ["KEYS[1]", "ARGV[1]", "Returns"] {
            assert!(body.contains(word), "{name}: header names {word}");
        }
    }
}

//! Queue operations against a real redis-server, asserting raw Redis state as well as API results.

mod support;

use std::time::Duration;

use support::ctx::{conn, ctx};
use support::redis_server::{client, shared, unique_queue, RedisServer};
use think_queue_native::{unix_now, ConnectionOptions, Delay, Dialect, NewJob, QueueOptions, RedisQueue, Value};

const BOTH: [Dialect; 2] = [Dialect::V1, Dialect::V3];

fn queue_on(port: u16, dialect: Dialect) -> RedisQueue {
    support::ctx::queue_on(port, QueueOptions::new(dialect))
}

fn data() -> Value {
    Value::map(vec![("to", Value::from("13800000000")), ("n", Value::Int(1))])
}

fn llen(r: &mut redis::Connection, key: &str) -> i64 {
    redis::cmd("LLEN").arg(key).query(r).expect("llen")
}

fn zcard(r: &mut redis::Connection, key: &str) -> i64 {
    redis::cmd("ZCARD").arg(key).query(r).expect("zcard")
}

fn zmembers(r: &mut redis::Connection, key: &str) -> Vec<(Vec<u8>, i64)> {
    redis::cmd("ZRANGE")
        .arg(key)
        .arg(0)
        .arg(-1)
        .arg("WITHSCORES")
        .query(r)
        .expect("zrange")
}

#[test]
fn push_pop_delete_leaves_nothing() {
    for d in BOTH {
        let (mut q, mut r) = ctx(d);
        let name = unique_queue("ppd");
        let keys = q.keys(Some(&name));
        let id = q.push(&NewJob::new("app\\job\\SendSms", data()), Some(&name)).expect("push");
        assert_eq!(llen(&mut r, &keys.ready), 1);
        let job = q.pop(Some(&name)).expect("pop").expect("a job");
        assert_eq!(job.id().expect("id").as_deref(), Some(id.as_str()));
        assert_eq!(job.name().expect("name"), "app\\job\\SendSms");
        assert_eq!(job.data().expect("data"), &data());
        assert_eq!(job.attempts().expect("attempts"), 1);
        assert_eq!(job.queue(), name);
        assert_eq!((llen(&mut r, &keys.ready), zcard(&mut r, &keys.reserved)), (0, 1));
        let reserved = zmembers(&mut r, &keys.reserved);
        assert_eq!(reserved[0].0, job.reserved_body());
        let now = unix_now();
        assert!(
            (now + 59..=now + 61).contains(&reserved[0].1),
            "reserved until now+60: {}",
            reserved[0].1
        );
        assert!(q.delete_reserved(&job).expect("delete"));
        assert!(!q.delete_reserved(&job).expect("second delete"), "second delete finds nothing");
        assert_eq!(
            (
                llen(&mut r, &keys.ready),
                zcard(&mut r, &keys.reserved),
                zcard(&mut r, &keys.delayed)
            ),
            (0, 0, 0)
        );
        assert!(q.pop(Some(&name)).expect("pop").is_none());
    }
}

#[test]
fn release_with_delay_then_retry_counts_attempts() {
    for d in BOTH {
        let (mut q, mut r) = ctx(d);
        let name = unique_queue("release");
        let keys = q.keys(Some(&name));
        q.push(&NewJob::new("Job", data()), Some(&name)).expect("push");
        let job = q.pop(Some(&name)).expect("pop").expect("job");
        let before = unix_now();
        assert!(q.release(&job, 30).expect("release"));
        let delayed = zmembers(&mut r, &keys.delayed);
        assert_eq!(delayed.len(), 1);
        assert!((before + 30..=unix_now() + 30).contains(&delayed[0].1));
        assert_eq!(zcard(&mut r, &keys.reserved), 0);
        // not due yet: nothing to pop
        assert!(q.pop(Some(&name)).expect("pop").is_none());
        // make it due (as if 30 s passed) and pop it again: second attempt in both dialects
        let _: i64 = redis::cmd("ZADD")
            .arg(&keys.delayed)
            .arg("XX")
            .arg(0)
            .arg(&delayed[0].0)
            .query(&mut r)
            .expect("zadd");
        let again = q.pop(Some(&name)).expect("pop").expect("due job");
        assert_eq!(again.attempts().expect("attempts"), 2, "{d}");
        let text = String::from_utf8_lossy(again.raw_body()).into_owned();
        assert!(
            text.ends_with(match d {
                Dialect::V1 => "\"attempts\":2}",
                Dialect::V3 => "\"attempts\":1}",
            }),
            "{d}: {text}"
        );
        // a release after the reservation is gone adds nothing
        assert!(q.delete_reserved(&again).expect("delete"));
        assert!(!q.release(&again, 0).expect("late release"));
        assert_eq!(zcard(&mut r, &keys.delayed), 0);
    }
}

#[test]
fn later_with_seconds_and_absolute_time() {
    for d in BOTH {
        let (mut q, mut r) = ctx(d);
        let name = unique_queue("later");
        let keys = q.keys(Some(&name));
        let before = unix_now();
        q.later(Delay::Seconds(60), &NewJob::new("A", Value::Null), Some(&name))
            .expect("later");
        q.later(Delay::At(1_800_000_000), &NewJob::new("B", Value::Null), Some(&name))
            .expect("later at");
        q.later(Delay::Seconds(-5), &NewJob::new("C", Value::Null), Some(&name))
            .expect("later past");
        let m = zmembers(&mut r, &keys.delayed);
        assert_eq!(m.len(), 3);
        assert!(m.iter().any(|(_, s)| *s == 1_800_000_000));
        assert!(m.iter().any(|(_, s)| (before + 60..=unix_now() + 60).contains(s)));
        // only the past-due one pops
        let job = q.pop(Some(&name)).expect("pop").expect("due");
        assert_eq!(job.name().expect("name"), "C");
        assert!(q.pop(Some(&name)).expect("pop").is_none());
        assert_eq!(zcard(&mut r, &keys.delayed), 2);
    }
}

#[test]
fn bulk_keeps_order_and_is_all_or_nothing() {
    for d in BOTH {
        let (mut q, mut r) = ctx(d);
        let name = unique_queue("bulk");
        let keys = q.keys(Some(&name));
        let jobs: Vec<NewJob> = (0..2500).map(|i| NewJob::new("Bulk", Value::Int(i))).collect();
        let ids = q.bulk(&jobs, Some(&name)).expect("bulk");
        assert_eq!(ids.len(), 2500);
        assert_eq!(llen(&mut r, &keys.ready), 2500);
        for (i, id) in ids.iter().enumerate().take(5) {
            let job = q.pop(Some(&name)).expect("pop").expect("job");
            assert_eq!(job.data().expect("data"), &Value::Int(i as i64));
            assert_eq!(job.id().expect("id").as_deref(), Some(id.as_str()));
        }
        // one unencodable job: nothing at all is written
        let other = unique_queue("bulkbad");
        let bad = vec![NewJob::new("Ok", Value::Int(1)), NewJob::new("Bad", Value::Float(f64::NAN))];
        let err = q.bulk(&bad, Some(&other)).expect_err("NAN");
        assert!(err.is_payload());
        assert_eq!(llen(&mut r, &q.keys(Some(&other)).ready), 0);
    }
}

#[test]
fn size_counts_every_state() {
    for d in BOTH {
        let (mut q, _r) = ctx(d);
        let name = unique_queue("size");
        for _ in 0..3 {
            q.push(&NewJob::new("S", Value::Null), Some(&name)).expect("push");
        }
        q.later(Delay::Seconds(100), &NewJob::new("S", Value::Null), Some(&name))
            .expect("later");
        let _job = q.pop(Some(&name)).expect("pop").expect("job");
        let s = q.sizes(Some(&name)).expect("sizes");
        assert_eq!((s.ready, s.delayed, s.reserved), (2, 1, 1));
        assert_eq!(q.size(Some(&name)).expect("size"), 4);
    }
}

#[test]
fn falsy_queue_names_use_the_default_queue() {
    let server = RedisServer::start();
    for d in BOTH {
        let mut q = queue_on(server.port(), d);
        let mut r = client(server.port());
        for name in [None, Some(""), Some("0")] {
            q.push(&NewJob::new("F", Value::Null), name).expect("push");
        }
        let key = d.keys("default").ready;
        assert_eq!(llen(&mut r, &key), 3, "{d}");
        let _: i64 = redis::cmd("DEL").arg(&key).query(&mut r).expect("del");
    }
    // a custom default queue
    let mut opts = QueueOptions::new(Dialect::V3);
    opts.default_queue = "mine".into();
    let mut q = RedisQueue::connect(conn(server.port()), opts).expect("connect");
    q.push(&NewJob::new("F", Value::Null), Some("0")).expect("push");
    assert_eq!(llen(&mut client(server.port()), "{queues:mine}"), 1);
}

#[test]
fn expire_null_disables_reservation_expiry() {
    for d in BOTH {
        let port = shared().port();
        let mut r = client(port);
        let mut opts = QueueOptions::new(d);
        opts.retry_after = None;
        let mut q = RedisQueue::connect(conn(port), opts).expect("connect");
        let name = unique_queue("noexpire");
        let keys = q.keys(Some(&name));
        q.push(&NewJob::new("N", Value::Null), Some(&name)).expect("push");
        let before = unix_now();
        let _job = q.pop(Some(&name)).expect("pop").expect("job");
        let m = zmembers(&mut r, &keys.reserved);
        assert!((before..=unix_now()).contains(&m[0].1), "reserved score is now, as stock");
        // even though its score is in the past, it is never handed out again
        std::thread::sleep(Duration::from_millis(1100));
        assert!(q.pop(Some(&name)).expect("pop").is_none());
        assert_eq!(zcard(&mut r, &keys.reserved), 1);
    }
}

#[test]
fn a_job_survives_a_crash_between_pop_and_delete() {
    for d in BOTH {
        let port = shared().port();
        let mut r = client(port);
        let mut opts = QueueOptions::new(d);
        opts.retry_after = Some(1);
        let name = unique_queue("crash");
        // scores are whole seconds and the reservation lasts 1 s: start just after a second
        // begins, so the checks below run before it ends (dropping the worker joins its
        // heartbeat thread, which takes a round trip or two)
        let into_second = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_millis())
            .unwrap_or(0);
        std::thread::sleep(Duration::from_millis(u64::from(1005 - into_second.min(1000))));
        {
            // the crashing worker: pops, then dies (its queue object and connection go away)
            let mut worker = RedisQueue::connect(conn(port), opts.clone()).expect("connect");
            worker.push(&NewJob::new("Crash", data()), Some(&name)).expect("push");
            let job = worker.pop(Some(&name)).expect("pop").expect("job");
            assert_eq!(job.attempts().expect("attempts"), 1);
        }
        let keys = d.keys(&name);
        assert_eq!(
            (llen(&mut r, &keys.ready), zcard(&mut r, &keys.reserved)),
            (0, 1),
            "{d}: reserved, not lost"
        );
        let mut other = RedisQueue::connect(conn(port), opts).expect("connect");
        assert!(other.pop(Some(&name)).expect("pop").is_none(), "still reserved");
        std::thread::sleep(Duration::from_millis(2100));
        let job = other.pop(Some(&name)).expect("pop").expect("the job comes back after expiry");
        assert_eq!(job.attempts().expect("attempts"), 2, "{d}: second attempt");
        assert_eq!(job.data().expect("data"), &data());
        assert!(other.delete_reserved(&job).expect("delete"));
        assert_eq!((llen(&mut r, &keys.ready), zcard(&mut r, &keys.reserved)), (0, 0));
    }
}

#[test]
fn stock_payloads_written_by_hand_are_popped() {
    let (mut q1, mut r) = ctx(Dialect::V1);
    let name = unique_queue("stock1");
    let raw1 = br#"{"job":"app\\job\\Ok","data":{"x":1,"e":[]},"id":"JXfGabcdefghijklmnopqrstuvwxyzAB","attempts":1}"#;
    let _: i64 = redis::cmd("RPUSH")
        .arg(format!("queues:{name}"))
        .arg(&raw1[..])
        .query(&mut r)
        .expect("rpush");
    let job = q1.pop(Some(&name)).expect("pop").expect("job");
    assert_eq!(job.raw_body(), &raw1[..]);
    assert_eq!(job.reserved_body(), &raw1[..], "v1 reserves the popped bytes");
    assert_eq!(job.attempts().expect("attempts"), 1);
    assert_eq!(job.id().expect("id").as_deref(), Some("JXfGabcdefghijklmnopqrstuvwxyzAB"));
    assert!(q1.release(&job, 0).expect("release"));
    let m = zmembers(&mut r, &format!("queues:{name}:delayed"));
    assert_eq!(
        m[0].0,
        br#"{"job":"app\\job\\Ok","data":{"x":1,"e":[]},"id":"JXfGabcdefghijklmnopqrstuvwxyzAB","attempts":2}"#.to_vec()
    );

    let (mut q3, _) = ctx(Dialect::V3);
    let name = unique_queue("stock3");
    let raw3 = br#"{"job":"Nope","maxTries":null,"timeout":null,"data":{"e":[]},"id":"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef","attempts":0}"#;
    let _: i64 = redis::cmd("RPUSH")
        .arg(format!("{{queues:{name}}}"))
        .arg(&raw3[..])
        .query(&mut r)
        .expect("rpush");
    let job = q3.pop(Some(&name)).expect("pop").expect("job");
    assert_eq!(job.attempts().expect("attempts"), 1);
    let expected = br#"{"job":"Nope","maxTries":null,"timeout":null,"data":{"e":[]},"id":"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef","attempts":1}"#;
    assert_eq!(job.reserved_body(), &expected[..]);
    assert_eq!(zmembers(&mut r, &format!("{{queues:{name}}}:reserved"))[0].0, expected.to_vec());
}

/// What stock think-queue does on the wire (spec §4.2/4.3), written with plain commands, used to
/// show that a stock worker consumes our payloads.
fn stock_pop(r: &mut redis::Connection, d: Dialect, name: &str) -> Option<(Vec<u8>, Vec<u8>)> {
    let keys = d.keys(name);
    let raw: Option<Vec<u8>> = redis::cmd("LPOP").arg(&keys.ready).query(r).expect("lpop");
    let raw = raw?;
    let reserved = match d {
        Dialect::V1 => raw.clone(),
        Dialect::V3 => {
            let mut v = think_queue_native::decode(&raw).expect("stock json_decode");
            if let Value::Array(entries) = &mut v {
                for (k, val) in entries.iter_mut() {
                    if *k == think_queue_native::Key::from("attempts") {
                        *val = Value::Int(val.clone().as_int().expect("int") + 1);
                    }
                }
            }
            think_queue_native::encode(&v).expect("stock json_encode")
        }
    };
    let _: i64 = redis::cmd("ZADD")
        .arg(&keys.reserved)
        .arg(unix_now() + 60)
        .arg(&reserved)
        .query(r)
        .expect("zadd");
    Some((raw, reserved))
}

#[test]
fn our_payloads_are_consumed_by_the_stock_algorithm() {
    for d in BOTH {
        let (mut q, mut r) = ctx(d);
        let name = unique_queue("tostock");
        let id = q.push(&NewJob::new("app\\job\\SendSms", data()), Some(&name)).expect("push");
        let (raw, reserved) = stock_pop(&mut r, d, &name).expect("stock pops it");
        let decoded = think_queue_native::decode(&raw).expect("json");
        assert_eq!(decoded.get("id").and_then(|v| v.as_str()), Some(id.as_bytes()));
        assert_eq!(decoded.get("job").and_then(|v| v.as_str()), Some(&b"app\\job\\SendSms"[..]));
        // stock delete: ZREM of the reserved bytes
        let n: i64 = redis::cmd("ZREM")
            .arg(d.keys(&name).reserved)
            .arg(&reserved)
            .query(&mut r)
            .expect("zrem");
        assert_eq!(n, 1);
    }
}

#[test]
fn v3_payload_without_trailing_attempts_gets_the_stock_reserved_copy() {
    let (mut q, mut r) = ctx(Dialect::V3);
    let name = unique_queue("notrail");
    let raw = br#"{"attempts":2,"job":"X","data":{}}"#;
    let _: i64 = redis::cmd("RPUSH")
        .arg(format!("{{queues:{name}}}"))
        .arg(&raw[..])
        .query(&mut r)
        .expect("rpush");
    let job = q.pop(Some(&name)).expect("pop").expect("job");
    assert_eq!(job.attempts().expect("attempts"), 3);
    let expected = br#"{"attempts":3,"job":"X","data":[]}"#;
    assert_eq!(job.reserved_body(), &expected[..]);
    let m = zmembers(&mut r, &format!("{{queues:{name}}}:reserved"));
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].0, expected.to_vec());
    assert!(q.delete_reserved(&job).expect("delete"));
}

#[test]
fn malformed_payloads_are_reported_not_lost() {
    for d in BOTH {
        let (mut q, mut r) = ctx(d);
        let name = unique_queue("malformed");
        let keys = d.keys(&name);
        for bad in [
            &b"not json"[..],
            br#"{"job":"X","data":1}"#,
            br#"[1,2]"#,
            br#"{"job":5,"attempts":0}"#,
        ] {
            let _: i64 = redis::cmd("RPUSH").arg(&keys.ready).arg(bad).query(&mut r).expect("rpush");
            let job = q.pop(Some(&name)).expect("pop").expect("job");
            assert_eq!(job.raw_body(), bad);
            let problem = job.attempts().err().or_else(|| job.name().err());
            let e = problem.unwrap_or_else(|| panic!("{d}: {} should be malformed", String::from_utf8_lossy(bad)));
            assert!(e.is_malformed(), "{e}");
            assert!(e.to_string().contains(&name), "the message names the queue: {e}");
            // still reserved: nothing lost; burying moves it to the dead-letter list
            assert_eq!(zcard(&mut r, &keys.reserved), 1);
            assert!(q.bury(&job).expect("bury"));
            assert_eq!(zcard(&mut r, &keys.reserved), 0);
            let dead: Vec<Vec<u8>> = redis::cmd("LRANGE").arg(&keys.dead).arg(-1).arg(-1).query(&mut r).expect("lrange");
            assert_eq!(dead, vec![bad.to_vec()], "the raw bytes are kept");
            assert!(!q.bury(&job).expect("second bury"), "nothing to bury twice");
        }
    }
}

#[test]
fn migration_is_bounded_per_pop() {
    let (_, mut r) = ctx(Dialect::V3);
    let port = shared().port();
    let mut opts = QueueOptions::new(Dialect::V3);
    opts.migrate_batch = 100;
    let mut q = RedisQueue::connect(conn(port), opts).expect("connect");
    let name = unique_queue("batch");
    let keys = q.keys(Some(&name));
    for i in 0..250 {
        q.later(Delay::Seconds(-1), &NewJob::new("M", Value::Int(i)), Some(&name))
            .expect("later");
    }
    let first = q.pop(Some(&name)).expect("pop").expect("job");
    assert_eq!(first.data().expect("data"), &Value::Int(0), "lowest score first");
    assert_eq!((llen(&mut r, &keys.ready), zcard(&mut r, &keys.delayed)), (99, 150));
    let (moved_d, moved_r) = q.migrate(Some(&name)).expect("migrate");
    assert_eq!((moved_d, moved_r), (100, 0));
    assert_eq!((llen(&mut r, &keys.ready), zcard(&mut r, &keys.delayed)), (199, 50));
}

#[test]
fn push_raw_returns_the_payload_id() {
    for d in BOTH {
        let (mut q, mut r) = ctx(d);
        let name = unique_queue("raw");
        let id = q
            .push_raw(br#"{"job":"R","data":"","id":"abc","attempts":0}"#, Some(&name))
            .expect("push_raw");
        assert_eq!(id.as_deref(), Some("abc"));
        assert_eq!(q.push_raw(b"opaque", Some(&name)).expect("push_raw"), None);
        assert_eq!(llen(&mut r, &d.keys(&name).ready), 2);
    }
}

#[test]
fn select_chooses_the_database() {
    let port = shared().port();
    let mut q = RedisQueue::connect(
        ConnectionOptions {
            port,
            select: 3,
            ..Default::default()
        },
        QueueOptions::new(Dialect::V1),
    )
    .expect("connect");
    let name = unique_queue("select");
    q.push(&NewJob::new("S", Value::Null), Some(&name)).expect("push");
    let mut r = client(port);
    assert_eq!(llen(&mut r, &format!("queues:{name}")), 0, "not in db 0");
    let _: () = redis::cmd("SELECT").arg(3).query(&mut r).expect("select");
    assert_eq!(llen(&mut r, &format!("queues:{name}")), 1);
}

#[test]
fn url_options_connect() {
    let port = shared().port();
    let opts = ConnectionOptions::from_url(&format!("redis://127.0.0.1:{port}/2?timeout=2")).expect("url");
    let mut q = RedisQueue::connect(opts, QueueOptions::new(Dialect::V3)).expect("connect");
    q.ping().expect("ping");
}

#[test]
fn wrong_or_missing_password_is_an_auth_error() {
    let server = RedisServer::start_with(&["--requirepass", "s3cret-pass"]);
    let port = server.port();
    let bad = RedisQueue::connect(
        ConnectionOptions {
            port,
            password: Some("wrong-password".into()),
            ..Default::default()
        },
        QueueOptions::new(Dialect::V1),
    );
    let e = bad.err().expect("wrong password refused");
    assert!(e.is_auth(), "{e:?}");
    assert!(!e.to_string().contains("wrong-password"), "never print the password: {e}");
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");

    let mut none = RedisQueue::connect(conn(port), QueueOptions::new(Dialect::V1)).expect("connect succeeds without AUTH");
    let e = none.push(&NewJob::new("X", Value::Null), Some("q")).expect_err("NOAUTH");
    assert!(e.is_auth(), "{e:?}");

    let mut ok = RedisQueue::connect(
        ConnectionOptions {
            port,
            password: Some("s3cret-pass".into()),
            ..Default::default()
        },
        QueueOptions::new(Dialect::V1),
    )
    .expect("right password");
    ok.push(&NewJob::new("X", Value::Null), Some("q")).expect("push");
}

#[test]
fn dead_redis_is_a_connection_error_naming_host_and_port() {
    // a port with nothing listening
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let e = RedisQueue::connect(
        ConnectionOptions {
            port,
            password: Some("hidden-pw".into()),
            timeout: 1.0,
            ..Default::default()
        },
        QueueOptions::new(Dialect::V3),
    )
    .err()
    .expect("nothing listens");
    assert!(e.is_connection(), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
    assert!(!msg.contains("hidden-pw"), "{msg}");
}

#[test]
fn connect_timeout_applies_to_a_server_that_never_answers() {
    // a listener that accepts and never replies: the handshake (AUTH) must time out
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let started = std::time::Instant::now();
    let e = RedisQueue::connect(
        ConnectionOptions {
            port,
            password: Some("x-pass".into()),
            timeout: 0.5,
            ..Default::default()
        },
        QueueOptions::new(Dialect::V1),
    )
    .err()
    .expect("no answer");
    assert!(e.is_connection(), "{e:?}");
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    drop(l);
}

#[test]
fn reconnects_once_after_a_redis_restart() {
    let mut server = RedisServer::start();
    let port = server.port();
    let mut q = queue_on(port, Dialect::V3);
    q.push(&NewJob::new("Before", Value::Null), Some("r")).expect("push");
    server.stop();
    let e = q.push(&NewJob::new("During", Value::Null), Some("r")).expect_err("down");
    assert!(e.is_connection(), "{e:?}");
    server.restart();
    // the old socket is dead; the operation reconnects by itself
    q.push(&NewJob::new("After", Value::Null), Some("r")).expect("push after restart");
    let job = q.pop(Some("r")).expect("pop").expect("job");
    assert_eq!(
        job.name().expect("name"),
        "After",
        "the restarted server starts empty (no persistence)"
    );
}

#[test]
fn read_timeout_is_reported_as_a_connection_error() {
    let server = RedisServer::start_with(&["--enable-debug-command", "yes"]);
    let port = server.port();
    let mut q = RedisQueue::connect(
        ConnectionOptions {
            port,
            read_timeout: 0.2,
            ..Default::default()
        },
        QueueOptions::new(Dialect::V1),
    )
    .expect("connect");
    q.ping().expect("ping");
    // block the server for 1 s from another client; our next command's reply is late
    let blocker = std::thread::spawn(move || {
        let mut r = client(port);
        let _: Result<(), _> = redis::cmd("DEBUG").arg("SLEEP").arg("1").query(&mut r);
    });
    std::thread::sleep(Duration::from_millis(100));
    let e = q.ping().expect_err("late reply");
    assert!(e.is_connection(), "{e:?}");
    assert!(e.to_string().contains("timed out"), "{e}");
    let _ = blocker.join();
    q.ping().expect("reconnects after the timeout");
}

#[test]
fn a_worker_keeps_consuming_across_a_redis_restart() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    let mut server = RedisServer::start();
    let port = server.port();
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::<i64>::new()));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let worker = {
        let (stop, seen, errors) = (stop.clone(), seen.clone(), errors.clone());
        std::thread::spawn(move || {
            let mut q = queue_on(port, Dialect::V3);
            while !stop.load(Ordering::Relaxed) {
                match q.pop_blocking(Some("resilient"), Duration::from_millis(300)) {
                    Ok(Some(job)) => {
                        seen.lock().expect("lock").push(job.data().expect("data").as_int().expect("int"));
                        q.delete_reserved(&job).expect("delete");
                    }
                    Ok(None) => {}
                    Err(e) => {
                        assert!(e.is_connection(), "only connection errors while Redis is down: {e:?}");
                        errors.lock().expect("lock").push(e.to_string());
                    }
                }
            }
        })
    };
    let wait_for = |n: usize| {
        let t = std::time::Instant::now();
        while seen.lock().expect("lock").len() < n {
            assert!(
                t.elapsed() < Duration::from_secs(15),
                "worker stalled at {:?}",
                seen.lock().expect("lock").len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let mut producer = queue_on(port, Dialect::V3);
    for i in 0..10 {
        producer.push(&NewJob::new("R", Value::Int(i)), Some("resilient")).expect("push");
    }
    wait_for(10);
    server.stop();
    std::thread::sleep(Duration::from_millis(1500));
    server.restart();
    // the producer's old connection is dead too: its next push reconnects by itself
    for i in 10..20 {
        producer
            .push(&NewJob::new("R", Value::Int(i)), Some("resilient"))
            .expect("push after restart");
    }
    wait_for(20);
    stop.store(true, Ordering::Relaxed);
    worker.join().expect("worker");
    let mut got = seen.lock().expect("lock").clone();
    got.sort();
    assert_eq!(got, (0..20).collect::<Vec<_>>());
    let errors = errors.lock().expect("lock");
    assert!(!errors.is_empty(), "the outage was noticed");
    // backoff: at most a few attempts during 1.5 s of outage, not a busy loop
    assert!(errors.len() <= 12, "{} connection errors in 1.5 s: no backoff?", errors.len());
    assert!(errors.iter().all(|e| e.contains(&format!("127.0.0.1:{port}"))), "{errors:?}");
}

#[test]
fn retry_dead_moves_the_dead_letter_list_back_with_attempts_reset() {
    for d in BOTH {
        let (mut q, mut r) = ctx(d);
        let name = unique_queue("retrydead");
        let keys = q.keys(Some(&name));
        // what bury() leaves there: raw payloads after some runs, plus bytes no worker could read
        let ran = match d {
            Dialect::V1 => r#"{"job":"A","data":{"n":1},"id":"ID1","attempts":4}"#,
            Dialect::V3 => r#"{"job":"A","maxTries":null,"timeout":null,"data":{"n":1},"id":"ID1","attempts":4}"#,
        };
        let odd = r#"{"attempts":7,"job":"B"}"#;
        let members: Vec<String> = (0..5).map(|i| ran.replace("ID1", &format!("ID{i}"))).collect();
        for m in &members {
            let _: i64 = redis::cmd("RPUSH").arg(&keys.dead).arg(m).query(&mut r).expect("rpush");
        }
        for m in [odd, "not json"] {
            let _: i64 = redis::cmd("RPUSH").arg(&keys.dead).arg(m).query(&mut r).expect("rpush");
        }
        let _: i64 = redis::cmd("RPUSH")
            .arg(&keys.ready)
            .arg("already-ready")
            .query(&mut r)
            .expect("rpush");

        // at most `max` per call, head first, appended to the tail of the ready list
        assert_eq!(q.retry_dead(Some(&name), 2).expect("retry_dead"), 2);
        assert_eq!((llen(&mut r, &keys.dead), llen(&mut r, &keys.ready)), (5, 3));
        assert_eq!(q.retry_dead(Some(&name), 100).expect("retry_dead"), 5);
        assert_eq!(q.retry_dead(Some(&name), 100).expect("retry_dead"), 0);
        assert_eq!(llen(&mut r, &keys.dead), 0);

        let initial = d.initial_attempts();
        let mut want = vec!["already-ready".to_owned()];
        want.extend(
            members
                .iter()
                .map(|m| m.replace("\"attempts\":4}", &format!("\"attempts\":{initial}}}"))),
        );
        want.push(odd.to_owned()); // attempts not at the end: moved as it is
        want.push("not json".to_owned());
        let ready: Vec<String> = redis::cmd("LRANGE").arg(&keys.ready).arg(0).arg(-1).query(&mut r).expect("lrange");
        assert_eq!(ready, want, "{d}");

        // the job runs again as a first attempt
        let _: String = redis::cmd("LPOP").arg(&keys.ready).query(&mut r).expect("lpop");
        let job = q.pop(Some(&name)).expect("pop").expect("a job");
        assert_eq!(
            (job.id().expect("id").as_deref(), job.attempts().expect("attempts")),
            (Some("ID0"), 1)
        );
    }
}

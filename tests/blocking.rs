//! Blocking pop: wakes on a push from any producer, on a delayed job becoming due, times out on
//! an idle queue, survives a read timeout shorter than the block, and loses nothing.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use support::redis_server::{client, shared, unique_queue};
use think_queue_native::{unix_now, ConnectionOptions, Delay, Dialect, NewJob, QueueOptions, RedisQueue, Value};

fn queue(d: Dialect) -> RedisQueue {
    support::ctx::ctx(d).0
}

#[test]
fn an_idle_queue_blocks_for_the_whole_time_then_returns_none() {
    let mut q = queue(Dialect::V3);
    let name = unique_queue("idle");
    let t = Instant::now();
    assert!(q.pop_blocking(Some(&name), Duration::from_millis(1500)).expect("pop").is_none());
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(1450) && took < Duration::from_millis(2500),
        "{took:?}"
    );
    // zero means a plain pop
    let t = Instant::now();
    assert!(q.pop_blocking(Some(&name), Duration::ZERO).expect("pop").is_none());
    assert!(t.elapsed() < Duration::from_millis(200));
}

#[test]
fn a_push_wakes_a_blocked_worker_within_milliseconds() {
    for d in [Dialect::V1, Dialect::V3] {
        let name = unique_queue("wake");
        let mut latencies = Vec::new();
        let mut worker = queue(d);
        for i in 0..40 {
            let n = name.clone();
            let producer = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(30));
                let mut p = queue(d);
                let t = Instant::now();
                p.push(&NewJob::new("Wake", Value::Int(i)), Some(&n)).expect("push");
                t
            });
            let job = worker
                .pop_blocking(Some(&name), Duration::from_secs(5))
                .expect("pop")
                .expect("woken by the push");
            let woke = Instant::now();
            let pushed = producer.join().expect("producer");
            latencies.push(woke.saturating_duration_since(pushed));
            assert_eq!(job.data().expect("data"), &Value::Int(i));
            assert!(worker.delete_reserved(&job).expect("delete"));
        }
        latencies.sort();
        let p50 = latencies[latencies.len() / 2];
        let p99 = latencies[latencies.len() - 1];
        eprintln!(
            "{d}: push -> pop_blocking returned: p50 {p50:?}, max {p99:?} over {} jobs",
            latencies.len()
        );
        assert!(p50 < Duration::from_millis(100), "{d}: p50 {p50:?}");
    }
}

#[test]
fn a_stock_producer_rpush_wakes_it_too() {
    let mut worker = queue(Dialect::V3);
    let name = unique_queue("stockwake");
    let port = shared().port();
    let n = name.clone();
    let producer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        let mut r = client(port);
        let raw = r#"{"job":"S","maxTries":null,"timeout":null,"data":1,"id":"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef","attempts":0}"#;
        let _: i64 = redis::cmd("RPUSH")
            .arg(format!("{{queues:{n}}}"))
            .arg(raw)
            .query(&mut r)
            .expect("rpush");
    });
    let t = Instant::now();
    let job = worker
        .pop_blocking(Some(&name), Duration::from_secs(10))
        .expect("pop")
        .expect("job");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(job.attempts().expect("attempts"), 1);
    producer.join().expect("producer");
}

#[test]
fn it_wakes_when_a_delayed_job_becomes_due() {
    let mut q = queue(Dialect::V1);
    let name = unique_queue("due");
    let due = unix_now() + 2;
    q.later(Delay::At(due), &NewJob::new("Due", Value::Null), Some(&name))
        .expect("later");
    let t = Instant::now();
    let job = q
        .pop_blocking(Some(&name), Duration::from_secs(30))
        .expect("pop")
        .expect("the delayed job");
    assert!(unix_now() >= due);
    assert!(
        t.elapsed() < Duration::from_millis(3500),
        "woke at the due second, not at the end of the block: {:?}",
        t.elapsed()
    );
    assert_eq!(job.name().expect("name"), "Due");
}

#[test]
fn it_wakes_when_a_reservation_expires() {
    let port = shared().port();
    let mut opts = QueueOptions::new(Dialect::V3);
    opts.retry_after = Some(1);
    let mut q = RedisQueue::connect(
        ConnectionOptions {
            port,
            ..Default::default()
        },
        opts,
    )
    .expect("connect");
    let name = unique_queue("expiry");
    q.push(&NewJob::new("Crashy", Value::Null), Some(&name)).expect("push");
    let first = q.pop(Some(&name)).expect("pop").expect("job");
    drop(first); // the worker died
    let t = Instant::now();
    let again = q
        .pop_blocking(Some(&name), Duration::from_secs(30))
        .expect("pop")
        .expect("back after expiry");
    assert!(t.elapsed() < Duration::from_millis(3500), "{:?}", t.elapsed());
    assert_eq!(again.attempts().expect("attempts"), 2);
}

#[test]
fn a_block_longer_than_the_read_timeout_is_not_a_read_error() {
    let port = shared().port();
    let conn = ConnectionOptions {
        port,
        read_timeout: 0.3,
        ..Default::default()
    };
    let mut q = RedisQueue::connect(conn, QueueOptions::new(Dialect::V3)).expect("connect");
    let name = unique_queue("rt");
    assert!(q
        .pop_blocking(Some(&name), Duration::from_millis(1200))
        .expect("no read error")
        .is_none());
    // and the configured read timeout is back for ordinary commands
    q.push(&NewJob::new("After", Value::Null), Some(&name)).expect("push");
    assert!(q.pop(Some(&name)).expect("pop").is_some());
}

#[test]
fn blocking_workers_take_each_job_exactly_once() {
    const JOBS: i64 = 2000;
    let name = unique_queue("blockconc");
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let n = name.clone();
            std::thread::spawn(move || {
                let mut q = queue(Dialect::V3);
                let mut got = Vec::new();
                while let Some(job) = q.pop_blocking(Some(&n), Duration::from_millis(700)).expect("pop") {
                    got.push(job.data().expect("data").as_int().expect("int"));
                    assert!(q.delete_reserved(&job).expect("delete"));
                }
                got
            })
        })
        .collect();
    let mut p = queue(Dialect::V3);
    for i in 0..JOBS {
        p.push(&NewJob::new("C", Value::Int(i)), Some(&name)).expect("push");
        if i % 500 == 0 {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let mut seen = HashSet::new();
    for w in workers {
        for n in w.join().expect("worker") {
            assert!(seen.insert(n), "job {n} twice");
        }
    }
    assert_eq!(seen.len() as i64, JOBS);
    let sizes = p.sizes(Some(&name)).expect("sizes");
    assert_eq!((sizes.ready, sizes.delayed, sizes.reserved), (0, 0, 0));
}

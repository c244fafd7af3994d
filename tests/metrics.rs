//! Job metrics and the workers registry, against a real redis-server: what a worker's pops write,
//! where (keys in the queue's hash slot), for how long (expiry), and what `'metrics' => false`
//! leaves out.

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use support::ctx::{ctx, options, queue_on};
use support::redis_server::{client, shared, unique_queue};
use think_queue_native::metrics::{parse_hash, JobMetrics, RETENTION_SECS};
use think_queue_native::registry::TTL;
use think_queue_native::{hash_tag, unix_now, Dialect, NewJob, QueueKeys, Value};

fn read(r: &mut redis::Connection, key: &str) -> BTreeMap<String, JobMetrics> {
    let fields: Vec<(Vec<u8>, i64)> = redis::cmd("HGETALL").arg(key).query(r).expect("hgetall");
    parse_hash(&fields)
}

fn job(name: &str) -> NewJob {
    NewJob::new(name, Value::from("x"))
}

fn minute_keys(r: &mut redis::Connection, keys: &QueueKeys) -> Vec<String> {
    let mut found: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}:*", keys.metrics.replace('{', "\\{").replace('}', "\\}")))
        .query(r)
        .expect("keys");
    found.sort();
    found
}

#[test]
fn outcomes_run_and_wait_times_land_in_the_minute_and_the_totals() {
    for dialect in [Dialect::V1, Dialect::V3] {
        let (mut q, mut r) = ctx(dialect);
        let name = unique_queue("metrics_outcomes");
        let keys = q.keys(Some(&name));
        q.push(&job("app\\job\\A"), Some(&name)).expect("push");
        q.push(&job("app\\job\\A"), Some(&name)).expect("push");
        q.push(&job("app\\job\\B"), Some(&name)).expect("push");
        q.push(&job("app\\job\\B"), Some(&name)).expect("push");
        // a stock producer's payload: a random id, so no wait time is known
        let stock = format!(
            r#"{{"job":"app\\job\\C","data":1,"id":"{}","attempts":1}}"#,
            think_queue_native::new_job_id()
        );
        q.push_raw(stock.as_bytes(), Some(&name)).expect("push_raw");

        let a1 = q.pop(Some(&name)).expect("pop").expect("job");
        std::thread::sleep(Duration::from_millis(30));
        q.ack(&a1).expect("ack");
        let a2 = q.pop(Some(&name)).expect("pop").expect("job");
        assert!(q.delete_reserved(&a2).expect("delete"));
        q.mark_failed(&a2);
        let b1 = q.pop(Some(&name)).expect("pop").expect("job");
        assert!(q.release(&b1, 60).expect("release"));
        let b2 = q.pop(Some(&name)).expect("pop").expect("job");
        assert!(q.bury(&b2).expect("bury"));
        let c = q.pop(Some(&name)).expect("pop").expect("job");
        q.ack(&c).expect("ack");
        let before = unix_now();
        drop(q); // sends what the last second counted

        let totals = read(&mut r, &keys.metrics);
        let a = &totals["app\\job\\A"];
        assert_eq!((a.processed, a.failed, a.released, a.buried), (1, 1, 0, 0), "{dialect}: {totals:?}");
        assert_eq!(a.run.count(), 2);
        assert!(a.run.sum >= 0.03, "{dialect}: run time sum {}", a.run.sum);
        assert_eq!(a.wait.count(), 2, "native pushes carry their push time");
        assert!(a.wait.sum < 5.0);
        let b = &totals["app\\job\\B"];
        assert_eq!((b.processed, b.failed, b.released, b.buried), (0, 0, 1, 1), "{dialect}");
        let c = &totals["app\\job\\C"];
        assert_eq!((c.processed, c.wait.count()), (1, 0), "{dialect}: a stock payload has no wait");

        // the same counts in the minute hash(es), which expire by themselves
        let minutes = minute_keys(&mut r, &keys);
        assert!(!minutes.is_empty() && minutes.len() <= 2, "{minutes:?}");
        let mut sum = JobMetrics::default();
        for key in &minutes {
            assert!(key.ends_with(&format!("{}", before / 60)) || key.ends_with(&format!("{}", before / 60 - 1)));
            let ttl: i64 = redis::cmd("TTL").arg(key).query(&mut r).expect("ttl");
            assert!(ttl > RETENTION_SECS - 30 && ttl <= RETENTION_SECS, "{key}: ttl {ttl}");
            for m in read(&mut r, key).values() {
                sum.merge(m);
            }
        }
        assert_eq!((sum.processed, sum.failed, sum.released, sum.buried), (2, 1, 1, 1));
        let ttl: i64 = redis::cmd("TTL").arg(&keys.metrics).query(&mut r).expect("ttl");
        assert_eq!(ttl, -1, "totals never expire (counters only grow)");
    }
}

#[test]
fn the_tally_rides_with_a_pop_at_most_once_a_second() {
    let (mut q, mut r) = ctx(Dialect::V3);
    let name = unique_queue("metrics_ride");
    let keys = q.keys(Some(&name));
    for _ in 0..3 {
        q.push(&job("J"), Some(&name)).expect("push");
    }
    let j = q.pop(Some(&name)).expect("pop").expect("job");
    q.ack(&j).expect("ack");
    let j = q.pop(Some(&name)).expect("pop").expect("job");
    q.ack(&j).expect("ack");
    assert!(read(&mut r, &keys.metrics).is_empty(), "not within the first second");
    std::thread::sleep(Duration::from_millis(1100));
    let j = q.pop(Some(&name)).expect("pop").expect("job");
    // the pop carried the two acks and their tally; nothing else was sent
    assert_eq!(read(&mut r, &keys.metrics)["J"].processed, 2);
    q.ack(&j).expect("ack");
    assert_eq!(read(&mut r, &keys.metrics)["J"].processed, 2, "the third rides with a later pop");
    q.flush_metrics().expect("flush");
    assert_eq!(read(&mut r, &keys.metrics)["J"].processed, 3);
}

#[test]
fn metrics_off_writes_no_metrics_and_no_registry() {
    let port = shared().port();
    let mut q = queue_on(port, options(Dialect::V3, |o| o.metrics = false));
    let mut r = client(port);
    let name = unique_queue("metrics_off");
    q.push(&job("J"), Some(&name)).expect("push");
    let j = q.pop(Some(&name)).expect("pop").expect("job");
    q.ack(&j).expect("ack");
    std::thread::sleep(Duration::from_millis(300));
    drop(q);
    let left: Vec<String> = redis::cmd("KEYS")
        .arg(format!("\\{{queues:{name}\\}}*"))
        .query(&mut r)
        .expect("keys");
    assert!(left.is_empty(), "only the queue's own keys, emptied by the ack: {left:?}");
}

#[test]
fn metrics_and_registry_keys_share_the_queues_hash_slot() {
    for (dialect, name) in [(Dialect::V3, "sms"), (Dialect::V1, "{sms}")] {
        let k = dialect.keys(name);
        let tag = hash_tag(&k.ready);
        assert!(tag.is_some());
        for key in [
            k.metrics.clone(),
            k.metrics_minute(29_000_000),
            k.workers.clone(),
            k.worker("h-1-abcd"),
        ] {
            assert_eq!(hash_tag(&key), tag, "{key}");
            let parsed = QueueKeys::parse(key.as_bytes()).expect("parses");
            assert_eq!((parsed.dialect, parsed.queue.as_str()), (dialect, name));
        }
    }
}

/// Waits for `cond` (the registry beats every 5 s: two beats and some slack).
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(12);
    while !cond() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_worker_announces_itself_beats_while_a_job_runs_and_leaves() {
    let (mut q, mut r) = ctx(Dialect::V3);
    let name = unique_queue("registry");
    let keys = q.keys(Some(&name));
    q.push(&job("app\\job\\Slow"), Some(&name)).expect("push");
    let started = unix_now();
    let j = q.pop(Some(&name)).expect("pop").expect("job");
    let members =
        |r: &mut redis::Connection| -> Vec<String> { redis::cmd("ZRANGE").arg(&keys.workers).arg(0).arg(-1).query(r).expect("zrange") };
    wait_for("the worker to announce itself", || members(&mut r).len() == 1);
    let id = members(&mut r).remove(0);
    assert!(id.contains(&format!("-{}-", std::process::id())), "{id}");
    let hash = keys.worker(&id);
    wait_for("the current job", || {
        let job: Option<String> = redis::cmd("HGET").arg(&hash).arg("job").query(&mut r).expect("hget");
        job.as_deref() == Some("app\\job\\Slow")
    });
    let info: BTreeMap<String, String> = redis::cmd("HGETALL").arg(&hash).query(&mut r).expect("hgetall");
    assert_eq!(info["pid"], std::process::id().to_string());
    assert_eq!(info["queues"], name);
    assert_eq!(info["retry_after"], "60");
    let since: i64 = info["since"].parse().expect("since");
    assert!(since >= started && since <= unix_now());
    let ttl: i64 = redis::cmd("TTL").arg(&hash).query(&mut r).expect("ttl");
    assert!(ttl > 0 && ttl <= TTL, "ttl {ttl}");
    q.ack(&j).expect("ack");
    drop(q);
    let exists: i64 = redis::cmd("EXISTS").arg(&hash).query(&mut r).expect("exists");
    assert_eq!(exists, 0, "a stopped worker removes its hash");
    assert!(members(&mut r).is_empty());
}

#[test]
fn producers_that_never_pop_are_not_workers() {
    let (mut q, mut r) = ctx(Dialect::V3);
    let name = unique_queue("registry_producer");
    let keys = q.keys(Some(&name));
    q.push(&job("J"), Some(&name)).expect("push");
    std::thread::sleep(Duration::from_millis(200));
    drop(q);
    let n: i64 = redis::cmd("EXISTS").arg(&keys.workers).query(&mut r).expect("exists");
    assert_eq!(n, 0);
}

#[test]
fn delayed_jobs_wait_from_their_due_time() {
    let (mut q, mut r) = ctx(Dialect::V3);
    let name = unique_queue("metrics_delayed");
    let keys = q.keys(Some(&name));
    // due one second ago: the wait counts from then, not from the push
    q.later(think_queue_native::Delay::Seconds(-1), &job("D"), Some(&name))
        .expect("later");
    let j = q.pop(Some(&name)).expect("pop").expect("job");
    let waited = j.waited().expect("a native delayed job has a wait");
    assert!(waited >= Duration::from_millis(0) && waited < Duration::from_secs(3), "{waited:?}");
    q.ack(&j).expect("ack");
    drop(q);
    assert_eq!(read(&mut r, &keys.metrics)["D"].wait.count(), 1);
}

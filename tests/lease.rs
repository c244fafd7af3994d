//! Reservation leases (`QueueOptions::lease`): a long job is not handed to a second worker; the
//! lease ends with delete, release, bury, and with the queue object (the worker's death).

mod support;

use std::time::Duration;

use support::redis_server::{client, shared, unique_queue};
use think_queue_native::{Dialect, NewJob, RedisQueue, Value};

fn queue(d: Dialect, lease: bool) -> RedisQueue {
    let opts = support::ctx::options(d, |o| {
        o.retry_after = Some(1);
        o.lease = lease;
    });
    support::ctx::queue_on(shared().port(), opts)
}

fn reserved_count(name: &str, d: Dialect) -> i64 {
    let mut r = client(shared().port());
    redis::cmd("ZCARD").arg(d.keys(name).reserved).query(&mut r).expect("zcard")
}

#[test]
fn without_a_lease_a_long_job_is_handed_out_twice() {
    let name = unique_queue("nolease");
    let mut a = queue(Dialect::V3, false);
    let mut b = queue(Dialect::V3, false);
    a.push(&NewJob::new("Long", Value::Null), Some(&name)).expect("push");
    let first = a.pop(Some(&name)).expect("pop").expect("job");
    std::thread::sleep(Duration::from_millis(2200));
    let second = b.pop(Some(&name)).expect("pop");
    assert!(
        second.is_some(),
        "stock behaviour: the reservation expired, a second worker gets it"
    );
    assert_eq!(a.leased(), 0);
    drop(first);
}

#[test]
fn a_lease_keeps_a_long_job_reserved_until_it_is_deleted() {
    for d in [Dialect::V1, Dialect::V3] {
        let name = unique_queue("lease");
        let mut a = queue(d, true);
        let mut b = queue(d, false);
        a.push(&NewJob::new("Long", Value::Null), Some(&name)).expect("push");
        let job = a.pop(Some(&name)).expect("pop").expect("job");
        assert_eq!(a.leased(), 1);
        // runs for 3 x retry_after
        std::thread::sleep(Duration::from_millis(3200));
        assert!(
            b.pop(Some(&name)).expect("pop").is_none(),
            "{d}: still reserved by its running worker"
        );
        assert!(a.delete_reserved(&job).expect("delete"), "{d}: the reservation is intact");
        assert_eq!(a.leased(), 0);
        std::thread::sleep(Duration::from_millis(1200));
        assert_eq!(reserved_count(&name, d), 0, "{d}: a lease never re-adds a deleted job");
        assert!(b.pop(Some(&name)).expect("pop").is_none());
    }
}

#[test]
fn release_and_bury_end_the_lease() {
    let name = unique_queue("leaserel");
    let mut a = queue(Dialect::V3, true);
    a.push(&NewJob::new("R", Value::Null), Some(&name)).expect("push");
    let job = a.pop(Some(&name)).expect("pop").expect("job");
    assert!(a.release(&job, 100).expect("release"));
    assert_eq!(a.leased(), 0);
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(reserved_count(&name, Dialect::V3), 0, "not re-added after release");

    let mut r = client(shared().port());
    let _: i64 = redis::cmd("RPUSH")
        .arg(Dialect::V3.keys(&name).ready)
        .arg("garbage")
        .query(&mut r)
        .expect("rpush");
    let bad = a.pop(Some(&name)).expect("pop").expect("job");
    assert!(a.bury(&bad).expect("bury"));
    assert_eq!(a.leased(), 0);
}

#[test]
fn a_dead_worker_s_lease_ends_and_its_job_comes_back() {
    let name = unique_queue("leasedead");
    let mut b = queue(Dialect::V3, false);
    {
        let mut a = queue(Dialect::V3, true);
        a.push(&NewJob::new("Crash", Value::Null), Some(&name)).expect("push");
        let _job = a.pop(Some(&name)).expect("pop").expect("job");
        std::thread::sleep(Duration::from_millis(1500));
        assert!(b.pop(Some(&name)).expect("pop").is_none(), "leased while the worker lives");
        // the worker dies: its queue object (and lease thread) go away
    }
    std::thread::sleep(Duration::from_millis(2200));
    let again = b.pop(Some(&name)).expect("pop").expect("back after retry_after");
    assert_eq!(again.attempts().expect("attempts"), 2);
}

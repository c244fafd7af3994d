//! Deferred acknowledgement (`RedisQueue::ack`): the ZREM of a finished job rides with the next
//! pop (inside the pop script) or goes out before any other command, on `flush_acks`, or when
//! the queue is dropped; never lost, never a second delivery of an acknowledged job.

mod support;

use support::redis_server::{client, shared, unique_queue, RedisServer};
use think_queue_native::{Dialect, NewJob, RedisQueue, Value, MAX_PENDING_ACKS};

fn queue_on(port: u16, d: Dialect, retry_after: Option<i64>) -> RedisQueue {
    support::ctx::queue_on(port, support::ctx::options(d, |o| o.retry_after = retry_after))
}

fn queue(d: Dialect) -> RedisQueue {
    queue_on(shared().port(), d, Some(60))
}

fn reserved(port: u16, name: &str, d: Dialect) -> Vec<Vec<u8>> {
    let mut r = client(port);
    redis::cmd("ZRANGE")
        .arg(d.keys(name).reserved)
        .arg(0)
        .arg(-1)
        .query(&mut r)
        .expect("zrange")
}

/// INFO commandstats calls of `cmd` (lowercase), 0 when never called.
fn calls(port: u16, cmd: &str) -> u64 {
    let mut r = client(port);
    let info: String = redis::cmd("INFO").arg("commandstats").query(&mut r).expect("info");
    let prefix = format!("cmdstat_{cmd}:calls=");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn push_n(q: &mut RedisQueue, name: &str, n: usize) {
    for i in 0..n {
        q.push(&NewJob::new("Job", Value::Int(i as i64)), Some(name)).expect("push");
    }
}

#[test]
fn an_ack_rides_with_the_next_pop_in_one_round_trip() {
    // a server of its own: the test counts commands
    let server = RedisServer::start();
    for d in [Dialect::V1, Dialect::V3] {
        let name = unique_queue("ack-rides");
        let mut q = queue_on(server.port(), d, Some(60));
        push_n(&mut q, &name, 3);
        let first = q.pop(Some(&name)).expect("pop").expect("job");
        q.ack(&first).expect("ack");
        assert_eq!(q.pending_acks(), 1);
        assert_eq!(
            reserved(server.port(), &name, d),
            vec![first.reserved_body().to_vec()],
            "{d}: held back: other clients still see the reservation"
        );
        let (zrem, evalsha) = (calls(server.port(), "zrem"), calls(server.port(), "evalsha"));
        let second = q.pop(Some(&name)).expect("pop").expect("job");
        assert_eq!(q.pending_acks(), 0);
        assert_eq!(
            reserved(server.port(), &name, d),
            vec![second.reserved_body().to_vec()],
            "{d}: the pop removed the first job's reservation and reserved the second"
        );
        assert_eq!(calls(server.port(), "evalsha"), evalsha + 1, "{d}: one script call");
        // ZREM counted once: from inside the script; no separate ZREM command was sent
        assert_eq!(calls(server.port(), "zrem"), zrem + 1, "{d}");
    }
}

#[test]
fn other_commands_send_held_back_acks_first() {
    for d in [Dialect::V1, Dialect::V3] {
        let name = unique_queue("ack-first");
        let mut q = queue(d);
        push_n(&mut q, &name, 1);
        let job = q.pop(Some(&name)).expect("pop").expect("job");
        q.ack(&job).expect("ack");
        // the same connection reads its own writes
        let sizes = q.sizes(Some(&name)).expect("sizes");
        assert_eq!((sizes.ready, sizes.delayed, sizes.reserved), (0, 0, 0), "{d}");
        assert_eq!(q.pending_acks(), 0);

        // a pop of another queue sends them first, separately
        push_n(&mut q, &name, 1);
        let job = q.pop(Some(&name)).expect("pop").expect("job");
        q.ack(&job).expect("ack");
        let other = unique_queue("ack-other");
        assert!(q.pop(Some(&other)).expect("pop").is_none());
        assert_eq!(q.pending_acks(), 0);
        assert!(reserved(shared().port(), &name, d).is_empty(), "{d}");
    }
}

#[test]
fn dropping_or_flushing_sends_them() {
    for d in [Dialect::V1, Dialect::V3] {
        let name = unique_queue("ack-drop");
        let mut q = queue(d);
        push_n(&mut q, &name, 2);
        let a = q.pop(Some(&name)).expect("pop").expect("job");
        let b = q.pop(Some(&name)).expect("pop").expect("job");
        q.ack(&a).expect("ack");
        q.flush_acks().expect("flush");
        assert_eq!(reserved(shared().port(), &name, d), vec![b.reserved_body().to_vec()], "{d}");
        q.ack(&b).expect("ack");
        assert_eq!(reserved(shared().port(), &name, d).len(), 1, "{d}");
        drop(q);
        assert!(
            reserved(shared().port(), &name, d).is_empty(),
            "{d}: sent when the queue was dropped"
        );
    }
}

#[test]
fn an_acked_job_whose_reservation_expired_is_not_handed_out_again() {
    // The pop script removes acked members before it moves expired reservations back: a job
    // acknowledged after its reservation expired (a slow job) is not run a second time by the
    // worker's own next pop.
    fn t0() -> i64 {
        1_700_000_000
    }
    fn later() -> i64 {
        1_700_000_000 + 120
    }
    for d in [Dialect::V1, Dialect::V3] {
        let name = unique_queue("ack-expired");
        let mut q = queue(d);
        q.set_clock(t0);
        push_n(&mut q, &name, 1);
        let job = q.pop(Some(&name)).expect("pop").expect("job");
        q.ack(&job).expect("ack");
        // 120 s later: the reservation (retry_after 60) has expired
        q.set_clock(later);
        assert!(q.pop(Some(&name)).expect("pop").is_none(), "{d}: the acked job came back");
        let sizes = q.sizes(Some(&name)).expect("sizes");
        assert_eq!(sizes.total(), 0, "{d}");
    }
}

#[test]
fn many_acks_without_a_pop_are_sent_in_one_batch() {
    let name = unique_queue("ack-many");
    let d = Dialect::V3;
    let mut q = queue(d);
    let jobs: Vec<_> = (0..MAX_PENDING_ACKS + 10)
        .map(|i| NewJob::new("Job", Value::Int(i as i64)))
        .collect();
    q.bulk(&jobs, Some(&name)).expect("bulk");
    let mut popped = Vec::new();
    while let Some(job) = q.pop(Some(&name)).expect("pop") {
        popped.push(job);
    }
    assert_eq!(popped.len(), MAX_PENDING_ACKS + 10);
    for job in &popped {
        q.ack(job).expect("ack");
        assert!(q.pending_acks() <= MAX_PENDING_ACKS);
    }
    // MAX_PENDING_ACKS + 1 acks triggered one batch; the rest is held
    assert_eq!(q.pending_acks(), 9);
    assert_eq!(reserved(shared().port(), &name, d).len(), 9);
    q.flush_acks().expect("flush");
    assert!(reserved(shared().port(), &name, d).is_empty());
}

#[test]
fn acks_survive_a_redis_restart() {
    // The connection breaks while an ack is held: the retried pop carries it (ZREM is
    // idempotent); if the pop itself fails, the ack stays held for the next command.
    let mut server = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    for d in [Dialect::V1, Dialect::V3] {
        let name = unique_queue("ack-restart");
        let mut q = queue_on(server.port(), d, Some(60));
        push_n(&mut q, &name, 3);
        let job = q.pop(Some(&name)).expect("pop").expect("job");
        q.ack(&job).expect("ack");
        server.restart();
        let next = q.pop(Some(&name)).expect("pop after restart (one reconnect)").expect("job");
        assert_eq!(reserved(server.port(), &name, d), vec![next.reserved_body().to_vec()], "{d}");

        q.ack(&next).expect("ack");
        server.stop();
        assert!(q.pop(Some(&name)).is_err(), "{d}: Redis is down");
        assert_eq!(q.pending_acks(), 1, "{d}: still held after the failed pop");
        server.restart();
        let last = q.pop(Some(&name)).expect("pop").expect("job");
        assert_eq!(reserved(server.port(), &name, d), vec![last.reserved_body().to_vec()], "{d}");
        q.ack(&last).expect("ack");
        drop(q);
        assert!(reserved(server.port(), &name, d).is_empty(), "{d}");
    }
}

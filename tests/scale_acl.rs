//! ACL users (the scale suite): a user with exactly the README's ready-made rule runs every
//! queue operation; wrong credentials are `is_auth()` errors that never echo the password.

mod support;

use std::time::Duration;

use support::acl::{setuser, RULE};
use support::redis_server::{unique_queue, RedisServer};
use think_queue_native::{ConnectionOptions, Delay, Dialect, NewJob, QueueOptions, RedisQueue, Value, WaitOptions};

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md")
}

fn opts(port: u16, user: &str, password: &str) -> ConnectionOptions {
    ConnectionOptions {
        port,
        username: Some(user.into()),
        password: Some(password.into()),
        timeout: 5.0,
        read_timeout: 5.0,
        ..Default::default()
    }
}

#[test]
fn the_readme_rule_is_the_tested_one() {
    assert!(readme().contains(RULE), "README.md must carry the ACL rule:\n{RULE}");
}

#[test]
fn a_user_with_the_readme_rule_runs_every_operation() {
    let server = RedisServer::start();
    setuser(server.port(), "queue-pw-1");
    for d in [Dialect::V1, Dialect::V3] {
        let name = unique_queue("acl");
        let mut o = QueueOptions::new(d);
        o.lease = true;
        o.retry_after = Some(1);
        let mut q = RedisQueue::connect(opts(server.port(), "queue", "queue-pw-1"), o).expect("connect as the queue user");
        q.ping().expect("ping");
        q.push(&NewJob::new("A", Value::Int(1)), Some(&name)).expect("push");
        q.bulk(&[NewJob::new("B", Value::Int(2))], Some(&name)).expect("bulk");
        q.later(Delay::Seconds(-1), &NewJob::new("C", Value::Int(3)), Some(&name))
            .expect("later");
        q.push_raw(b"not json", Some(&name)).expect("push_raw");
        assert_eq!(q.migrate(Some(&name)).expect("migrate"), (1, 0));
        assert_eq!(q.size(Some(&name)).expect("size"), 4);
        let a = q.pop(Some(&name)).expect("pop").expect("job");
        assert!(q.release(&a, 0).expect("release"));
        let mut n = 0;
        while let Some(job) = q.pop_blocking(Some(&name), Duration::from_millis(300)).expect("blocking pop") {
            if job.name().is_err() {
                assert!(q.bury(&job).expect("bury"));
            } else {
                assert!(q.delete_reserved(&job).expect("delete"));
            }
            n += 1;
        }
        assert_eq!(n, 4, "{d}: B, C, the malformed one, and A again after its release");
        // lease renewals (ZADD XX) run as the same user
        q.push(&NewJob::new("Long", Value::Null), Some(&name)).expect("push");
        let long = q.pop(Some(&name)).expect("pop").expect("job");
        std::thread::sleep(Duration::from_millis(1500));
        assert!(q.pop(Some(&name)).expect("pop").is_none(), "{d}: lease renewed");
        assert!(q.delete_reserved(&long).expect("delete"));
    }
    // WAIT is allowed (no replica here: 0 acknowledgements, so the call reports it)
    let mut q = RedisQueue::connect(
        ConnectionOptions {
            wait: Some(WaitOptions {
                replicas: 1,
                timeout_ms: 10,
            }),
            ..opts(server.port(), "queue", "queue-pw-1")
        },
        QueueOptions::new(Dialect::V3),
    )
    .expect("connect");
    let err = q
        .push(&NewJob::new("A", Value::Null), Some(&unique_queue("aclwait")))
        .expect_err("no replica");
    assert!(err.to_string().contains("acknowledged by 0 of 1"), "{err}");
    // keys outside the queue patterns are refused
    let mut raw = opts(server.port(), "queue", "queue-pw-1").open().expect("open");
    let r: redis::RedisResult<i64> = redis::cmd("RPUSH").arg("other").arg("x").query(&mut raw);
    let e = r.expect_err("refused");
    assert!(
        e.to_string().to_ascii_lowercase().contains("permission") || e.to_string().contains("NOPERM"),
        "{e}"
    );
}

#[test]
fn wrong_credentials_are_auth_errors_without_the_password() {
    let server = RedisServer::start();
    setuser(server.port(), "queue-pw-2");
    for (user, password) in [("queue", "wrong-secret-9"), ("nobody", "queue-pw-2")] {
        let err = RedisQueue::connect(opts(server.port(), user, password), QueueOptions::new(Dialect::V3))
            .err()
            .expect("refused");
        assert!(err.is_auth(), "{user}: {err}");
        assert!(!err.to_string().contains(password), "{err}");
        assert!(err.to_string().contains(&format!("127.0.0.1:{}", server.port())), "{err}");
    }
}

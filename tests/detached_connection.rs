//! Moving an open connection between queues (what the PHP extension's `persistent` pool does):
//! the same server-side client is reused, and only for equal options in the same process.

mod support;

use support::redis_server::{client, shared, unique_queue};
use think_queue_native::unstable::DetachedConnection;
use think_queue_native::{ConnectionOptions, Dialect, NewJob, QueueOptions, RedisQueue, Value};

fn opts(port: u16) -> ConnectionOptions {
    ConnectionOptions {
        port,
        persistent: true,
        ..Default::default()
    }
}

/// Server-side clients other than the one asking.
fn clients(port: u16) -> usize {
    let mut r = client(port);
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut r).expect("client list");
    list.lines().count() - 1
}

#[test]
fn detach_attach_reuses_the_connection() {
    // a private server: the client count must not move under other tests
    let server = support::redis_server::RedisServer::start();
    let port = server.port();
    let name = unique_queue("detach");
    let mut a = RedisQueue::connect(opts(port), QueueOptions::new(Dialect::V3)).expect("connect");
    assert!(a.is_connected());
    assert_eq!(clients(port), 1);

    let conn = a.detach_connection().expect("connected");
    assert!(!a.is_connected());
    assert!(conn.is_owned_by_this_process());
    assert_eq!(conn.options(), &opts(port));

    // a lazy queue with equal options (any dialect) takes it: no new server-side client
    let mut b = RedisQueue::lazy(opts(port), QueueOptions::new(Dialect::V1)).expect("lazy");
    assert!(!b.is_connected());
    assert!(b.attach_connection(conn).is_none());
    assert!(b.is_connected());
    b.push(&NewJob::new("J", Value::Int(1)), Some(&name)).expect("push");
    assert_eq!(b.size(Some(&name)).expect("size"), 1);
    assert_eq!(clients(port), 1, "the detached connection was reused");

    // a queue that already holds a connection hands it back
    let conn = b.detach_connection().expect("connected");
    let mut c = RedisQueue::connect(opts(port), QueueOptions::new(Dialect::V1)).expect("connect");
    let back = c.attach_connection(conn).expect("refused: c is connected");
    assert_eq!(clients(port), 2);
    drop(back);
    assert_eq!(c.size(Some(&name)).expect("size"), 1);
    // a detached queue reconnects on its next operation
    assert_eq!(a.size(Some(&name)).expect("size"), 0);
}

#[test]
fn attach_refuses_other_options() {
    let port = shared().port();
    let mut a = RedisQueue::connect(opts(port), QueueOptions::new(Dialect::V3)).expect("connect");
    let mut conn: DetachedConnection = a.detach_connection().expect("connected");
    for other in [
        ConnectionOptions { select: 1, ..opts(port) },
        ConnectionOptions {
            password: Some("x".into()),
            ..opts(port)
        },
        ConnectionOptions {
            username: Some("u".into()),
            ..opts(port)
        },
        ConnectionOptions {
            read_timeout: 1.0,
            ..opts(port)
        },
        ConnectionOptions {
            persistent: false,
            ..opts(port)
        },
    ] {
        let mut q = RedisQueue::lazy(other.clone(), QueueOptions::new(Dialect::V3)).expect("lazy");
        conn = match q.attach_connection(conn) {
            Some(back) => back,
            None => panic!("attached to {other:?}"),
        };
        assert!(!q.is_connected());
    }
    let mut same = RedisQueue::lazy(opts(port), QueueOptions::new(Dialect::V3)).expect("lazy");
    assert!(same.attach_connection(conn).is_none());
    same.ping().expect("ping");
}

#[test]
fn not_connected_detaches_nothing() {
    let mut q = RedisQueue::lazy(opts(shared().port()), QueueOptions::new(Dialect::V3)).expect("lazy");
    assert!(q.detach_connection().is_none());
    q.ping().expect("ping");
    q.disconnect();
    assert!(!q.is_connected());
    assert!(q.detach_connection().is_none());
}

#[test]
fn queues_and_detached_connections_move_between_threads() {
    fn send<T: Send>() {}
    send::<RedisQueue>();
    send::<DetachedConnection>();
}

//! The one way the integration tests reach a queue: [`ctx`] gives a queue on the shared
//! redis-server and a raw client to look at what Redis holds; [`queue_on`] a queue with other
//! options or on another server; [`conn`] the connection options of a server.

use think_queue_native::{ConnectionOptions, Dialect, QueueOptions, RedisQueue};

use super::redis_server::{client, shared};

/// Connection options of the redis-server on `port` (everything else default).
pub fn conn(port: u16) -> ConnectionOptions {
    ConnectionOptions {
        port,
        ..Default::default()
    }
}

/// A queue on the server at `port`, with `opts`.
pub fn queue_on(port: u16, opts: QueueOptions) -> RedisQueue {
    RedisQueue::connect(conn(port), opts).expect("connect")
}

/// Stock options of `dialect` changed by `edit` (e.g. `|o| o.retry_after = Some(1)`).
pub fn options(dialect: Dialect, edit: impl FnOnce(&mut QueueOptions)) -> QueueOptions {
    let mut opts = QueueOptions::new(dialect);
    edit(&mut opts);
    opts
}

/// A queue of `dialect` (stock options) on the shared server, and a raw client of that server.
pub fn ctx(dialect: Dialect) -> (RedisQueue, redis::Connection) {
    let port = shared().port();
    (queue_on(port, QueueOptions::new(dialect)), client(port))
}

/// Every key of the server's current database that holds jobs (what `DBSIZE` counted before
/// metrics existed): metrics and workers-registry keys are left out.
pub fn job_keys(r: &mut redis::Connection) -> Vec<String> {
    use think_queue_native::{KeyKind, QueueKeys};
    let all: Vec<String> = redis::cmd("KEYS").arg("*").query(r).expect("keys");
    all.into_iter()
        .filter(|k| {
            !matches!(
                QueueKeys::parse(k.as_bytes()).map(|p| p.kind),
                Some(KeyKind::Metrics | KeyKind::Workers | KeyKind::Worker)
            )
        })
        .collect()
}

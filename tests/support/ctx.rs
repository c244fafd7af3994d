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

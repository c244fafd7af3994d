//! The process's idle persistent connections (`'persistent' => true`).
//!
//! A persistent `RedisQueue` borrows an idle connection opened with equal options (host, port,
//! user, password, database, timeouts) when it is created, and gives it back on `close()` or
//! when it is destroyed, so PHP-FPM workers keep their connections across requests. Connections
//! of different configurations are never shared, so AUTH and SELECT state cannot leak; the core
//! enforces that too ([`RedisQueue::attach_connection`](crate::RedisQueue::attach_connection)).
//! After `pcntl_fork` the child finds its parent's idle connections unusable and drops them
//! (closing its copy of the socket, sending nothing); the parent keeps using them.
//!
//! Thread-local: PHP NTS runs a process's requests on one thread (ZTS: one pool per thread).
#![forbid(unsafe_code)]

use std::cell::RefCell;

use crate::connection::DetachedConnection;
use crate::ConnectionOptions;

/// Idle connections kept per configuration; more are closed when given back.
pub const MAX_IDLE_PER_CONFIG: usize = 4;

thread_local! {
    static IDLE: RefCell<Vec<DetachedConnection>> = const { RefCell::new(Vec::new()) };
}

/// An idle connection opened by this process with exactly `opts`, most recently used first.
pub fn borrow(opts: &ConnectionOptions) -> Option<DetachedConnection> {
    IDLE.try_with(|idle| {
        let mut idle = idle.try_borrow_mut().ok()?;
        // a forked child drops what it inherited from its parent
        idle.retain(DetachedConnection::is_owned_by_this_process);
        let i = idle.iter().rposition(|c| c.options() == opts)?;
        Some(idle.remove(i))
    })
    .ok()
    .flatten()
}

/// Keeps `conn` for the next [`borrow`] (or closes it when it belongs to the parent process, or
/// when [`MAX_IDLE_PER_CONFIG`] connections of its configuration are idle already).
pub fn give_back(conn: DetachedConnection) {
    if !conn.is_owned_by_this_process() {
        return;
    }
    // at thread exit the pool may be gone already: the connection is then just closed
    let _ = IDLE.try_with(|idle| {
        if let Ok(mut idle) = idle.try_borrow_mut() {
            let same = idle.iter().filter(|c| c.options() == conn.options()).count();
            if same < MAX_IDLE_PER_CONFIG {
                idle.push(conn);
            }
        }
    });
}

/// How many idle connections the pool holds (for tests and `phpinfo()`).
pub fn idle_count() -> usize {
    IDLE.try_with(|idle| idle.try_borrow().map(|v| v.len()).unwrap_or(0)).unwrap_or(0)
}

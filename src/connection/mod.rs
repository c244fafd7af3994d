//! The connection layer: everything between a queue operation and the Redis it talks to.
//!
//! - this file: [`Conn`], one queue's lazily (re)connected connection: think-queue's connect
//!   sequence (connect, AUTH, SELECT), one reconnect on a dropped connection with backoff
//!   between failed attempts, fork safety, the cluster key check for think-queue 1.x queues,
//!   re-resolution of the primary after a failover (`READONLY`), and `WAIT` for replicas when
//!   configured; and [`DetachedConnection`], an open connection between two queues (the pool).
//! - `link`: [`RedisConnection`], the connection whatever the deployment (one node over TCP or
//!   TLS, the sentinels' primary, a Redis Cluster), a [`redis::ConnectionLike`].
//! - `node`: connecting to one node; `sentinel`: finding the primary through the sentinels;
//!   `cluster`: the cluster client and its pipelines.
//! - `errors`: redis-rs errors as the crate's [`Error`] (a leaf: no other module of this layer).
//!
//! It builds on the options ([`crate::config`]), the error type and the key rules
//! ([`crate::dialect`]); queue, lease and worker code build on it, never the other way round.
#![forbid(unsafe_code)]

mod cluster;
mod errors;
mod link;
mod node;
mod sentinel;

use std::time::{Duration, Instant};

use redis::RedisError;

use crate::config::ConnectionOptions;
use crate::error::{Error, Result};
use errors::{is_broken, is_readonly, translate};
pub use link::RedisConnection;

/// An open Redis connection taken out of a [`RedisQueue`](crate::RedisQueue) with
/// [`detach_connection`](crate::RedisQueue::detach_connection), to be put into another queue
/// with [`attach_connection`](crate::RedisQueue::attach_connection): what a connection pool (the
/// PHP extension's `persistent` option) keeps between requests.
///
/// It remembers the options it was opened with (AUTH and SELECT are connection state) and the
/// process that opened it: a queue takes it only for equal options, in the same process, so a
/// pooled connection never carries another configuration's database or user, and a child
/// process never talks on its parent's socket after `fork`. Dropping it closes this process's
/// descriptor and sends nothing. `Debug` never prints the password.
pub struct DetachedConnection {
    opts: ConnectionOptions,
    con: RedisConnection,
    pid: u32,
}

impl DetachedConnection {
    /// The options it was opened with.
    pub fn options(&self) -> &ConnectionOptions {
        &self.opts
    }

    /// False in a child process after `fork`: the socket is shared with the parent and must not
    /// be used here (drop it).
    pub fn is_owned_by_this_process(&self) -> bool {
        self.pid == std::process::id()
    }
}

impl std::fmt::Debug for DetachedConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DetachedConnection")
            .field("opts", &self.opts)
            .field("pid", &self.pid)
            .finish_non_exhaustive()
    }
}

/// A lazily (re)connected Redis connection owned by one queue object.
pub(crate) struct Conn {
    opts: ConnectionOptions,
    con: Option<RedisConnection>,
    /// process that opened `con`: a forked child must not use its parent's socket
    pid: u32,
    /// failed connection attempts in a row, and the earliest time for the next one
    failures: u32,
    retry_at: Option<Instant>,
}

/// Wait before the n-th consecutive connection attempt after a failure: 50 ms, doubling, at most
/// [`MAX_BACKOFF`]. A worker whose Redis restarts keeps trying at most once a second, without
/// spinning, and consumes again as soon as Redis answers.
fn backoff(failures: u32) -> Duration {
    let ms = 50u64.saturating_mul(1u64 << failures.saturating_sub(1).min(10));
    Duration::from_millis(ms).min(MAX_BACKOFF)
}

/// Longest wait between two connection attempts.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(1);

impl Conn {
    pub(crate) fn new(opts: ConnectionOptions) -> Result<Conn> {
        opts.validate()?;
        Ok(Conn {
            opts,
            con: None,
            pid: std::process::id(),
            failures: 0,
            retry_at: None,
        })
    }

    pub(crate) fn options(&self) -> &ConnectionOptions {
        &self.opts
    }

    /// Opens the connection now (think-queue connects in the constructor), so a dead Redis or
    /// a wrong password is reported at once.
    pub(crate) fn connect(&mut self) -> Result<()> {
        self.ensure().map(|_| ())
    }

    /// Forgets the connection; the next command opens a new one.
    pub(crate) fn disconnect(&mut self) {
        self.con = None;
    }

    /// Whether a connection opened by this process is held (no command is sent to check it).
    pub(crate) fn is_connected(&self) -> bool {
        self.con.is_some() && self.pid == std::process::id()
    }

    /// Takes the open connection out, leaving this one disconnected. `None` when there is none,
    /// or when it was opened by another process (after a fork; our copy of the descriptor is
    /// then closed, nothing is sent on it).
    pub(crate) fn detach(&mut self) -> Option<DetachedConnection> {
        let con = self.con.take()?;
        if self.pid != std::process::id() {
            return None;
        }
        Some(DetachedConnection {
            opts: self.opts.clone(),
            con,
            pid: self.pid,
        })
    }

    /// Puts a detached connection in, when it was opened with exactly these options by this
    /// process and none is held now; otherwise hands it back.
    pub(crate) fn attach(&mut self, c: DetachedConnection) -> Option<DetachedConnection> {
        if self.is_connected() || c.opts != self.opts || !c.is_owned_by_this_process() {
            return Some(c);
        }
        self.con = Some(c.con);
        self.pid = c.pid;
        None
    }

    /// On a Redis Cluster, refuses keys whose queue cannot live in one hash slot (think-queue
    /// 1.x/2.x names without a hash tag), with a message that says what to do.
    pub(crate) fn check_key(&self, key: &str) -> Result<()> {
        if self.opts.is_cluster() {
            if let Some(msg) = crate::dialect::cluster_key_problem(key) {
                return Err(Error::Config(msg));
            }
        }
        Ok(())
    }

    fn ensure(&mut self) -> Result<&mut RedisConnection> {
        let pid = std::process::id();
        if self.pid != pid {
            // Forked: the socket is shared with the parent. Drop our copy of the descriptor
            // without sending anything on it (dropping only closes this process's fd).
            self.con = None;
            self.pid = pid;
        }
        if self.con.is_none() {
            if let Some(at) = self.retry_at {
                // back off after failed attempts (bounded by MAX_BACKOFF)
                let now = Instant::now();
                if at > now {
                    std::thread::sleep((at - now).min(MAX_BACKOFF));
                }
            }
            match self.open() {
                Ok(c) => {
                    self.con = Some(c);
                    self.failures = 0;
                    self.retry_at = None;
                }
                Err(e) => {
                    if e.is_connection() {
                        self.failures = self.failures.saturating_add(1);
                        self.retry_at = Some(Instant::now() + backoff(self.failures));
                    }
                    return Err(e);
                }
            }
        }
        match self.con.as_mut() {
            Some(c) => Ok(c),
            None => Err(Error::Connection {
                addr: self.opts.addr(),
                detail: "not connected".into(),
            }),
        }
    }

    fn open(&self) -> Result<RedisConnection> {
        RedisConnection::open(&self.opts)
    }

    /// Runs `op` on the connection. When the connection turns out to be broken (Redis restarted,
    /// idle connection closed), reconnects once and runs `op` again; a second failure is
    /// reported. `key` names what the command was about, for error messages.
    ///
    /// A retried write may have been applied before the connection broke: operations are then
    /// at-least-once (a push may land twice, a pop leaves a reservation that expires), never lost.
    ///
    /// A `READONLY` reply (the node was demoted to a replica by a failover) also drops the
    /// connection and retries once: a sentinel-managed connection then asks the sentinels for
    /// the new primary. With [`WaitOptions`](crate::WaitOptions), a call that wrote is followed
    /// by `WAIT`; too few acknowledgements make it a connection error.
    ///
    /// Whether the call writes is said by the queue operation that makes it: [`run_write`] for
    /// an operation that changes queue state (then `WAIT`), [`run_read`] for one that only reads
    /// or waits.
    ///
    /// [`run_write`]: Self::run_write
    /// [`run_read`]: Self::run_read
    fn run<T>(&mut self, key: &str, writes: bool, mut op: impl FnMut(&mut RedisConnection) -> redis::RedisResult<T>) -> Result<T> {
        self.check_key(key)?;
        let wait = if writes { self.opts.wait } else { None };
        let mut retried = false;
        loop {
            let con = self.ensure()?;
            match op(con) {
                Ok(v) => {
                    if let Some(w) = wait {
                        self.wait_for_replicas(key, w)?;
                    }
                    return Ok(v);
                }
                Err(e) => {
                    let broken = is_broken(&e) || is_readonly(&e);
                    if broken {
                        self.con = None;
                    }
                    if broken && !retried && !e.is_timeout() {
                        retried = true;
                        continue;
                    }
                    return Err(self.translate(e, key));
                }
            }
        }
    }

    /// [`run`](Self::run) for an operation that writes (push, pop, release, delete...): followed by
    /// `WAIT` when the options ask for it.
    pub(crate) fn run_write<T>(&mut self, key: &str, op: impl FnMut(&mut RedisConnection) -> redis::RedisResult<T>) -> Result<T> {
        self.run(key, true, op)
    }

    /// [`run`](Self::run) for an operation that only reads or waits (sizes, PING, a blocking wait
    /// that takes nothing): never followed by `WAIT`.
    pub(crate) fn run_read<T>(&mut self, key: &str, op: impl FnMut(&mut RedisConnection) -> redis::RedisResult<T>) -> Result<T> {
        self.run(key, false, op)
    }

    fn wait_for_replicas(&mut self, key: &str, w: crate::config::WaitOptions) -> Result<()> {
        let Some(con) = self.con.as_mut() else { return Ok(()) };
        match con.wait_replicas(key, w) {
            Ok(n) if n >= i64::from(w.replicas) => Ok(()),
            Ok(n) => Err(Error::Connection {
                addr: con.addr().to_owned(),
                detail: format!(
                    "the write to `{key}` was acknowledged by {n} of {} replicas within {} ms (WAIT); it may be lost in a failover",
                    w.replicas, w.timeout_ms
                ),
            }),
            Err(e) => {
                if is_broken(&e) {
                    self.con = None;
                }
                Err(self.translate(e, key))
            }
        }
    }

    /// [`run_read`](Self::run_read) with the socket's read timeout set to `timeout` for this
    /// command (a blocking wait longer than the configured read timeout), restored after.
    pub(crate) fn run_read_with_timeout<T>(
        &mut self,
        key: &str,
        timeout: Duration,
        mut op: impl FnMut(&mut RedisConnection) -> redis::RedisResult<T>,
    ) -> Result<T> {
        let restore = self.opts.read_timeout_duration();
        let result = self.run_read(key, |c| {
            c.set_read_timeout(Some(timeout))?;
            op(c)
        });
        if let Some(c) = self.con.as_mut() {
            if c.set_read_timeout(restore).is_err() {
                // a socket we cannot configure is not one to keep
                self.con = None;
            }
        }
        result
    }

    fn translate(&self, e: RedisError, key: &str) -> Error {
        let addr = match &self.con {
            Some(c) => c.addr().to_owned(),
            None => self.opts.addr(),
        };
        translate(e, key, &addr, &self.opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_second() {
        let waits: Vec<u64> = (1..=8).map(|n| backoff(n).as_millis() as u64).collect();
        assert_eq!(waits, vec![50, 100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn read_timeout_bounds_the_handshake() {
        // a server that accepts and never answers: AUTH must not wait forever
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let mut conn = Conn::new(ConnectionOptions {
            port,
            password: Some("pw".into()),
            read_timeout: 0.2,
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let started = std::time::Instant::now();
        let err = conn.connect().err();
        assert!(err.as_ref().is_some_and(Error::is_connection), "{err:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        drop(listener);
    }
}

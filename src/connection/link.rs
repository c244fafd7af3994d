//! The Redis connection behind a queue, whatever the deployment: one Redis over TCP or TLS
//! (`node`), the primary a Sentinel set names, asked again at every reconnect (`sentinel`), or a
//! Redis Cluster, commands routed by key slot, MOVED/ASK followed by redis-rs' cluster client
//! (`cluster`).
//!
//! [`RedisConnection`] implements [`redis::ConnectionLike`], so queue code sends commands,
//! scripts (EVALSHA with NOSCRIPT fallback) and pipelines the same way on all of them. On a
//! cluster, a pipeline is sent command by command (each routed and redirected on its own), since
//! redis-rs' cluster connection does not take `redis::Pipeline`s and a pipeline may span slots
//! (the lease thread renews reservations of several queues in one): see `cluster::req_packed_commands`.
#![forbid(unsafe_code)]

use std::time::Duration;

use redis::cluster::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{Cmd, ConnectionLike, RedisError, RedisResult, Value};

use super::errors::translate;
use super::node::{open_node, NodeError};
use super::{cluster, sentinel};
use crate::config::{join_addr, ConnectionOptions, WaitOptions};
use crate::error::Result;

/// An open connection made from [`ConnectionOptions`]: a single node (plain, TLS, or the
/// sentinels' primary) or a Redis Cluster. Implements [`redis::ConnectionLike`].
///
/// Open one with [`ConnectionOptions::open`] for commands the queue API does not offer (the
/// `tqn` CLI's SCAN, TYPE, peeks); [`scan_match`](Self::scan_match) scans every primary of a
/// cluster.
pub struct RedisConnection {
    inner: Inner,
    /// what error messages name: the node's `host:port`, or the cluster's seeds
    addr: String,
}

enum Inner {
    Node(redis::Connection),
    Cluster(Box<ClusterConnection>),
}

impl std::fmt::Debug for RedisConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.inner {
            Inner::Node(_) => "node",
            Inner::Cluster(_) => "cluster",
        };
        f.debug_struct("RedisConnection")
            .field("kind", &kind)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl ConnectionOptions {
    /// Opens a connection with these options (connect, TLS, AUTH, SELECT; for a sentinel set the
    /// primary it names, checked with `ROLE`; for a cluster its slot map).
    pub fn open(&self) -> Result<RedisConnection> {
        self.validate()?;
        RedisConnection::open(self)
    }
}

impl RedisConnection {
    pub(crate) fn open(opts: &ConnectionOptions) -> Result<RedisConnection> {
        // unreadable certificate files are configuration errors, whichever node is asked first
        opts.tls_certificates()?;
        if opts.is_cluster() {
            Ok(RedisConnection {
                inner: Inner::Cluster(Box::new(cluster::open(opts)?)),
                addr: opts.addr(),
            })
        } else if opts.sentinel.is_some() {
            let (con, addr) = sentinel::open_primary(opts)?;
            Ok(RedisConnection {
                inner: Inner::Node(con),
                addr,
            })
        } else {
            let addr = join_addr(&opts.host, opts.port);
            let con = match open_node(opts, &opts.host, opts.port) {
                Ok(c) => c,
                Err(NodeError::Config(e)) => return Err(e),
                Err(NodeError::Redis(e)) => return Err(translate(e, "", &addr, opts)),
            };
            Ok(RedisConnection {
                inner: Inner::Node(con),
                addr,
            })
        }
    }

    /// The address error messages name: `host:port` of the node (for a sentinel set, of the
    /// primary found), or `cluster h:p,...`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Whether this is a Redis Cluster connection.
    pub fn is_cluster(&self) -> bool {
        matches!(self.inner, Inner::Cluster(_))
    }

    /// Sets the reply timeout (`None`: wait forever); on a cluster, of every node connection.
    pub fn set_read_timeout(&mut self, t: Option<Duration>) -> RedisResult<()> {
        match &mut self.inner {
            Inner::Node(c) => c.set_read_timeout(t),
            Inner::Cluster(c) => c.set_read_timeout(t),
        }
    }

    /// Sets the write timeout (`None`: wait forever).
    pub fn set_write_timeout(&mut self, t: Option<Duration>) -> RedisResult<()> {
        match &mut self.inner {
            Inner::Node(c) => c.set_write_timeout(t),
            Inner::Cluster(c) => c.set_write_timeout(t),
        }
    }

    /// `WAIT replicas timeout` on the connection that wrote `key` (its slot's primary on a
    /// cluster); returns how many replicas acknowledged.
    pub(crate) fn wait_replicas(&mut self, key: &str, w: WaitOptions) -> RedisResult<i64> {
        let mut cmd = redis::cmd("WAIT");
        cmd.arg(w.replicas).arg(w.timeout_ms);
        match &mut self.inner {
            Inner::Node(c) => cmd.query(c),
            Inner::Cluster(c) => {
                let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::with_key(key, SlotAddr::Master)));
                redis::from_redis_value(c.route_command(&cmd, route)?.extract_error()?).map_err(RedisError::from)
            }
        }
    }

    /// Every key matching `pattern` (SCAN ... MATCH; on a cluster, on every primary), each once.
    pub fn scan_match(&mut self, pattern: &str) -> RedisResult<Vec<Vec<u8>>> {
        let mut keys: Vec<Vec<u8>> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut scan = |run: &mut ScanStep<'_>| -> RedisResult<()> {
            let mut cursor = 0u64;
            loop {
                let mut cmd = redis::cmd("SCAN");
                cmd.arg(cursor).arg("MATCH").arg(pattern).arg("COUNT").arg(1000);
                let (next, batch) = run(&cmd)?;
                for k in batch {
                    if seen.insert(k.clone()) {
                        keys.push(k);
                    }
                }
                if next == 0 {
                    return Ok(());
                }
                cursor = next;
            }
        };
        match &mut self.inner {
            Inner::Node(c) => scan(&mut |cmd| cmd.query(c))?,
            Inner::Cluster(c) => {
                for (host, port) in cluster::primaries(c)? {
                    let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress { host, port });
                    scan(&mut |cmd| {
                        let v = c.route_command(cmd, route.clone())?.extract_error()?;
                        redis::from_redis_value(v).map_err(RedisError::from)
                    })?;
                }
            }
        }
        Ok(keys)
    }
}

/// Runs one SCAN command somewhere: `(next cursor, keys)`.
type ScanStep<'a> = dyn FnMut(&Cmd) -> RedisResult<(u64, Vec<Vec<u8>>)> + 'a;

impl ConnectionLike for RedisConnection {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        match &mut self.inner {
            Inner::Node(c) => c.req_packed_command(cmd),
            Inner::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands(&mut self, cmd: &[u8], offset: usize, count: usize) -> RedisResult<Vec<Value>> {
        match &mut self.inner {
            Inner::Node(c) => c.req_packed_commands(cmd, offset, count),
            // each command routed by its own key (a pipeline may span slots)
            Inner::Cluster(c) => cluster::req_packed_commands(c, cmd, offset, count),
        }
    }

    fn req_command(&mut self, cmd: &Cmd) -> RedisResult<Value> {
        match &mut self.inner {
            Inner::Node(c) => c.req_command(cmd),
            Inner::Cluster(c) => c.req_command(cmd),
        }
    }

    fn get_db(&self) -> i64 {
        match &self.inner {
            Inner::Node(c) => c.get_db(),
            Inner::Cluster(c) => c.get_db(),
        }
    }

    fn check_connection(&mut self) -> bool {
        match &mut self.inner {
            Inner::Node(c) => c.check_connection(),
            Inner::Cluster(c) => c.check_connection(),
        }
    }

    fn is_open(&self) -> bool {
        match &self.inner {
            Inner::Node(c) => c.is_open(),
            Inner::Cluster(c) => c.is_open(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_move_between_threads() {
        fn send<T: Send>() {}
        send::<RedisConnection>();
        send::<super::super::Conn>();
    }
}

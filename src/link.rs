//! The Redis connection behind a queue, whatever the deployment: one Redis over TCP or TLS, the
//! primary a Sentinel set names (asked again at every reconnect), or a Redis Cluster (commands
//! routed by key slot, MOVED/ASK followed by redis-rs' cluster client).
//!
//! [`RedisConnection`] implements [`redis::ConnectionLike`], so queue code sends commands,
//! scripts (EVALSHA with NOSCRIPT fallback) and pipelines the same way on all of them. On a
//! cluster, a pipeline is sent command by command (each routed and redirected on its own), since
//! redis-rs' cluster connection does not take `redis::Pipeline`s and a pipeline may span slots
//! (the lease thread renews reservations of several queues in one).
#![forbid(unsafe_code)]

use std::time::Duration;

use redis::cluster::{ClusterClientBuilder, ClusterConnection};
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{Cmd, ConnectionLike, RedisError, RedisResult, Value};

use crate::config::{join_addr, parse_node, ConnectionOptions, WaitOptions};
use crate::error::{Error, Result};

/// Connect (and handshake) timeout for sentinels and cluster nodes when `timeout` is 0: a
/// dead node must not stall the search for a live one forever.
const DEFAULT_NODE_TIMEOUT: Duration = Duration::from_secs(2);
/// Redirections / TRYAGAIN / CLUSTERDOWN retries of one cluster command (redis-rs' loop).
const CLUSTER_RETRIES: u32 = 10;

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
            open_cluster(opts)
        } else if opts.sentinel.is_some() {
            open_via_sentinels(opts)
        } else {
            let addr = join_addr(&opts.host, opts.port);
            let con = match open_node(opts, &opts.host, opts.port) {
                Ok(c) => c,
                Err(NodeError::Config(e)) => return Err(e),
                Err(NodeError::Redis(e)) => return Err(crate::conn::translate(e, "", &addr, opts)),
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
                for (host, port) in cluster_primaries(c)? {
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

/// The primaries of a cluster, from `CLUSTER SLOTS`.
fn cluster_primaries(c: &mut ClusterConnection) -> RedisResult<Vec<(String, u16)>> {
    let slots: Value = redis::cmd("CLUSTER").arg("SLOTS").query(c)?;
    let mut out: Vec<(String, u16)> = Vec::new();
    if let Value::Array(ranges) = slots {
        for range in ranges {
            let Value::Array(parts) = range else { continue };
            let Some(Value::Array(node)) = parts.get(2) else { continue };
            let host = match node.first() {
                Some(Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
                Some(Value::SimpleString(s)) => s.clone(),
                _ => continue,
            };
            let port = match node.get(1) {
                Some(Value::Int(p)) => u16::try_from(*p).unwrap_or(0),
                _ => 0,
            };
            if port > 0 && !out.contains(&(host.clone(), port)) {
                out.push((host, port));
            }
        }
    }
    Ok(out)
}

/// The first bulk string of one packed command.
fn command_name(cmd: &[u8]) -> Option<&[u8]> {
    let (_, rest) = read_line(cmd, 0)?;
    let (len, start) = read_line(cmd, rest)?;
    let len: usize = std::str::from_utf8(len.strip_prefix(b"$")?).ok()?.parse().ok()?;
    cmd.get(start..start + len)
}

/// `(line without \r\n, index after it)` from `at`.
fn read_line(buf: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(at..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    Some((&rest[..end], at + end + 2))
}

/// Splits packed commands (RESP arrays of bulk strings, as redis-rs writes them) into one slice
/// per command. `None` when the bytes are not that shape.
fn split_commands(packed: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < packed.len() {
        let start = at;
        let (head, next) = read_line(packed, at)?;
        let n: usize = std::str::from_utf8(head.strip_prefix(b"*")?).ok()?.parse().ok()?;
        at = next;
        for _ in 0..n {
            let (len, next) = read_line(packed, at)?;
            let len: usize = std::str::from_utf8(len.strip_prefix(b"$")?).ok()?.parse().ok()?;
            at = next.checked_add(len)?.checked_add(2)?;
            if at > packed.len() {
                return None;
            }
        }
        out.push(&packed[start..at]);
    }
    Some(out)
}

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
            Inner::Cluster(c) => {
                let cmds = split_commands(cmd).ok_or_else(|| RedisError::from((redis::ErrorKind::Client, "malformed pipeline")))?;
                if cmds
                    .first()
                    .and_then(|c| command_name(c))
                    .is_some_and(|n| n.eq_ignore_ascii_case(b"MULTI"))
                {
                    // a transaction: all its keys share a slot; the cluster client sends it to that node
                    return c.req_packed_commands(cmd, offset, count);
                }
                // one by one, each routed (and redirected) by its own key
                let mut out = Vec::with_capacity(count);
                for (i, one) in cmds.into_iter().enumerate() {
                    let v = c.req_packed_command(one)?;
                    if i >= offset && out.len() < count {
                        out.push(v);
                    }
                }
                Ok(out)
            }
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

/// A redis-rs client for one node with the data credentials, database and TLS settings.
fn node_client(opts: &ConnectionOptions, host: &str, port: u16) -> Result<redis::Client> {
    let info = opts.node_info(host, port, opts.username.as_deref(), opts.password.as_deref(), opts.select)?;
    client_for(opts, info)
}

fn client_for(opts: &ConnectionOptions, info: redis::ConnectionInfo) -> Result<redis::Client> {
    let addr = info.addr().to_string();
    match opts.tls_certificates()? {
        Some(certs) => redis::Client::build_with_tls(info, certs),
        None => redis::Client::open(info),
    }
    .map_err(|e| Error::Config(format!("{addr}: {}", crate::conn::redact(&e.to_string(), opts))))
}

/// Connects to one node (connect, TLS, AUTH, SELECT) and applies the timeouts.
fn open_node(opts: &ConnectionOptions, host: &str, port: u16) -> std::result::Result<redis::Connection, NodeError> {
    let client = node_client(opts, host, port).map_err(NodeError::Config)?;
    // The timeout also bounds the handshake (AUTH, SELECT). Without a connect timeout, the
    // read timeout bounds connect + handshake, so a server that accepts and never answers
    // cannot hang the constructor when only `read_timeout` is configured.
    let con = match opts.connect_timeout().or(opts.read_timeout_duration()) {
        Some(t) => client.get_connection_with_timeout(t),
        None => client.get_connection(),
    }?;
    con.set_read_timeout(opts.read_timeout_duration())?;
    con.set_write_timeout(opts.read_timeout_duration())?;
    Ok(con)
}

/// Why a node could not be opened: our configuration, or Redis.
pub(crate) enum NodeError {
    Config(Error),
    Redis(RedisError),
}

impl From<RedisError> for NodeError {
    fn from(e: RedisError) -> Self {
        NodeError::Redis(e)
    }
}

fn open_cluster(opts: &ConnectionOptions) -> Result<RedisConnection> {
    let addr = opts.addr();
    let tr = |e: RedisError| crate::conn::translate(e, "", &addr, opts);
    let mut seeds = Vec::with_capacity(opts.cluster.len());
    for n in &opts.cluster {
        let (host, port) = parse_node("cluster", n)?;
        seeds.push(opts.node_info(&host, port, None, None, 0)?);
    }
    let mut b = ClusterClientBuilder::new(seeds)
        .connection_timeout(opts.connect_timeout().unwrap_or(DEFAULT_NODE_TIMEOUT))
        .retries(CLUSTER_RETRIES)
        .min_retry_wait(10)
        .max_retry_wait(500)
        .retry_wait_formula(10, 2);
    if let Some(t) = opts.read_timeout_duration() {
        b = b.response_timeout(t);
    }
    if let Some(u) = opts.username.as_deref().filter(|u| !u.is_empty()) {
        b = b.username(u);
    }
    if let Some(p) = opts.password.as_deref().filter(|p| !p.is_empty()) {
        b = b.password(p);
    }
    if opts.uses_tls() {
        b = b.tls(redis::TlsMode::Secure);
        if let Some(certs) = opts.tls_certificates()? {
            b = b.certs(certs);
        }
    }
    let client = b.build().map_err(tr)?;
    let con = client.get_connection().map_err(tr)?;
    con.set_read_timeout(opts.read_timeout_duration()).map_err(tr)?;
    con.set_write_timeout(opts.read_timeout_duration()).map_err(tr)?;
    Ok(RedisConnection {
        inner: Inner::Cluster(Box::new(con)),
        addr,
    })
}

/// Asks each sentinel in turn for the master's address; connects there and keeps the connection
/// when the node says `ROLE` master. A sentinel that is down, does not know the master, or names
/// a node that is not (yet) a master is skipped.
fn open_via_sentinels(opts: &ConnectionOptions) -> Result<RedisConnection> {
    let Some(s) = &opts.sentinel else {
        return Err(Error::Config("no sentinel configured".into()));
    };
    let timeout = opts.connect_timeout().unwrap_or(DEFAULT_NODE_TIMEOUT);
    let mut problems: Vec<String> = Vec::new();
    let mut auth_error = None;
    for node in &s.nodes {
        let (host, port) = parse_node("sentinel.nodes", node)?;
        let answer = (|| -> RedisResult<Option<(String, u16)>> {
            let info = opts
                .node_info(&host, port, s.username.as_deref(), s.password.as_deref(), 0)
                .map_err(|e| RedisError::from((redis::ErrorKind::InvalidClientConfig, "sentinel address", e.to_string())))?;
            let client =
                client_for(opts, info).map_err(|e| RedisError::from((redis::ErrorKind::InvalidClientConfig, "sentinel", e.to_string())))?;
            let mut con = client.get_connection_with_timeout(timeout)?;
            con.set_read_timeout(Some(timeout))?;
            con.set_write_timeout(Some(timeout))?;
            let addr: Option<(String, String)> = redis::cmd("SENTINEL")
                .arg("GET-MASTER-ADDR-BY-NAME")
                .arg(&s.master)
                .query(&mut con)?;
            Ok(addr.and_then(|(h, p)| p.parse::<u16>().ok().map(|p| (h, p))))
        })();
        let (mhost, mport) = match answer {
            Ok(Some(a)) => a,
            Ok(None) => {
                problems.push(format!("sentinel {node} does not know master `{}`", s.master));
                continue;
            }
            Err(e) => {
                problems.push(format!("sentinel {node}: {}", crate::conn::redact(&e.to_string(), opts)));
                continue;
            }
        };
        let maddr = join_addr(&mhost, mport);
        match open_node(opts, &mhost, mport) {
            Ok(mut con) => {
                let role: RedisResult<Value> = redis::cmd("ROLE").query(&mut con);
                match role {
                    Ok(Value::Array(parts)) if is_master(parts.first()) => {
                        return Ok(RedisConnection {
                            inner: Inner::Node(con),
                            addr: format!("{maddr} (primary of `{}`)", s.master),
                        })
                    }
                    Ok(_) => problems.push(format!("sentinel {node} named {maddr}, which is not a primary (yet)")),
                    Err(e) => {
                        let err = crate::conn::translate(e, "", &maddr, opts);
                        if err.is_auth() {
                            auth_error = Some(err);
                        } else {
                            problems.push(format!("sentinel {node} named {maddr}: {err}"));
                        }
                    }
                }
            }
            Err(NodeError::Config(e)) => return Err(e),
            Err(NodeError::Redis(e)) => {
                let err = crate::conn::translate(e, "", &maddr, opts);
                if err.is_auth() {
                    auth_error = Some(err);
                } else {
                    problems.push(format!("sentinel {node} named {maddr}: {err}"));
                }
            }
        }
    }
    if let Some(e) = auth_error {
        return Err(e);
    }
    Err(Error::Connection {
        addr: opts.addr(),
        detail: format!("no primary found: {}", problems.join("; ")),
    })
}

fn is_master(v: Option<&Value>) -> bool {
    match v {
        Some(Value::BulkString(b)) => b.as_slice() == b"master",
        Some(Value::SimpleString(s)) => s == "master",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_move_between_threads() {
        fn send<T: Send>() {}
        send::<RedisConnection>();
        send::<crate::RedisQueue>();
    }

    #[test]
    fn splits_packed_pipelines() {
        let mut pipe = redis::pipe();
        pipe.cmd("LLEN").arg("a").cmd("ZADD").arg("{q}").arg(1).arg("x\r\ny");
        let packed = pipe.get_packed_pipeline();
        let parts = split_commands(&packed).unwrap_or_default();
        assert_eq!(parts.len(), 2);
        assert_eq!(command_name(parts[0]), Some(&b"LLEN"[..]));
        assert_eq!(command_name(parts[1]), Some(&b"ZADD"[..]));
        assert_eq!(parts.concat(), packed);
        assert!(split_commands(b"*2\r\n$4\r\nLLEN\r\n").is_none());
    }
}

//! A Redis Cluster: redis-rs' cluster client (commands routed by key slot, MOVED/ASK followed),
//! with our timeouts and credentials, the primaries for SCAN, and pipelines sent command by
//! command.
#![forbid(unsafe_code)]

use redis::cluster::{ClusterClientBuilder, ClusterConnection};
use redis::{ConnectionLike, RedisError, RedisResult, Value};

use super::errors::translate;
use super::node::DEFAULT_NODE_TIMEOUT;
use crate::config::{parse_node, ConnectionOptions};
use crate::error::Result;

/// Redirections / TRYAGAIN / CLUSTERDOWN retries of one cluster command (redis-rs' loop).
const CLUSTER_RETRIES: u32 = 10;

/// Connects to the cluster through its seed nodes (the slot map is read from them).
pub(super) fn open(opts: &ConnectionOptions) -> Result<ClusterConnection> {
    let addr = opts.addr();
    let tr = |e: RedisError| translate(e, "", &addr, opts);
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
    Ok(con)
}

/// The primaries of a cluster, from `CLUSTER SLOTS`.
pub(super) fn primaries(c: &mut ClusterConnection) -> RedisResult<Vec<(String, u16)>> {
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

/// A pipeline (packed commands, as `redis::Pipeline` writes them) on a cluster: `count` replies
/// from the `offset`-th on.
///
/// Why the packed bytes are split here (still needed with redis 1.8): the queue, lease and `tqn`
/// code build one `redis::Pipeline` for every deployment, and `ConnectionLike` hands it over as
/// one byte string. redis-rs' cluster connection sends that whole string to the node of the
/// first command's key, but our pipelines may span slots (the lease thread renews reservations
/// of several queues in one, each queue in its own slot; `tqn` asks for the TYPE of many keys in one).
/// redis-rs' own `ClusterPipeline` routes command by command, but it is another type, which
/// the callers would have to build instead of `redis::Pipeline` when the connection is a
/// cluster. So each command is sent on its own, routed and redirected by its own key. A
/// transaction (`MULTI` ... `EXEC`) is the exception: all its keys share a slot, and it must
/// reach that node in one piece.
pub(super) fn req_packed_commands(c: &mut ClusterConnection, cmd: &[u8], offset: usize, count: usize) -> RedisResult<Vec<Value>> {
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

#[cfg(test)]
mod tests {
    use super::*;

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

//! The primary of a Sentinel-monitored master: each sentinel is asked in turn, and the node it
//! names is used only when it says `ROLE` master on the very connection that is kept.
//!
//! Why this is ours and not redis-rs' `redis::sentinel::SentinelClient` (tried with redis 1.8.1,
//! feature `sentinel`, built with `SentinelClientBuilder`: sentinel user/password, data
//! user/password/database, TLS mode and certificates for both). The failover tests
//! (tests/scale_sentinel.rs) passed with it and showed the same outages, but it cannot keep
//! three things this module does:
//! - Timeouts. Its blocking client connects to each sentinel, queries it, and connects to the
//!   named master for the `ROLE` check with `Client::get_connection()`: no connect timeout and no
//!   read timeout (there is no setting for either). A sentinel that accepts and never answers
//!   (a stopped process, a half-open connection) blocks the search for good; here every
//!   sentinel gets `timeout` (default [`DEFAULT_NODE_TIMEOUT`]) and the next one is asked
//!   (`tests::a_hung_sentinel_does_not_stall_the_search`, which with redis-rs got no answer
//!   within 10 s).
//! - Least-privilege sentinel users. It sends `ROLE` and `SENTINEL MASTERS` to the sentinels;
//!   this module sends only `SENTINEL GET-MASTER-ADDR-BY-NAME`. A sentinel ACL user allowed
//!   just that (`user app on >pw -@all +auth +hello +sentinel|get-master-addr-by-name`) works
//!   here and fails there with `NOPERM ... 'role' command` (checked with `tqn stats` against a
//!   real sentinel, both builds).
//! - The answer. It returns one error for the whole search ("Master with given name not found
//!   in sentinel"), not what each sentinel said (`an_unknown_master_name_is_reported` expects
//!   "sentinel H:P does not know master `NAME`"); and its `ROLE` check runs on a connection of
//!   its own that it closes, so every reconnect after a failover connects (and AUTHs, SELECTs)
//!   twice, and the role checked is not that of the connection kept.
#![forbid(unsafe_code)]

use redis::{RedisError, RedisResult, Value};

use super::errors::{redact, translate};
use super::node::{client_for, open_node, NodeError, DEFAULT_NODE_TIMEOUT};
use crate::config::{join_addr, parse_node, ConnectionOptions};
use crate::error::{Error, Result};

/// Asks each sentinel in turn for the master's address; connects there and keeps the connection
/// when the node says `ROLE` master. A sentinel that is down, does not know the master, or names
/// a node that is not (yet) a master is skipped. Returns the connection and the address error
/// messages name.
pub(super) fn open_primary(opts: &ConnectionOptions) -> Result<(redis::Connection, String)> {
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
                problems.push(format!("sentinel {node}: {}", redact(&e.to_string(), opts)));
                continue;
            }
        };
        let maddr = join_addr(&mhost, mport);
        match open_node(opts, &mhost, mport) {
            Ok(mut con) => {
                let role: RedisResult<Value> = redis::cmd("ROLE").query(&mut con);
                match role {
                    Ok(Value::Array(parts)) if is_master(parts.first()) => {
                        return Ok((con, format!("{maddr} (primary of `{}`)", s.master)));
                    }
                    Ok(_) => problems.push(format!("sentinel {node} named {maddr}, which is not a primary (yet)")),
                    Err(e) => {
                        let err = translate(e, "", &maddr, opts);
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
                let err = translate(e, "", &maddr, opts);
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
    use crate::config::SentinelOptions;

    /// A sentinel that accepts and never answers (a stopped process, a half-open connection) is
    /// given up after `timeout`: the search goes on with the next sentinel.
    #[test]
    fn a_hung_sentinel_does_not_stall_the_search() {
        let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let port = hung.local_addr().map(|a| a.port()).unwrap_or_default();
        let opts = ConnectionOptions {
            sentinel: Some(SentinelOptions {
                master: "mymaster".into(),
                // the hung one, then one that refuses (port 1): both are problems in the answer
                nodes: vec![format!("127.0.0.1:{port}"), "127.0.0.1:1".into()],
                ..Default::default()
            }),
            timeout: 0.3,
            ..Default::default()
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(open_primary(&opts).err());
        });
        let err = rx.recv_timeout(std::time::Duration::from_secs(10));
        drop(hung);
        let err = match err {
            Ok(Some(e)) => e,
            other => panic!("no error within 10 s: {other:?}"),
        };
        let text = err.to_string();
        assert!(err.is_connection(), "{text}");
        assert!(
            text.contains(&format!("sentinel 127.0.0.1:{port}:")) && text.contains("sentinel 127.0.0.1:1:"),
            "{text}"
        );
    }
}

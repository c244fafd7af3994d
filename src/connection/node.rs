//! Connecting to one Redis node (TCP or TLS, AUTH, SELECT) with the configured timeouts: the
//! node of a single-node setup and the primary the sentinels name.
#![forbid(unsafe_code)]

use std::time::Duration;

use redis::RedisError;

use super::errors::redact;
use crate::config::ConnectionOptions;
use crate::error::{Error, Result};

/// Connect (and handshake) timeout for sentinels and cluster nodes when `timeout` is 0: a
/// dead node must not stall the search for a live one forever.
pub(super) const DEFAULT_NODE_TIMEOUT: Duration = Duration::from_secs(2);

/// A redis-rs client for one node with the data credentials, database and TLS settings.
fn node_client(opts: &ConnectionOptions, host: &str, port: u16) -> Result<redis::Client> {
    let info = opts.node_info(host, port, opts.username.as_deref(), opts.password.as_deref(), opts.select)?;
    client_for(opts, info)
}

/// A redis-rs client for `info` with the configured TLS certificates.
pub(super) fn client_for(opts: &ConnectionOptions, info: redis::ConnectionInfo) -> Result<redis::Client> {
    let addr = info.addr().to_string();
    match opts.tls_certificates()? {
        Some(certs) => redis::Client::build_with_tls(info, certs),
        None => redis::Client::open(info),
    }
    .map_err(|e| Error::Config(format!("{addr}: {}", redact(&e.to_string(), opts))))
}

/// Connects to one node (connect, TLS, AUTH, SELECT) and applies the timeouts.
pub(super) fn open_node(opts: &ConnectionOptions, host: &str, port: u16) -> std::result::Result<redis::Connection, NodeError> {
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
pub(super) enum NodeError {
    Config(Error),
    Redis(RedisError),
}

impl From<RedisError> for NodeError {
    fn from(e: RedisError) -> Self {
        NodeError::Redis(e)
    }
}

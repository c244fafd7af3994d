//! Test support shared by the integration tests (each test binary says `mod support;`).
//!
//! - [`redis_server`]: a private `redis-server` per test ([`redis_server::RedisServer`]), a lazily
//!   started process-wide one ([`redis_server::shared`]), a plain client ([`redis_server::client`])
//!   and unique queue names ([`redis_server::unique_queue`]).
//! - [`ctx`]: the queue (and raw client) a test works with: `ctx(dialect)`, `queue_on(port, opts)`.
//! - [`php_unserialize`]: a reader for PHP `serialize()` output, producing the crate's
//!   [`think_queue_native::Value`], used to load the payload test vectors.
//!
//! Not every test binary uses every item, hence the blanket `dead_code` allowance.
#![allow(dead_code)]

pub mod ctx;
pub mod php_unserialize;
pub mod redis_server;

/// The stock-produced payload vectors: `$TQN_VECTORS` when set, else the copy in `tests/data/`.
pub fn vectors_path() -> String {
    std::env::var("TQN_VECTORS").unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/payloads.jsonl").to_owned())
}

// Beyond one Redis (the scale suite): a cluster, a sentinel set, TLS material.
pub mod acl;
pub mod cluster;
pub mod sentinel;
pub mod tls;

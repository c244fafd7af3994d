//! A private Sentinel set for the scale tests: one primary, one replica, three sentinels
//! (quorum 2, `down-after-milliseconds` 1000), each a [`RedisServer`] on a free loopback port,
//! ready when the replica's link is up and every sentinel knows the replica and the other two
//! sentinels. Dropping it stops every process.

use std::time::{Duration, Instant};

use super::redis_server::{try_client, RedisServer};

/// The master name the sentinels monitor.
pub const MASTER: &str = "mymaster";
/// How long the set may take to settle (a loaded 2-core machine).
const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A running primary + replica + 3 sentinels.
pub struct SentinelSet {
    /// the initial primary
    pub primary: RedisServer,
    /// the initial replica
    pub replica: RedisServer,
    /// the sentinels
    pub sentinels: Vec<RedisServer>,
}

impl SentinelSet {
    /// Starts the set and waits until a failover would be possible.
    pub fn start() -> SentinelSet {
        let primary = RedisServer::start();
        let pport = primary.port().to_string();
        let replica = RedisServer::start_with(&["--replicaof", "127.0.0.1", &pport]);
        let conf = format!(
            "sentinel monitor {MASTER} 127.0.0.1 {pport} 2\n\
             sentinel down-after-milliseconds {MASTER} 1000\n\
             sentinel failover-timeout {MASTER} 10000\n\
             sentinel parallel-syncs {MASTER} 1\n"
        );
        let sentinels = (0..3)
            .map(|_| RedisServer::start_with_config(Some(&conf), &["--sentinel"]))
            .collect();
        let set = SentinelSet {
            primary,
            replica,
            sentinels,
        };
        set.wait_until(SETTLE_TIMEOUT, "the sentinel set to settle", |s| s.settled());
        set
    }

    /// `host:port` of the sentinels (the connector's `sentinel.nodes`).
    pub fn nodes(&self) -> Vec<String> {
        self.sentinels.iter().map(|s| format!("127.0.0.1:{}", s.port())).collect()
    }

    /// The port every sentinel names as the master (when they agree).
    pub fn master_port(&self) -> Option<u16> {
        let mut seen = None;
        for s in &self.sentinels {
            let mut c = try_client(s.port()).ok()?;
            let (_, port): (String, u16) = redis::cmd("SENTINEL")
                .arg("GET-MASTER-ADDR-BY-NAME")
                .arg(MASTER)
                .query(&mut c)
                .ok()?;
            match seen {
                None => seen = Some(port),
                Some(p) if p == port => {}
                Some(_) => return None,
            }
        }
        seen
    }

    fn settled(&self) -> Result<(), String> {
        let mut r = try_client(self.replica.port()).map_err(|e| e.to_string())?;
        let info: String = redis::cmd("INFO").arg("replication").query(&mut r).map_err(|e| e.to_string())?;
        if !info.contains("master_link_status:up") {
            return Err("replica link not up".into());
        }
        for s in &self.sentinels {
            let mut c = try_client(s.port()).map_err(|e| e.to_string())?;
            let fields: Vec<String> = redis::cmd("SENTINEL")
                .arg("MASTER")
                .arg(MASTER)
                .query(&mut c)
                .map_err(|e| e.to_string())?;
            let get = |k: &str| {
                fields
                    .iter()
                    .position(|f| f == k)
                    .and_then(|i| fields.get(i + 1))
                    .cloned()
                    .unwrap_or_default()
            };
            if get("num-slaves") != "1" || get("num-other-sentinels") != "2" {
                return Err(format!(
                    "sentinel {} sees {} replicas, {} other sentinels",
                    s.port(),
                    get("num-slaves"),
                    get("num-other-sentinels")
                ));
            }
        }
        Ok(())
    }

    /// Polls `cond` every 100 ms until it is `Ok`, panicking with its last reason after `timeout`.
    pub fn wait_until(&self, timeout: Duration, what: &str, cond: impl Fn(&SentinelSet) -> Result<(), String>) {
        let deadline = Instant::now() + timeout;
        loop {
            match cond(self) {
                Ok(()) => return,
                Err(why) => assert!(Instant::now() < deadline, "waited {timeout:?} for {what}: {why}"),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

//! A private Redis Cluster for the scale tests: N primaries (plus replicas), each a
//! [`RedisServer`](super::redis_server::RedisServer) on free loopback ports (client port and
//! `--cluster-port` bus), joined with `redis-cli --cluster create`, ready when every node says
//! `cluster_state:ok` and agrees on the slot map. Dropping it stops every node (their watchdogs
//! also do when the test process dies).

use std::time::{Duration, Instant};

use super::redis_server::{client, free_port, RedisServer};

/// How long the cluster may take to agree after `--cluster create` (a loaded 2-core machine).
const FORM_TIMEOUT: Duration = Duration::from_secs(90);

/// A running cluster.
pub struct Cluster {
    /// every node, primaries first as created
    pub nodes: Vec<RedisServer>,
}

impl Cluster {
    /// Starts `primaries` primaries with `replicas` replicas each and waits until it is formed.
    pub fn start(primaries: usize, replicas: usize) -> Cluster {
        let total = primaries * (1 + replicas);
        let mut nodes = Vec::with_capacity(total);
        for _ in 0..total {
            let bus = free_port().to_string();
            nodes.push(RedisServer::start_with(&[
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "5000",
                "--cluster-port",
                &bus,
                "--cluster-require-full-coverage",
                "yes",
            ]));
        }
        let mut cmd = std::process::Command::new("redis-cli");
        cmd.arg("--cluster").arg("create");
        for n in &nodes {
            cmd.arg(format!("127.0.0.1:{}", n.port()));
        }
        cmd.arg("--cluster-replicas").arg(replicas.to_string()).arg("--cluster-yes");
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("running redis-cli --cluster create (Debian package redis-tools): {e}"));
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let cluster = Cluster { nodes };
        cluster.wait_until_stable(primaries, total);
        cluster
    }

    /// Polls until every node reports `cluster_state:ok`, knows `total` nodes, and all report
    /// the same owners for all 16384 slots (and `primaries` of them).
    pub fn wait_until_stable(&self, primaries: usize, total: usize) {
        let deadline = Instant::now() + FORM_TIMEOUT;
        loop {
            match self.check(primaries, total) {
                Ok(()) => return,
                Err(why) => assert!(Instant::now() < deadline, "the cluster did not form within {FORM_TIMEOUT:?}: {why}"),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn check(&self, primaries: usize, total: usize) -> Result<(), String> {
        let mut maps = Vec::new();
        for n in &self.nodes {
            let mut c = super::redis_server::try_client(n.port()).map_err(|e| e.to_string())?;
            let info: String = redis::cmd("CLUSTER").arg("INFO").query(&mut c).map_err(|e| e.to_string())?;
            if !info.contains("cluster_state:ok") {
                return Err(format!("{} not ok", n.port()));
            }
            if !info.contains(&format!("cluster_known_nodes:{total}\r")) {
                return Err(format!("{} does not know all {total} nodes", n.port()));
            }
            maps.push(slot_owners(&mut c)?);
        }
        let first = maps.first().cloned().unwrap_or_default();
        if maps.iter().any(|m| *m != first) {
            return Err("nodes disagree on the slot map".into());
        }
        let mut owners: Vec<u16> = first.iter().map(|(_, _, p)| *p).collect();
        owners.sort_unstable();
        owners.dedup();
        if owners.len() != primaries || first.iter().map(|(a, b, _)| (b - a + 1) as usize).sum::<usize>() != 16384 {
            return Err(format!("slot map not complete yet: {first:?}"));
        }
        Ok(())
    }

    /// `host:port` of every node (the connector's `cluster` seeds).
    pub fn seeds(&self) -> Vec<String> {
        self.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port())).collect()
    }

    /// The port of the primary that owns `key`'s slot now.
    pub fn owner_of(&self, key: &str) -> u16 {
        let slot = self.slot_of(key);
        let mut c = client(self.nodes[0].port());
        let map = slot_owners(&mut c).unwrap_or_else(|e| panic!("{e}"));
        map.iter()
            .find(|(a, b, _)| (*a..=*b).contains(&slot))
            .map(|(_, _, p)| *p)
            .unwrap_or_else(|| panic!("no owner for slot {slot}"))
    }

    /// `CLUSTER KEYSLOT key`.
    pub fn slot_of(&self, key: &str) -> u16 {
        let mut c = client(self.nodes[0].port());
        redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query(&mut c)
            .expect("CLUSTER KEYSLOT")
    }

    /// The node id of the node on `port`.
    pub fn node_id(&self, port: u16) -> String {
        let mut c = client(port);
        redis::cmd("CLUSTER").arg("MYID").query(&mut c).expect("CLUSTER MYID")
    }

    /// Ports of the primaries.
    pub fn primaries(&self) -> Vec<u16> {
        let mut c = client(self.nodes[0].port());
        let mut ports: Vec<u16> = slot_owners(&mut c).unwrap_or_default().iter().map(|(_, _, p)| *p).collect();
        ports.sort_unstable();
        ports.dedup();
        ports
    }

    /// Moves `slot` from primary `from` to primary `to` the way `redis-cli --cluster reshard` does
    /// (IMPORTING/MIGRATING, MIGRATE of every key, SETSLOT NODE everywhere), one key at a time
    /// with `pause` between keys, so clients meet ASK, TRYAGAIN and then MOVED replies.
    /// Returns how many keys were migrated.
    pub fn migrate_slot(&self, slot: u16, from: u16, to: u16, pause: Duration) -> usize {
        let from_id = self.node_id(from);
        let to_id = self.node_id(to);
        let mut src = client(from);
        let mut dst = client(to);
        let ok = |r: redis::RedisResult<()>, what: &str| r.unwrap_or_else(|e| panic!("{what}: {e}"));
        ok(
            redis::cmd("CLUSTER")
                .arg("SETSLOT")
                .arg(slot)
                .arg("IMPORTING")
                .arg(&from_id)
                .query(&mut dst),
            "SETSLOT IMPORTING",
        );
        ok(
            redis::cmd("CLUSTER")
                .arg("SETSLOT")
                .arg(slot)
                .arg("MIGRATING")
                .arg(&to_id)
                .query(&mut src),
            "SETSLOT MIGRATING",
        );
        let mut moved = 0;
        loop {
            let keys: Vec<Vec<u8>> = redis::cmd("CLUSTER")
                .arg("GETKEYSINSLOT")
                .arg(slot)
                .arg(1)
                .query(&mut src)
                .expect("GETKEYSINSLOT");
            let Some(key) = keys.into_iter().next() else { break };
            std::thread::sleep(pause);
            let r: redis::RedisResult<String> = redis::cmd("MIGRATE")
                .arg("127.0.0.1")
                .arg(to)
                .arg(&key)
                .arg(0)
                .arg(10_000)
                .arg("REPLACE")
                .query(&mut src);
            match r {
                Ok(_) => moved += 1,
                Err(e) if e.to_string().contains("NOKEY") => {}
                Err(e) => panic!("MIGRATE {}: {e}", String::from_utf8_lossy(&key)),
            }
        }
        // the new owner first, then the old one, then the other primaries (as redis-cli does);
        // replicas learn the new owner from the bus
        let others: Vec<u16> = self.primaries().into_iter().filter(|p| *p != to && *p != from).collect();
        for port in [to, from].into_iter().chain(others) {
            let mut c = client(port);
            let r: redis::RedisResult<()> = redis::cmd("CLUSTER").arg("SETSLOT").arg(slot).arg("NODE").arg(&to_id).query(&mut c);
            r.unwrap_or_else(|e| panic!("SETSLOT NODE on {port}: {e}"));
        }
        moved
    }
}

/// `(first slot, last slot, primary port)` of every range, sorted.
fn slot_owners(c: &mut redis::Connection) -> Result<Vec<(u16, u16, u16)>, String> {
    let v: Vec<redis::Value> = redis::cmd("CLUSTER").arg("SLOTS").query(c).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for range in v {
        let redis::Value::Array(parts) = range else { continue };
        let int = |v: Option<&redis::Value>| match v {
            Some(redis::Value::Int(n)) => *n as u16,
            _ => 0,
        };
        let port = match parts.get(2) {
            Some(redis::Value::Array(node)) => int(node.get(1)),
            _ => 0,
        };
        out.push((int(parts.first()), int(parts.get(1)), port));
    }
    out.sort_unstable();
    Ok(out)
}

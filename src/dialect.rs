//! The two think-queue wire dialects, and the only place where Redis key names are spelled.
#![forbid(unsafe_code)]

use std::fmt;

/// Which think-queue generation's bytes to write and read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// think-queue 1.x and 2.x (ThinkPHP 5.0 / 5.1): keys `queues:NAME`, payload
    /// `{"job","data","id","attempts":1}`, attempts +1 on release and on reservation expiry.
    V1,
    /// think-queue 3.0.5+ (ThinkPHP 6 / 8): keys `{queues:NAME}`, payload
    /// `{"job","maxTries","timeout",["timeoutAt",]"data","id","attempts":0}`, attempts +1 in the
    /// reserved copy at every pop.
    V3,
}

impl Dialect {
    /// The `attempts` value a freshly pushed payload carries.
    pub fn initial_attempts(self) -> i64 {
        match self {
            Dialect::V1 => 1,
            Dialect::V3 => 0,
        }
    }

    /// Whether the reserved copy written at pop carries `attempts + 1` (V3) or the popped bytes (V1).
    pub fn bumps_on_pop(self) -> bool {
        self == Dialect::V3
    }

    /// Whether moving an expired reservation back to the ready list bumps `attempts` (V1).
    pub fn bumps_on_expiry(self) -> bool {
        self == Dialect::V1
    }

    /// Parses `"v1"`, `"1"`, `"v2"`, `"2"` (same wire as 1.x), `"v3"`, `"3"` (case-insensitive).
    pub fn parse(s: &str) -> Option<Dialect> {
        match s.trim().to_ascii_lowercase().as_str() {
            "v1" | "1" | "v2" | "2" | "1.x" | "2.x" => Some(Dialect::V1),
            "v3" | "3" | "3.x" => Some(Dialect::V3),
            _ => None,
        }
    }

    /// The Redis keys of a logical queue (the three stock ones, plus our dead-letter list).
    pub fn keys(self, queue: &str) -> QueueKeys {
        let ready = match self {
            Dialect::V1 => format!("queues:{queue}"),
            Dialect::V3 => format!("{{queues:{queue}}}"),
        };
        QueueKeys {
            delayed: format!("{ready}:delayed"),
            reserved: format!("{ready}:reserved"),
            dead: format!("{ready}:dead"),
            metrics: format!("{ready}:metrics"),
            workers: format!("{ready}:workers"),
            ready,
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::V1 => "v1",
            Dialect::V3 => "v3",
        })
    }
}

/// Which of a queue's keys a Redis key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// the ready LIST (`queues:NAME` / `{queues:NAME}`)
    Ready,
    /// the delayed ZSET (`...:delayed`)
    Delayed,
    /// the reserved ZSET (`...:reserved`)
    Reserved,
    /// the dead-letter LIST (`...:dead`, ours)
    Dead,
    /// a metrics HASH (`...:metrics` totals, `...:metrics:MINUTE` per minute; ours)
    Metrics,
    /// the worker registry ZSET (`...:workers`, ours)
    Workers,
    /// one worker's HASH (`...:worker:ID`, ours)
    Worker,
}

impl KeyKind {
    /// The Redis type such a key has (`TYPE` answers it): `list`, `zset` or `hash`.
    pub fn redis_type(self) -> &'static str {
        match self {
            KeyKind::Ready | KeyKind::Dead => "list",
            KeyKind::Delayed | KeyKind::Reserved | KeyKind::Workers => "zset",
            KeyKind::Metrics | KeyKind::Worker => "hash",
        }
    }

    const SUFFIXES: [(&'static str, KeyKind); 5] = [
        (":delayed", KeyKind::Delayed),
        (":reserved", KeyKind::Reserved),
        (":dead", KeyKind::Dead),
        (":metrics", KeyKind::Metrics),
        (":workers", KeyKind::Workers),
    ];

    /// Splits `<ready part><suffix>` into the ready part and the kind of key the suffix names:
    /// the fixed suffixes, `:metrics:<digits>` (a minute's metrics) and `:worker:<id>`.
    fn split(key: &str) -> Option<(&str, KeyKind)> {
        if let Some(found) = KeyKind::SUFFIXES
            .iter()
            .find_map(|(suffix, kind)| Some((key.strip_suffix(suffix)?, *kind)))
        {
            return Some(found);
        }
        if let Some((head, minute)) = key.rsplit_once(":metrics:") {
            if !minute.is_empty() && minute.bytes().all(|b| b.is_ascii_digit()) {
                return Some((head, KeyKind::Metrics));
            }
        }
        let (head, id) = key.rsplit_once(":worker:")?;
        (!id.is_empty() && !id.contains([':', '}'])).then_some((head, KeyKind::Worker))
    }
}

/// A Redis key read back as the queue it belongs to (see [`QueueKeys::parse`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedKey {
    /// whose spelling the key has
    pub dialect: Dialect,
    /// the logical queue name
    pub queue: String,
    /// which of the queue's keys it is
    pub kind: KeyKind,
}

impl Dialect {
    /// The `SCAN MATCH` pattern that finds this dialect's keys (`queues:*`, `{queues:*`).
    pub fn key_pattern(self) -> &'static str {
        match self {
            Dialect::V1 => "queues:*",
            Dialect::V3 => "{queues:*",
        }
    }
}

/// The Redis keys of one logical queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueKeys {
    /// LIST of ready payloads (RPUSH at the tail, pop at the head).
    pub ready: String,
    /// ZSET of delayed payloads scored by the unix second they become due.
    pub delayed: String,
    /// ZSET of reserved (running) payloads scored by the unix second their reservation expires.
    pub reserved: String,
    /// LIST of payloads that cannot be processed at all (not JSON, no `attempts`, no string
    /// `job`), moved here by [`RedisQueue::bury`](crate::RedisQueue::bury) so they are neither
    /// lost nor handed out again. Not a stock think-queue key: stock never reads or writes it.
    pub dead: String,
    /// HASH of the queue's metrics totals since it was first used by a native worker (see
    /// [`metrics`](crate::metrics)); no expiry. Ours, like the next two.
    pub metrics: String,
    /// ZSET of the native workers that announced themselves on this queue, scored by their last
    /// heartbeat (unix seconds); see [`registry`](crate::registry).
    pub workers: String,
}

impl QueueKeys {
    /// HASH of the queue's metrics recorded in one minute (`unix seconds / 60`); expires by itself.
    pub fn metrics_minute(&self, minute: i64) -> String {
        format!("{}:{minute}", self.metrics)
    }

    /// HASH describing one registered worker (see [`registry`](crate::registry)); expires when
    /// the worker stops beating.
    pub fn worker(&self, id: &str) -> String {
        format!("{}:worker:{id}", self.ready)
    }

    /// The queue a key belongs to, the inverse of [`Dialect::keys`] (and of
    /// [`metrics_minute`](Self::metrics_minute), [`worker`](Self::worker)):
    /// `{queues:NAME}[SUFFIX]` (v3) or `queues:NAME[SUFFIX]` (v1), SUFFIX one of `:delayed`,
    /// `:reserved`, `:dead`, `:metrics`, `:metrics:MINUTE`, `:workers`, `:worker:ID`. `None` for
    /// other keys, and for names that are not UTF-8. A v1 name that itself ends in `:delayed`
    /// (say) is read as that queue's delayed set: the keys do not tell them apart.
    pub fn parse(key: &[u8]) -> Option<ParsedKey> {
        let key = std::str::from_utf8(key).ok()?;
        let parsed = |dialect, queue: &str, kind| {
            Some(ParsedKey {
                dialect,
                queue: queue.to_owned(),
                kind,
            })
        };
        if let Some(rest) = key.strip_prefix("{queues:") {
            if let Some(name) = rest.strip_suffix('}') {
                return parsed(Dialect::V3, name, KeyKind::Ready);
            }
            let (head, kind) = KeyKind::split(rest)?;
            return parsed(Dialect::V3, head.strip_suffix('}')?, kind);
        }
        let rest = key.strip_prefix("queues:")?;
        match KeyKind::split(rest) {
            Some((name, kind)) => parsed(Dialect::V1, name, kind),
            None => parsed(Dialect::V1, rest, KeyKind::Ready),
        }
    }
}

/// The hash tag Redis Cluster hashes a key by: the text between the first `{` and the first `}`
/// after it, when not empty; `None` when the whole key is hashed.
pub fn hash_tag(key: &str) -> Option<&str> {
    let open = key.find('{')?;
    let close = key[open + 1..].find('}')? + open + 1;
    (close > open + 1).then(|| &key[open + 1..close])
}

/// Why a key cannot be used on a Redis Cluster, or `None`. A think-queue 1.x/2.x queue's keys
/// (`queues:NAME`, `queues:NAME:delayed`, `queues:NAME:reserved`) hash to different slots unless
/// NAME carries a hash tag, and one Lua script must touch them together; 3.x keys
/// (`{queues:NAME}...`) always share one slot.
pub(crate) fn cluster_key_problem(key: &str) -> Option<String> {
    let rest = key.strip_prefix("queues:")?;
    if hash_tag(key).is_some() {
        return None;
    }
    let name = [":delayed", ":reserved", ":dead"]
        .iter()
        .find_map(|s| rest.strip_suffix(s))
        .unwrap_or(rest);
    Some(format!(
        "queue `{name}`: on a Redis Cluster the think-queue 1.x/2.x keys `queues:{name}`, `queues:{name}:delayed` and \
         `queues:{name}:reserved` fall into different hash slots, and a job cannot move between them atomically; \
         put a hash tag in the queue name, e.g. `{{{name}}}` (keys `queues:{{{name}}}`, `queues:{{{name}}}:delayed`, ... share one slot), \
         for producers and workers alike (or use think-queue 3.x keys, `'dialect' => 'v3'`)"
    ))
}

/// think-queue's rule for the queue name: a falsy name (`""`, `"0"`, none) means the default queue.
pub fn resolve_queue_name<'a>(queue: Option<&'a str>, default: &'a str) -> &'a str {
    match queue {
        None | Some("") | Some("0") => default,
        Some(q) => q,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_tags_and_cluster_keys() {
        assert_eq!(hash_tag("{queues:sms}:delayed"), Some("queues:sms"));
        assert_eq!(hash_tag("queues:{sms}:delayed"), Some("sms"));
        assert_eq!(hash_tag("queues:a{}b{c}"), None);
        assert_eq!(hash_tag("queues:a{b"), None);
        for name in ["{sms}", "x{sms}y", "{a}{b}"] {
            for key in [Dialect::V1.keys(name).ready, Dialect::V1.keys(name).delayed] {
                assert_eq!(cluster_key_problem(&key), None, "{key}");
            }
        }
        let msg = cluster_key_problem("queues:sms:reserved").unwrap_or_default();
        assert!(msg.contains("queue `sms`") && msg.contains("`{sms}`"), "{msg}");
        assert!(cluster_key_problem("queues:a{}b").is_some());
        assert_eq!(cluster_key_problem("{queues:sms}:delayed"), None);
        assert_eq!(cluster_key_problem("PING"), None);
    }

    #[test]
    fn keys_per_dialect() {
        let k = Dialect::V1.keys("sms");
        assert_eq!(
            (k.ready.as_str(), k.delayed.as_str(), k.reserved.as_str()),
            ("queues:sms", "queues:sms:delayed", "queues:sms:reserved")
        );
        let k = Dialect::V3.keys("sms");
        assert_eq!(
            (k.ready.as_str(), k.delayed.as_str(), k.reserved.as_str()),
            ("{queues:sms}", "{queues:sms}:delayed", "{queues:sms}:reserved")
        );
        assert_eq!(
            (Dialect::V1.keys("sms").dead.as_str(), k.dead.as_str()),
            ("queues:sms:dead", "{queues:sms}:dead")
        );
    }

    #[test]
    fn keys_parse_back_to_their_queue() {
        for dialect in [Dialect::V1, Dialect::V3] {
            for name in ["sms", "a:b", "{tagged}", "中文"] {
                let k = dialect.keys(name);
                for (key, kind) in [
                    (&k.ready, KeyKind::Ready),
                    (&k.delayed, KeyKind::Delayed),
                    (&k.reserved, KeyKind::Reserved),
                    (&k.dead, KeyKind::Dead),
                    (&k.metrics, KeyKind::Metrics),
                    (&k.metrics_minute(29_000_000), KeyKind::Metrics),
                    (&k.workers, KeyKind::Workers),
                    (&k.worker("host-12-abcd"), KeyKind::Worker),
                ] {
                    let want = ParsedKey {
                        dialect,
                        queue: name.to_owned(),
                        kind,
                    };
                    assert_eq!(QueueKeys::parse(key.as_bytes()), Some(want), "{key}");
                }
            }
        }
        assert_eq!(QueueKeys::parse(b"{queues:sms}:other"), None);
        assert_eq!(QueueKeys::parse(b"{queues:sms}:metrics:12a"), None);
        assert_eq!(QueueKeys::parse(b"{queues:sms}:worker:"), None);
        assert_eq!(QueueKeys::parse(b"other"), None);
        assert_eq!(QueueKeys::parse(b"queues:\xff"), None);
        assert_eq!((KeyKind::Ready.redis_type(), KeyKind::Reserved.redis_type()), ("list", "zset"));
    }

    #[test]
    fn falsy_names_mean_default() {
        for q in [None, Some(""), Some("0")] {
            assert_eq!(resolve_queue_name(q, "default"), "default");
        }
        assert_eq!(resolve_queue_name(Some("00"), "default"), "00");
        assert_eq!(resolve_queue_name(Some("a"), "default"), "a");
    }

    #[test]
    fn parse_dialect() {
        assert_eq!(Dialect::parse("V2"), Some(Dialect::V1));
        assert_eq!(Dialect::parse("3"), Some(Dialect::V3));
        assert_eq!(Dialect::parse("4"), None);
    }
}

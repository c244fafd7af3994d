//! Connection and queue options, with think-queue's names and defaults.
#![forbid(unsafe_code)]

use std::fmt;
use std::time::Duration;

use redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo, RedisConnectionInfo};

use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::json::Value;
use crate::php_value::{bad, integer, number, secret, text, truthy};

/// How to reach Redis: think-queue's `host`, `port`, `password`, `select`, `timeout`,
/// `persistent`, plus `username` (ACL users) and `read_timeout`; and beyond one Redis:
/// [`cluster`](Self::cluster) seed nodes, a [`sentinel`](Self::sentinel) set, TLS
/// ([`tls`](Self::tls), `tls_ca`, `tls_cert`, `tls_key`) and [`wait`](Self::wait) for replicas.
///
/// `Debug` never prints the password (nor the sentinel's).
#[derive(Clone, PartialEq)]
pub struct ConnectionOptions {
    /// `host` (default `127.0.0.1`)
    pub host: String,
    /// `port` (default 6379)
    pub port: u16,
    /// ACL user name; `None` means the default user
    pub username: Option<String>,
    /// `password`; `None` (or an empty string in a PHP config) means no AUTH
    pub password: Option<String>,
    /// `select`: database number (default 0, no SELECT sent)
    pub select: i64,
    /// `timeout`: connect timeout in seconds; 0 means none (think-queue's default)
    pub timeout: f64,
    /// read timeout in seconds for replies; 0 means none
    pub read_timeout: f64,
    /// `persistent`: reuse one connection per process and configuration (PHP layer)
    pub persistent: bool,
    /// `cluster`: seed nodes (`host:port`) of a Redis Cluster; empty (the default) means a single
    /// Redis at `host:port` (or the sentinels' primary). `host`/`port` are then not used.
    pub cluster: Vec<String>,
    /// `sentinel`: ask these sentinels for the primary of a monitored master; `None` (default)
    /// connects to `host:port`.
    pub sentinel: Option<SentinelOptions>,
    /// `tls` (or a `rediss://` URL): TLS to every Redis node (and sentinel)
    pub tls: bool,
    /// `tls_ca`: PEM file of the CA(s) to trust instead of the system's; implies `tls`
    pub tls_ca: Option<String>,
    /// `tls_cert`: PEM client certificate (with `tls_key`) for servers that require one; implies `tls`
    pub tls_cert: Option<String>,
    /// `tls_key`: PEM private key of `tls_cert`
    pub tls_key: Option<String>,
    /// `wait`: after each write, `WAIT` until this many replicas acknowledged it (see [`WaitOptions`])
    pub wait: Option<WaitOptions>,
}

/// `'sentinel' => ['master' => 'mymaster', 'nodes' => ['127.0.0.1:26379', ...], 'password' => ..., 'username' => ...]`.
///
/// The connector asks each sentinel in turn for the master's address and uses it only when the
/// node there answers `ROLE` with `master`; it asks again after a broken connection and after a
/// `READONLY` reply (a failover demoted the node it was talking to). `Debug` hides the password.
#[derive(Clone, PartialEq, Default)]
pub struct SentinelOptions {
    /// the master name the sentinels monitor (`sentinel monitor NAME ...`)
    pub master: String,
    /// sentinel addresses, `host:port`
    pub nodes: Vec<String>,
    /// ACL user on the sentinels (`None`: default user)
    pub username: Option<String>,
    /// password on the sentinels (`None`: no AUTH); the data nodes use `password`
    pub password: Option<String>,
}

impl fmt::Debug for SentinelOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentinelOptions")
            .field("master", &self.master)
            .field("nodes", &self.nodes)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// `'wait' => ['replicas' => 1, 'timeout_ms' => 100]`: after every command that writes (push,
/// later, bulk, pop, release, delete...), send `WAIT replicas timeout_ms` on the same connection.
/// When fewer replicas acknowledged the write in time, the call fails with a connection error
/// (the write is on the primary, but not known to be on a replica: retry, at-least-once).
///
/// What it buys: a push that returned has reached the replicas' memory, so a failover to one of
/// them does not lose it. It is not fsync (a replica that restarts loses it too), and a replica
/// promoted from the set that did not acknowledge can still miss it (Sentinel promotes the most
/// up-to-date replica).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    /// replicas that must acknowledge (>= 1)
    pub replicas: u32,
    /// how long WAIT may block, milliseconds (0 = forever, Redis' meaning; default 100)
    pub timeout_ms: u64,
}

impl Default for ConnectionOptions {
    fn default() -> Self {
        ConnectionOptions {
            host: "127.0.0.1".into(),
            port: 6379,
            username: None,
            password: None,
            select: 0,
            timeout: 0.0,
            read_timeout: 0.0,
            persistent: false,
            cluster: Vec::new(),
            sentinel: None,
            tls: false,
            tls_ca: None,
            tls_cert: None,
            tls_key: None,
            wait: None,
        }
    }
}

impl fmt::Debug for ConnectionOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionOptions")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("select", &self.select)
            .field("timeout", &self.timeout)
            .field("read_timeout", &self.read_timeout)
            .field("persistent", &self.persistent)
            .field("cluster", &self.cluster)
            .field("sentinel", &self.sentinel)
            .field("tls", &self.tls)
            .field("tls_ca", &self.tls_ca)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .field("wait", &self.wait)
            .finish()
    }
}

/// Parses `host:port` (`[v6]:port` too); the port is required.
pub(crate) fn parse_node(what: &str, s: &str) -> Result<(String, u16)> {
    let s = s.trim();
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| Error::Config(format!("`{what}` entries must be `host:port`, got '{s}'")))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| Error::Config(format!("`{what}` entry '{s}' has no valid port")))?;
    if host.is_empty() {
        return Err(Error::Config(format!("`{what}` entry '{s}' has no host")));
    }
    Ok((host.to_owned(), port))
}

/// `host:port`, bracketing IPv6 hosts.
pub(crate) fn join_addr(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn seconds(name: &str, v: f64) -> Result<Option<Duration>> {
    if !v.is_finite() || v < 0.0 {
        return Err(Error::Config(format!("`{name}` must be a non-negative number of seconds, got {v}")));
    }
    Ok(if v == 0.0 { None } else { Some(Duration::from_secs_f64(v)) })
}

impl ConnectionOptions {
    /// Parses `redis://[[user]:password@]host[:port][/db][?timeout=S&read_timeout=S&persistent=1]`;
    /// `rediss://` is the same over TLS, with `tls_ca=PATH`, `tls_cert=PATH`, `tls_key=PATH`.
    pub fn from_url(url: &str) -> Result<ConnectionOptions> {
        let u = url::Url::parse(url).map_err(|e| Error::Config(format!("invalid Redis URL: {e}")))?;
        let tls = match u.scheme() {
            "redis" => false,
            "rediss" => true,
            other => {
                return Err(Error::Config(format!(
                    "unsupported URL scheme `{other}` (expected redis:// or rediss://)"
                )))
            }
        };
        let mut o = ConnectionOptions {
            host: u.host_str().unwrap_or("127.0.0.1").to_owned(),
            port: u.port().unwrap_or(6379),
            tls,
            ..Default::default()
        };
        // IPv6 hosts come bracketed from the URL parser
        o.host = o.host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let decode = |s: &str| percent_decode(s);
        if !u.username().is_empty() {
            o.username = Some(decode(u.username())?);
        }
        if let Some(p) = u.password() {
            o.password = Some(decode(p)?);
        }
        let path = u.path().trim_matches('/');
        if !path.is_empty() {
            o.select = path
                .parse()
                .map_err(|_| Error::Config(format!("invalid database number `{path}` in Redis URL")))?;
        }
        for (k, v) in u.query_pairs() {
            let num = |v: &str| {
                v.parse::<f64>()
                    .map_err(|_| Error::Config(format!("invalid `{k}` value `{v}` in Redis URL")))
            };
            match &*k {
                "timeout" => o.timeout = num(&v)?,
                "read_timeout" => o.read_timeout = num(&v)?,
                "persistent" => o.persistent = matches!(&*v, "1" | "true" | "yes" | "on"),
                "select" | "db" => o.select = num(&v)? as i64,
                "tls_ca" => o.tls_ca = Some(v.into_owned()).filter(|p| !p.is_empty()),
                "tls_cert" => o.tls_cert = Some(v.into_owned()).filter(|p| !p.is_empty()),
                "tls_key" => o.tls_key = Some(v.into_owned()).filter(|p| !p.is_empty()),
                other => return Err(Error::Config(format!("unknown option `{other}` in Redis URL"))),
            }
        }
        o.validate()?;
        Ok(o)
    }

    /// Checks the numbers.
    pub fn validate(&self) -> Result<()> {
        seconds("timeout", self.timeout)?;
        seconds("read_timeout", self.read_timeout)?;
        if self.select < 0 {
            return Err(Error::Config(format!("`select` must be >= 0, got {}", self.select)));
        }
        for n in &self.cluster {
            parse_node("cluster", n)?;
        }
        if !self.cluster.is_empty() {
            if self.sentinel.is_some() {
                return Err(Error::Config("`cluster` and `sentinel` cannot be combined".into()));
            }
            if self.select != 0 {
                return Err(Error::Config(format!(
                    "`select` must be 0 with `cluster` (Redis Cluster has only database 0), got {}",
                    self.select
                )));
            }
        }
        if let Some(s) = &self.sentinel {
            if s.master.is_empty() {
                return Err(Error::Config("`sentinel.master` must name the monitored master".into()));
            }
            if s.nodes.is_empty() {
                return Err(Error::Config("`sentinel.nodes` must list at least one sentinel `host:port`".into()));
            }
            for n in &s.nodes {
                parse_node("sentinel.nodes", n)?;
            }
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(Error::Config(
                "`tls_cert` and `tls_key` go together (a client certificate and its key)".into(),
            ));
        }
        if let Some(w) = &self.wait {
            if w.replicas == 0 {
                return Err(Error::Config("`wait.replicas` must be >= 1".into()));
            }
        }
        Ok(())
    }

    /// Whether connections use TLS (`tls`, a `rediss://` URL, or a `tls_*` file).
    pub fn uses_tls(&self) -> bool {
        self.tls || self.tls_ca.is_some() || self.tls_cert.is_some()
    }

    /// Whether this is a Redis Cluster (`cluster` seed nodes given).
    pub fn is_cluster(&self) -> bool {
        !self.cluster.is_empty()
    }

    /// `host:port`, as error messages name the server (never with the password); for a cluster
    /// its seed nodes (`cluster 127.0.0.1:7000,...`), for a sentinel set the master name and the
    /// sentinels.
    pub fn addr(&self) -> String {
        if !self.cluster.is_empty() {
            return format!("cluster {}", self.cluster.join(","));
        }
        if let Some(s) = &self.sentinel {
            return format!("sentinel master `{}` via {}", s.master, s.nodes.join(","));
        }
        join_addr(&self.host, self.port)
    }

    pub(crate) fn connect_timeout(&self) -> Option<Duration> {
        seconds("timeout", self.timeout).ok().flatten()
    }

    pub(crate) fn read_timeout_duration(&self) -> Option<Duration> {
        seconds("read_timeout", self.read_timeout).ok().flatten()
    }

    /// Connection info for one node at `host:port` with these credentials, database and TLS mode
    /// (certificates are added by the caller).
    pub(crate) fn node_info(
        &self,
        host: &str,
        port: u16,
        username: Option<&str>,
        password: Option<&str>,
        db: i64,
    ) -> Result<ConnectionInfo> {
        let mut redis = RedisConnectionInfo::default().set_db(db).set_skip_set_lib_name();
        if let Some(p) = password.filter(|p| !p.is_empty()) {
            redis = redis.set_password(p);
        }
        if let Some(u) = username.filter(|u| !u.is_empty()) {
            redis = redis.set_username(u);
        }
        let addr = if self.uses_tls() {
            ConnectionAddr::TcpTls {
                host: host.to_owned(),
                port,
                insecure: false,
                tls_params: None,
            }
        } else {
            ConnectionAddr::Tcp(host.to_owned(), port)
        };
        let info = addr
            .into_connection_info()
            .map_err(|e| Error::Config(format!("invalid Redis address {}: {e}", join_addr(host, port))))?;
        Ok(info.set_redis_settings(redis))
    }

    /// The CA and client certificate files, read now (`None` when neither is configured: the
    /// system's trust store, no client certificate).
    pub(crate) fn tls_certificates(&self) -> Result<Option<redis::TlsCertificates>> {
        if self.tls_ca.is_none() && self.tls_cert.is_none() {
            return Ok(None);
        }
        let read = |key: &str, path: &str| std::fs::read(path).map_err(|e| Error::Config(format!("`{key}`: cannot read {path}: {e}")));
        let root_cert = match &self.tls_ca {
            Some(p) => Some(read("tls_ca", p)?),
            None => None,
        };
        let client_tls = match (&self.tls_cert, &self.tls_key) {
            (Some(c), Some(k)) => Some(redis::ClientTlsConfig {
                client_cert: read("tls_cert", c)?,
                client_key: read("tls_key", k)?,
            }),
            _ => None,
        };
        Ok(Some(redis::TlsCertificates { client_tls, root_cert }))
    }
}

/// URL credentials, percent-decoded (`%40` is `@`); they must decode to UTF-8.
fn percent_decode(s: &str) -> Result<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| Error::Config("Redis URL credentials are not UTF-8".into()))
}

/// Queue behaviour: which dialect, the default queue name, the reservation timeout.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueOptions {
    /// Wire dialect (think-queue generation).
    pub dialect: Dialect,
    /// `default` (1.x/2.x) / `queue` (3.x): the queue used when a call names none (`default`).
    pub default_queue: String,
    /// `expire` (1.x/2.x) / `retry_after` (3.x): seconds a popped job stays reserved before it is
    /// handed out again; `None` (PHP `null`) disables reservation expiry, as stock does. Default 60.
    pub retry_after: Option<i64>,
    /// At most this many jobs are migrated from each of the delayed and reserved sets per pop
    /// (default 1000), so one pop never blocks Redis for long.
    pub migrate_batch: usize,
    /// `lease`: keep each popped job's reservation alive from a background thread until it is
    /// deleted, released or buried (or the process dies), so a job running longer than
    /// `retry_after` is not handed to a second worker. Off by default (stock behaviour).
    pub lease: bool,
    /// `metrics`: record job metrics (counts, run and wait times per job name, see
    /// [`metrics`](crate::metrics)) with the pops a worker makes anyway, and announce the worker
    /// in the queue's registry (see [`registry`](crate::registry)). On by default; `false` writes
    /// neither.
    pub metrics: bool,
}

impl QueueOptions {
    /// Stock defaults for a dialect: queue `default`, 60 s reservations.
    pub fn new(dialect: Dialect) -> QueueOptions {
        QueueOptions {
            dialect,
            default_queue: "default".into(),
            retry_after: Some(60),
            migrate_batch: 1000,
            lease: false,
            metrics: true,
        }
    }

    /// Checks the numbers.
    pub fn validate(&self) -> Result<()> {
        if self.migrate_batch == 0 || self.migrate_batch > 5000 {
            return Err(Error::Config(format!(
                "migrate batch must be within 1..=5000, got {}",
                self.migrate_batch
            )));
        }
        if self.default_queue.is_empty() {
            return Err(Error::Config("the default queue name is empty".into()));
        }
        Ok(())
    }
}

/// Connection and queue options from a think-queue connection config, given as the `(key, value)`
/// pairs of the PHP config array, read the way the stock Redis connector of `generation` reads it.
/// This is the one place that knows think-queue's config keys; the PHP connector, the extension's
/// `new RedisQueue($config, $generation)` and `tqn --config` only say which generation they found.
///
/// - `generation` [`Dialect::V1`] (think-queue 1.x/2.x, the whole `queue` config): `default` names
///   the default queue; `expire` the reservation timeout (absent: 60; a present `null` disables
///   reservation expiry, as stock 1.x does). `queue` and `retry_after` are not 1.x keys and are ignored.
/// - `generation` [`Dialect::V3`] (think-queue 3.x, one `connections` entry): `queue` names the
///   default queue; `retry_after ?? 60` the reservation timeout (so `null` means 60, as in stock
///   3.x). `default` and `expire` are not 3.x keys and are ignored.
/// - both: `dialect` (`'v1'`/`'v2'`/`'1'`/`'2'` or `'v3'`/`'3'`) overrides the wire dialect, which
///   is otherwise the generation; connection keys `url` (parsed first; the other keys override its
///   parts), `host`, `port`, `password`, `username`, `select`, `timeout`, `read_timeout`,
///   `persistent`; `cluster` (list of `host:port`), `sentinel` (`['master' => .., 'nodes' => [..],
///   'password' => .., 'username' => ..]`), `tls`, `tls_ca`, `tls_cert`, `tls_key`, `wait`
///   (`['replicas' => N, 'timeout_ms' => MS]`); `migrate_batch`, `lease`, `metrics`.
///
/// Unknown keys are ignored, so a whole think-queue config can be passed. Values are read as PHP
/// configs hold them (see `php_value`): numbers as ints, floats or numeric strings; `null` means
/// "not set" (the default) except for 1.x's `expire`; `password`/`username` `''` mean none;
/// `select` `false`/`''` mean 0; `persistent` uses PHP truthiness. A value of the wrong kind is an
/// [`Error::Config`] naming the key (never echoing a password).
///
/// `generation` `None` (the extension's `new RedisQueue($config)` without a generation): the
/// config's own `dialect` decides, else 3.x.
pub fn options_from_config<'a, I>(entries: I, generation: Option<Dialect>) -> Result<(ConnectionOptions, QueueOptions)>
where
    I: IntoIterator<Item = (&'a str, &'a Value)>,
{
    let entries: Vec<(&str, &Value)> = entries.into_iter().collect();
    let get = |name: &str| entries.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let set = |name: &str| get(name).filter(|v| !matches!(v, Value::Null));

    let dialect = match set("dialect") {
        None => generation.unwrap_or(Dialect::V3),
        Some(v) => {
            let text = match v {
                Value::Str(b) => String::from_utf8_lossy(b).into_owned(),
                Value::Int(n) => n.to_string(),
                _ => String::new(),
            };
            Dialect::parse(&text).ok_or_else(|| bad("dialect", "'v1' or 'v3'", v))?
        }
    };
    let generation = generation.unwrap_or(dialect);
    let mut conn = match set("url") {
        Some(Value::Str(u)) if u.is_empty() => ConnectionOptions::default(),
        Some(Value::Str(u)) => {
            let u = std::str::from_utf8(u).map_err(|_| Error::Config("`url` is not UTF-8".into()))?;
            ConnectionOptions::from_url(u)?
        }
        Some(v) => return Err(bad("url", "a redis:// URL string", v)),
        None => ConnectionOptions::default(),
    };
    if let Some(v) = set("host") {
        match text("host", v)? {
            Some(h) if !h.is_empty() => conn.host = h,
            _ => return Err(bad("host", "a non-empty string", v)),
        }
    }
    if let Some(v) = set("port") {
        conn.port = integer("port", v)
            .ok()
            .and_then(|p| u16::try_from(p).ok())
            .filter(|p| *p > 0)
            .ok_or_else(|| bad("port", "an integer within 1..=65535", v))?;
    }
    if let Some(v) = get("password") {
        conn.password = secret("password", v)?;
    }
    if let Some(v) = get("username") {
        conn.username = secret("username", v)?;
    }
    if let Some(v) = set("select") {
        conn.select = match v {
            Value::Bool(false) => 0,
            Value::Str(b) if b.is_empty() => 0,
            _ => integer("select", v)
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| bad("select", "a database number >= 0", v))?,
        };
    }
    for (name, field) in [("timeout", &mut conn.timeout), ("read_timeout", &mut conn.read_timeout)] {
        if let Some(v) = set(name) {
            *field = match v {
                Value::Bool(false) => 0.0,
                Value::Str(b) if b.is_empty() => 0.0,
                _ => number(v)
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .ok_or_else(|| bad(name, "a number of seconds >= 0", v))?,
            };
        }
    }
    if let Some(v) = get("persistent") {
        conn.persistent = truthy(v);
    }
    if let Some(v) = set("cluster") {
        conn.cluster = node_list("cluster", v)?;
    }
    if let Some(v) = set("sentinel") {
        conn.sentinel = sentinel_options(v)?;
    }
    if let Some(v) = get("tls") {
        conn.tls = conn.tls || truthy(v);
    }
    for (name, field) in [
        ("tls_ca", &mut conn.tls_ca),
        ("tls_cert", &mut conn.tls_cert),
        ("tls_key", &mut conn.tls_key),
    ] {
        if let Some(v) = set(name) {
            *field = text(name, v)?
                .ok_or_else(|| bad(name, "a file path", v))
                .map(|p| Some(p).filter(|p| !p.is_empty()))?;
        }
    }
    if let Some(v) = set("wait") {
        conn.wait = wait_options(v)?;
    }
    conn.validate()?;

    let mut queue = QueueOptions::new(dialect);
    let (queue_key, expiry_key) = generation_keys(generation);
    if let Some(v) = set(queue_key) {
        match v {
            Value::Str(b) if b.is_empty() => {}
            Value::Int(n) => queue.default_queue = n.to_string(),
            _ => queue.default_queue = text(queue_key, v)?.ok_or_else(|| bad(queue_key, "a queue name", v))?,
        }
    }
    // 1.x: a present `expire => null` disables expiry; 3.x: `retry_after ?? 60`
    let expiry = match generation {
        Dialect::V1 => get(expiry_key),
        Dialect::V3 => set(expiry_key),
    };
    if let Some(v) = expiry {
        queue.retry_after = match v {
            Value::Null => None,
            _ => Some(
                integer(expiry_key, v)
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| bad(expiry_key, "a number of seconds >= 0", v))?,
            ),
        };
    }
    if let Some(v) = set("migrate_batch") {
        queue.migrate_batch = integer("migrate_batch", v)
            .ok()
            .and_then(|n| usize::try_from(n).ok())
            .filter(|n| (1..=5000).contains(n))
            .ok_or_else(|| bad("migrate_batch", "an integer within 1..=5000", v))?;
    }
    if let Some(v) = get("lease") {
        queue.lease = truthy(v);
    }
    if let Some(v) = set("metrics") {
        queue.metrics = truthy(v);
    }
    queue.validate()?;
    Ok((conn, queue))
}

/// What a config means once read: the resolved connection and queue options as one map, the
/// same for the extension's `RedisQueue::options()` and `tqn config`, so a config file can be
/// checked (and compared between the two). Never holds a password: only whether one is set.
pub fn options_summary(conn: &ConnectionOptions, queue: &QueueOptions) -> Value {
    let opt = |s: &Option<String>| s.as_deref().map_or(Value::Null, Value::from);
    let nodes = |n: &[String]| Value::list(n.iter().map(|s| Value::from(s.as_str())).collect());
    let sentinel = conn.sentinel.as_ref().map_or(Value::Null, |s| {
        Value::map(vec![
            ("master", Value::from(s.master.as_str())),
            ("nodes", nodes(&s.nodes)),
            ("username", opt(&s.username)),
            ("password_set", Value::Bool(s.password.is_some())),
        ])
    });
    let wait = conn.wait.map_or(Value::Null, |w| {
        Value::map(vec![
            ("replicas", Value::Int(w.replicas.into())),
            ("timeout_ms", Value::Int(i64::try_from(w.timeout_ms).unwrap_or(i64::MAX))),
        ])
    });
    Value::map(vec![
        ("dialect", Value::from(queue.dialect.to_string())),
        ("default_queue", Value::from(queue.default_queue.as_str())),
        ("retry_after", queue.retry_after.map_or(Value::Null, Value::Int)),
        ("migrate_batch", Value::Int(i64::try_from(queue.migrate_batch).unwrap_or(i64::MAX))),
        ("lease", Value::Bool(queue.lease)),
        ("metrics", Value::Bool(queue.metrics)),
        ("host", Value::from(conn.host.as_str())),
        ("port", Value::Int(conn.port.into())),
        ("username", opt(&conn.username)),
        ("password_set", Value::Bool(conn.password.is_some())),
        ("select", Value::Int(conn.select)),
        ("timeout", Value::Float(conn.timeout)),
        ("read_timeout", Value::Float(conn.read_timeout)),
        ("persistent", Value::Bool(conn.persistent)),
        ("cluster", nodes(&conn.cluster)),
        ("sentinel", sentinel),
        ("tls", Value::Bool(conn.uses_tls())),
        ("tls_ca", opt(&conn.tls_ca)),
        ("tls_cert", opt(&conn.tls_cert)),
        ("tls_key", opt(&conn.tls_key)),
        ("wait", wait),
    ])
}

/// The config keys a generation's stock connector reads for the default queue name and the
/// reservation timeout.
fn generation_keys(generation: Dialect) -> (&'static str, &'static str) {
    match generation {
        Dialect::V1 => ("default", "expire"),
        Dialect::V3 => ("queue", "retry_after"),
    }
}

/// `cluster` / `sentinel.nodes`: a list of `host:port` strings (or one comma-separated string).
fn node_list(key: &str, v: &Value) -> Result<Vec<String>> {
    let items: Vec<&Value> = match v {
        Value::Array(items) => items.iter().map(|(_, v)| v).collect(),
        Value::Str(_) => vec![v],
        _ => return Err(bad(key, "a list of 'host:port' strings", v)),
    };
    let mut out = Vec::new();
    for item in items {
        let s = text(key, item)?.ok_or_else(|| bad(key, "a list of 'host:port' strings", item))?;
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (host, port) = parse_node(key, part)?;
            out.push(join_addr(&host, port));
        }
    }
    if out.is_empty() {
        return Err(bad(key, "a non-empty list of 'host:port' strings", v));
    }
    Ok(out)
}

/// `sentinel`: `['master' => NAME, 'nodes' => [...], 'password' => ..., 'username' => ...]`.
fn sentinel_options(v: &Value) -> Result<Option<SentinelOptions>> {
    let Value::Array(_) = v else {
        return Err(bad("sentinel", "an array ['master' => NAME, 'nodes' => ['host:port', ...]]", v));
    };
    let field = |name: &str| v.get(name).filter(|v| !matches!(v, Value::Null));
    let master = match field("master") {
        Some(m) => text("sentinel.master", m)?.ok_or_else(|| bad("sentinel.master", "a master name", m))?,
        None => String::new(),
    };
    let nodes = match field("nodes") {
        Some(n) => node_list("sentinel.nodes", n)?,
        None => Vec::new(),
    };
    let password = match v.get("password") {
        Some(p) => secret("sentinel.password", p)?,
        None => None,
    };
    let username = match v.get("username") {
        Some(u) => secret("sentinel.username", u)?,
        None => None,
    };
    Ok(Some(SentinelOptions {
        master,
        nodes,
        username,
        password,
    }))
}

/// `wait`: `['replicas' => N, 'timeout_ms' => MS]`, or just N (timeout 100 ms).
fn wait_options(v: &Value) -> Result<Option<WaitOptions>> {
    let expected = "['replicas' => N >= 1, 'timeout_ms' => MS >= 0] or N";
    let (replicas, timeout) = match v {
        Value::Bool(false) => return Ok(None),
        Value::Array(_) => (
            v.get("replicas").ok_or_else(|| bad("wait", expected, v))?,
            v.get("timeout_ms").filter(|t| !matches!(t, Value::Null)),
        ),
        _ => (v, None),
    };
    let replicas = integer("wait.replicas", replicas)
        .ok()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n >= 1)
        .ok_or_else(|| bad("wait.replicas", "an integer >= 1", replicas))?;
    let timeout_ms = match timeout {
        None => DEFAULT_WAIT_TIMEOUT_MS,
        Some(t) => integer("wait.timeout_ms", t)
            .ok()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| bad("wait.timeout_ms", "milliseconds >= 0", t))?,
    };
    Ok(Some(WaitOptions { replicas, timeout_ms }))
}

/// `wait.timeout_ms` when only the replica count is given.
pub const DEFAULT_WAIT_TIMEOUT_MS: u64 = 100;

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(entries: &[(&str, Value)]) -> Result<(ConnectionOptions, QueueOptions)> {
        options_from_config(entries.iter().map(|(k, v)| (*k, v)), None)
    }

    fn cfg_of(generation: Dialect, entries: &[(&str, Value)]) -> (ConnectionOptions, QueueOptions) {
        options_from_config(entries.iter().map(|(k, v)| (*k, v)), Some(generation)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn config_err(entries: &[(&str, Value)]) -> String {
        match cfg(entries) {
            Err(e @ Error::Config(_)) => e.to_string(),
            other => format!("not a config error: {other:?}"),
        }
    }

    #[test]
    fn config_defaults_and_unknown_keys() {
        let (c, q) = cfg(&[("type", Value::from("redis")), ("block_for", Value::Null)]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c, ConnectionOptions::default());
        assert_eq!(q, QueueOptions::new(Dialect::V3));
    }

    #[test]
    fn config_think_queue_1x_array() {
        // application/extra/queue.php of a ThinkPHP 5.0 app, as PHP holds it
        let (c, q) = cfg(&[
            ("connector", Value::from("Redis")),
            ("dialect", Value::from("v1")),
            ("expire", Value::Int(90)),
            ("default", Value::from("sms")),
            ("host", Value::from("10.0.0.2")),
            ("port", Value::from("6380")),
            ("password", Value::from("")),
            ("select", Value::Int(2)),
            ("timeout", Value::Int(0)),
            ("persistent", Value::Bool(false)),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (c.host.as_str(), c.port, c.password.as_deref(), c.select, c.timeout, c.persistent),
            ("10.0.0.2", 6380, None, 2, 0.0, false)
        );
        assert_eq!((q.dialect, q.default_queue.as_str(), q.retry_after), (Dialect::V1, "sms", Some(90)));
    }

    #[test]
    fn config_keys_per_generation() {
        let both = [
            ("default", Value::from("a")),
            ("queue", Value::from("b")),
            ("expire", Value::Int(5)),
            ("retry_after", Value::Int(7)),
        ];
        // each generation reads its own stock connector's keys and ignores the other's
        let (_, q) = cfg_of(Dialect::V1, &both);
        assert_eq!((q.dialect, q.default_queue.as_str(), q.retry_after), (Dialect::V1, "a", Some(5)));
        let (_, q) = cfg_of(Dialect::V3, &both);
        assert_eq!((q.dialect, q.default_queue.as_str(), q.retry_after), (Dialect::V3, "b", Some(7)));
        // 1.x: a present `expire => null` disables expiry, an absent one is 60
        assert_eq!(cfg_of(Dialect::V1, &[("expire", Value::Null)]).1.retry_after, None);
        assert_eq!(cfg_of(Dialect::V1, &[]).1.retry_after, Some(60));
        // 3.x: `retry_after ?? 60`, so null is 60, as stock 3.x
        assert_eq!(cfg_of(Dialect::V3, &[("retry_after", Value::Null)]).1.retry_after, Some(60));
        assert_eq!(cfg_of(Dialect::V3, &[("expire", Value::Null)]).1.retry_after, Some(60));
        assert_eq!(cfg_of(Dialect::V3, &[("retry_after", Value::from(" 30 "))]).1.retry_after, Some(30));
        // `dialect` sets the wire, not which keys are read
        let (_, q) = cfg_of(
            Dialect::V3,
            &[
                ("dialect", Value::from("v1")),
                ("expire", Value::Int(5)),
                ("retry_after", Value::Int(9)),
            ],
        );
        assert_eq!((q.dialect, q.retry_after), (Dialect::V1, Some(9)));
        // no generation given: the config's `dialect` decides, else 3.x
        let (_, q) =
            cfg(&[("dialect", Value::Int(2)), ("expire", Value::Null), ("default", Value::from("a"))]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((q.dialect, q.default_queue.as_str(), q.retry_after), (Dialect::V1, "a", None));
        let (_, q) = cfg(&[("expire", Value::Int(5)), ("queue", Value::from("b"))]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((q.dialect, q.default_queue.as_str(), q.retry_after), (Dialect::V3, "b", Some(60)));
    }

    #[test]
    fn config_url_and_nulls() {
        // url parts overridden by single keys
        let (c, _) = cfg(&[
            ("url", Value::from("redis://:secret@h1:7000/3?timeout=2&persistent=1")),
            ("port", Value::Float(7001.0)),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (c.host.as_str(), c.port, c.password.as_deref(), c.select, c.timeout, c.persistent),
            ("h1", 7001, Some("secret"), 3, 2.0, true)
        );
        // nulls elsewhere mean "not set"
        let (c, q) = cfg(&[
            ("host", Value::Null),
            ("port", Value::Null),
            ("queue", Value::Null),
            ("select", Value::Bool(false)),
            ("timeout", Value::from("")),
            ("password", Value::Null),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c, ConnectionOptions::default());
        assert_eq!(q.default_queue, "default");
    }

    #[test]
    fn config_value_kinds() {
        let (c, _) = cfg(&[
            ("password", Value::Int(123456)),
            ("username", Value::from("app")),
            ("timeout", Value::from("1.5")),
            ("read_timeout", Value::Float(0.25)),
            ("select", Value::from("4")),
            ("persistent", Value::from("1")),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (
                c.password.as_deref(),
                c.username.as_deref(),
                c.timeout,
                c.read_timeout,
                c.select,
                c.persistent
            ),
            (Some("123456"), Some("app"), 1.5, 0.25, 4, true)
        );
        for (v, want) in [
            (Value::Int(1), true),
            (Value::Int(0), false),
            (Value::from("0"), false),
            (Value::from(""), false),
            (Value::from("yes"), true),
            (Value::Null, false),
        ] {
            let (c, _) = cfg(&[("persistent", v.clone())]).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(c.persistent, want, "{v:?}");
        }
        let (_, q) = cfg(&[("queue", Value::Int(7)), ("migrate_batch", Value::from("10"))]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((q.default_queue.as_str(), q.migrate_batch), ("7", 10));
    }

    #[test]
    fn config_errors_name_the_key() {
        for (entries, key) in [
            (vec![("port", Value::from("abc"))], "`port`"),
            (vec![("port", Value::Int(70000))], "`port`"),
            (vec![("port", Value::Float(6379.5))], "`port`"),
            (vec![("host", Value::from(""))], "`host`"),
            (vec![("host", Value::Int(1))], "`host`"),
            (vec![("select", Value::Int(-1))], "`select`"),
            (vec![("timeout", Value::from("soon"))], "`timeout`"),
            (vec![("read_timeout", Value::Int(-2))], "`read_timeout`"),
            (vec![("dialect", Value::from("v4"))], "`dialect`"),
            (vec![("retry_after", Value::Int(-1))], "`retry_after`"),
            (vec![("dialect", Value::from("v1")), ("expire", Value::from("x"))], "`expire`"),
            (vec![("migrate_batch", Value::Int(0))], "`migrate_batch`"),
            (vec![("url", Value::Int(1))], "`url`"),
            (vec![("queue", Value::list(vec![]))], "`queue`"),
        ] {
            let msg = config_err(&entries);
            assert!(msg.starts_with("invalid configuration: ") && msg.contains(key), "{msg}");
        }
        assert!(config_err(&[("url", Value::from("http://x"))]).contains("scheme"));
        // a password of the wrong kind is reported without its value
        let msg = config_err(&[("password", Value::list(vec![Value::from("hunter2")]))]);
        assert!(msg.contains("`password`") && !msg.contains("hunter2"), "{msg}");
    }

    #[test]
    fn url_forms() {
        let o = ConnectionOptions::from_url("redis://:p%40ss@10.0.0.1:6380/2?timeout=1.5&persistent=1").unwrap_or_default();
        assert_eq!(
            (o.host.as_str(), o.port, o.password.as_deref(), o.select, o.timeout, o.persistent),
            ("10.0.0.1", 6380, Some("p@ss"), 2, 1.5, true)
        );
        let o = ConnectionOptions::from_url("redis://user:pw@localhost").unwrap_or_default();
        assert_eq!(
            (o.username.as_deref(), o.password.as_deref(), o.port),
            (Some("user"), Some("pw"), 6379)
        );
        assert!(ConnectionOptions::from_url("http://x").is_err());
        assert!(ConnectionOptions::from_url("redis://x/abc").is_err());
        assert!(ConnectionOptions::from_url("redis://x?bogus=1").is_err());
        assert!(ConnectionOptions::from_url("redis://x?timeout=-1").is_err());
    }

    #[test]
    fn config_beyond_one_redis() {
        let (c, _) = cfg(&[
            (
                "cluster",
                Value::list(vec![Value::from("10.0.0.1:7000"), Value::from("10.0.0.2:7001,10.0.0.3:7002")]),
            ),
            ("username", Value::from("queue")),
            ("tls", Value::Bool(true)),
            ("tls_ca", Value::from("/etc/ca.crt")),
            (
                "wait",
                Value::map(vec![("replicas", Value::Int(1)), ("timeout_ms", Value::from("250"))]),
            ),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.cluster, vec!["10.0.0.1:7000", "10.0.0.2:7001", "10.0.0.3:7002"]);
        assert!(c.is_cluster() && c.uses_tls() && c.tls_ca.as_deref() == Some("/etc/ca.crt"));
        assert_eq!(
            c.wait,
            Some(WaitOptions {
                replicas: 1,
                timeout_ms: 250
            })
        );
        assert_eq!(c.addr(), "cluster 10.0.0.1:7000,10.0.0.2:7001,10.0.0.3:7002");
        let (c, _) = cfg(&[
            (
                "sentinel",
                Value::map(vec![
                    ("master", Value::from("mymaster")),
                    ("nodes", Value::list(vec![Value::from("s1:26379"), Value::from("[::1]:26380")])),
                    ("password", Value::from("sentinel-secret")),
                ]),
            ),
            ("wait", Value::Int(2)),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let s = c.sentinel.clone().unwrap_or_default();
        assert_eq!(
            (s.master.as_str(), s.nodes.clone(), s.password.as_deref()),
            (
                "mymaster",
                vec!["s1:26379".to_owned(), "[::1]:26380".to_owned()],
                Some("sentinel-secret")
            )
        );
        assert_eq!(
            c.wait,
            Some(WaitOptions {
                replicas: 2,
                timeout_ms: DEFAULT_WAIT_TIMEOUT_MS
            })
        );
        assert!(!format!("{c:?}").contains("sentinel-secret"));
        let o = ConnectionOptions::from_url("rediss://h:6390/?tls_ca=/x/ca.pem").unwrap_or_default();
        assert!(o.tls && o.tls_ca.as_deref() == Some("/x/ca.pem") && o.port == 6390);
        for (entries, key) in [
            (vec![("cluster", Value::list(vec![Value::from("nohost")]))], "`cluster`"),
            (vec![("cluster", Value::Int(1))], "`cluster`"),
            (
                vec![("cluster", Value::list(vec![Value::from("h:1")])), ("select", Value::Int(2))],
                "`select`",
            ),
            (vec![("sentinel", Value::from("x"))], "`sentinel`"),
            (
                vec![("sentinel", Value::map(vec![("nodes", Value::list(vec![Value::from("h:1")]))]))],
                "`sentinel.master`",
            ),
            (
                vec![("sentinel", Value::map(vec![("master", Value::from("m"))]))],
                "`sentinel.nodes`",
            ),
            (vec![("tls_cert", Value::from("/c.pem"))], "`tls_cert`"),
            (vec![("wait", Value::Int(0))], "`wait.replicas`"),
            (
                vec![(
                    "wait",
                    Value::map(vec![("replicas", Value::Int(1)), ("timeout_ms", Value::Int(-1))]),
                )],
                "`wait.timeout_ms`",
            ),
        ] {
            let msg = config_err(&entries);
            assert!(msg.contains(key), "{msg}");
        }
        let msg = config_err(&[(
            "sentinel",
            Value::map(vec![
                ("master", Value::from("m")),
                ("nodes", Value::list(vec![Value::from("h:1")])),
                ("password", Value::list(vec![Value::from("hunter2")])),
            ]),
        )]);
        assert!(msg.contains("`sentinel.password`") && !msg.contains("hunter2"), "{msg}");
    }

    #[test]
    fn debug_hides_password() {
        let o = ConnectionOptions {
            password: Some("hunter2".into()),
            ..Default::default()
        };
        assert!(!format!("{o:?}").contains("hunter2"));
    }
}

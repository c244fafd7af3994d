//! Connection and queue options, with think-queue's names and defaults.
#![forbid(unsafe_code)]

use std::fmt;
use std::time::Duration;

use redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo, RedisConnectionInfo};

use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::json::Value;

/// How to reach Redis: think-queue's `host`, `port`, `password`, `select`, `timeout`,
/// `persistent`, plus `username` (ACL users) and `read_timeout`.
///
/// `Debug` never prints the password.
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
            .finish()
    }
}

fn seconds(name: &str, v: f64) -> Result<Option<Duration>> {
    if !v.is_finite() || v < 0.0 {
        return Err(Error::Config(format!("`{name}` must be a non-negative number of seconds, got {v}")));
    }
    Ok(if v == 0.0 { None } else { Some(Duration::from_secs_f64(v)) })
}

impl ConnectionOptions {
    /// Parses `redis://[[user]:password@]host[:port][/db][?timeout=S&read_timeout=S&persistent=1]`.
    pub fn from_url(url: &str) -> Result<ConnectionOptions> {
        let u = url::Url::parse(url).map_err(|e| Error::Config(format!("invalid Redis URL: {e}")))?;
        if u.scheme() != "redis" {
            return Err(Error::Config(format!(
                "unsupported URL scheme `{}` (expected redis://)",
                u.scheme()
            )));
        }
        let mut o = ConnectionOptions {
            host: u.host_str().unwrap_or("127.0.0.1").to_owned(),
            port: u.port().unwrap_or(6379),
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
        Ok(())
    }

    /// `host:port`, as error messages name the server (never with the password).
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    pub(crate) fn connect_timeout(&self) -> Option<Duration> {
        seconds("timeout", self.timeout).ok().flatten()
    }

    pub(crate) fn read_timeout_duration(&self) -> Option<Duration> {
        seconds("read_timeout", self.read_timeout).ok().flatten()
    }

    pub(crate) fn connection_info(&self) -> Result<ConnectionInfo> {
        let mut redis = RedisConnectionInfo::default().set_db(self.select).set_skip_set_lib_name();
        if let Some(p) = self.password.as_deref().filter(|p| !p.is_empty()) {
            redis = redis.set_password(p);
        }
        if let Some(u) = self.username.as_deref().filter(|u| !u.is_empty()) {
            redis = redis.set_username(u);
        }
        let info = ConnectionAddr::Tcp(self.host.clone(), self.port)
            .into_connection_info()
            .map_err(|e| Error::Config(format!("invalid Redis address {}: {e}", self.addr())))?;
        Ok(info.set_redis_settings(redis))
    }
}

fn percent_decode(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                None => return Err(Error::Config("invalid percent-encoding in Redis URL".into())),
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).map_err(|_| Error::Config("Redis URL credentials are not UTF-8".into()))
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
/// pairs of the PHP config array (the PHP extension's `new RedisQueue($config)`):
///
/// - connection: `url` (parsed first; the other keys override its parts), `host`, `port`,
///   `password`, `username`, `select`, `timeout`, `read_timeout`, `persistent`;
/// - queue: `dialect` (`'v1'`/`'v2'`/`'1'`/`'2'` or `'v3'`/`'3'`, default v3), `default` (1.x/2.x)
///   / `queue` (3.x; wins), `expire` (1.x/2.x) / `retry_after` (3.x; wins), `migrate_batch`.
///
/// Unknown keys are ignored, so a whole think-queue config can be passed. Values are read as PHP
/// configs hold them: numbers as ints, floats or numeric strings; `null` means "not set" (the
/// default), except for `expire`/`retry_after` where a present `null` disables reservation expiry
/// as in stock think-queue; `password`/`username` `''` mean none; `select` `false`/`''` mean 0;
/// `persistent` uses PHP truthiness. A value of the wrong kind is an [`Error::Config`] naming the
/// key (never echoing a password).
pub fn options_from_config<'a, I>(entries: I) -> Result<(ConnectionOptions, QueueOptions)>
where
    I: IntoIterator<Item = (&'a str, &'a Value)>,
{
    let entries: Vec<(&str, &Value)> = entries.into_iter().collect();
    let get = |name: &str| entries.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    let set = |name: &str| get(name).filter(|v| !matches!(v, Value::Null));

    let dialect = match set("dialect") {
        None => Dialect::V3,
        Some(v) => {
            let text = match v {
                Value::Str(b) => String::from_utf8_lossy(b).into_owned(),
                Value::Int(n) => n.to_string(),
                _ => String::new(),
            };
            Dialect::parse(&text).ok_or_else(|| bad("dialect", "'v1' or 'v3'", v))?
        }
    };
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
    conn.validate()?;

    let mut queue = QueueOptions::new(dialect);
    if let Some(v) = set("queue").or_else(|| set("default")) {
        let name = if set("queue").is_some() { "queue" } else { "default" };
        match v {
            Value::Str(b) if b.is_empty() => {}
            Value::Int(n) => queue.default_queue = n.to_string(),
            _ => queue.default_queue = text(name, v)?.ok_or_else(|| bad(name, "a queue name", v))?,
        }
    }
    let expiry = if get("retry_after").is_some() { "retry_after" } else { "expire" };
    if let Some(v) = get(expiry) {
        queue.retry_after = match v {
            Value::Null => None,
            _ => Some(
                integer(expiry, v)
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| bad(expiry, "a number of seconds >= 0 or null", v))?,
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
    queue.validate()?;
    Ok((conn, queue))
}

/// `Error::Config` naming the key, what it must be and what it got.
fn bad(key: &str, expected: &str, got: &Value) -> Error {
    Error::Config(format!("`{key}` must be {expected}, got {}", describe_value(got)))
}

/// A short description of a config value for error messages.
fn describe_value(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(n) => n.to_string(),
        Value::Float(f) => format!("float {f}"),
        Value::Str(b) => {
            let s = String::from_utf8_lossy(b);
            let mut short: String = s.chars().take(40).collect();
            if short.len() < s.len() {
                short.push_str("...");
            }
            format!("'{short}'")
        }
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// A string value (UTF-8); `Ok(None)` for other kinds.
fn text(key: &str, v: &Value) -> Result<Option<String>> {
    match v {
        Value::Str(b) => String::from_utf8(b.clone())
            .map(Some)
            .map_err(|_| Error::Config(format!("`{key}` is not UTF-8"))),
        _ => Ok(None),
    }
}

/// `password` / `username`: a string or an int (`123456`); `null`/`''` mean none. The value is
/// never echoed in errors.
fn secret(key: &str, v: &Value) -> Result<Option<String>> {
    match v {
        Value::Null => Ok(None),
        Value::Str(b) if b.is_empty() => Ok(None),
        Value::Int(n) => Ok(Some(n.to_string())),
        Value::Str(_) => text(key, v),
        _ => Err(Error::Config(format!("`{key}` must be a string"))),
    }
}

/// A number as PHP configs hold them: int, float, or a numeric string (surrounding whitespace
/// allowed, as PHP 8 allows it).
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(n) => Some(*n as f64),
        Value::Float(f) => Some(*f),
        Value::Str(b) => std::str::from_utf8(b).ok()?.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// An integer: an int, an integral float, or a numeric string of one; `true` is 1 as in PHP.
fn integer(key: &str, v: &Value) -> Result<i64> {
    match v {
        Value::Int(n) => Ok(*n),
        Value::Bool(true) => Ok(1),
        Value::Str(b) => {
            let s = std::str::from_utf8(b).unwrap_or("").trim();
            match s.parse::<i64>() {
                Ok(n) => Ok(n),
                Err(_) => whole(number(v)).ok_or_else(|| bad(key, "an integer", v)),
            }
        }
        _ => whole(number(v)).ok_or_else(|| bad(key, "an integer", v)),
    }
}

fn whole(f: Option<f64>) -> Option<i64> {
    f.filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64)
}

/// PHP truthiness (`(bool) $v`).
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Int(n) => *n != 0,
        Value::Float(f) => *f != 0.0,
        Value::Str(b) => !(b.is_empty() || b.as_slice() == b"0"),
        Value::Array(items) => !items.is_empty(),
        Value::Object(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(entries: &[(&str, Value)]) -> Result<(ConnectionOptions, QueueOptions)> {
        options_from_config(entries.iter().map(|(k, v)| (*k, v)))
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
    fn config_precedence_and_nulls() {
        // queue wins over default, retry_after over expire (also when null), url parts overridden
        let (c, q) = cfg(&[
            ("url", Value::from("redis://:secret@h1:7000/3?timeout=2&persistent=1")),
            ("port", Value::Float(7001.0)),
            ("default", Value::from("a")),
            ("queue", Value::from("b")),
            ("expire", Value::Int(5)),
            ("retry_after", Value::Null),
            ("dialect", Value::Int(2)),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (c.host.as_str(), c.port, c.password.as_deref(), c.select, c.timeout, c.persistent),
            ("h1", 7001, Some("secret"), 3, 2.0, true)
        );
        assert_eq!((q.dialect, q.default_queue.as_str(), q.retry_after), (Dialect::V1, "b", None));
        // expire alone, present null: expiry disabled; absent: 60
        let (_, q) = cfg(&[("expire", Value::Null)]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.retry_after, None);
        let (_, q) = cfg(&[("retry_after", Value::from(" 30 "))]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(q.retry_after, Some(30));
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
            (vec![("expire", Value::from("x"))], "`expire`"),
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
    fn debug_hides_password() {
        let o = ConnectionOptions {
            password: Some("hunter2".into()),
            ..Default::default()
        };
        assert!(!format!("{o:?}").contains("hunter2"));
    }
}

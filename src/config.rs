//! Connection and queue options, with think-queue's names and defaults.

use std::fmt;
use std::time::Duration;

use redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo, RedisConnectionInfo};

use crate::dialect::Dialect;
use crate::error::{Error, Result};

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
}

impl QueueOptions {
    /// Stock defaults for a dialect: queue `default`, 60 s reservations.
    pub fn new(dialect: Dialect) -> QueueOptions {
        QueueOptions {
            dialect,
            default_queue: "default".into(),
            retry_after: Some(60),
            migrate_batch: 1000,
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

#[cfg(test)]
mod tests {
    use super::*;

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

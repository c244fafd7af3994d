//! Where the connection comes from and which dialect(s) a command works on.
//!
//! Connection: `--url`, else `--config FILE` (a think-queue PHP config, evaluated by the PHP CLI
//! and printed as JSON), else `$TQN_REDIS_URL`, else `redis://127.0.0.1:6379/0`; then
//! `--host`/`--port`/`--password`/`--username`/`--db` override single parts; `--cluster`,
//! `--sentinel`/`--sentinel-master`, `--tls`/`--tls-ca`/`--tls-cert`/`--tls-key` (or a
//! `rediss://` URL) reach a Redis Cluster, a Sentinel-managed primary, a TLS port.
//!
//! Config files: think-queue 1.x/2.x keep the Redis settings in the whole array (`connector`,
//! `host`, `port`, `expire`, `default`, ...); 3.x in `connections[NAME]` (`type`, `queue`,
//! `retry_after`, ...), NAME from `--connection` or the file's `default`. The generation decides
//! the dialect unless the connection says `'dialect' => ...` or `--dialect` is given.

use std::path::Path;
use std::process::Command;

use think_queue_native::unstable::{options_summary, RedisConnection};
use think_queue_native::{
    decode, options_from_config, resolve_queue_name, ConnectionOptions, Dialect, QueueOptions, RedisQueue, SentinelOptions, Value,
};

use super::{CliError, CliResult, ConnArgs};

/// The environment variable with the default Redis URL.
pub const URL_ENV: &str = "TQN_REDIS_URL";

/// Connect timeout used when the settings have none (think-queue's default 0 waits forever).
const CLI_CONNECT_TIMEOUT: f64 = 5.0;
/// Read timeout used when the settings have none.
const CLI_READ_TIMEOUT: f64 = 30.0;

/// Everything a command needs to reach the queues.
#[derive(Debug)]
pub struct Context {
    /// Where Redis is.
    pub conn: ConnectionOptions,
    /// Queue options of a config file (default queue, expiry, batch).
    pub queue_opts: Option<QueueOptions>,
    /// The dialect fixed by `--dialect` or by the config file; `None`: decided per queue.
    pub dialect: Option<Dialect>,
    /// `--json`.
    pub json: bool,
}

/// PHP run by `php -r` to print a config file as JSON: `include`s the file (its path is the first
/// argument), with stand-ins for ThinkPHP's `env()` / `Env::get()` when the app's are not loaded
/// (they read `PHP_<NAME>` then `<NAME>` from the environment, dots as underscores, as ThinkPHP's do).
const READ_CONFIG_PHP: &str = r#"
error_reporting(E_ALL & ~E_DEPRECATED & ~E_NOTICE);
if (!function_exists('env')) {
    function env($name = null, $default = null) {
        $key = strtoupper(str_replace('.', '_', (string) $name));
        foreach (['PHP_' . $key, $key] as $var) {
            $value = getenv($var);
            if ($value !== false) {
                return $value;
            }
        }
        return $default;
    }
}
spl_autoload_register(static function ($class) {
    if ($class === 'think\Env' || $class === 'think\facade\Env') {
        $ns = substr($class, 0, strrpos($class, '\\'));
        eval("namespace $ns; class Env { public static function get(\$name = null, \$default = null) { return \\env(\$name, \$default); } }");
    }
});
$file = $argv[1];
if (!is_file($file) || !is_readable($file)) {
    fwrite(STDERR, "cannot read $file\n");
    exit(3);
}
$config = include $file;
if (!is_array($config)) {
    fwrite(STDERR, "$file does not return an array\n");
    exit(4);
}
$json = json_encode($config);
if ($json === false) {
    fwrite(STDERR, "the config cannot be JSON-encoded: " . json_last_error_msg() . "\n");
    exit(5);
}
echo $json;
"#;

/// Evaluates a think-queue PHP config file with the PHP CLI; returns the array it returns.
pub fn read_php_config(php: &str, path: &Path) -> CliResult<Value> {
    if !path.is_file() {
        return Err(CliError(format!("config file {} does not exist", path.display())));
    }
    let out = Command::new(php)
        .arg("-d")
        .arg("display_errors=stderr")
        .arg("-r")
        .arg(READ_CONFIG_PHP)
        .arg("--")
        .arg(path)
        .output()
        .map_err(|e| {
            CliError(format!(
                "reading {} needs the PHP CLI (`{php}`, set --php or $TQN_PHP): {e}",
                path.display()
            ))
        })?;
    if !out.status.success() {
        return Err(CliError(format!(
            "`{php}` could not read {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    decode(&out.stdout).map_err(|e| CliError(format!("`{php}` printed no JSON for {}: {e}", path.display())))
}

/// Whether a `connector` / `type` value names a Redis connector (stock `redis`/`Redis`, or a
/// class such as `think\queue\native\connector\Redis`).
fn is_redis_driver(v: &Value) -> bool {
    let text = String::from_utf8_lossy(v.as_str().unwrap_or_default()).to_ascii_lowercase();
    let text = text.trim_start_matches('\\');
    text == "redis" || text.ends_with("\\redis")
}

fn entries(v: &Value) -> Vec<(String, Value)> {
    match v {
        Value::Array(items) => items
            .iter()
            .filter_map(|(k, v)| match k {
                think_queue_native::Key::Str(s) => String::from_utf8(s.clone()).ok().map(|k| (k, v.clone())),
                think_queue_native::Key::Int(_) => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The Redis connection of a config array (see the module docs): its options and its generation's dialect.
pub fn from_config_value(config: &Value, connection: Option<&str>) -> CliResult<(ConnectionOptions, QueueOptions)> {
    let (conn, generation, what) = match config.get("connections") {
        Some(connections @ Value::Array(_)) => {
            let name = match connection {
                Some(n) => n.to_owned(),
                None => match config.get("default").and_then(Value::as_str) {
                    Some(n) => String::from_utf8_lossy(n).into_owned(),
                    None => return Err(CliError("the config has no `default` connection: pass --connection NAME".into())),
                },
            };
            let conn = connections
                .get(&name)
                .filter(|c| matches!(c, Value::Array(_)))
                .ok_or_else(|| CliError(format!("the config has no connection `{name}`")))?;
            match conn.get("type") {
                Some(t) if is_redis_driver(t) => {}
                other => {
                    let t = other
                        .and_then(Value::as_str)
                        .map(|s| String::from_utf8_lossy(s).into_owned())
                        .unwrap_or_default();
                    return Err(CliError(format!(
                        "connection `{name}` has type `{t}`: tqn works with Redis connections (type redis or a Redis connector class)"
                    )));
                }
            }
            (conn.clone(), Dialect::V3, format!("connection `{name}`"))
        }
        _ => {
            if connection.is_some() {
                return Err(CliError(
                    "--connection applies to think-queue 3.x configs (a `connections` array); this one is 1.x/2.x".into(),
                ));
            }
            if let Some(c) = config.get("connector") {
                if !is_redis_driver(c) {
                    let t = String::from_utf8_lossy(c.as_str().unwrap_or_default()).into_owned();
                    return Err(CliError(format!("the config's connector is `{t}`: tqn works with Redis queues")));
                }
            }
            (config.clone(), Dialect::V1, "the queue config".to_owned())
        }
    };
    let pairs = entries(&conn);
    options_from_config(pairs.iter().map(|(k, v)| (k.as_str(), v)), Some(generation)).map_err(|e| CliError(format!("{what}: {e}")))
}

impl Context {
    /// Builds the context from the flags (see the module docs for the precedence).
    pub fn from_args(a: &ConnArgs, json: bool) -> CliResult<Context> {
        let mut queue_opts = None;
        let mut dialect = None;
        let mut conn = if let Some(path) = &a.config {
            let (c, q) = from_config_value(&read_php_config(&a.php, path)?, a.connection.as_deref())?;
            dialect = Some(q.dialect);
            queue_opts = Some(q);
            c
        } else if a.connection.is_some() {
            return Err(CliError("--connection needs --config".into()));
        } else {
            match std::env::var(URL_ENV) {
                Ok(url) if !url.is_empty() && a.url.is_none() => {
                    ConnectionOptions::from_url(&url).map_err(|e| CliError(format!("${URL_ENV}: {e}")))?
                }
                _ => ConnectionOptions::default(),
            }
        };
        if let Some(url) = &a.url {
            conn = ConnectionOptions::from_url(url)?;
        }
        if let Some(h) = &a.host {
            conn.host = h.clone();
        }
        if let Some(p) = a.port {
            conn.port = p;
        }
        if let Some(p) = &a.password {
            conn.password = Some(p.clone()).filter(|p| !p.is_empty());
        }
        if let Some(u) = &a.username {
            conn.username = Some(u.clone()).filter(|u| !u.is_empty());
        }
        if let Some(db) = a.db {
            conn.select = db;
        }
        if let Some(nodes) = &a.cluster {
            conn.cluster = split_nodes(nodes);
            conn.sentinel = None;
        }
        if let Some(nodes) = &a.sentinel {
            let Some(master) = a.sentinel_master.clone() else {
                return Err(CliError("--sentinel needs --sentinel-master NAME".into()));
            };
            let keep = conn.sentinel.take().unwrap_or_default();
            conn.sentinel = Some(SentinelOptions {
                master,
                nodes: split_nodes(nodes),
                username: a.sentinel_username.clone().or(keep.username).filter(|u| !u.is_empty()),
                password: a.sentinel_password.clone().or(keep.password).filter(|p| !p.is_empty()),
            });
            conn.cluster.clear();
        } else if a.sentinel_master.is_some() {
            return Err(CliError("--sentinel-master needs --sentinel host:port,...".into()));
        }
        if a.tls {
            conn.tls = true;
        }
        for (flag, field) in [
            (&a.tls_ca, &mut conn.tls_ca),
            (&a.tls_cert, &mut conn.tls_cert),
            (&a.tls_key, &mut conn.tls_key),
        ] {
            if let Some(path) = flag {
                *field = Some(path.to_string_lossy().into_owned());
            }
        }
        if conn.timeout == 0.0 {
            conn.timeout = CLI_CONNECT_TIMEOUT;
        }
        if conn.read_timeout == 0.0 {
            conn.read_timeout = CLI_READ_TIMEOUT;
        }
        conn.validate()?;
        if a.dialect.is_some() {
            dialect = a.dialect;
        }
        Ok(Context {
            conn,
            queue_opts,
            dialect,
            json,
        })
    }

    /// Queue options for `dialect`: the config file's, else think-queue's defaults.
    pub fn options(&self, dialect: Dialect) -> QueueOptions {
        let mut o = self.queue_opts.clone().unwrap_or_else(|| QueueOptions::new(dialect));
        o.dialect = dialect;
        o
    }

    /// A queue object of `dialect` on this connection.
    pub fn queue(&self, dialect: Dialect) -> CliResult<RedisQueue> {
        Ok(RedisQueue::connect(self.conn.clone(), self.options(dialect))?)
    }

    /// The dialects a command looks at: the fixed one, or both.
    pub fn scope(&self) -> Vec<Dialect> {
        match self.dialect {
            Some(d) => vec![d],
            None => vec![Dialect::V1, Dialect::V3],
        }
    }

    /// think-queue's queue-name rule: a falsy name is the default queue.
    pub fn queue_name(&self, name: &str) -> String {
        let default = self
            .queue_opts
            .as_ref()
            .map(|o| o.default_queue.clone())
            .unwrap_or_else(|| "default".to_owned());
        resolve_queue_name(Some(name), &default).to_owned()
    }

    /// The dialects in which `queue` has any key (all four: ready, delayed, reserved, dead), or the fixed one.
    pub fn dialects_of(&self, raw: &mut RedisConnection, queue: &str) -> CliResult<Vec<Dialect>> {
        if let Some(d) = self.dialect {
            return Ok(vec![d]);
        }
        let mut found = Vec::new();
        for d in [Dialect::V1, Dialect::V3] {
            let k = d.keys(queue);
            // one EXISTS per key: a 1.x queue's keys may lie in different cluster slots
            let mut n = 0i64;
            for key in [&k.ready, &k.delayed, &k.reserved, &k.dead] {
                n += redis::cmd("EXISTS").arg(key).query::<i64>(raw)?;
            }
            if n > 0 {
                found.push(d);
            }
        }
        Ok(found)
    }

    /// A Redis connection (AUTH and SELECT done; the sentinels' primary; or the cluster) for
    /// reads the queue API does not offer.
    pub fn raw(&self) -> CliResult<RedisConnection> {
        Ok(self.conn.open()?)
    }
}

/// `tqn config`: the resolved options (see [`options_summary`]); `dialect` is null when each
/// command decides it per queue (no --dialect, no --config).
pub fn show(ctx: &Context) -> CliResult<()> {
    let mut summary = options_summary(&ctx.conn, &ctx.options(ctx.dialect.unwrap_or(Dialect::V3)));
    if ctx.dialect.is_none() {
        if let Value::Array(items) = &mut summary {
            for (k, v) in items.iter_mut() {
                if *k == think_queue_native::Key::from("dialect") {
                    *v = Value::Null;
                }
            }
        }
    }
    if ctx.json {
        out!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    if let Value::Array(items) = &summary {
        for (k, v) in items {
            let key = match k {
                think_queue_native::Key::Str(s) => String::from_utf8_lossy(s).into_owned(),
                think_queue_native::Key::Int(i) => i.to_string(),
            };
            let text = match v {
                Value::Null if key == "dialect" => "(per queue: the generation whose keys it has)".to_owned(),
                _ => serde_json::to_string(v)?,
            };
            out!("{key:<15} {text}");
        }
    }
    Ok(())
}

/// `host:port,host:port` (commas or spaces).
fn split_nodes(list: &str) -> Vec<String> {
    list.split([',', ' '])
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> Value {
        decode(json.as_bytes()).unwrap_or(Value::Null)
    }

    #[test]
    fn think_queue_1x_config_is_the_whole_array() {
        let c = config(
            r#"{"connector":"Redis","expire":90,"default":"sms","host":"10.1.2.3","port":6380,"password":"","select":2,"timeout":0,"persistent":false}"#,
        );
        let (conn, q) = from_config_value(&c, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (conn.host.as_str(), conn.port, conn.select, conn.password),
            ("10.1.2.3", 6380, 2, None)
        );
        assert_eq!((q.dialect, q.default_queue.as_str(), q.retry_after), (Dialect::V1, "sms", Some(90)));
        // the shim connector is Redis too; a 'dialect' key wins over the generation
        let c = config(r#"{"connector":"think\\queue\\native\\connector\\Redis","dialect":"v3"}"#);
        assert_eq!(from_config_value(&c, None).map(|(_, q)| q.dialect).ok(), Some(Dialect::V3));
        let c = config(r#"{"connector":"Database"}"#);
        assert!(from_config_value(&c, None).is_err_and(|e| e.0.contains("Database")));
        assert!(from_config_value(&config(r#"{"connector":"redis"}"#), Some("x")).is_err());
    }

    #[test]
    fn think_queue_3x_config_picks_a_connection() {
        let c = config(
            r#"{"default":"redis","connections":{"sync":{"type":"sync"},
                "redis":{"type":"redis","queue":"jobs","host":"127.0.0.1","port":6379,"password":"pw","select":1,"timeout":0,"persistent":false,"retry_after":null},
                "other":{"type":"think\\queue\\native\\connector\\Redis","queue":"o","host":"h2","port":7000,"password":"","select":0,"timeout":0,"persistent":false,"dialect":"v1"}},
                "failed":{"type":"none","table":"failed_jobs"}}"#,
        );
        let (conn, q) = from_config_value(&c, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((conn.password.as_deref(), conn.select), (Some("pw"), 1));
        // stock 3.x reads `retry_after ?? 60`: null is 60, as the PHP shim's workers use it
        assert_eq!(
            (q.dialect, q.default_queue.as_str(), q.retry_after),
            (Dialect::V3, "jobs", Some(60))
        );
        let (conn, q) = from_config_value(&c, Some("other")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((conn.host.as_str(), conn.port, q.dialect), ("h2", 7000, Dialect::V1));
        assert!(from_config_value(&c, Some("sync")).is_err_and(|e| e.0.contains("type `sync`")));
        assert!(from_config_value(&c, Some("nope")).is_err_and(|e| e.0.contains("no connection `nope`")));
        let no_default = config(r#"{"connections":{"redis":{"type":"redis"}}}"#);
        assert!(from_config_value(&no_default, None).is_err_and(|e| e.0.contains("--connection")));
        let bad_port = config(r#"{"default":"r","connections":{"r":{"type":"redis","port":"x"}}}"#);
        assert!(from_config_value(&bad_port, None).is_err_and(|e| e.0.contains("connection `r`") && e.0.contains("`port`")));
    }

    #[test]
    fn redis_driver_names() {
        for yes in [
            "redis",
            "Redis",
            "\\think\\queue\\connector\\Redis",
            "think\\queue\\native\\connector\\Redis",
        ] {
            assert!(is_redis_driver(&Value::from(yes)), "{yes}");
        }
        for no in ["sync", "database", "MyRedisish", ""] {
            assert!(!is_redis_driver(&Value::from(no)), "{no}");
        }
    }
}

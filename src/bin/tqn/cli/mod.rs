//! The `tqn` command line (compiled into the `tqn` binary only): argument parsing and dispatch.
//!
//! - [`settings`]: where the connection comes from (flags, `TQN_REDIS_URL`, a think-queue PHP
//!   config file) and which dialect(s) a command works on.
//! - [`inspect`]: queue discovery (SCAN over both generations' key patterns), `stats`, `peek`.
//! - [`ops`]: `push`, `retry`, `migrate`, `purge`.
//! - [`table`]: the human tables.

use std::fmt;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use think_queue_native::Dialect;

/// `println!` for the CLI's output: when stdout is closed early (`tqn stats | head`), the command
/// ends quietly with status 0 instead of panicking on a broken pipe.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            eprintln!("tqn: cannot write the output: {e}");
            std::process::exit(1);
        }
    }};
}

pub mod dashboard;
pub mod inspect;
pub mod ops;
pub mod settings;
pub mod table;

/// What a command failed with; printed as `tqn: <message>`, exit status 1.
#[derive(Debug)]
pub struct CliError(pub String);

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<think_queue_native::Error> for CliError {
    fn from(e: think_queue_native::Error) -> Self {
        CliError(e.to_string())
    }
}

impl From<redis::RedisError> for CliError {
    fn from(e: redis::RedisError) -> Self {
        CliError(format!("Redis: {e}"))
    }
}

impl From<redis::ParsingError> for CliError {
    fn from(e: redis::ParsingError) -> Self {
        CliError(format!("Redis reply: {e}"))
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError(e.to_string())
    }
}

impl From<serde_json::Error> for CliError {
    fn from(e: serde_json::Error) -> Self {
        CliError(format!("JSON output: {e}"))
    }
}

/// The CLI's result type.
pub type CliResult<T> = Result<T, CliError>;

const ABOUT: &str = "Operate think-queue Redis queues: think-queue 1.x/2.x (keys queues:NAME) and 3.x (keys {queues:NAME}), \
whatever fills or drains them (stock PHP, the think_queue_native extension, Rust services).";

const AFTER_HELP: &str = "Connection: --url, else the think-queue config file given with --config, else $TQN_REDIS_URL, else \
redis://127.0.0.1:6379/0; --host/--port/--password/--username/--db override parts of it. \
--cluster, --sentinel with --sentinel-master, --tls/--tls-ca/--tls-cert/--tls-key reach a Redis Cluster, \
a Sentinel-managed primary, a TLS port.
Dialect: --dialect, else the config file's generation (a `connections` array is 3.x), else each command \
looks at which generation's keys the queue has.";

/// `tqn`: see `tqn --help`.
#[derive(Debug, Parser)]
#[command(name = "tqn", version, about = ABOUT, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(flatten)]
    pub conn: ConnArgs,
    /// Machine-readable JSON on stdout instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// Where Redis is and how to read its queues.
#[derive(Debug, Args)]
pub struct ConnArgs {
    /// redis://[[user]:password@]host[:port][/db][?timeout=S&read_timeout=S] (rediss:// for TLS)
    #[arg(long, global = true, value_name = "URL")]
    pub url: Option<String>,
    /// A think-queue config file (config/queue.php, application/extra/queue.php), read with `php`.
    #[arg(short = 'c', long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// think-queue 3.x: which connection of the config file (default: its `default`).
    #[arg(long, global = true, value_name = "NAME")]
    pub connection: Option<String>,
    /// Redis host (overrides the URL's or the config's).
    #[arg(long, global = true)]
    pub host: Option<String>,
    /// Redis port.
    #[arg(short = 'p', long, global = true)]
    pub port: Option<u16>,
    /// Redis password (visible to other local users in the process list: prefer $TQN_REDIS_URL).
    #[arg(short = 'a', long, global = true)]
    pub password: Option<String>,
    /// Redis ACL user name.
    #[arg(long, global = true)]
    pub username: Option<String>,
    /// Redis database number (think-queue's `select`).
    #[arg(short = 'n', long = "db", global = true, value_name = "N")]
    pub db: Option<i64>,
    /// Redis Cluster seed nodes (host:port,host:port,...); --host/--port are then not used.
    #[arg(long, global = true, value_name = "NODES")]
    pub cluster: Option<String>,
    /// Sentinels (host:port,host:port,...) to ask for the primary of --sentinel-master.
    #[arg(long, global = true, value_name = "NODES")]
    pub sentinel: Option<String>,
    /// The master name the sentinels monitor.
    #[arg(long, global = true, value_name = "NAME")]
    pub sentinel_master: Option<String>,
    /// ACL user on the sentinels.
    #[arg(long, global = true, value_name = "USER")]
    pub sentinel_username: Option<String>,
    /// Password on the sentinels.
    #[arg(long, global = true, value_name = "PASSWORD")]
    pub sentinel_password: Option<String>,
    /// TLS (as a rediss:// URL does).
    #[arg(long, global = true)]
    pub tls: bool,
    /// PEM file of the CA to trust instead of the system's (implies --tls).
    #[arg(long, global = true, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// PEM client certificate, with --tls-key (implies --tls).
    #[arg(long, global = true, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, global = true, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Wire dialect: v1 = think-queue 1.x/2.x (ThinkPHP 5.0/5.1), v3 = think-queue 3.x (ThinkPHP 6/8).
    #[arg(long, global = true, value_parser = parse_dialect, value_name = "v1|v3")]
    pub dialect: Option<Dialect>,
    /// The PHP CLI used to read --config.
    #[arg(long, global = true, env = "TQN_PHP", default_value = "php", hide_env_values = true)]
    pub php: String,
}

fn parse_dialect(s: &str) -> Result<Dialect, String> {
    Dialect::parse(s).ok_or_else(|| format!("`{s}` is not a dialect: v1 (think-queue 1.x/2.x) or v3 (3.x)"))
}

/// Which jobs `peek` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateFilter {
    /// every state below
    All,
    /// the ready list, head first (what the next pops take)
    Ready,
    /// the delayed set, earliest due first
    Delayed,
    /// reservations, earliest expiry first
    Reserved,
    /// the dead-letter list (unreadable or unknown jobs, and failed ones kept by Rust workers)
    Dead,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Per queue: ready, delayed, due now, reserved, expired reservations, dead-letter, oldest overdue job.
    ///
    /// Queues are found with SCAN over both generations' key patterns (queues:* and {queues:*).
    /// think-queue payloads carry no enqueue time, so the age of a ready job is unknown; OLDEST is
    /// how long the most overdue job has waited: a delayed job due longest ago, or a reservation
    /// expired longest ago (neither moves until some worker pops that queue, or `tqn migrate`/`retry`).
    Stats {
        /// Only these queues (default: every queue found).
        queues: Vec<String>,
        /// Refresh the view every --interval seconds until interrupted (with --json: one line per refresh).
        #[arg(short, long)]
        watch: bool,
        /// Seconds between refreshes with --watch.
        #[arg(long, default_value_t = 2.0, value_name = "SECONDS")]
        interval: f64,
        /// With --watch: stop after this many refreshes.
        #[arg(long, value_name = "N")]
        iterations: Option<u64>,
    },
    /// Shows the first N jobs of a queue in each state, without taking them.
    Peek {
        /// The queue name (as in Queue::push(..., 'NAME')).
        queue: String,
        /// How many jobs per state.
        #[arg(default_value_t = 10)]
        n: usize,
        /// Which state(s).
        #[arg(long, value_enum, default_value_t = StateFilter::All)]
        state: StateFilter,
    },
    /// Pushes a job: the bytes think-queue's Queue::push (or later) writes.
    Push {
        /// The queue name.
        queue: String,
        /// The job name: a class (app\job\SendSms) or Class@method.
        job: String,
        /// The job data as JSON, read as PHP's json_decode($data, true) reads it (default: '', think-queue's default).
        #[arg(long, value_name = "JSON")]
        data: Option<String>,
        /// Due in this many seconds (think-queue's later()).
        #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
        delay: Option<i64>,
        /// Push this many copies (each with its own id).
        #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
        repeat: u64,
    },
    /// Moves expired reservations (with due delayed jobs, in the same atomic step) back to the ready list now.
    ///
    /// think-queue records failed jobs in a database table (its `failed` config), not in Redis, so
    /// `tqn` cannot see those; `think queue:retry` re-pushes them. What Redis holds is the
    /// dead-letter list of each queue ({queues:NAME}:dead / queues:NAME:dead: unreadable jobs and
    /// jobs no handler was registered for, moved there by the native connector and Rust workers,
    /// and failed jobs of Rust workers running with keep_failed): --dead puts those back at the end
    /// of the ready list with attempts reset, as queue:retry does.
    Retry {
        /// Only these queues (default: every queue found).
        queues: Vec<String>,
        /// Also move the dead-letter list back to the ready list.
        #[arg(long)]
        dead: bool,
    },
    /// Deletes every job of a queue: ready, delayed and reserved (asks first unless --yes).
    Purge {
        /// The queue name.
        queue: String,
        /// Do not ask.
        #[arg(short = 'y', long)]
        yes: bool,
        /// Also delete the dead-letter list.
        #[arg(long)]
        dead: bool,
    },
    /// Shows what the connection flags and a --config file resolve to: dialect, default queue,
    /// retry_after, migrate_batch, lease and the connection (never the password, only whether one is
    /// set); the same map the PHP extension's RedisQueue::options() returns. Connects to nothing.
    Config,
    /// Moves due delayed jobs (and expired reservations) to the ready list now, as the next pop would.
    Migrate {
        /// Only these queues (default: every queue found).
        queues: Vec<String>,
    },
    /// Serves a live web dashboard (the page at /, a JSON API under /api/) and Prometheus metrics
    /// (/metrics) for the queues, until interrupted.
    ///
    /// The numbers come from Redis: queue sizes, and the metrics and workers registry native workers
    /// write (see docs/dashboard.md). Reads never write to Redis; actions (retry or delete a dead
    /// job, retry dead jobs by filter, purge, migrate) are POSTs that the page confirms first and that
    /// are appended to the audit log.
    Dashboard {
        /// Only these queues (default: every queue found, rediscovered every 10 s).
        queues: Vec<String>,
        /// Address and port to listen on; anything but a loopback address needs --token.
        #[arg(long, default_value_t = dashboard::default_listen(), value_name = "ADDR:PORT")]
        listen: std::net::SocketAddr,
        /// A secret (16+ characters) every request must carry (Authorization: Bearer, or open /?token=... once).
        #[arg(long, env = "TQN_DASHBOARD_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// Refuse every action: a view only.
        #[arg(long)]
        read_only: bool,
        /// File the actions are appended to (JSON lines), besides stderr.
        #[arg(long, default_value = "tqn-dashboard-audit.log", value_name = "FILE")]
        audit_log: PathBuf,
    },
}

/// Runs the command line; returns the exit status.
pub fn main() -> i32 {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("tqn: {e}");
            1
        }
    }
}

fn run(cli: Cli) -> CliResult<()> {
    let ctx = settings::Context::from_args(&cli.conn, cli.json)?;
    match cli.command {
        Command::Stats {
            queues,
            watch,
            interval,
            iterations,
        } => inspect::stats(&ctx, &queues, watch, interval, iterations),
        Command::Peek { queue, n, state } => inspect::peek(&ctx, &queue, n, state),
        Command::Push {
            queue,
            job,
            data,
            delay,
            repeat,
        } => ops::push(&ctx, &queue, &job, data.as_deref(), delay, repeat),
        Command::Retry { queues, dead } => ops::retry(&ctx, &queues, dead),
        Command::Purge { queue, yes, dead } => ops::purge(&ctx, &queue, yes, dead),
        Command::Migrate { queues } => ops::migrate(&ctx, &queues),
        Command::Config => settings::show(&ctx),
        Command::Dashboard {
            queues,
            listen,
            token,
            read_only,
            audit_log,
        } => dashboard::run(
            ctx,
            dashboard::Options {
                listen,
                token: token.filter(|t| !t.is_empty()),
                read_only,
                audit_log,
                queues,
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn beyond_one_redis_flags() {
        let ctx = |args: &[&str]| {
            let cli = Cli::try_parse_from(args).map_err(|e| CliError(e.to_string()))?;
            settings::Context::from_args(&cli.conn, false)
        };
        let c = ctx(&[
            "tqn",
            "--cluster",
            "h1:7000,h2:7001",
            "--username",
            "q",
            "--tls-ca",
            "/ca.pem",
            "stats",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.conn.cluster, vec!["h1:7000", "h2:7001"]);
        assert!(c.conn.uses_tls() && c.conn.username.as_deref() == Some("q"));
        let c = ctx(&[
            "tqn",
            "--sentinel",
            "s1:26379,s2:26379",
            "--sentinel-master",
            "mymaster",
            "--sentinel-password",
            "sp",
            "stats",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let s = c.conn.sentinel.clone().unwrap_or_default();
        assert_eq!(
            (s.master.as_str(), s.nodes.len(), s.password.as_deref()),
            ("mymaster", 2, Some("sp"))
        );
        let c = ctx(&["tqn", "--url", "rediss://h:6390/", "stats"]).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.conn.tls && c.conn.port == 6390);
        assert!(ctx(&["tqn", "--sentinel", "s1:1", "stats"]).is_err_and(|e| e.0.contains("--sentinel-master")));
        assert!(ctx(&["tqn", "--cluster", "nohost", "stats"]).is_err_and(|e| e.0.contains("`cluster`")));
        assert!(ctx(&["tqn", "--tls-cert", "/c.pem", "stats"]).is_err_and(|e| e.0.contains("`tls_cert`")));
    }

    #[test]
    fn dialect_names() {
        assert_eq!(parse_dialect("v1"), Ok(Dialect::V1));
        assert_eq!(parse_dialect("2"), Ok(Dialect::V1));
        assert_eq!(parse_dialect("V3"), Ok(Dialect::V3));
        assert!(parse_dialect("v4").is_err());
    }
}

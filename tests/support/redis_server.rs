//! Private `redis-server` processes for the integration tests.
//!
//! - [`RedisServer::start`] / [`RedisServer::start_with`]: a server of its own for one test, on a
//!   free loopback port, no persistence, in a fresh temp dir. [`RedisServer::stop`] and
//!   [`RedisServer::restart`] simulate an outage on the same port. Dropping it kills the process
//!   (also while a failing test unwinds) and removes the temp dir.
//! - [`shared`]: one lazily started server for the whole test process, for tests that only need
//!   "a Redis" (use [`unique_queue`] names to stay out of each other's way).
//! - [`client`]: a plain `redis` connection for assertions on the raw Redis state.
//!
//! A missing `redis-server` (or one that never becomes ready) makes the test **fail** with the
//! server's output; nothing is ever skipped. The binary is `redis-server` from `PATH`, or the
//! path in the `TQN_REDIS_SERVER` environment variable.
//!
//! ## No server outlives the test process
//! Rust test binaries never run the destructors of statics (so [`shared`] is never dropped), and a
//! test process can also be killed outright (a runner's timeout, Ctrl-C, `SIGKILL`). So every
//! server, shared or not, is paired with a tiny watchdog:
//!
//! ```text
//! sh -c 'read -r line; kill -9 "$1"; rm -rf "$2"' tqn-redis-watchdog <server pid> <temp dir>
//! ```
//!
//! whose stdin is a pipe whose write end only this test process holds (Rust opens its pipes
//! close-on-exec, so no other child inherits it). `read` returns at end-of-file, which happens
//! exactly when the test process is gone, however it ended; the watchdog then kills the server and
//! removes its temp dir. A normal [`RedisServer::stop`] or drop kills the watchdog first (`SIGKILL`
//! by its PID, then `wait`), then the server (`SIGKILL` by its PID via `Child::kill`, then
//! `wait`), so a watchdog never signals a PID that might have been reused. Only processes this
//! module spawned are ever signalled.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Free ports tried by [`RedisServer::start_with`] before giving up.
const START_ATTEMPTS: usize = 5;
/// How long a started server may take to answer `PING`.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`RedisServer::restart`] keeps retrying while its old port is still taken.
const RESTART_BIND_TIMEOUT: Duration = Duration::from_secs(5);
/// The server's stdout + stderr, inside its temp dir (appended to across restarts).
const LOG_FILE: &str = "redis-server.log";
/// How much of the server's output a failure message quotes.
const LOG_TAIL_BYTES: u64 = 4000;

/// See the module docs: kills the server (`$1`) and removes its dir (`$2`) once stdin reaches EOF.
const WATCHDOG_SCRIPT: &str = r#"read -r line; kill -9 "$1" 2>/dev/null; rm -rf "$2""#;

static DIR_COUNTER: AtomicUsize = AtomicUsize::new(0);
static QUEUE_COUNTER: AtomicUsize = AtomicUsize::new(0);

fn server_binary() -> String {
    std::env::var("TQN_REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned())
}

/// A `redis-server` child process of this test process, listening on `127.0.0.1:port()`, with
/// `--save '' --appendonly no` (nothing survives a stop) and its own temp dir.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    /// a config file given as the first argument (sentinels need one they can rewrite)
    config: Option<PathBuf>,
    extra: Vec<String>,
    dir: PathBuf,
    /// `None` while stopped.
    running: Option<Running>,
}

/// The two processes behind a running server.
#[derive(Debug)]
struct Running {
    server: Child,
    /// Holds (inside `Child::stdin`) the write end of the watchdog's stdin pipe.
    watchdog: Child,
}

impl Running {
    /// Kills the watchdog, then the server (both by PID, `SIGKILL`), reaping both. Never panics.
    fn shutdown(mut self) {
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// Why one launch attempt did not produce a ready server.
enum LaunchError {
    /// The server exited because the port was in use (the text is its output).
    PortTaken(String),
    /// Anything else; the message says what and quotes the server's output.
    Fatal(String),
}

impl RedisServer {
    /// Starts a private server with the default arguments. Panics (with the server's output) when
    /// `redis-server` is missing or never becomes ready.
    pub fn start() -> RedisServer {
        RedisServer::start_with(&[])
    }

    /// Starts a private server with `extra` arguments appended to the defaults, e.g.
    /// `&["--requirepass", "secret"]`. Tries up to 5 free ports if the chosen one gets taken
    /// between probing and binding. Panics when the server cannot be started.
    pub fn start_with(extra: &[&str]) -> RedisServer {
        RedisServer::start_with_config(None, extra)
    }

    /// Like [`start_with`](Self::start_with), with `config` written to `redis.conf` in the
    /// server's dir and passed as the first argument (a sentinel: `Some("sentinel monitor ...")`
    /// with `extra` `["--sentinel"]`).
    pub fn start_with_config(config: Option<&str>, extra: &[&str]) -> RedisServer {
        let dir = make_temp_dir();
        let config = config.map(|text| {
            let path = dir.join("redis.conf");
            fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
            path
        });
        let extra: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
        let mut taken = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port();
            match launch(port, config.as_deref(), &extra, &dir) {
                Ok(running) => {
                    return RedisServer {
                        port,
                        config,
                        extra,
                        dir,
                        running: Some(running),
                    }
                }
                Err(LaunchError::PortTaken(out)) => taken.push(format!("port {port}: {}", out.trim_end())),
                Err(LaunchError::Fatal(msg)) => {
                    let _ = fs::remove_dir_all(&dir);
                    panic!("{msg}");
                }
            }
        }
        let _ = fs::remove_dir_all(&dir);
        panic!(
            "redis-server could not bind a free port in {START_ATTEMPTS} tries:\n{}",
            taken.join("\n")
        );
    }

    /// The TCP port on 127.0.0.1 (kept across [`stop`](Self::stop) / [`restart`](Self::restart)).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT/`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// PID of the running `redis-server` process; `None` while stopped.
    pub fn pid(&self) -> Option<u32> {
        self.running.as_ref().map(|r| r.server.id())
    }

    /// Whether the server is started (and has not been [`stop`](Self::stop)ped).
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// The server's temp dir (its `--dir`; also holds its log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Everything the server has written to stdout/stderr so far (lossy UTF-8), for diagnostics.
    pub fn log(&self) -> String {
        fs::read(self.dir.join(LOG_FILE))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Simulates an outage: kills the server (`SIGKILL` to the PID of the child we spawned, then
    /// `wait`), keeping its port and arguments for [`restart`](Self::restart). No-op when stopped.
    pub fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown();
        }
    }

    /// Starts the server again on the same port with the same arguments (stopping it first if it
    /// is running). It comes back empty (no persistence). Retries for up to 5 s while the port is
    /// still taken; panics when it cannot be started.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + RESTART_BIND_TIMEOUT;
        loop {
            match launch(self.port, self.config.as_deref(), &self.extra, &self.dir) {
                Ok(running) => {
                    self.running = Some(running);
                    return;
                }
                Err(LaunchError::PortTaken(_)) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
                Err(LaunchError::PortTaken(out)) => panic!(
                    "redis-server restart: port {} still in use after {RESTART_BIND_TIMEOUT:?}; server output:\n{}",
                    self.port,
                    out.trim_end()
                ),
                Err(LaunchError::Fatal(msg)) => panic!("redis-server restart: {msg}"),
            }
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The process-wide server, started on first use. It is a [`RedisServer`] in a `static`, so it is
/// never dropped: its watchdog (see the module docs) kills it and removes its temp dir when the
/// test process exits. It cannot be stopped (`&'static`, not `&mut`); tests that need an outage use
/// their own [`RedisServer`]. If starting it panics, the next caller tries again.
pub fn shared() -> &'static RedisServer {
    static SHARED: OnceLock<RedisServer> = OnceLock::new();
    SHARED.get_or_init(RedisServer::start)
}

/// A plain connection to `redis://127.0.0.1:PORT/`; panics with the reason when it cannot connect.
pub fn client(port: u16) -> redis::Connection {
    try_client(port).unwrap_or_else(|e| panic!("connecting to redis://127.0.0.1:{port}/: {e}"))
}

/// Like [`client`], returning the error instead of panicking (e.g. to assert a server is down).
pub fn try_client(port: u16) -> redis::RedisResult<redis::Connection> {
    redis::Client::open(format!("redis://127.0.0.1:{port}/").as_str())?.get_connection()
}

/// A queue name unique within this test run: `t{pid}_{counter}_{label}`.
pub fn unique_queue(label: &str) -> String {
    let n = QUEUE_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("t{}_{}_{}", std::process::id(), n, label)
}

/// A new, empty directory under the system temp dir: `tqn-redis-{pid}-{counter}-{nanos}`.
fn make_temp_dir() -> PathBuf {
    let n = DIR_COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("tqn-redis-{}-{}-{}", std::process::id(), n, nanos));
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating temp dir {}: {e}", dir.display()));
    dir
}

/// A loopback port that was free a moment ago (bind port 0, read it, release it).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding 127.0.0.1:0 to find a free port");
    listener.local_addr().expect("local_addr of the probe listener").port()
}

fn server_args(port: u16, config: Option<&Path>, dir: &Path, extra: &[String]) -> Vec<String> {
    let mut args: Vec<String> = config.map(|c| c.to_string_lossy().into_owned()).into_iter().collect();
    args.extend([
        "--port".into(),
        port.to_string(),
        "--bind".into(),
        "127.0.0.1".into(),
        "--save".into(),
        String::new(),
        "--appendonly".into(),
        "no".into(),
        "--dir".into(),
        dir.to_string_lossy().into_owned(),
        "--daemonize".into(),
        "no".into(),
        "--protected-mode".into(),
        "no".into(),
    ]);
    args.extend(extra.iter().cloned());
    args
}

/// The value following `--requirepass` in the extra args, if any (used to verify readiness).
fn password_in(extra: &[String]) -> Option<&str> {
    extra
        .iter()
        .position(|a| a == "--requirepass")
        .and_then(|i| extra.get(i + 1))
        .map(String::as_str)
}

/// The last [`LOG_TAIL_BYTES`] of the log written since `from` (lossy UTF-8).
fn log_tail(log: &Path, from: u64) -> String {
    let read = || -> std::io::Result<Vec<u8>> {
        let mut f = File::open(log)?;
        let len = f.metadata()?.len();
        let start = from.max(len.saturating_sub(LOG_TAIL_BYTES));
        f.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        Ok(buf)
    };
    match read() {
        Ok(b) if b.is_empty() => "(no output)".to_owned(),
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => format!("(could not read {}: {e})", log.display()),
    }
}

/// Spawns `redis-server` on `port` plus its watchdog, and waits until it answers.
fn launch(port: u16, config: Option<&Path>, extra: &[String], dir: &Path) -> Result<Running, LaunchError> {
    let bin = server_binary();
    let args = server_args(port, config, dir, extra);
    let cmdline = format!("{bin} {}", args.iter().map(|a| format!("{a:?}")).collect::<Vec<_>>().join(" "));
    let log_path = dir.join(LOG_FILE);
    let open_log = || OpenOptions::new().create(true).append(true).open(&log_path);
    let log = open_log().map_err(|e| LaunchError::Fatal(format!("opening {}: {e}", log_path.display())))?;
    let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
    let log_err = log
        .try_clone()
        .map_err(|e| LaunchError::Fatal(format!("cloning the log handle: {e}")))?;

    let mut server = match Command::new(&bin)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(LaunchError::Fatal(format!(
                "`{bin}` not found ({e}): the integration tests need a real Redis; install the Debian package \
                 `redis-server` (or set TQN_REDIS_SERVER to the binary)"
            )))
        }
        Err(e) => return Err(LaunchError::Fatal(format!("spawning `{cmdline}`: {e}"))),
    };
    let pid = server.id();

    let watchdog = Command::new("sh")
        .arg("-c")
        .arg(WATCHDOG_SCRIPT)
        .arg("tqn-redis-watchdog")
        .arg(pid.to_string())
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let watchdog = match watchdog {
        Ok(child) => child,
        Err(e) => {
            let _ = server.kill();
            let _ = server.wait();
            return Err(LaunchError::Fatal(format!("spawning the watchdog `sh` for redis-server: {e}")));
        }
    };
    let mut running = Running { server, watchdog };

    let password = password_in(extra);
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        match running.server.try_wait() {
            Ok(None) => {}
            Ok(Some(status)) => {
                running.shutdown();
                let out = log_tail(&log_path, log_start);
                return Err(if out.contains("Address already in use") {
                    LaunchError::PortTaken(out)
                } else {
                    LaunchError::Fatal(format!(
                        "`{cmdline}` exited ({status}) before becoming ready; its output:\n{}",
                        out.trim_end()
                    ))
                });
            }
            Err(e) => {
                running.shutdown();
                return Err(LaunchError::Fatal(format!("waiting on redis-server (pid {pid}): {e}")));
            }
        }
        match probe(port, password, pid) {
            Probe::Ours => return Ok(running),
            Probe::Unverified => {
                // Up, but we could not ask for its PID (e.g. auth we do not know). A server that
                // lost the race for the port exits right after failing to bind: make sure ours
                // is still there a moment later.
                std::thread::sleep(Duration::from_millis(100));
                if let Ok(None) = running.server.try_wait() {
                    return Ok(running);
                }
                continue;
            }
            Probe::NotYet | Probe::NotOurs => {}
        }
        if Instant::now() >= deadline {
            running.shutdown();
            return Err(LaunchError::Fatal(format!(
                "`{cmdline}` did not answer PING on 127.0.0.1:{port} within {READY_TIMEOUT:?}; its output:\n{}",
                log_tail(&log_path, log_start).trim_end()
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What a readiness probe found on the port.
enum Probe {
    /// Nothing answering (yet), or still loading.
    NotYet,
    /// A Redis whose `INFO server` `process_id` is our child.
    Ours,
    /// A Redis, but another process (our child will fail to bind and exit).
    NotOurs,
    /// A Redis (`+PONG` or `-NOAUTH`) whose PID we could not check.
    Unverified,
}

/// Raw-TCP readiness check: `PING\r\n` must get `+PONG` (or `-NOAUTH`, which also proves a Redis
/// is up); then, authenticating first if `password` is known, `INFO server` tells whose it is.
fn probe(port: u16, password: Option<&str>, pid: u32) -> Probe {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(250)) else {
        return Probe::NotYet;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let Ok(read_half) = stream.try_clone() else {
        return Probe::NotYet;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;

    let Some(pong) = exchange(&mut writer, &mut reader, b"PING\r\n") else {
        return Probe::NotYet;
    };
    if pong.starts_with("-NOAUTH") {
        let Some(password) = password else {
            return Probe::Unverified;
        };
        match exchange(&mut writer, &mut reader, &resp_command(&["AUTH", password])) {
            Some(ok) if ok.starts_with("+OK") => {}
            _ => return Probe::Unverified,
        }
    } else if !pong.starts_with("+PONG") {
        return Probe::NotYet; // e.g. -LOADING
    }

    let Some(header) = exchange(&mut writer, &mut reader, &resp_command(&["INFO", "server"])) else {
        return Probe::Unverified;
    };
    let Some(len) = header.strip_prefix('$').and_then(|n| n.trim_end().parse::<usize>().ok()) else {
        return Probe::Unverified;
    };
    let mut body = vec![0u8; len + 2];
    if reader.read_exact(&mut body).is_err() {
        return Probe::Unverified;
    }
    let body = String::from_utf8_lossy(&body);
    let found = body
        .lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .and_then(|v| v.trim().parse::<u32>().ok());
    match found {
        Some(p) if p == pid => Probe::Ours,
        Some(_) => Probe::NotOurs,
        None => Probe::Unverified,
    }
}

/// Writes `request`, reads one reply line.
fn exchange(writer: &mut TcpStream, reader: &mut BufReader<TcpStream>, request: &[u8]) -> Option<String> {
    writer.write_all(request).ok()?;
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(n) if n > 0 => Some(line),
        _ => None,
    }
}

/// A command as a RESP array of bulk strings (safe for any argument bytes).
fn resp_command(parts: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", parts.len()).into_bytes();
    for p in parts {
        out.extend_from_slice(format!("${}\r\n", p.len()).as_bytes());
        out.extend_from_slice(p.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

//! `tqn dashboard`: a web page, a JSON API, server-sent events and Prometheus `/metrics` over the
//! same connection settings as every other command.
//!
//! Routes: `/` the page (`/app.js`, `/app.css`); `/metrics` Prometheus; `/api/overview`,
//! `/api/queue?queue=&dialect=&minutes=`, `/api/jobs?queue=&dialect=&state=&n=`,
//! `/api/workers`, `/api/events[?queue=&dialect=]` (SSE: `overview` every second, with the queue's
//! first jobs of each state when one is named); `POST /api/action` (JSON body, header
//! `X-TQN-Token`). Reads never write to Redis; every action is appended to the audit log.
//!
//! Security: listens on 127.0.0.1 by default; any other address needs `--token`. Without a token
//! the page gets a random one for its POSTs (a custom header a cross-site page cannot send, so no
//! CSRF); with one, every request must carry it (`Authorization: Bearer`, the cookie set by
//! `/?token=`, or the header). `--read-only` refuses actions. The connection is shown without its
//! password; job payloads go to the page as JSON strings that it renders as text.

mod data;
mod http;

use std::fs::OpenOptions;
use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use think_queue_native::{new_job_id, unix_now, Dialect, ReservedJob};

use self::http::{read_request, Request, Response};
use super::inspect::{discover, QueueRef};
use super::settings::Context;
use super::{CliError, CliResult};

const PAGE: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/app.css");

/// Most connections served at once (each SSE client holds one).
const MAX_CONNECTIONS: usize = 64;
/// How long a discovered queue list is reused before the next SCAN.
const DISCOVER_EVERY: Duration = Duration::from_secs(10);
/// Most dead jobs a filtered retry looks at.
const MAX_FILTER_SCAN: i64 = 100_000;

/// The dashboard's settings.
pub struct Options {
    pub listen: SocketAddr,
    pub token: Option<String>,
    pub read_only: bool,
    pub audit_log: PathBuf,
    /// only these queues (default: every queue found)
    pub queues: Vec<String>,
}

struct Server {
    ctx: Context,
    opts: Options,
    /// the token POSTs carry (the given one, or a random one for the page)
    post_token: String,
    /// (when discovered, queues)
    discovered: Mutex<Option<(Instant, Vec<QueueRef>)>>,
    audit: Mutex<()>,
    connections: AtomicUsize,
}

/// `tqn dashboard`.
pub fn run(ctx: Context, opts: Options) -> CliResult<()> {
    if !opts.listen.ip().is_loopback() && opts.token.is_none() {
        return Err(CliError(format!(
            "--listen {}: listening beyond this machine needs --token (or $TQN_DASHBOARD_TOKEN), so that only its holders see and change the queues",
            opts.listen
        )));
    }
    if let Some(t) = &opts.token {
        if t.len() < 16 {
            return Err(CliError("--token must be at least 16 characters".into()));
        }
    }
    // fail now, not at the first page, when Redis cannot be reached
    let mut raw = ctx.raw()?;
    let _: String = redis::cmd("PING").query(&mut raw)?;
    let listener = TcpListener::bind(opts.listen).map_err(|e| CliError(format!("--listen {}: {e}", opts.listen)))?;
    let addr = listener.local_addr()?;
    let post_token = opts.token.clone().unwrap_or_else(|| new_job_id() + &new_job_id());
    let server = Arc::new(Server {
        ctx,
        opts,
        post_token,
        discovered: Mutex::new(None),
        audit: Mutex::new(()),
        connections: AtomicUsize::new(0),
    });
    eprintln!(
        "tqn dashboard: http://{addr}/ (Redis {}, {}{}); audit log {}",
        server.ctx.conn.addr(),
        if server.opts.read_only { "read-only" } else { "actions on" },
        if server.opts.token.is_some() { ", token required" } else { "" },
        server.opts.audit_log.display()
    );
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if server.connections.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            server.connections.fetch_sub(1, Ordering::SeqCst);
            let mut s = stream;
            let _ = http::write_response(&mut s, &Response::error(503, "too many connections"));
            continue;
        }
        let server = server.clone();
        let spawned = std::thread::Builder::new().name("tqn-dashboard".into()).spawn(move || {
            serve(&server, stream);
            server.connections.fetch_sub(1, Ordering::SeqCst);
        });
        if spawned.is_err() {
            eprintln!("tqn dashboard: cannot start a thread for a connection");
        }
    }
    Ok(())
}

fn serve(server: &Server, mut stream: TcpStream) {
    let req = match read_request(&stream) {
        Ok(r) => r,
        Err((status, msg)) => {
            let _ = http::write_response(&mut stream, &Response::error(status, &msg));
            return;
        }
    };
    if req.path == "/api/events" && req.method == "GET" {
        if let Err(r) = server.authorised(&req) {
            let _ = http::write_response(&mut stream, &r);
            return;
        }
        server.events(&req, &mut stream);
        return;
    }
    let response = match server.authorised(&req) {
        Ok(extra) => {
            let mut r = server.route(&req).unwrap_or_else(|e| Response::error(500, &e.0));
            if let Some(cookie) = extra {
                r = r.header("Set-Cookie", &cookie);
            }
            r
        }
        Err(r) => r,
    };
    let _ = http::write_response(&mut stream, &response);
}

/// Compares in constant time.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Server {
    /// `Ok(Some(cookie))` when the token came in the query and should be remembered.
    fn authorised(&self, req: &Request) -> Result<Option<String>, Response> {
        let Some(token) = &self.opts.token else {
            return Ok(None);
        };
        let bearer = req.header("authorization").and_then(|h| h.strip_prefix("Bearer "));
        let given = [
            bearer,
            req.cookie("tqn_token"),
            req.header("x-tqn-token"),
            req.query.get("token").map(String::as_str),
        ];
        if given.iter().flatten().any(|g| same(g, token)) {
            let from_query = req.query.get("token").is_some_and(|g| same(g, token));
            return Ok(from_query.then(|| format!("tqn_token={token}; HttpOnly; SameSite=Strict; Path=/")));
        }
        Err(Response::error(
            401,
            "a token is required: open /?token=... once, or send Authorization: Bearer ...",
        ))
    }

    fn queues(&self, raw: &mut think_queue_native::unstable::RedisConnection) -> CliResult<Vec<QueueRef>> {
        if !self.opts.queues.is_empty() {
            let mut out = Vec::new();
            for n in &self.opts.queues {
                let name = self.ctx.queue_name(n);
                for dialect in self.ctx.scope() {
                    out.push(QueueRef {
                        dialect,
                        name: name.clone(),
                    });
                }
            }
            return Ok(out);
        }
        let mut cache = self.discovered.lock().map_err(|_| CliError("internal: lock poisoned".into()))?;
        if let Some((at, queues)) = cache.as_ref() {
            if at.elapsed() < DISCOVER_EVERY {
                return Ok(queues.clone());
            }
        }
        let found = discover(raw, &self.ctx.scope())?;
        *cache = Some((Instant::now(), found.clone()));
        Ok(found)
    }

    fn forget_queues(&self) {
        if let Ok(mut cache) = self.discovered.lock() {
            *cache = None;
        }
    }

    fn queue_ref(&self, req: &Request) -> CliResult<QueueRef> {
        let name = req.query.get("queue").cloned().unwrap_or_default();
        if name.is_empty() {
            return Err(CliError("no queue named".into()));
        }
        let dialect = req
            .query
            .get("dialect")
            .and_then(|d| Dialect::parse(d))
            .or(self.ctx.dialect)
            .ok_or_else(|| CliError("no dialect (v1 or v3) given".into()))?;
        Ok(QueueRef { dialect, name })
    }

    fn route(&self, req: &Request) -> CliResult<Response> {
        let now = unix_now();
        match (req.method.as_str(), req.path.as_str()) {
            ("GET", "/") => {
                let page = PAGE
                    .replace("{{TOKEN}}", &html_text(&self.post_token))
                    .replace("{{MODE}}", if self.opts.read_only { "read-only" } else { "read-write" })
                    .replace("{{REDIS}}", &html_text(&self.redis_label()));
                Ok(Response::new(200, "text/html; charset=utf-8", page))
            }
            ("GET", "/app.js") => Ok(Response::new(200, "text/javascript; charset=utf-8", SCRIPT)),
            ("GET", "/app.css") => Ok(Response::new(200, "text/css; charset=utf-8", STYLE)),
            ("GET", "/metrics") => {
                let mut raw = self.ctx.raw()?;
                let queues = self.queues(&mut raw)?;
                Ok(Response::new(
                    200,
                    "text/plain; version=0.0.4; charset=utf-8",
                    data::prometheus(&mut raw, &queues, now)?,
                ))
            }
            ("GET", "/api/overview") => {
                let mut raw = self.ctx.raw()?;
                Ok(Response::json(200, &self.overview(&mut raw, now)?))
            }
            ("GET", "/api/queue") => {
                let q = self.queue_ref(req)?;
                let minutes = req.query.get("minutes").and_then(|m| m.parse().ok()).unwrap_or(180);
                let mut raw = self.ctx.raw()?;
                let (points, jobs) = data::history(&mut raw, &q, now, minutes)?;
                let workers = data::workers(&mut raw, &q, now)?;
                Ok(Response::json(
                    200,
                    &serde_json::json!({ "queue": q.name, "dialect": q.dialect.to_string(), "points": points, "jobs": jobs, "workers": workers }),
                ))
            }
            ("GET", "/api/jobs") => {
                let q = self.queue_ref(req)?;
                let state = req.query.get("state").map(String::as_str).unwrap_or("ready");
                let n = req.query.get("n").and_then(|m| m.parse().ok()).unwrap_or(20);
                let mut raw = self.ctx.raw()?;
                Ok(Response::json(200, &data::list(&mut raw, &q, state, n)?))
            }
            ("GET", "/api/workers") => {
                let mut raw = self.ctx.raw()?;
                let mut all = Vec::new();
                for q in self.queues(&mut raw)? {
                    for w in data::workers(&mut raw, &q, now)? {
                        if !all.iter().any(|x: &think_queue_native::registry::WorkerInfo| x.id == w.id) {
                            all.push(w);
                        }
                    }
                }
                Ok(Response::json(200, &all))
            }
            ("POST", "/api/action") => Ok(self.action(req)),
            (_, "/" | "/metrics" | "/api/overview" | "/api/queue" | "/api/jobs" | "/api/workers" | "/api/action") => {
                Ok(Response::error(405, "method not allowed"))
            }
            _ => Ok(Response::error(404, "not found")),
        }
    }

    fn redis_label(&self) -> String {
        let c = &self.ctx.conn;
        if !c.cluster.is_empty() {
            format!("cluster {}", c.cluster.join(","))
        } else if let Some(s) = &c.sentinel {
            format!("sentinel master {} via {}", s.master, s.nodes.join(","))
        } else {
            format!("{} db {}", c.addr(), c.select)
        }
    }

    fn overview(&self, raw: &mut think_queue_native::unstable::RedisConnection, now: i64) -> CliResult<serde_json::Value> {
        let started = Instant::now();
        let queues = self.queues(raw)?;
        let mut rows = Vec::with_capacity(queues.len());
        for q in &queues {
            rows.push(data::overview(raw, q, now)?);
        }
        Ok(serde_json::json!({
            "now": now,
            "queues": rows,
            "read_only": self.opts.read_only,
            "took_ms": started.elapsed().as_secs_f64() * 1000.0,
        }))
    }

    fn events(&self, req: &Request, stream: &mut TcpStream) {
        if http::start_events(stream).is_err() {
            return;
        }
        let focus = self.queue_ref(req).ok();
        let Ok(mut raw) = self.ctx.raw() else {
            let _ = http::send_event(stream, "failure", "{\"error\":\"cannot reach Redis\"}");
            return;
        };
        loop {
            let now = unix_now();
            let mut payload = match self.overview(&mut raw, now) {
                Ok(v) => v,
                Err(e) => serde_json::json!({ "error": e.0 }),
            };
            if let Some(q) = &focus {
                let mut lists = serde_json::Map::new();
                for state in ["ready", "delayed", "reserved", "dead"] {
                    if let Ok(items) = data::list(&mut raw, q, state, 20) {
                        lists.insert(state.to_owned(), serde_json::json!(items));
                    }
                }
                if let Ok(w) = data::workers(&mut raw, q, now) {
                    lists.insert("workers".to_owned(), serde_json::json!(w));
                }
                payload["focus"] = serde_json::Value::Object(lists);
            }
            if http::send_event(stream, "overview", &payload.to_string()).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    fn action(&self, req: &Request) -> Response {
        if self.opts.read_only {
            return Response::error(403, "the dashboard runs with --read-only: actions are off");
        }
        match req.header("x-tqn-token") {
            Some(t) if same(t, &self.post_token) => {}
            _ => return Response::error(403, "actions need the X-TQN-Token header of the page"),
        }
        let body: serde_json::Value = match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(e) => return Response::error(400, &format!("the body is not JSON: {e}")),
        };
        let result = self.run_action(&body);
        let outcome = match &result {
            Ok(v) => v.clone(),
            Err(e) => serde_json::json!({ "error": e.0 }),
        };
        self.audit(req, &body, &outcome);
        match result {
            Ok(v) => Response::json(200, &v),
            Err(e) => Response::error(400, &e.0),
        }
    }

    fn run_action(&self, body: &serde_json::Value) -> CliResult<serde_json::Value> {
        let s = |k: &str| body.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        let name = s("queue");
        if name.is_empty() {
            return Err(CliError("no queue named".into()));
        }
        let dialect = Dialect::parse(&s("dialect"))
            .or(self.ctx.dialect)
            .ok_or_else(|| CliError("no dialect (v1 or v3) given".into()))?;
        let member = || data::unhex(&s("member")).ok_or_else(|| CliError("`member` must be the job's bytes in hex".into()));
        let mut q = self.ctx.queue(dialect)?;
        let action = s("action");
        let out = match action.as_str() {
            "retry_dead" => serde_json::json!({ "moved": u64::from(q.retry_dead_job(Some(&name), &member()?)?) }),
            "delete_dead" => serde_json::json!({ "deleted": u64::from(q.delete_dead_job(Some(&name), &member()?)?) }),
            "retry_dead_filter" => {
                let job = s("job_name");
                let after = body.get("pushed_after").and_then(|v| v.as_i64());
                let before = body.get("pushed_before").and_then(|v| v.as_i64());
                let dry = body.get("dry_run").and_then(|v| v.as_bool()).unwrap_or(true);
                let matched = self.dead_matching(
                    QueueRef {
                        dialect,
                        name: name.clone(),
                    },
                    &job,
                    after,
                    before,
                )?;
                let mut moved = 0u64;
                if !dry {
                    for m in &matched {
                        moved += u64::from(q.retry_dead_job(Some(&name), m)?);
                    }
                }
                serde_json::json!({ "matched": matched.len(), "moved": moved, "dry_run": dry })
            }
            "purge" => {
                let k = dialect.keys(&name);
                let mut raw = self.ctx.raw()?;
                let keys = [k.ready, k.delayed, k.reserved];
                let mut n = 0i64;
                for key in &keys {
                    // one UNLINK per key: a 1.x queue's keys may lie in different cluster slots
                    n += redis::cmd("UNLINK").arg(key).query::<i64>(&mut raw)?;
                }
                self.forget_queues();
                serde_json::json!({ "keys_removed": n })
            }
            "migrate" => {
                let (d, r) = q.migrate(Some(&name))?;
                serde_json::json!({ "delayed_moved": d, "reserved_moved": r })
            }
            other => return Err(CliError(format!("unknown action `{other}`"))),
        };
        Ok(out)
    }

    /// The dead jobs of a queue whose name equals `job` (when given) and whose push time (native
    /// ids) lies within the bounds (when given), read in pages of 500 (at most 100,000).
    fn dead_matching(&self, q: QueueRef, job: &str, after: Option<i64>, before: Option<i64>) -> CliResult<Vec<Vec<u8>>> {
        let mut raw = self.ctx.raw()?;
        let key = q.dialect.keys(&q.name).dead;
        let mut out = Vec::new();
        let mut start = 0i64;
        while start < MAX_FILTER_SCAN {
            let page: Vec<Vec<u8>> = redis::cmd("LRANGE").arg(&key).arg(start).arg(start + 499).query(&mut raw)?;
            if page.is_empty() {
                break;
            }
            start += page.len() as i64;
            for bytes in page {
                let j = ReservedJob::stored(&q.name, q.dialect, bytes.clone());
                if !job.is_empty() && j.name().ok().as_deref() != Some(job) {
                    continue;
                }
                if after.is_some() || before.is_some() {
                    let pushed = j
                        .id()
                        .ok()
                        .flatten()
                        .and_then(|id| think_queue_native::available_at(&id, i64::MAX / 2).map(|ms| ms / 1000));
                    let Some(t) = pushed else { continue };
                    if after.is_some_and(|a| t < a) || before.is_some_and(|b| t >= b) {
                        continue;
                    }
                }
                out.push(bytes);
            }
        }
        Ok(out)
    }

    fn audit(&self, req: &Request, body: &serde_json::Value, outcome: &serde_json::Value) {
        #[derive(Serialize)]
        struct Line<'a> {
            time: i64,
            remote: &'a str,
            action: &'a serde_json::Value,
            outcome: &'a serde_json::Value,
        }
        let mut action = body.clone();
        if let Some(m) = action.get_mut("member") {
            // the payload itself stays out of the log: its hash is enough to tell jobs apart
            *m = serde_json::json!(format!("{} hex chars", m.as_str().map_or(0, str::len)));
        }
        let line = serde_json::to_string(&Line {
            time: unix_now(),
            remote: &req.remote,
            action: &action,
            outcome,
        })
        .unwrap_or_default();
        eprintln!("tqn dashboard: audit {line}");
        let _guard = self.audit.lock();
        let written = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.opts.audit_log)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = written {
            eprintln!("tqn dashboard: cannot write the audit log {}: {e}", self.opts.audit_log.display());
        }
    }
}

/// Text for an HTML text node.
fn html_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The default listen address.
pub fn default_listen() -> SocketAddr {
    SocketAddr::new(IpAddr::from([127, 0, 0, 1]), 9898)
}

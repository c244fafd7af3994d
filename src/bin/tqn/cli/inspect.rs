//! Read-only commands: queue discovery, `stats` (with `--watch`), `peek`.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use serde::Serialize;
use think_queue_native::{unix_now, Dialect, ParsedKey, QueueKeys, ReservedJob};

use super::settings::Context;
use super::table::{duration, truncate, Table};
use super::{CliError, CliResult, StateFilter};

/// One logical queue of one generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRef {
    /// v1 or v3
    pub dialect: Dialect,
    /// the logical name
    pub name: String,
}

fn sort_key(q: &QueueRef) -> (String, String) {
    (q.name.clone(), q.dialect.to_string())
}

/// Every queue with at least one key of the right Redis type, found with SCAN over the key
/// patterns of the dialects in `scope`, sorted by name.
pub fn discover(raw: &mut think_queue_native::unstable::RedisConnection, scope: &[Dialect]) -> CliResult<Vec<QueueRef>> {
    let mut keys: Vec<(Vec<u8>, ParsedKey)> = Vec::new();
    for dialect in scope {
        for key in raw.scan_match(dialect.key_pattern())? {
            if let Some(parsed) = QueueKeys::parse(&key) {
                if parsed.dialect == *dialect && !keys.iter().any(|(k, _)| *k == key) {
                    keys.push((key, parsed));
                }
            }
        }
    }
    let mut found: Vec<QueueRef> = Vec::new();
    for chunk in keys.chunks(500) {
        let mut pipe = redis::pipe();
        for (key, ..) in chunk {
            pipe.cmd("TYPE").arg(key);
        }
        let types: Vec<String> = pipe.query(raw)?;
        for ((_, parsed), t) in chunk.iter().zip(types) {
            let q = QueueRef {
                dialect: parsed.dialect,
                name: parsed.queue.clone(),
            };
            if t == parsed.kind.redis_type() && !found.contains(&q) {
                found.push(q);
            }
        }
    }
    found.sort_by_key(sort_key);
    Ok(found)
}

/// The queues a command works on: the named ones (in each dialect where they have keys, or the
/// fixed dialect), or every queue found.
pub fn targets(ctx: &Context, raw: &mut think_queue_native::unstable::RedisConnection, names: &[String]) -> CliResult<Vec<QueueRef>> {
    if names.is_empty() {
        return discover(raw, &ctx.scope());
    }
    let mut out = Vec::new();
    for n in names {
        let name = ctx.queue_name(n);
        for dialect in ctx.dialects_of(raw, &name)? {
            out.push(QueueRef {
                dialect,
                name: name.clone(),
            });
        }
    }
    Ok(out)
}

/// One line of `stats`.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct QueueStats {
    /// logical name
    pub queue: String,
    /// v1 or v3
    pub dialect: String,
    /// the ready list's key
    pub key: String,
    /// jobs in the ready list
    pub ready: u64,
    /// jobs in the delayed set
    pub delayed: u64,
    /// delayed jobs already due (moved to ready by the next pop)
    pub due: u64,
    /// reservations (running jobs, or jobs of dead workers)
    pub reserved: u64,
    /// reservations already expired (handed out again by the next pop)
    pub expired: u64,
    /// jobs in the dead-letter list
    pub dead: u64,
    /// seconds the most overdue job has waited: the delayed job due longest ago or the
    /// reservation expired longest ago; null when nothing is overdue
    pub oldest_overdue: Option<i64>,
}

fn first_score(items: &[(Vec<u8>, f64)]) -> Option<i64> {
    items.first().map(|(_, s)| *s as i64)
}

/// Counts of one queue, in one round trip.
pub fn queue_stats(raw: &mut think_queue_native::unstable::RedisConnection, q: &QueueRef, now: i64) -> CliResult<QueueStats> {
    let k = q.dialect.keys(&q.name);
    let mut pipe = redis::pipe();
    pipe.cmd("LLEN")
        .arg(&k.ready)
        .cmd("ZCARD")
        .arg(&k.delayed)
        .cmd("ZCOUNT")
        .arg(&k.delayed)
        .arg("-inf")
        .arg(now)
        .cmd("ZCARD")
        .arg(&k.reserved)
        .cmd("ZCOUNT")
        .arg(&k.reserved)
        .arg("-inf")
        .arg(now)
        .cmd("LLEN")
        .arg(&k.dead)
        .cmd("ZRANGE")
        .arg(&k.delayed)
        .arg(0)
        .arg(0)
        .arg("WITHSCORES")
        .cmd("ZRANGE")
        .arg(&k.reserved)
        .arg(0)
        .arg(0)
        .arg("WITHSCORES");
    type Reply = (u64, u64, u64, u64, u64, u64, Vec<(Vec<u8>, f64)>, Vec<(Vec<u8>, f64)>);
    let (ready, delayed, due, reserved, expired, dead, first_delayed, first_reserved): Reply = pipe
        .query(raw)
        .map_err(|e| CliError(format!("queue `{}` ({}): {e}", q.name, q.dialect)))?;
    let oldest_overdue = [first_score(&first_delayed), first_score(&first_reserved)]
        .into_iter()
        .flatten()
        .filter(|s| *s <= now)
        .map(|s| now - s)
        .max();
    Ok(QueueStats {
        queue: q.name.clone(),
        dialect: q.dialect.to_string(),
        key: k.ready,
        ready,
        delayed,
        due,
        reserved,
        expired,
        dead,
        oldest_overdue,
    })
}

fn collect_stats(ctx: &Context, names: &[String]) -> CliResult<Vec<QueueStats>> {
    let mut raw = ctx.raw()?;
    let mut queues = targets(ctx, &mut raw, names)?;
    if queues.is_empty() && !names.is_empty() {
        // named queues without keys: zero rows, so scripts see the queue
        for n in names {
            for dialect in ctx.scope() {
                queues.push(QueueRef {
                    dialect,
                    name: ctx.queue_name(n),
                });
            }
        }
    }
    let now = unix_now();
    queues.iter().map(|q| queue_stats(&mut raw, q, now)).collect()
}

fn where_(ctx: &Context) -> String {
    format!("{} db {}", ctx.conn.addr(), ctx.conn.select)
}

fn stats_table(ctx: &Context, rows: &[QueueStats]) -> String {
    if rows.is_empty() {
        return format!("no think-queue queues in {}\n", where_(ctx));
    }
    let mut t = Table::new(&[
        ("QUEUE", false),
        ("DIALECT", false),
        ("READY", true),
        ("DELAYED", true),
        ("DUE", true),
        ("RESERVED", true),
        ("EXPIRED", true),
        ("DEAD", true),
        ("OLDEST", true),
    ]);
    for r in rows {
        t.row(vec![
            r.queue.clone(),
            r.dialect.clone(),
            r.ready.to_string(),
            r.delayed.to_string(),
            r.due.to_string(),
            r.reserved.to_string(),
            r.expired.to_string(),
            r.dead.to_string(),
            r.oldest_overdue.map(duration).unwrap_or_else(|| "-".into()),
        ]);
    }
    t.render()
}

/// `tqn stats [QUEUE...] [--watch]`.
pub fn stats(ctx: &Context, names: &[String], watch: bool, interval: f64, iterations: Option<u64>) -> CliResult<()> {
    if !watch {
        let rows = collect_stats(ctx, names)?;
        if ctx.json {
            out!("{}", serde_json::to_string_pretty(&rows)?);
        } else {
            out!("{}", stats_table(ctx, &rows).trim_end_matches('\n'));
        }
        return Ok(());
    }
    if !interval.is_finite() || interval <= 0.0 {
        return Err(CliError("--interval must be a positive number of seconds".into()));
    }
    let mut out = std::io::stdout();
    let mut n: u64 = 0;
    loop {
        let rows = collect_stats(ctx, names)?;
        if ctx.json {
            #[derive(Serialize)]
            struct Frame<'a> {
                time: i64,
                queues: &'a [QueueStats],
            }
            writeln!(
                out,
                "{}",
                serde_json::to_string(&Frame {
                    time: unix_now(),
                    queues: &rows
                })?
            )?;
        } else {
            // clear the screen, cursor home
            write!(
                out,
                "\x1b[2J\x1b[H{} (every {interval} s, Ctrl-C to stop)\n\n{}",
                where_(ctx),
                stats_table(ctx, &rows)
            )?;
        }
        out.flush()?;
        n += 1;
        if iterations.is_some_and(|max| n >= max) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_secs_f64(interval));
    }
}

/// One job shown by `peek`.
#[derive(Debug, Serialize)]
pub struct PeekedJob {
    /// logical queue
    pub queue: String,
    /// v1 or v3
    pub dialect: String,
    /// ready, delayed, reserved or dead
    pub state: &'static str,
    /// delayed: due at (unix s); reserved: expires at
    pub score: Option<i64>,
    /// payload `id`
    pub id: Option<String>,
    /// payload `job`
    pub job: Option<String>,
    /// payload `attempts` as stored
    pub attempts: Option<i64>,
    /// payload `data` (as json_decode($payload, true) reads it)
    pub data: Option<serde_json::Value>,
    /// the stored bytes (lossy UTF-8)
    pub payload: String,
    /// why the payload cannot be read, when it cannot
    pub malformed: Option<String>,
}

fn peeked(q: &QueueRef, state: &'static str, bytes: &[u8], score: Option<i64>) -> PeekedJob {
    let stored = ReservedJob::stored(&q.name, q.dialect, bytes.to_vec());
    // the fields as a worker would read them; the first one it could not read makes the job malformed
    let reason = |e: &think_queue_native::Error| match e {
        think_queue_native::Error::MalformedPayload { reason, .. } => reason.clone(),
        other => other.to_string(),
    };
    let name = stored.name();
    let attempts = stored.stored_attempts();
    let malformed = match (stored.payload().err(), &name, &attempts) {
        (Some(e), ..) => Some(reason(&e)),
        (None, Err(e), _) | (None, Ok(_), Err(e)) => Some(reason(e)),
        _ => None,
    };
    PeekedJob {
        queue: q.name.clone(),
        dialect: q.dialect.to_string(),
        state,
        score,
        id: stored.id().ok().flatten(),
        job: name.ok(),
        attempts: attempts.ok(),
        data: stored.data().ok().and_then(|d| serde_json::to_value(d).ok()),
        payload: String::from_utf8_lossy(bytes).into_owned(),
        malformed,
    }
}

type Scored = Vec<(Vec<u8>, f64)>;

/// `tqn peek QUEUE [N] [--state S]`.
pub fn peek(ctx: &Context, queue: &str, n: usize, filter: StateFilter) -> CliResult<()> {
    let mut raw = ctx.raw()?;
    let name = ctx.queue_name(queue);
    let mut jobs = Vec::new();
    let last = n as i64 - 1;
    for dialect in ctx.dialects_of(&mut raw, &name)? {
        let q = QueueRef {
            dialect,
            name: name.clone(),
        };
        let k = dialect.keys(&name);
        if n == 0 {
            continue;
        }
        let want = |s: StateFilter| filter == StateFilter::All || filter == s;
        if want(StateFilter::Ready) {
            let items: Vec<Vec<u8>> = redis::cmd("LRANGE").arg(&k.ready).arg(0).arg(last).query(&mut raw)?;
            jobs.extend(items.iter().map(|b| peeked(&q, "ready", b, None)));
        }
        for (state, key, filter_state) in [
            ("delayed", &k.delayed, StateFilter::Delayed),
            ("reserved", &k.reserved, StateFilter::Reserved),
        ] {
            if want(filter_state) {
                let items: Scored = redis::cmd("ZRANGE").arg(key).arg(0).arg(last).arg("WITHSCORES").query(&mut raw)?;
                jobs.extend(items.iter().map(|(b, s)| peeked(&q, state, b, Some(*s as i64))));
            }
        }
        if want(StateFilter::Dead) {
            let items: Vec<Vec<u8>> = redis::cmd("LRANGE").arg(&k.dead).arg(0).arg(last).query(&mut raw)?;
            jobs.extend(items.iter().map(|b| peeked(&q, "dead", b, None)));
        }
    }
    if ctx.json {
        out!("{}", serde_json::to_string_pretty(&jobs)?);
        return Ok(());
    }
    if jobs.is_empty() {
        out!("queue `{name}` has no jobs in {}", where_(ctx));
        return Ok(());
    }
    let now = unix_now();
    let mut t = Table::new(&[
        ("DIALECT", false),
        ("STATE", false),
        ("WHEN", false),
        ("ID", false),
        ("JOB", false),
        ("ATTEMPTS", true),
        ("DATA", false),
    ]);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for j in &jobs {
        *counts.entry(j.state).or_default() += 1;
        let when = match (j.state, j.score) {
            ("delayed", Some(s)) if s > now => format!("due in {}", duration(s - now)),
            ("delayed", Some(s)) => format!("due {} ago", duration(now - s)),
            ("reserved", Some(s)) if s > now => format!("expires in {}", duration(s - now)),
            ("reserved", Some(s)) => format!("expired {} ago", duration(now - s)),
            _ => "-".into(),
        };
        let data = match (&j.malformed, &j.data) {
            (Some(m), _) => format!("(unreadable: {m}) {}", j.payload),
            (None, Some(d)) => d.to_string(),
            (None, None) => "null".into(),
        };
        t.row(vec![
            j.dialect.clone(),
            j.state.to_owned(),
            when,
            j.id.clone().unwrap_or_else(|| "-".into()),
            j.job.clone().unwrap_or_else(|| "-".into()),
            j.attempts.map(|a| a.to_string()).unwrap_or_else(|| "-".into()),
            truncate(&data, 80),
        ]);
    }
    out!("{}", t.render().trim_end_matches('\n'));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peeked_payloads() {
        let q = QueueRef {
            dialect: Dialect::V3,
            name: "q".into(),
        };
        let j = peeked(&q, "ready", br#"{"job":"A","data":{"x":[1,"\u4e2d"]},"id":"I","attempts":0}"#, None);
        assert_eq!((j.job.as_deref(), j.id.as_deref(), j.attempts), (Some("A"), Some("I"), Some(0)));
        assert_eq!(j.data.map(|d| d.to_string()).as_deref(), Some(r#"{"x":[1,"中"]}"#));
        assert!(j.malformed.is_none());
        assert!(peeked(&q, "ready", b"nope", None).malformed.is_some_and(|m| m.contains("JSON")));
        assert!(peeked(&q, "ready", b"[1]", None).malformed.is_some());
    }
}

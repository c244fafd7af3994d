//! Commands that change queues: `push`, `retry`, `migrate`, `purge`.

use std::io::{BufRead, IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use think_queue_native::{decode, Delay, NewJob, Value};

use super::inspect::{queue_stats, targets, QueueRef};
use super::settings::Context;
use super::table::Table;
use super::{CliError, CliResult};

/// A progress bar on stderr (drawn only when stderr is a terminal).
fn progress(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, {eta} left)") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_owned());
    bar
}

/// Pushes at most this many payloads per `bulk` call.
const PUSH_CHUNK: u64 = 1000;

/// `tqn push QUEUE JOB [--data JSON] [--delay S] [--repeat N]`.
pub fn push(ctx: &Context, queue: &str, job: &str, data: Option<&str>, delay: Option<i64>, repeat: u64) -> CliResult<()> {
    let value = match data {
        // think-queue's default data is ''
        None => Value::from(""),
        Some(text) => decode(text.as_bytes()).map_err(|e| CliError(format!("--data is not valid JSON: {e}")))?,
    };
    let name = ctx.queue_name(queue);
    let dialect = match ctx.dialect {
        Some(d) => d,
        None => {
            let mut raw = ctx.raw()?;
            match ctx.dialects_of(&mut raw, &name)?.as_slice() {
                [d] => *d,
                [] => {
                    return Err(CliError(format!(
                        "queue `{name}` has no keys yet, so its think-queue generation is unknown: pass --dialect v1 (think-queue 1.x/2.x) or v3 (3.x)"
                    )))
                }
                _ => {
                    return Err(CliError(format!(
                        "queue `{name}` has keys of both generations: pass --dialect v1 (think-queue 1.x/2.x) or v3 (3.x)"
                    )))
                }
            }
        }
    };
    let mut q = ctx.queue(dialect)?;
    let new_job = NewJob::new(Value::from(job), value);
    let mut ids = Vec::with_capacity(repeat.min(100_000) as usize);
    if let Some(seconds) = delay {
        let bar = progress(repeat, "later");
        for _ in 0..repeat {
            ids.push(q.later(Delay::Seconds(seconds), &new_job, Some(&name))?);
            bar.inc(1);
        }
        bar.finish_and_clear();
    } else if repeat == 1 {
        ids.push(q.push(&new_job, Some(&name))?);
    } else {
        let bar = progress(repeat, "push");
        let mut left = repeat;
        while left > 0 {
            let n = left.min(PUSH_CHUNK);
            let jobs = vec![new_job.clone(); n as usize];
            ids.extend(q.bulk(&jobs, Some(&name))?);
            bar.inc(n);
            left -= n;
        }
        bar.finish_and_clear();
    }
    let keys = dialect.keys(&name);
    let key = if delay.is_some() { keys.delayed } else { keys.ready };
    if ctx.json {
        #[derive(Serialize)]
        struct Pushed<'a> {
            queue: &'a str,
            dialect: String,
            key: &'a str,
            delay: Option<i64>,
            ids: &'a [String],
        }
        out!(
            "{}",
            serde_json::to_string_pretty(&Pushed {
                queue: &name,
                dialect: dialect.to_string(),
                key: &key,
                delay,
                ids: &ids,
            })?
        );
    } else if let [id] = ids.as_slice() {
        out!("pushed {job} to {key} ({dialect}) as {id}");
    } else {
        out!("pushed {} x {job} to {key} ({dialect})", ids.len());
    }
    Ok(())
}

/// What `migrate`/`retry` did to one queue.
#[derive(Debug, Serialize, Default)]
struct Moved {
    queue: String,
    dialect: String,
    /// due delayed jobs moved to the ready list
    delayed: u64,
    /// expired reservations moved back to the ready list
    reserved: u64,
    /// dead-letter jobs moved back to the ready list (retry --dead)
    dead: u64,
}

/// Runs the core's atomic migration until nothing due is left (bounded by what was due when it began).
fn migrate_queue(ctx: &Context, q: &QueueRef, bar: &ProgressBar) -> CliResult<Moved> {
    let mut queue = ctx.queue(q.dialect)?;
    let mut moved = Moved {
        queue: q.name.clone(),
        dialect: q.dialect.to_string(),
        ..Default::default()
    };
    let batch = ctx.options(q.dialect).migrate_batch.max(1) as u64;
    let mut raw = ctx.raw()?;
    let before = queue_stats(&mut raw, q, think_queue_native::unix_now())?;
    // each call moves up to a batch of each set; jobs that fall due meanwhile may add a few rounds
    let rounds = (before.due.max(before.expired) / batch) + 3;
    for _ in 0..rounds {
        let (d, r) = queue.migrate(Some(&q.name))?;
        moved.delayed += d;
        moved.reserved += r;
        bar.inc(d + r);
        if d + r == 0 {
            break;
        }
    }
    Ok(moved)
}

/// Moves the dead-letter list back to the ready list with the core's atomic `retry_dead` (one
/// script per batch of `migrate_batch` jobs, attempts reset as think-queue's `queue:retry` does),
/// until it is empty; jobs buried meanwhile are moved too.
fn requeue_dead(ctx: &Context, q: &QueueRef, moved: &mut Moved, bar: &ProgressBar) -> CliResult<()> {
    let mut queue = ctx.queue(q.dialect)?;
    let batch = ctx.options(q.dialect).migrate_batch;
    loop {
        let n = queue.retry_dead(Some(&q.name), batch)?;
        if n == 0 {
            return Ok(());
        }
        moved.dead += n;
        bar.inc(n);
    }
}

fn report(ctx: &Context, verb: &str, rows: &[Moved], dead: bool) -> CliResult<()> {
    if ctx.json {
        out!("{}", serde_json::to_string_pretty(rows)?);
        return Ok(());
    }
    if rows.is_empty() {
        out!("no think-queue queues in {} db {}", ctx.conn.addr(), ctx.conn.select);
        return Ok(());
    }
    let mut columns = vec![("QUEUE", false), ("DIALECT", false), ("DELAYED", true), ("RESERVED", true)];
    if dead {
        columns.push(("DEAD", true));
    }
    let mut t = Table::new(&columns);
    for r in rows {
        let mut cells = vec![r.queue.clone(), r.dialect.clone(), r.delayed.to_string(), r.reserved.to_string()];
        if dead {
            cells.push(r.dead.to_string());
        }
        t.row(cells);
    }
    out!("{verb} to the ready list:");
    out!("{}", t.render().trim_end_matches('\n'));
    Ok(())
}

fn move_jobs(ctx: &Context, names: &[String], dead: bool, verb: &str) -> CliResult<()> {
    let mut raw = ctx.raw()?;
    let queues = targets(ctx, &mut raw, names)?;
    let now = think_queue_native::unix_now();
    let mut total = 0;
    for q in &queues {
        let s = queue_stats(&mut raw, q, now)?;
        total += s.due + s.expired + if dead { s.dead } else { 0 };
    }
    let bar = progress(total, verb);
    let mut rows = Vec::new();
    for q in &queues {
        let mut moved = migrate_queue(ctx, q, &bar)?;
        if dead {
            requeue_dead(ctx, q, &mut moved, &bar)?;
        }
        rows.push(moved);
    }
    bar.finish_and_clear();
    report(ctx, verb, &rows, dead)
}

/// `tqn retry [QUEUE...] [--dead]`.
pub fn retry(ctx: &Context, names: &[String], dead: bool) -> CliResult<()> {
    move_jobs(ctx, names, dead, "moved back")
}

/// `tqn migrate [QUEUE...]`.
pub fn migrate(ctx: &Context, names: &[String]) -> CliResult<()> {
    move_jobs(ctx, names, false, "moved")
}

/// Asks on stderr, reads a line from stdin: true for `y`/`yes`.
fn confirm(question: &str) -> CliResult<bool> {
    let mut err = std::io::stderr();
    write!(err, "{question} [y/N] ")?;
    err.flush()?;
    let mut answer = String::new();
    let n = std::io::stdin().lock().read_line(&mut answer)?;
    if n == 0 || !std::io::stdin().is_terminal() {
        // the answer was not typed: end the question's line
        writeln!(err)?;
    }
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

/// `tqn purge QUEUE [--yes] [--dead]`.
pub fn purge(ctx: &Context, queue: &str, yes: bool, dead: bool) -> CliResult<()> {
    let mut raw = ctx.raw()?;
    let name = ctx.queue_name(queue);
    let dialects = ctx.dialects_of(&mut raw, &name)?;
    let now = think_queue_native::unix_now();
    let mut plan = Vec::new();
    for dialect in dialects {
        let q = QueueRef {
            dialect,
            name: name.clone(),
        };
        let s = queue_stats(&mut raw, &q, now)?;
        let k = dialect.keys(&name);
        let mut keys = vec![k.ready, k.delayed, k.reserved];
        let mut jobs = s.ready + s.delayed + s.reserved;
        if dead {
            keys.push(k.dead);
            jobs += s.dead;
        }
        plan.push((dialect, keys, jobs, s));
    }
    let total: u64 = plan.iter().map(|(_, _, n, _)| n).sum();
    if total == 0 {
        if ctx.json {
            out!("{}", serde_json::to_string_pretty(&Vec::<()>::new())?);
        } else {
            out!("queue `{name}` has no jobs to purge");
        }
        return Ok(());
    }
    if !yes {
        let what: Vec<String> = plan
            .iter()
            .map(|(d, keys, n, s)| {
                format!(
                    "{n} jobs of {d} ({} ready, {} delayed, {} reserved{}) in {}",
                    s.ready,
                    s.delayed,
                    s.reserved,
                    if dead { format!(", {} dead", s.dead) } else { String::new() },
                    keys.join(", ")
                )
            })
            .collect();
        let question = format!(
            "Delete {} from {} db {}? Reserved jobs may be running right now.",
            what.join("; "),
            ctx.conn.addr(),
            ctx.conn.select
        );
        if !confirm(&question)? {
            return Err(CliError("not confirmed: nothing deleted (pass --yes to skip the question)".into()));
        }
    }
    #[derive(Serialize)]
    struct Purged {
        queue: String,
        dialect: String,
        keys: Vec<String>,
        jobs: u64,
    }
    let mut done = Vec::new();
    for (dialect, keys, jobs, _) in plan {
        // UNLINK frees big lists in the background instead of blocking Redis
        let _: i64 = redis::cmd("UNLINK").arg(&keys).query(&mut raw)?;
        done.push(Purged {
            queue: name.clone(),
            dialect: dialect.to_string(),
            keys,
            jobs,
        });
    }
    if ctx.json {
        out!("{}", serde_json::to_string_pretty(&done)?);
    } else {
        for p in &done {
            out!("purged {} jobs of queue `{}` ({})", p.jobs, p.queue, p.dialect);
        }
    }
    Ok(())
}

//! A Rust worker for jobs PHP pushes (mixed deployments), printing what each handler saw. Used by
//! the PHP suites tests/php/mixed/ and by `make demo`.
//!
//! ```text
//! worker URL v1|v3 QUEUES [--threads N] [--tries N] [--delay S] [--max-jobs N] [--daemon]
//! ```
//! QUEUES is a comma list in priority order (`--queue=a,b`). Without `--daemon` it stops once the
//! queues are empty; with it, on SIGTERM/SIGINT. Handlers:
//! - `app\job\Hello`, `app\job\Hello@greet`: print and succeed;
//! - `app\job\Flaky`: fails while `attempts() < data['until']`.
//!
//! stdout, one JSON line per event (PHP json_encode bytes): `{"event":"fire","worker":0,
//! "queue":..,"name":..,"id":..,"attempts":..,"data":..}`, `"event":"failed"` (with `reason`) and
//! `"event":"buried"`; a last line `{"event":"done","processed":..,"released":..,"failed":..,"buried":..,"errors":..}`.

use std::io::Write;
use std::process::exit;

use think_queue_native::{encode, ConnectionOptions, Dialect, Event, FnHandler, HandlerResult, JobContext, QueueOptions, Value, Worker};

/// Writes one JSON line (the whole line at once, so threads do not interleave).
fn emit(entries: Vec<(&str, Value)>) {
    if let Ok(mut line) = encode(&Value::map(entries)) {
        line.push(b'\n');
        let _ = std::io::stdout().lock().write_all(&line);
    }
}

fn opt(s: Option<&str>) -> Value {
    s.map(Value::from).unwrap_or(Value::Null)
}

fn seen(event: &str, job: &JobContext<'_>) {
    emit(vec![
        ("event", Value::from(event)),
        ("worker", Value::Int(job.worker() as i64)),
        ("queue", Value::from(job.queue())),
        ("name", Value::from(job.name())),
        ("id", opt(job.id())),
        ("attempts", Value::Int(job.attempts())),
        ("data", job.data().clone()),
    ]);
}

fn hello(job: &mut JobContext<'_>) -> HandlerResult {
    seen("fire", job);
    Ok(())
}

fn flaky(job: &mut JobContext<'_>) -> HandlerResult {
    seen("fire", job);
    let until = job.data().get("until").and_then(Value::as_int).unwrap_or(0);
    if job.attempts() < until {
        return Err(format!("flaky: attempt {} < {until}", job.attempts()).into());
    }
    Ok(())
}

struct Args {
    url: String,
    dialect: Dialect,
    queues: Vec<String>,
    threads: usize,
    tries: u32,
    delay: i64,
    max_jobs: Option<u64>,
    daemon: bool,
}

fn parse() -> Option<Args> {
    let mut it = std::env::args().skip(1);
    let url = it.next()?;
    let dialect = Dialect::parse(&it.next()?)?;
    let queues = it.next()?.split(',').map(str::to_owned).collect();
    let mut a = Args {
        url,
        dialect,
        queues,
        threads: 1,
        tries: 0,
        delay: 0,
        max_jobs: None,
        daemon: false,
    };
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--threads" => a.threads = it.next()?.parse().ok()?,
            "--tries" => a.tries = it.next()?.parse().ok()?,
            "--delay" => a.delay = it.next()?.parse().ok()?,
            "--max-jobs" => a.max_jobs = Some(it.next()?.parse().ok()?),
            "--daemon" => a.daemon = true,
            _ => return None,
        }
    }
    Some(a)
}

fn main() {
    let Some(a) = parse() else {
        eprintln!("usage: worker URL v1|v3 QUEUES [--threads N] [--tries N] [--delay S] [--max-jobs N] [--daemon]");
        exit(2);
    };
    let conn = match ConnectionOptions::from_url(&a.url) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("worker: {e}");
            exit(2);
        }
    };
    let failed = |job: &think_queue_native::FailedJob<'_>| {
        emit(vec![
            ("event", Value::from("failed")),
            ("name", opt(job.info.name.as_deref())),
            ("id", opt(job.info.id.as_deref())),
            ("attempts", job.info.attempts.map(Value::Int).unwrap_or(Value::Null)),
            ("reason", Value::from(job.reason.to_string())),
            ("data", job.data.clone()),
        ])
    };
    let mut worker = Worker::new(conn, QueueOptions::new(a.dialect))
        .queues(a.queues)
        .concurrency(a.threads)
        .tries(a.tries)
        .delay(a.delay)
        .stop_when_empty(!a.daemon)
        .handle("app\\job\\Hello", FnHandler::new(hello).on_failed(failed))
        .handle("app\\job\\Hello@greet", FnHandler::new(hello).on_failed(failed))
        .handle("app\\job\\Flaky", FnHandler::new(flaky).on_failed(failed))
        .on_event(|e| match e {
            Event::Buried { job, reason } => emit(vec![
                ("event", Value::from("buried")),
                ("name", opt(job.name.as_deref())),
                ("reason", Value::from(reason.to_string())),
            ]),
            Event::Error { error, .. } => eprintln!("worker: {error}"),
            _ => {}
        });
    if let Some(n) = a.max_jobs {
        worker = worker.max_jobs(n);
    }
    match worker.run() {
        Ok(s) => emit(vec![
            ("event", Value::from("done")),
            ("processed", Value::Int(s.processed as i64)),
            ("released", Value::Int(s.released as i64)),
            ("failed", Value::Int(s.failed as i64)),
            ("buried", Value::Int(s.buried as i64)),
            ("errors", Value::Int(s.errors as i64)),
        ]),
        Err(e) => {
            eprintln!("worker: {e}");
            exit(1);
        }
    }
}

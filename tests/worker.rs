//! The Rust worker against a real redis-server: think-queue's attempts/tries/release/failed rules
//! per generation, unknown and unreadable jobs, priority order, concurrency, shutdown. Each test
//! uses its own queue names and asserts the raw Redis state.

mod support;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::redis_server::{client, shared, unique_queue, RedisServer};
use think_queue_native::{
    build_payload, unix_now, Delay, Dialect, Event, FailReason, FnHandler, JobContext, NewJob, QueueOptions, RedisQueue, Value, Worker,
    WorkerStats,
};

use support::ctx::conn;

fn producer(port: u16, dialect: Dialect) -> RedisQueue {
    support::ctx::queue_on(port, QueueOptions::new(dialect))
}

/// A worker for tests: no signal handlers, a short idle sleep, stops when the queues are empty.
fn worker(port: u16, dialect: Dialect, queue: &str) -> Worker {
    Worker::new(conn(port), QueueOptions::new(dialect))
        .queue(queue)
        .handle_signals(false)
        .idle_sleep(Duration::from_millis(5))
        .stop_when_empty(true)
}

/// (ready, delayed, reserved, dead) lengths of a queue, read raw.
fn state(port: u16, dialect: Dialect, queue: &str) -> (i64, i64, i64, i64) {
    let k = dialect.keys(queue);
    let mut r = client(port);
    let ready: i64 = redis::cmd("LLEN").arg(&k.ready).query(&mut r).expect("llen");
    let delayed: i64 = redis::cmd("ZCARD").arg(&k.delayed).query(&mut r).expect("zcard");
    let reserved: i64 = redis::cmd("ZCARD").arg(&k.reserved).query(&mut r).expect("zcard");
    let dead: i64 = redis::cmd("LLEN").arg(&k.dead).query(&mut r).expect("llen");
    (ready, delayed, reserved, dead)
}

type Log = Arc<Mutex<Vec<String>>>;

fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

fn entries(log: &Log) -> Vec<String> {
    log.lock().map(|l| l.clone()).unwrap_or_default()
}

/// A handler that always fails and records its runs and its failed call.
fn always_failing(runs: &Log, failed: &Log) -> FnHandler {
    let (runs, failed) = (runs.clone(), failed.clone());
    FnHandler::new(move |job: &mut JobContext<'_>| {
        runs.lock().expect("log").push(format!("run {}", job.attempts()));
        Err("nope".into())
    })
    .on_failed(move |job| {
        failed
            .lock()
            .expect("log")
            .push(format!("failed {:?} {}", job.info.attempts, job.reason));
    })
}

#[test]
fn v1_tries_fail_on_the_pop_after_the_last_run() {
    let port = shared().port();
    let q = unique_queue("v1tries");
    producer(port, Dialect::V1)
        .push(&NewJob::new("app\\job\\Flaky", Value::map(vec![("n", Value::Int(1))])), Some(&q))
        .expect("push");
    let (runs, failed) = (log(), log());
    let stats = worker(port, Dialect::V1, &q)
        .tries(2)
        .handle("app\\job\\Flaky", always_failing(&runs, &failed))
        .run()
        .expect("run");
    assert_eq!(entries(&runs), ["run 1", "run 2"], "runs twice");
    assert_eq!(
        entries(&failed),
        ["failed Some(3) app\\job\\Flaky has been attempted too many times."],
        "failed on pop 3, not run"
    );
    assert_eq!(
        stats,
        WorkerStats {
            released: 2,
            failed: 1,
            ..Default::default()
        }
    );
    assert_eq!(state(port, Dialect::V1, &q), (0, 0, 0, 0), "deleted");
}

#[test]
fn v3_tries_fail_at_the_end_of_the_last_run() {
    let port = shared().port();
    let q = unique_queue("v3tries");
    producer(port, Dialect::V3)
        .push(&NewJob::new("app\\job\\Flaky", Value::Null), Some(&q))
        .expect("push");
    let (runs, failed) = (log(), log());
    let stats = worker(port, Dialect::V3, &q)
        .tries(2)
        .handle("app\\job\\Flaky", always_failing(&runs, &failed))
        .run()
        .expect("run");
    assert_eq!(entries(&runs), ["run 1", "run 2"]);
    assert_eq!(entries(&failed), ["failed Some(2) nope"], "failed once, at the end of run 2");
    assert_eq!(
        stats,
        WorkerStats {
            released: 1,
            failed: 1,
            ..Default::default()
        }
    );
    assert_eq!(state(port, Dialect::V3, &q), (0, 0, 0, 0));
}

#[test]
fn v3_payload_limits_win_over_the_workers_tries() {
    let port = shared().port();
    let q = unique_queue("v3limits");
    let mut p = producer(port, Dialect::V3);
    // maxTries 1 in the payload (an object job's $tries): fails after one run although tries(5)
    let mut limited = NewJob::new("app\\job\\Flaky", Value::from("limited"));
    limited.max_tries = Value::Int(1);
    p.push_raw(
        &build_payload(Dialect::V3, &limited, "LIMITEDLIMITEDLIMITEDLIMITEDLIMI").expect("build"),
        Some(&q),
    )
    .expect("push");
    // timeoutAt in the past: failed without running
    let mut expired = NewJob::new("app\\job\\Flaky", Value::from("expired"));
    expired.timeout_at = Some(Value::Int(unix_now() - 10));
    p.push_raw(
        &build_payload(Dialect::V3, &expired, "EXPIREDEXPIREDEXPIREDEXPIREDEXPI").expect("build"),
        Some(&q),
    )
    .expect("push");
    let (runs, failed) = (log(), log());
    let runs2 = runs.clone();
    let failed2 = failed.clone();
    let stats = worker(port, Dialect::V3, &q)
        .tries(5)
        .handle(
            "app\\job\\Flaky",
            FnHandler::new(move |job: &mut JobContext<'_>| {
                runs2.lock().expect("log").push(format!("{:?} {:?}", job.data(), job.max_tries()));
                Err("nope".into())
            })
            .on_failed(move |job| {
                let what = match job.reason {
                    FailReason::Handler(m) => format!("handler: {m}"),
                    FailReason::MaxAttempts(m) => format!("max: {m}"),
                    other => format!("{other:?}"),
                };
                failed2.lock().expect("log").push(format!("{:?} {what}", job.data));
            }),
        )
        .run()
        .expect("run");
    assert_eq!(entries(&runs), [r#"Str([108, 105, 109, 105, 116, 101, 100]) Some(1)"#]);
    assert_eq!(
        entries(&failed),
        [
            "Str([108, 105, 109, 105, 116, 101, 100]) handler: nope".to_owned(),
            "Str([101, 120, 112, 105, 114, 101, 100]) max: app\\job\\Flaky has been attempted too many times or run too long. The job may have previously timed out.".to_owned(),
        ]
    );
    assert_eq!(stats.failed, 2);
    assert_eq!(state(port, Dialect::V3, &q), (0, 0, 0, 0));
}

#[test]
fn ok_deletes_and_an_explicit_release_delays_with_the_generations_attempts() {
    for dialect in [Dialect::V1, Dialect::V3] {
        let port = shared().port();
        let q = unique_queue("release");
        let mut p = producer(port, dialect);
        p.push(&NewJob::new("app\\job\\Done", Value::Int(1)), Some(&q)).expect("push");
        p.push(&NewJob::new("app\\job\\Later", Value::Int(2)), Some(&q)).expect("push");
        let before = unix_now();
        let stats = worker(port, dialect, &q)
            .handle("app\\job\\Done", |_: &mut JobContext<'_>| Ok(()))
            .handle("app\\job\\Later", |job: &mut JobContext<'_>| {
                assert!(job.release(30)?, "our reservation");
                Ok(())
            })
            .run()
            .expect("run");
        assert_eq!((stats.processed, stats.released), (2, 1), "{dialect}");
        assert_eq!(state(port, dialect, &q), (0, 1, 0, 0), "{dialect}: the released job waits");
        let mut r = client(port);
        let delayed: Vec<(Vec<u8>, i64)> = redis::cmd("ZRANGE")
            .arg(dialect.keys(&q).delayed)
            .arg(0)
            .arg(-1)
            .arg("WITHSCORES")
            .query(&mut r)
            .expect("zrange");
        let (member, score) = &delayed[0];
        assert!((before + 30..=unix_now() + 30).contains(score), "{dialect}: due in 30 s");
        let text = String::from_utf8_lossy(member);
        // both generations: the next run sees attempts() == 2
        let stored = if dialect == Dialect::V1 { 2 } else { 1 };
        assert!(text.ends_with(&format!("\"attempts\":{stored}}}")), "{dialect}: {text}");
    }
}

#[test]
fn unknown_names_and_unreadable_payloads_go_to_the_dead_letter_list() {
    for dialect in [Dialect::V1, Dialect::V3] {
        let port = shared().port();
        let q = unique_queue("dead");
        let mut p = producer(port, dialect);
        p.push(&NewJob::new("app\\job\\Nobody", Value::Int(1)), Some(&q)).expect("push");
        p.push_raw(b"not json", Some(&q)).expect("push");
        p.push_raw(br#"{"job":1,"data":null,"attempts":0}"#, Some(&q)).expect("push");
        p.push_raw(br#"{"job":"app\\job\\Known","data":null}"#, Some(&q)).expect("push");
        p.push(&NewJob::new("app\\job\\Known", Value::Int(2)), Some(&q)).expect("push");
        let written: Vec<Vec<u8>> = redis::cmd("LRANGE")
            .arg(dialect.keys(&q).ready)
            .arg(0)
            .arg(3)
            .query(&mut client(port))
            .expect("lrange");
        let events = log();
        let ev = events.clone();
        let stats = worker(port, dialect, &q)
            .handle("app\\job\\Known", |_: &mut JobContext<'_>| Ok(()))
            .on_event(move |e| ev.lock().expect("log").push(e.to_string()))
            .run()
            .expect("run");
        assert_eq!((stats.processed, stats.buried, stats.errors), (1, 4, 0), "{dialect}");
        assert_eq!(state(port, dialect, &q), (0, 0, 0, 4), "{dialect}");
        let dead: Vec<Vec<u8>> = redis::cmd("LRANGE")
            .arg(dialect.keys(&q).dead)
            .arg(0)
            .arg(-1)
            .query(&mut client(port))
            .expect("lrange");
        assert_eq!(dead, written, "{dialect}: the bytes as they were pushed, in order");
        let events = entries(&events);
        assert!(
            events[0].starts_with("Buried:") && events[0].contains("no handler for job `app\\job\\Nobody`"),
            "{events:?}"
        );
        assert!(events[1].contains("not valid JSON"), "{events:?}");
        assert!(
            events[4].starts_with("Processing:") && events[5].starts_with("Processed:"),
            "{events:?}"
        );
    }
}

#[test]
fn a_panicking_handler_is_an_error_not_a_crash() {
    let port = shared().port();
    let q = unique_queue("panic");
    producer(port, Dialect::V3)
        .push(&NewJob::new("app\\job\\Boom", Value::Null), Some(&q))
        .expect("push");
    let failed = log();
    let f = failed.clone();
    let stats = worker(port, Dialect::V3, &q)
        .tries(2)
        .handle(
            "app\\job\\Boom",
            FnHandler::new(|job: &mut JobContext<'_>| {
                if job.attempts() < 99 {
                    panic!("boom at {}", job.attempts());
                }
                Ok(())
            })
            .on_failed(move |job| f.lock().expect("log").push(job.reason.to_string())),
        )
        .run()
        .expect("run");
    assert_eq!((stats.released, stats.failed), (1, 1));
    assert_eq!(entries(&failed), ["the handler panicked: boom at 2"]);
    assert_eq!(state(port, Dialect::V3, &q), (0, 0, 0, 0));
}

#[test]
fn queues_are_polled_in_priority_order() {
    let port = shared().port();
    let (high, low) = (unique_queue("high"), unique_queue("low"));
    let mut p = producer(port, Dialect::V3);
    for i in 0..3 {
        p.push(&NewJob::new("app\\job\\Order", Value::from(format!("low{i}"))), Some(&low))
            .expect("push");
        p.push(&NewJob::new("app\\job\\Order", Value::from(format!("high{i}"))), Some(&high))
            .expect("push");
    }
    let seen = log();
    let s = seen.clone();
    Worker::new(conn(port), QueueOptions::new(Dialect::V3))
        .queues([&high, &low])
        .handle_signals(false)
        .stop_when_empty(true)
        .handle("app\\job\\Order", move |job: &mut JobContext<'_>| {
            let what = String::from_utf8_lossy(job.data().as_str().unwrap_or_default()).into_owned();
            s.lock().expect("log").push(format!("{}:{what}", job.queue() == high));
            Ok(())
        })
        .run()
        .expect("run");
    assert_eq!(
        entries(&seen),
        ["true:high0", "true:high1", "true:high2", "false:low0", "false:low1", "false:low2"]
    );
}

#[test]
fn concurrent_threads_process_each_job_exactly_once() {
    const JOBS: i64 = 2000;
    for dialect in [Dialect::V1, Dialect::V3] {
        let port = shared().port();
        let q = unique_queue("conc");
        let mut p = producer(port, dialect);
        let ids = p
            .bulk_serialize("app\\job\\Count", &(0..JOBS).collect::<Vec<_>>(), Some(&q))
            .expect("bulk");
        let seen: Arc<Mutex<Vec<(usize, i64, String)>>> = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let stats = worker(port, dialect, &q)
            .concurrency(4)
            .handle("app\\job\\Count", move |job: &mut JobContext<'_>| {
                let n: i64 = job.data_as()?;
                assert_eq!(job.attempts(), 1);
                s.lock()
                    .expect("log")
                    .push((job.worker(), n, job.id().unwrap_or_default().to_owned()));
                Ok(())
            })
            .run()
            .expect("run");
        let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
        assert_eq!(stats.processed, JOBS as u64);
        let ns: HashSet<i64> = seen.iter().map(|(_, n, _)| *n).collect();
        let got_ids: HashSet<&str> = seen.iter().map(|(_, _, id)| id.as_str()).collect();
        assert_eq!(seen.len(), JOBS as usize, "{dialect}: no job twice");
        assert_eq!(ns, (0..JOBS).collect::<HashSet<_>>());
        assert_eq!(got_ids, ids.iter().map(String::as_str).collect::<HashSet<_>>());
        let threads: HashSet<usize> = seen.iter().map(|(w, _, _)| *w).collect();
        assert!(threads.len() > 1, "{dialect}: several threads worked: {threads:?}");
        assert_eq!(state(port, dialect, &q), (0, 0, 0, 0));
    }
}

#[test]
fn shutdown_finishes_the_current_job_and_pops_nothing_new() {
    let port = shared().port();
    let q = unique_queue("stop");
    let mut p = producer(port, Dialect::V3);
    for i in 0..5 {
        p.push(&NewJob::new("app\\job\\Slow", Value::Int(i)), Some(&q)).expect("push");
    }
    let w = Worker::new(conn(port), QueueOptions::new(Dialect::V3))
        .queue(&q)
        .handle_signals(false)
        .idle_sleep(Duration::from_secs(30));
    let stop = w.shutdown_handle();
    let done = log();
    let d = done.clone();
    let w = w.handle("app\\job\\Slow", move |job: &mut JobContext<'_>| {
        stop.request(); // the stop arrives while the job runs
        std::thread::sleep(Duration::from_millis(200));
        d.lock().expect("log").push(format!("{:?}", job.data()));
        Ok(())
    });
    let stats = w.run().expect("run");
    assert_eq!(entries(&done), ["Int(0)"], "the running job finished");
    assert_eq!(stats.processed, 1);
    assert_eq!(state(port, Dialect::V3, &q), (4, 0, 0, 0), "the first deleted, nothing else taken");
}

#[test]
fn an_idle_worker_stops_at_once_on_sigterm() {
    let port = shared().port();
    let q = unique_queue("sigterm");
    producer(port, Dialect::V1)
        .push(&NewJob::new("app\\job\\Term", Value::Null), Some(&q))
        .expect("push");
    let w = Worker::new(conn(port), QueueOptions::new(Dialect::V1))
        .queue(&q)
        .idle_sleep(Duration::from_secs(60))
        .handle("app\\job\\Term", |_: &mut JobContext<'_>| {
            // SIGTERM to this process while the job runs, then once more while idle would be the
            // second signal (which ends the process): only one is sent
            signal_hook::low_level::raise(signal_hook::consts::SIGTERM)?;
            std::thread::sleep(Duration::from_millis(50));
            Ok(())
        });
    let t = Instant::now();
    let stats = w.run().expect("run");
    assert_eq!(stats.processed, 1);
    assert!(t.elapsed() < Duration::from_secs(10), "did not sleep 60 s: {:?}", t.elapsed());
    assert_eq!(state(port, Dialect::V1, &q), (0, 0, 0, 0));
}

#[test]
fn max_jobs_bounds_the_run_over_all_threads() {
    let port = shared().port();
    let q = unique_queue("max");
    producer(port, Dialect::V3)
        .bulk_serialize("app\\job\\Count", &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], Some(&q))
        .expect("bulk");
    let stats = worker(port, Dialect::V3, &q)
        .concurrency(3)
        .max_jobs(4)
        .handle("app\\job\\Count", |_: &mut JobContext<'_>| Ok(()))
        .run()
        .expect("run");
    assert_eq!(stats.processed, 4);
    assert_eq!(state(port, Dialect::V3, &q), (6, 0, 0, 0));
}

#[test]
fn names_typed_data_and_the_job_api() {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Sms {
        mobile: String,
        codes: Vec<u32>,
    }
    let port = shared().port();
    let q = unique_queue("api");
    let mut p = producer(port, Dialect::V3);
    // a PHP producer's short name (v3: Str::studly) and a Class@method name
    let id = p
        .push(
            &NewJob::new(
                "send_sms",
                Value::map(vec![("mobile", Value::from("138")), ("codes", Value::list(vec![Value::Int(7)]))]),
            ),
            Some(&q),
        )
        .expect("push");
    p.push(&NewJob::new("app\\job\\Sms@reminder", Value::from("x")), Some(&q))
        .expect("push");
    let seen = log();
    let (s1, s2) = (seen.clone(), seen.clone());
    worker(port, Dialect::V3, &q)
        .handle("app\\job\\SendSms", move |job: &mut JobContext<'_>| {
            let sms: Sms = job.data_as()?;
            s1.lock().expect("log").push(format!(
                "{} {:?} {:?} {} {} {:?}",
                job.name(),
                job.method(),
                sms,
                job.id().unwrap_or_default(),
                job.queue().len(),
                job.max_tries()
            ));
            assert!(job.data_as::<Vec<String>>().is_err_and(|e| e.is_malformed()));
            assert!(job.delete()?);
            assert!(job.is_deleted());
            Ok(())
        })
        .handle("app\\job\\Sms@reminder", move |job: &mut JobContext<'_>| {
            s2.lock().expect("log").push(format!("{} {:?}", job.name(), job.method()));
            job.redis_queue()
                .later_serialize(Delay::Seconds(60), "app\\job\\Followup", &["a"], Some("followups"))?;
            Ok(())
        })
        .run()
        .expect("run");
    assert_eq!(
        entries(&seen),
        [
            format!("send_sms None Sms {{ mobile: \"138\", codes: [7] }} {id} {} None", q.len()),
            "app\\job\\Sms@reminder Some(\"reminder\")".to_owned(),
        ]
    );
    assert_eq!(state(port, Dialect::V3, &q), (0, 0, 0, 0));
    assert_eq!(state(port, Dialect::V3, "followups").1, 1);
    let mut r = client(port);
    let _: i64 = redis::cmd("DEL").arg("{queues:followups}:delayed").query(&mut r).expect("del");
}

#[test]
fn keep_failed_moves_failed_jobs_to_the_dead_letter_list() {
    let port = shared().port();
    let q = unique_queue("keep");
    let mut p = producer(port, Dialect::V1);
    p.push(&NewJob::new("app\\job\\Flaky", Value::Int(1)), Some(&q)).expect("push");
    let (runs, failed) = (log(), log());
    let stats = worker(port, Dialect::V1, &q)
        .tries(1)
        .keep_failed(true)
        .handle("app\\job\\Flaky", always_failing(&runs, &failed))
        .run()
        .expect("run");
    assert_eq!((stats.released, stats.failed), (1, 1));
    assert_eq!(entries(&failed).len(), 1);
    assert_eq!(state(port, Dialect::V1, &q), (0, 0, 0, 1));
    let dead: Vec<u8> = redis::cmd("LINDEX")
        .arg(Dialect::V1.keys(&q).dead)
        .arg(0)
        .query(&mut client(port))
        .expect("lindex");
    assert!(String::from_utf8_lossy(&dead).ends_with("\"attempts\":2}"), "the popped bytes");
}

#[test]
fn start_fails_fast_and_later_outages_are_survived() {
    // nothing listening: run() returns the connection error
    let mut server = RedisServer::start();
    let port = server.port();
    server.stop();
    let err = Worker::new(conn(port), QueueOptions::new(Dialect::V3))
        .handle_signals(false)
        .run()
        .expect_err("no server");
    assert!(err.is_connection(), "{err}");

    // an outage while running: errors are reported, jobs pushed after the restart are processed
    server.restart();
    let q = unique_queue("outage");
    let errors = log();
    let e = errors.clone();
    let w = Worker::new(conn(port), QueueOptions::new(Dialect::V3))
        .queue(&q)
        .handle_signals(false)
        .idle_sleep(Duration::from_millis(5))
        .max_jobs(1)
        .on_event(move |ev| {
            if let Event::Error { error, .. } = ev {
                e.lock().expect("log").push(error.to_string());
            }
        })
        .handle("app\\job\\After", |_: &mut JobContext<'_>| Ok(()));
    let stats = std::thread::scope(|s| {
        let running = s.spawn(|| w.run());
        std::thread::sleep(Duration::from_millis(100));
        server.restart(); // comes back empty
        std::thread::sleep(Duration::from_millis(300));
        producer(port, Dialect::V3)
            .push(&NewJob::new("app\\job\\After", Value::Null), Some(&q))
            .expect("push");
        running.join().expect("thread").expect("run")
    });
    assert_eq!(stats.processed, 1);
    assert_eq!(state(port, Dialect::V3, &q), (0, 0, 0, 0));
}

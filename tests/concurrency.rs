//! Four threads popping 20,000 jobs from one queue get each job exactly once.

mod support;

use std::collections::HashSet;

use support::redis_server::{client, RedisServer};
use think_queue_native::{ConnectionOptions, Dialect, NewJob, QueueOptions, RedisQueue, Value};

fn run(dialect: Dialect) {
    const JOBS: usize = 20_000;
    const THREADS: usize = 4;
    let server = RedisServer::start();
    let port = server.port();
    let conn = ConnectionOptions {
        port,
        ..Default::default()
    };
    let mut producer = RedisQueue::connect(conn.clone(), QueueOptions::new(dialect)).expect("connect");
    let jobs: Vec<NewJob> = (0..JOBS).map(|i| NewJob::new("app\\job\\Count", Value::Int(i as i64))).collect();
    let ids = producer.bulk(&jobs, Some("conc")).expect("bulk");
    assert_eq!(ids.len(), JOBS);

    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let conn = conn.clone();
            std::thread::spawn(move || {
                let mut q = RedisQueue::connect(conn, QueueOptions::new(dialect)).expect("connect");
                let mut got = Vec::new();
                while let Some(job) = q.pop(Some("conc")).expect("pop") {
                    assert_eq!(job.attempts().expect("attempts"), 1);
                    let n = job.data().expect("data").as_int().expect("int");
                    assert!(q.delete_reserved(&job).expect("delete"), "our reservation is there");
                    got.push((n, job.id().expect("id").unwrap_or_default()));
                }
                got
            })
        })
        .collect();
    let mut seen_n = HashSet::new();
    let mut seen_id = HashSet::new();
    let mut per_thread = Vec::new();
    for w in workers {
        let got = w.join().expect("worker thread");
        per_thread.push(got.len());
        for (n, id) in got {
            assert!(seen_n.insert(n), "job {n} delivered twice");
            assert!(seen_id.insert(id), "id delivered twice");
        }
    }
    assert_eq!(seen_n.len(), JOBS, "every job exactly once");
    assert_eq!(seen_id, ids.into_iter().collect::<HashSet<_>>());
    assert!(per_thread.iter().all(|&n| n > 0), "every thread got work: {per_thread:?}");
    let mut r = client(port);
    assert_eq!(support::ctx::job_keys(&mut r), Vec::<String>::new(), "nothing left behind");
    eprintln!("{dialect}: {JOBS} jobs over {THREADS} threads: {per_thread:?}");
}

#[test]
fn four_threads_pop_each_job_exactly_once_v1() {
    run(Dialect::V1);
}

#[test]
fn four_threads_pop_each_job_exactly_once_v3() {
    run(Dialect::V3);
}

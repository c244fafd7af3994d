//! Cluster throughput benchmark (run by scripts/bench-cluster.sh): THREADS producer threads and
//! THREADS worker threads, each pair on its own think-queue 3.x queue (`{queues:bench-N}`, so the
//! queues spread over the cluster's slots), push and pop+delete JOBS jobs in total. Prints one
//! JSON line on stdout and a human line on stderr.
//!
//! `cargo run --release --example bench_cluster -- SETUP JOBS THREADS redis://127.0.0.1:6379`
//! (a single Redis) or `... cluster3 JOBS THREADS 127.0.0.1:7000,127.0.0.1:7001,...` (a cluster).

use std::time::{Duration, Instant};

use think_queue_native::{ConnectionOptions, Dialect, NewJob, QueueOptions, RedisQueue, Result, Value};

fn main() {
    if let Err(e) = run() {
        eprintln!("bench_cluster: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage =
        || think_queue_native::Error::Config("usage: bench_cluster SETUP JOBS THREADS (redis://URL | host:port,host:port,...)".into());
    let [setup, jobs, threads, target] = args.as_slice() else {
        return Err(usage());
    };
    let jobs: u64 = jobs.parse().map_err(|_| usage())?;
    let threads: u64 = threads.parse().map_err(|_| usage())?;
    let opts = if target.starts_with("redis") {
        ConnectionOptions::from_url(target)?
    } else {
        ConnectionOptions {
            cluster: target.split(',').map(str::to_owned).collect(),
            ..Default::default()
        }
    };
    let per_thread = jobs / threads.max(1);
    let run_id = std::process::id();
    // every queue starts empty
    for t in 0..threads {
        let mut q = RedisQueue::connect(opts.clone(), QueueOptions::new(Dialect::V3))?;
        let name = format!("bench-{run_id}-{t}");
        while let Some(job) = q.pop(Some(&name))? {
            q.delete_reserved(&job)?;
        }
    }
    let started = Instant::now();
    let mut handles = Vec::new();
    for t in 0..threads {
        let name = format!("bench-{run_id}-{t}");
        let (o, n) = (opts.clone(), name.clone());
        handles.push(std::thread::spawn(move || -> Result<u64> {
            let mut q = RedisQueue::connect(o, QueueOptions::new(Dialect::V3))?;
            for i in 0..per_thread {
                q.push(&NewJob::new("app\\job\\Bench", Value::Int(i as i64)), Some(&n))?;
            }
            Ok(0)
        }));
        let o = opts.clone();
        handles.push(std::thread::spawn(move || -> Result<u64> {
            let mut q = RedisQueue::connect(o, QueueOptions::new(Dialect::V3))?;
            let mut done = 0;
            let deadline = Instant::now() + Duration::from_secs(600);
            while done < per_thread && Instant::now() < deadline {
                if let Some(job) = q.pop_blocking(Some(&name), Duration::from_secs(1))? {
                    q.delete_reserved(&job)?;
                    done += 1;
                }
            }
            Ok(done)
        }));
    }
    let mut consumed = 0;
    for h in handles {
        consumed += h
            .join()
            .map_err(|_| think_queue_native::Error::Config("a benchmark thread panicked".into()))??;
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = consumed as f64 / secs.max(1e-9);
    println!("{{\"bench\":\"cluster\",\"setup\":\"{setup}\",\"jobs_per_s\":{rate:.0},\"jobs\":{consumed},\"threads\":{threads}}}");
    eprintln!("cluster bench [{setup}]: {consumed} jobs (push + pop + delete) with {threads} producer and {threads} worker threads in {secs:.2}s = {rate:.0} jobs/s");
    Ok(())
}

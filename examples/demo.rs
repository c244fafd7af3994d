//! End-to-end demo of the Rust API against a Redis given by URL (`make demo` starts a private one):
//! pushes and pops jobs in both think-queue dialects, shows the stored bytes, a retry, a crash
//! recovery, and prints throughput next to the Redis round-trip floor measured in the same run.
//!
//! Run: `cargo run --release --no-default-features --example demo -- redis://127.0.0.1:6379/0`

use std::time::{Duration, Instant};

use think_queue_native::{ConnectionOptions, Delay, Dialect, NewJob, QueueOptions, RedisQueue, Result, Value};

const N: usize = 20_000;

fn per_sec(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

fn sms(i: usize) -> Value {
    Value::map(vec![
        ("mobile", Value::from(format!("138{i:08}"))),
        ("text", Value::from("您的验证码是 1234 / code")),
        ("n", Value::Int(i as i64)),
    ])
}

fn main() {
    let url = std::env::args().nth(1).unwrap_or_else(|| "redis://127.0.0.1:6379/0".to_owned());
    if let Err(e) = run(&url) {
        eprintln!("demo failed: {e}");
        std::process::exit(1);
    }
}

fn run(url: &str) -> Result<()> {
    let conn = ConnectionOptions::from_url(url)?;

    // the physical floor: one PING per round trip
    let mut probe = RedisQueue::connect(conn.clone(), QueueOptions::new(Dialect::V3))?;
    let t = Instant::now();
    for _ in 0..N {
        probe.ping()?;
    }
    let ping_rate = per_sec(N, t.elapsed());
    println!("round-trip floor: {N} PINGs at {ping_rate:.0}/s ({:.1} us each)", 1e6 / ping_rate);

    for dialect in [Dialect::V1, Dialect::V3] {
        let gen = if dialect == Dialect::V1 {
            "think-queue 1.x/2.x"
        } else {
            "think-queue 3.x"
        };
        println!("\n== {dialect} ({gen})");
        let mut q = RedisQueue::connect(conn.clone(), QueueOptions::new(dialect))?;
        let keys = q.keys(Some("sms"));

        // one job, shown byte for byte
        let id = q.push(&NewJob::new("app\\job\\SendSms", sms(0)), Some("sms"))?;
        let job = q
            .pop(Some("sms"))?
            .ok_or_else(|| think_queue_native::Error::Config("queue unexpectedly empty".into()))?;
        println!(
            "push -> id {id}, RPUSH {}:\n  {}",
            keys.ready,
            String::from_utf8_lossy(job.raw_body())
        );
        println!(
            "pop  -> reserved in {} as:\n  {}",
            keys.reserved,
            String::from_utf8_lossy(job.reserved_body())
        );
        println!(
            "       name {}, attempts() {}, data {}",
            job.name()?,
            job.attempts()?,
            String::from_utf8_lossy(&think_queue_native::encode(job.data()?)?)
        );
        q.release(&job, 0)?;
        let again = q
            .pop(Some("sms"))?
            .ok_or_else(|| think_queue_native::Error::Config("released job missing".into()))?;
        println!("release(0) then pop -> attempts() {} (the retry)", again.attempts()?);
        q.delete_reserved(&again)?;

        // a crash between pop and delete: the job comes back once its reservation expires
        let mut short = QueueOptions::new(dialect);
        short.retry_after = Some(1);
        let mut crashing = RedisQueue::connect(conn.clone(), short.clone())?;
        crashing.push(&NewJob::new("app\\job\\Crashy", Value::Null), Some("crash"))?;
        let lost = crashing.pop(Some("crash"))?;
        drop(lost);
        drop(crashing);
        std::thread::sleep(Duration::from_millis(2100));
        let mut rescuer = RedisQueue::connect(conn.clone(), short)?;
        match rescuer.pop(Some("crash"))? {
            Some(j) => {
                println!(
                    "worker died after pop: job back after retry_after=1s with attempts() {}",
                    j.attempts()?
                );
                rescuer.delete_reserved(&j)?;
            }
            None => println!("worker died after pop: JOB NOT BACK (unexpected)"),
        }

        // throughput
        let jobs: Vec<NewJob> = (0..N).map(|i| NewJob::new("app\\job\\SendSms", sms(i))).collect();
        let t = Instant::now();
        for j in &jobs {
            q.push(j, Some("bench"))?;
        }
        let push = per_sec(N, t.elapsed());
        let t = Instant::now();
        q.bulk(&jobs, Some("bench"))?;
        let bulk = per_sec(N, t.elapsed());
        let t = Instant::now();
        let mut done = 0;
        while let Some(j) = q.pop(Some("bench"))? {
            // written behind: the delete rides inside the next pop, one round trip per job
            q.ack(&j)?;
            done += 1;
        }
        q.flush_acks()?;
        let pop = per_sec(done, t.elapsed());
        q.later(Delay::Seconds(3600), &NewJob::new("app\\job\\Later", Value::Null), Some("bench"))?;
        let sizes = q.sizes(Some("bench"))?;
        println!("push       {N} jobs: {push:>9.0} jobs/s ({:.2} round trips/job)", ping_rate / push);
        println!("bulk       {N} jobs: {bulk:>9.0} jobs/s (pipelined RPUSH)");
        println!(
            "pop+delete {done} jobs: {pop:>9.0} jobs/s ({:.2} round trips/job; ack rides with the next pop)",
            ping_rate / pop
        );
        println!(
            "left: ready {} delayed {} reserved {} (one job delayed by an hour)",
            sizes.ready, sizes.delayed, sizes.reserved
        );
    }
    println!("\ndemo finished: all jobs consumed, nothing lost");
    Ok(())
}

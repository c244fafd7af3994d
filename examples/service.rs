// A Rust service on think-queue queues: `produce` pushes typed data (the bytes PHP's
// `Queue::push` writes for the same PHP array), `consume` runs a worker with think-queue's rules.
// README "Rust services and the tqn CLI" quotes both functions; tests/readme_service.rs runs them.
//
// Run: `cargo run --example service -- redis://127.0.0.1:6379/0`

use serde::{Deserialize, Serialize};
use think_queue_native::{ConnectionOptions, Dialect, JobContext, QueueOptions, RedisQueue, Result, Worker};

#[derive(Serialize, Deserialize)]
struct SendSms {
    mobile: String,
    text: String,
    codes: Vec<u32>,
}

fn produce(url: &str) -> Result<String> {
    // think-queue 3.x wire (ThinkPHP 6/8); Dialect::V1 for think-queue 1.x/2.x (ThinkPHP 5.0/5.1)
    let mut queue = RedisQueue::connect(ConnectionOptions::from_url(url)?, QueueOptions::new(Dialect::V3))?;
    let sms = SendSms {
        mobile: "13800000000".into(),
        text: "验证码 1234".into(),
        codes: vec![1234],
    };
    // what `Queue::push('app\job\SendSms', ['mobile' => ..., 'text' => ..., 'codes' => [1234]], 'sms')` writes
    queue.push_serialize("app\\job\\SendSms", &sms, Some("sms"))
}

fn consume(url: &str) -> Result<u64> {
    let stats = Worker::new(ConnectionOptions::from_url(url)?, QueueOptions::new(Dialect::V3))
        .queues(["sms", "default"]) // --queue=sms,default: sms first
        .tries(3) // --tries=3
        .delay(10) // --delay=10: a failed try runs again 10 s later
        .concurrency(2) // two handler threads, each with its own connection
        .stop_when_empty(true) // a daemon leaves this out: it stops on SIGTERM / SIGINT
        .handle("app\\job\\SendSms", |job: &mut JobContext<'_>| {
            let sms: SendSms = job.data_as()?;
            println!("sms to {} (attempt {}): {}", sms.mobile, job.attempts(), sms.text);
            Ok(()) // deleted; an Err releases it, or fails it at the end of the 3rd try
        })
        .run()?;
    Ok(stats.processed)
}

#[allow(dead_code)]
fn main() {
    let url = std::env::args().nth(1).unwrap_or_else(|| "redis://127.0.0.1:6379/0".to_owned());
    let run = || -> Result<()> {
        println!("pushed {}", produce(&url)?);
        println!("processed {}", consume(&url)?);
        Ok(())
    };
    if let Err(e) = run() {
        eprintln!("service: {e}");
        std::process::exit(1);
    }
}

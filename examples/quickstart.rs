// The README's quick start (tests/readme.rs runs it against a private redis-server and checks
// that the README quotes this file).
use think_queue_native::{ConnectionOptions, Delay, Dialect, NewJob, QueueOptions, RedisQueue, Result, Value};

fn quickstart(url: &str) -> Result<()> {
    // think-queue 3.x wire (ThinkPHP 6/8); Dialect::V1 for think-queue 1.x/2.x (ThinkPHP 5.0/5.1)
    let mut queue = RedisQueue::connect(ConnectionOptions::from_url(url)?, QueueOptions::new(Dialect::V3))?;

    // producer: the same bytes as `Queue::push('app\job\SendSms', [...], 'sms')` in PHP
    let data = Value::map(vec![("mobile", Value::from("13800000000")), ("n", Value::Int(1))]);
    let id = queue.push(&NewJob::new("app\\job\\SendSms", data), Some("sms"))?;
    queue.later(Delay::Seconds(60), &NewJob::new("app\\job\\Remind", Value::Null), Some("sms"))?;

    // consumer: pop reserves the job atomically; delete or release it when done
    if let Some(job) = queue.pop(Some("sms"))? {
        assert_eq!(job.id()?.as_deref(), Some(id.as_str()));
        println!("{} attempt {} data {:?}", job.name()?, job.attempts()?, job.data()?);
        if job.attempts()? < 3 {
            queue.delete_reserved(&job)?; // done
        } else {
            queue.release(&job, 10)?; // try again in 10 s
        }
    }
    Ok(())
}

#[allow(dead_code)]
fn main() -> Result<()> {
    quickstart(&std::env::args().nth(1).unwrap_or_else(|| "redis://127.0.0.1:6379/0".into()))
}

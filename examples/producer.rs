//! A Rust producer for PHP workers (mixed deployments): pushes typed `serde` data, which PHP job
//! classes receive as the PHP arrays `json_decode($payload, true)` gives them. Used by `make demo`
//! and by the PHP suites tests/php/mixed/ (which assert what the PHP handlers received).
//!
//! ```text
//! producer URL v1|v3 QUEUE            the showcase jobs below, one line per job: id, name, data as stored
//! producer URL v1|v3 QUEUE COUNT      COUNT jobs app\job\Hello {"n": i, "from": "rust"}, one id per line
//! ```

use std::collections::BTreeMap;
use std::process::exit;

use serde::Serialize;
use think_queue_native::{encode, to_value, ConnectionOptions, Delay, Dialect, NewJob, QueueOptions, RedisQueue, Result};

/// An order, as a PHP app would hold it in an associative array.
#[derive(Serialize)]
struct Order {
    id: u64,
    sku: &'static str,
    qty: u32,
    price: f64,
    total: f64,
    paid: bool,
    note: Option<&'static str>,
    tags: Vec<&'static str>,
    meta: BTreeMap<String, i32>,
    address: Address,
    shipping: Shipping,
    /// numeric-string keys are int keys in PHP: [1 => 'gold', 2 => 'silver']
    levels: BTreeMap<&'static str, &'static str>,
}

#[derive(Serialize)]
struct Address {
    city: &'static str,
    line: &'static str,
}

#[derive(Serialize)]
enum Shipping {
    Express { days: u8 },
}

#[derive(Serialize)]
struct Count {
    n: u64,
    from: &'static str,
}

fn showcase() -> Result<Vec<(&'static str, NewJob, Option<Delay>)>> {
    let order = Order {
        id: 1001,
        sku: "A-1/B",
        qty: 2,
        price: 9.9,
        total: 19.8,
        paid: true,
        note: None,
        tags: vec![],
        meta: BTreeMap::new(),
        address: Address {
            city: "上海",
            line: "\"No. 1\" <Road>",
        },
        shipping: Shipping::Express { days: 2 },
        levels: [("1", "gold"), ("2", "silver")].into_iter().collect(),
    };
    Ok(vec![
        ("app\\job\\Hello", NewJob::serialize("app\\job\\Hello", &order)?, None),
        (
            "app\\job\\Hello@greet",
            NewJob::serialize("app\\job\\Hello@greet", &("hi", 2, [0.5, 1e20]))?,
            None,
        ),
        (
            "app\\job\\Hello",
            NewJob::serialize("app\\job\\Hello", &Some("later"))?,
            Some(Delay::Seconds(0)),
        ),
    ])
}

fn run(url: &str, dialect: Dialect, queue: &str, count: Option<u64>) -> Result<()> {
    let mut q = RedisQueue::connect(ConnectionOptions::from_url(url)?, QueueOptions::new(dialect))?;
    if let Some(count) = count {
        let items: Vec<Count> = (0..count).map(|n| Count { n, from: "rust" }).collect();
        for id in q.bulk_serialize("app\\job\\Hello", &items, Some(queue))? {
            println!("{id}");
        }
        return Ok(());
    }
    for (name, job, delay) in showcase()? {
        let id = match delay {
            Some(d) => q.later(d, &job, Some(queue))?,
            None => q.push(&job, Some(queue))?,
        };
        let data = String::from_utf8_lossy(&encode(&to_value(&job.data)?)?).into_owned();
        println!("{id} {name} {data}");
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || -> ! {
        eprintln!("usage: producer URL v1|v3 QUEUE [COUNT]");
        exit(2)
    };
    if args.len() < 3 || args.len() > 4 {
        usage();
    }
    let Some(dialect) = Dialect::parse(&args[1]) else { usage() };
    let count = args.get(3).map(|c| c.parse::<u64>().unwrap_or_else(|_| usage()));
    if let Err(e) = run(&args[0], dialect, &args[2], count) {
        eprintln!("producer: {e}");
        exit(1);
    }
}

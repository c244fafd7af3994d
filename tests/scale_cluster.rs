//! Redis Cluster (the scale suite): a private 3-primary, 3-replica cluster started by the test
//! support. think-queue 3.x queues on every primary through one connector; 1.x queues refused
//! unless their name carries a hash tag; a slot migrated (ASK, TRYAGAIN, MOVED) while a producer
//! and a worker run, every job exactly once; leases and tqn on a cluster.

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use support::cluster::Cluster;
use support::redis_server::{client, unique_queue};
use think_queue_native::{ConnectionOptions, Delay, Dialect, NewJob, QueueOptions, RedisQueue, Value};

/// One cluster for this test binary (never dropped: the servers' watchdogs stop it when the
/// process exits).
fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| Cluster::start(3, 1))
}

fn opts(c: &Cluster) -> ConnectionOptions {
    ConnectionOptions {
        cluster: c.seeds(),
        timeout: 5.0,
        read_timeout: 10.0,
        ..Default::default()
    }
}

fn queue(c: &Cluster, d: Dialect) -> RedisQueue {
    RedisQueue::connect(opts(c), QueueOptions::new(d)).unwrap_or_else(|e| panic!("connect to the cluster: {e}"))
}

/// Queue names whose v3 keys live on three different primaries.
fn spread_names(c: &Cluster, label: &str) -> Vec<(String, u16)> {
    let mut by_owner: HashMap<u16, String> = HashMap::new();
    for _ in 0..200 {
        let name = unique_queue(label);
        let owner = c.owner_of(&Dialect::V3.keys(&name).ready);
        by_owner.entry(owner).or_insert(name);
        if by_owner.len() == 3 {
            break;
        }
    }
    assert_eq!(by_owner.len(), 3, "queue names on 3 primaries");
    by_owner.into_iter().map(|(p, n)| (n, p)).collect()
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(n) => *n,
        other => panic!("not an int: {other:?}"),
    }
}

#[test]
fn v3_queues_work_on_every_primary() {
    let c = cluster();
    let mut q = queue(c, Dialect::V3);
    q.ping().expect("ping");
    for (name, owner) in spread_names(c, "spread") {
        let keys = Dialect::V3.keys(&name);
        let id = q.push(&NewJob::new("app\\job\\A", Value::Int(1)), Some(&name)).expect("push");
        q.bulk(
            &[NewJob::new("app\\job\\B", Value::Int(2)), NewJob::new("app\\job\\C", Value::Int(3))],
            Some(&name),
        )
        .expect("bulk");
        q.later(Delay::Seconds(-1), &NewJob::new("app\\job\\D", Value::Int(4)), Some(&name))
            .expect("later");
        // the raw state is on the slot's owner
        let mut raw = client(owner);
        let ready: i64 = redis::cmd("LLEN").arg(&keys.ready).query(&mut raw).expect("llen on the owner");
        assert_eq!(ready, 3, "{name} on {owner}");
        let s = q.sizes(Some(&name)).expect("sizes");
        assert_eq!((s.ready, s.delayed, s.reserved), (3, 1, 0));
        assert_eq!(q.migrate(Some(&name)).expect("migrate"), (1, 0));

        let first = q.pop(Some(&name)).expect("pop").expect("job");
        assert_eq!(first.id().expect("id").as_deref(), Some(id.as_str()));
        assert!(q.release(&first, 0).expect("release"));
        let mut seen = Vec::new();
        while let Some(job) = q.pop(Some(&name)).expect("pop") {
            seen.push(int(job.data().expect("data")));
            if seen.len() == 1 {
                assert!(q.bury(&job).expect("bury"));
            } else {
                assert!(q.delete_reserved(&job).expect("delete"));
            }
            if seen.len() > 10 {
                break;
            }
        }
        // B, C, D from ready; A released (due now) comes back through migration
        seen.sort_unstable();
        assert_eq!(seen, vec![1, 2, 3, 4], "{name}");
        assert_eq!(q.size(Some(&name)).expect("size"), 0);
        let dead: i64 = redis::cmd("LLEN").arg(&keys.dead).query(&mut raw).expect("llen dead");
        assert_eq!(dead, 1);
    }
}

#[test]
fn blocking_pop_wakes_on_a_push_on_another_primary_connection() {
    let c = cluster();
    for (name, _) in spread_names(c, "block") {
        let mut worker = queue(c, Dialect::V3);
        let producer_name = name.clone();
        let seeds = opts(c);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            let mut p = RedisQueue::connect(seeds, QueueOptions::new(Dialect::V3)).expect("connect");
            p.push(&NewJob::new("app\\job\\Wake", Value::Null), Some(&producer_name))
                .expect("push");
        });
        let started = Instant::now();
        let job = worker.pop_blocking(Some(&name), Duration::from_secs(20)).expect("pop_blocking");
        let waited = started.elapsed();
        t.join().expect("producer");
        let job = job.expect("woken by the push");
        assert!(waited < Duration::from_secs(10), "{waited:?}");
        assert!(worker.delete_reserved(&job).expect("delete"));
    }
}

#[test]
fn v1_queues_need_a_hash_tag() {
    let c = cluster();
    // the default queue `default` of a 1.x config: refused at construction
    let err = RedisQueue::connect(opts(c), QueueOptions::new(Dialect::V1)).err().expect("refused");
    let msg = err.to_string();
    assert!(err.is_config(), "{msg}");
    assert!(msg.contains("queue `default`") && msg.contains("`{default}`"), "{msg}");

    let mut o = QueueOptions::new(Dialect::V1);
    o.default_queue = "{jobs}".into();
    let mut q = RedisQueue::connect(opts(c), o).expect("a tagged default queue is fine");
    let untagged = unique_queue("v1");
    let err = q.push(&NewJob::new("A", Value::Null), Some(&untagged)).expect_err("refused");
    assert!(err.is_config() && err.to_string().contains(&format!("`{{{untagged}}}`")), "{err}");
    assert!(q.pop(Some(&untagged)).is_err());

    // `{name}`: queues:{name}, queues:{name}:delayed, :reserved share one slot
    let tagged = format!("{{{}}}", unique_queue("v1tag"));
    let k = Dialect::V1.keys(&tagged);
    let slot = c.slot_of(&k.ready);
    assert!([&k.delayed, &k.reserved, &k.dead].iter().all(|key| c.slot_of(key) == slot));
    q.push(&NewJob::new("A", Value::Int(1)), Some(&tagged)).expect("push");
    q.later(Delay::Seconds(-1), &NewJob::new("B", Value::Int(2)), Some(&tagged))
        .expect("later");
    let a = q.pop(Some(&tagged)).expect("pop").expect("job");
    assert_eq!(a.attempts().expect("attempts"), 1);
    assert!(q.release(&a, 0).expect("release"));
    let mut n = 0;
    while let Some(job) = q.pop(Some(&tagged)).expect("pop") {
        assert!(q.delete_reserved(&job).expect("delete"));
        n += 1;
    }
    assert_eq!(n, 2);
    let mut raw = client(c.owner_of(&k.ready));
    let stored: Vec<Vec<u8>> = redis::cmd("ZRANGE")
        .arg(&k.reserved)
        .arg(0)
        .arg(-1)
        .query(&mut raw)
        .expect("zrange");
    assert!(stored.is_empty());
}

#[test]
fn a_slot_migrates_while_a_producer_and_a_worker_run() {
    const JOBS: i64 = 1500;
    let c = cluster();
    let name = unique_queue("reshard");
    let key = Dialect::V3.keys(&name).ready;
    let slot = c.slot_of(&key);
    let from = c.owner_of(&key);
    let to = c.primaries().into_iter().find(|p| *p != from).expect("another primary");

    let produced = Arc::new(AtomicU64::new(0));
    let producer_errors = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let seen: Arc<Mutex<Vec<i64>>> = Arc::new(Mutex::new(Vec::new()));
    let worker_errors = Arc::new(AtomicU64::new(0));

    let producer = {
        let (o, name, produced, errors, done) = (opts(c), name.clone(), produced.clone(), producer_errors.clone(), done.clone());
        std::thread::spawn(move || {
            let mut q = RedisQueue::connect(o, QueueOptions::new(Dialect::V3)).expect("connect");
            for i in 0..JOBS {
                // a push that fails is retried: at-least-once, so a retried push may land twice
                loop {
                    // every 10th job delayed by 2 s, so the delayed set exists during the move too
                    let job = NewJob::new("app\\job\\N", Value::Int(i));
                    let r = if i % 10 == 0 {
                        q.later(Delay::Seconds(2), &job, Some(&name))
                    } else {
                        q.push(&job, Some(&name))
                    };
                    match r {
                        Ok(_) => break,
                        Err(e) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            eprintln!("producer: {e}");
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                }
                produced.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(2));
            }
            done.store(true, Ordering::Relaxed);
        })
    };
    let worker = {
        let (o, name, seen, errors, done) = (opts(c), name.clone(), seen.clone(), worker_errors.clone(), done.clone());
        std::thread::spawn(move || {
            let mut q = RedisQueue::connect(o, QueueOptions::new(Dialect::V3)).expect("connect");
            let deadline = Instant::now() + Duration::from_secs(180);
            while Instant::now() < deadline {
                match q.pop_blocking(Some(&name), Duration::from_millis(500)) {
                    Ok(Some(job)) => {
                        let n = int(job.data().expect("data"));
                        // "work": the reservation exists meanwhile, and the ready list keeps a backlog
                        std::thread::sleep(Duration::from_millis(3));
                        let mut tries = 0;
                        while let Err(e) = q.delete_reserved(&job) {
                            errors.fetch_add(1, Ordering::Relaxed);
                            eprintln!("worker delete: {e}");
                            tries += 1;
                            assert!(tries < 50, "delete keeps failing");
                            std::thread::sleep(Duration::from_millis(20));
                        }
                        seen.lock().expect("seen").push(n);
                    }
                    Ok(None) => {
                        if done.load(Ordering::Relaxed) && q.size(Some(&name)).unwrap_or(1) == 0 {
                            return;
                        }
                    }
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        eprintln!("worker: {e}");
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            }
        })
    };

    // migrate once jobs flow, slowly enough that both meet the slot half-moved
    let started = Instant::now();
    while produced.load(Ordering::Relaxed) < 300 {
        assert!(started.elapsed() < Duration::from_secs(60), "producer stalled");
        std::thread::sleep(Duration::from_millis(10));
    }
    let migrated_at = produced.load(Ordering::Relaxed);
    let keys_moved = c.migrate_slot(slot, from, to, Duration::from_millis(300));
    let after = produced.load(Ordering::Relaxed);
    producer.join().expect("producer");
    worker.join().expect("worker");

    assert_eq!(c.owner_of(&key), to, "the slot moved");
    let mut seen = seen.lock().expect("seen").clone();
    let total = seen.len();
    seen.sort_unstable();
    seen.dedup();
    let missing: Vec<i64> = (0..JOBS).filter(|i| seen.binary_search(i).is_err()).collect();
    let duplicates = total - seen.len();
    eprintln!(
        "reshard: slot {slot} {from} -> {to}, {keys_moved} keys moved while jobs {migrated_at}..{after} were pushed; \
         {JOBS} jobs, {} missing, {duplicates} duplicated; producer errors {}, worker errors {}",
        missing.len(),
        producer_errors.load(Ordering::Relaxed),
        worker_errors.load(Ordering::Relaxed)
    );
    assert!(missing.is_empty(), "lost jobs: {missing:?}");
    // a duplicate can only come from a push retried after an error
    assert!(
        duplicates as u64 <= producer_errors.load(Ordering::Relaxed),
        "{duplicates} duplicates"
    );
    let mut q = queue(c, Dialect::V3);
    assert_eq!(q.size(Some(&name)).expect("size"), 0);
}

#[test]
fn leases_renew_on_a_cluster() {
    let c = cluster();
    let name = spread_names(c, "lease").remove(0).0;
    let mut o = QueueOptions::new(Dialect::V3);
    o.retry_after = Some(1);
    o.lease = true;
    let mut a = RedisQueue::connect(opts(c), o.clone()).expect("connect");
    o.lease = false;
    let mut b = RedisQueue::connect(opts(c), o).expect("connect");
    a.push(&NewJob::new("Long", Value::Null), Some(&name)).expect("push");
    let job = a.pop(Some(&name)).expect("pop").expect("job");
    std::thread::sleep(Duration::from_millis(3200));
    assert!(b.pop(Some(&name)).expect("pop").is_none(), "the lease kept it reserved");
    assert!(a.delete_reserved(&job).expect("delete"));
}

#[test]
fn tqn_reads_and_writes_a_cluster() {
    let c = cluster();
    let (name, _) = spread_names(c, "tqn").remove(0);
    let seeds = c.seeds().join(",");
    let out = assert_cmd::Command::cargo_bin("tqn")
        .expect("tqn binary")
        .args([
            "--cluster",
            &seeds,
            "--dialect",
            "v3",
            "push",
            &name,
            "app\\job\\Cli",
            "--data",
            "[1]",
            "--repeat",
            "3",
        ])
        .output()
        .expect("run tqn push");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = assert_cmd::Command::cargo_bin("tqn")
        .expect("tqn binary")
        .args(["--cluster", &seeds, "--json", "stats"])
        .output()
        .expect("run tqn stats");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let row = rows
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["queue"] == name.as_str()))
        .unwrap_or_else(|| panic!("{name} in {rows}"));
    assert_eq!(row["ready"], 3, "{row}");
}

#[test]
fn an_acl_user_with_the_readme_rule_works_on_a_cluster() {
    let c = cluster();
    for n in &c.nodes {
        support::acl::setuser(n.port(), "cluster-queue-pw");
    }
    let o = ConnectionOptions {
        username: Some("queue".into()),
        password: Some("cluster-queue-pw".into()),
        ..opts(c)
    };
    let mut q = RedisQueue::connect(o, QueueOptions::new(Dialect::V3)).expect("connect as the queue user");
    for (name, _) in spread_names(c, "acl") {
        q.push(&NewJob::new("A", Value::Int(1)), Some(&name)).expect("push");
        q.later(Delay::Seconds(-1), &NewJob::new("B", Value::Int(2)), Some(&name))
            .expect("later");
        assert_eq!(q.size(Some(&name)).expect("size"), 2);
        let mut n = 0;
        while let Some(job) = q.pop_blocking(Some(&name), Duration::from_millis(200)).expect("pop") {
            assert!(q.delete_reserved(&job).expect("delete"));
            n += 1;
        }
        assert_eq!(n, 2);
    }
}

#[test]
fn deferred_acks_of_queues_on_several_primaries() {
    // acks held back for queues in different slots go out as one pipeline, routed per command
    let c = cluster();
    let names = spread_names(c, "ack");
    let mut q = queue(c, Dialect::V3);
    let mut jobs = Vec::new();
    for (name, _) in &names {
        q.push(&NewJob::new("A", Value::Null), Some(name)).expect("push");
        jobs.push(q.pop(Some(name)).expect("pop").expect("job"));
    }
    for job in &jobs {
        q.ack(job).expect("ack");
    }
    assert_eq!(q.pending_acks(), names.len());
    q.flush_acks().expect("flush across slots");
    for (name, owner) in &names {
        let mut raw = client(*owner);
        let n: i64 = redis::cmd("ZCARD")
            .arg(Dialect::V3.keys(name).reserved)
            .query(&mut raw)
            .expect("zcard");
        assert_eq!(n, 0, "{name}");
    }
}

#[test]
fn metrics_and_the_registry_live_in_the_queues_slot() {
    let c = cluster();
    for _ in 0..3 {
        let name = unique_queue("cl_metrics");
        let keys = Dialect::V3.keys(&name);
        for key in [
            &keys.metrics,
            &keys.metrics_minute(29_000_000),
            &keys.workers,
            &keys.worker("h-1-abcd"),
        ] {
            assert_eq!(c.slot_of(key), c.slot_of(&keys.ready), "{key}");
        }
        let mut q = queue(c, Dialect::V3);
        q.push(&NewJob::new("app\\job\\M", Value::Int(1)), Some(&name)).expect("push");
        let job = q.pop(Some(&name)).expect("pop").expect("a job");
        q.ack(&job).expect("ack");
        // the heartbeat announces the worker on the node that owns the queue's slot
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let mut node = client(c.owner_of(&keys.workers));
            let n: i64 = redis::cmd("ZCARD").arg(&keys.workers).query(&mut node).unwrap_or(0);
            if n == 1 {
                break;
            }
            assert!(Instant::now() < until, "{name}: no worker announced");
            std::thread::sleep(Duration::from_millis(50));
        }
        drop(q);
        let mut node = client(c.owner_of(&keys.metrics));
        let fields: Vec<(Vec<u8>, i64)> = redis::cmd("HGETALL").arg(&keys.metrics).query(&mut node).expect("hgetall");
        let m = think_queue_native::metrics::parse_hash(&fields);
        assert_eq!(m["app\\job\\M"].processed, 1, "{name}");
    }
}

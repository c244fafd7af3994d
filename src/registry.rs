//! The workers registry: each native worker announces itself on the queues it pops from, so
//! operators (`tqn dashboard`, `tqn workers`) see who consumes what, and notice queues nobody
//! consumes and workers stuck in a job.
//!
//! A [`RedisQueue`](crate::RedisQueue) with [`QueueOptions::metrics`](crate::QueueOptions::metrics)
//! on (the default) starts a heartbeat thread at its first pop (producers that never pop never
//! appear). The thread has its own connection, never touches the caller's socket or PHP, and
//! every [`BEAT`] writes, for each queue popped so far, in that queue's hash slot:
//! - `<ready>:worker:<id>`: a HASH (`id`, `host`, `pid`, `queues`, `started`, `beat`, `done`,
//!   `retry_after`, and while a job runs `job` and `since`) that expires [`TTL`] seconds after
//!   the last beat, so a worker that dies or hangs with its whole process vanishes by itself;
//! - `<ready>:workers`: a ZSET of worker ids scored by their last beat; ids that have not beaten
//!   for an hour are pruned by every beat.
//!
//! A worker alive for the registry is one whose hash exists. Because the thread beats while a job
//! runs, a worker busy with a long job stays visible, with `since` telling for how long: one whose
//! job outlived `retry_after` is flagged by the dashboard (its job is handed out again unless
//! leases are on). Dropping the queue object removes its entries at once. The id is
//! `<host>-<pid>-<4 letters>`.
#![forbid(unsafe_code)]

use std::collections::BTreeSet;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::clock::unix_now;
use crate::config::ConnectionOptions;
use crate::connection::Conn;
use crate::dialect::Dialect;

/// How often a worker beats.
pub const BEAT: Duration = Duration::from_secs(5);

/// Seconds a worker's hash lives after its last beat.
pub const TTL: i64 = 20;

/// Seconds after which a silent worker's id is pruned from the `<ready>:workers` set.
pub const PRUNE_AFTER: i64 = 3600;

#[derive(Default)]
struct State {
    queues: BTreeSet<String>,
    /// (the job's payload, unix second it started); the thread reads the job name out of it
    /// when it beats, so a pop never pays for decoding it
    current: Option<(Vec<u8>, i64)>,
    done: u64,
    /// a new queue to announce at once
    dirty: bool,
    stop: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

/// The heartbeat of one queue object.
pub(crate) struct Beacon {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    /// the process that started it: a forked child has no such thread
    pid: u32,
    dialect: Dialect,
    retry_after: Option<i64>,
}

/// What every beat writes besides the job state.
struct Identity {
    id: String,
    host: String,
    pid: u32,
    started: i64,
    dialect: Dialect,
    retry_after: Option<i64>,
}

impl Beacon {
    pub(crate) fn new(dialect: Dialect, retry_after: Option<i64>) -> Beacon {
        Beacon {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                wake: Condvar::new(),
            }),
            thread: None,
            pid: std::process::id(),
            dialect,
            retry_after,
        }
    }

    fn forked(&mut self) {
        if self.pid != std::process::id() {
            // the parent's thread does not exist here and its lock may be held forever
            *self = Beacon::new(self.dialect, self.retry_after);
        }
    }

    /// A pop on `queue` (starts the heartbeat; a new queue is announced at once).
    pub(crate) fn popping(&mut self, conn: &ConnectionOptions, queue: &str) {
        self.forked();
        if let Ok(mut st) = self.shared.state.lock() {
            if !st.queues.contains(queue) {
                st.queues.insert(queue.to_owned());
                st.dirty = true;
                self.shared.wake.notify_all();
            }
        }
        if self.thread.is_none() {
            self.thread = spawn(self.shared.clone(), conn.clone(), self.identity());
        }
    }

    /// A job started (its payload as popped).
    pub(crate) fn started(&mut self, payload: &[u8], at: i64) {
        if self.pid != std::process::id() {
            return;
        }
        if let Ok(mut st) = self.shared.state.lock() {
            st.current = Some((payload.to_vec(), at));
        }
    }

    /// The running job ended (deleted, released, buried).
    pub(crate) fn ended(&mut self) {
        if self.pid != std::process::id() {
            return;
        }
        if let Ok(mut st) = self.shared.state.lock() {
            if st.current.take().is_some() {
                st.done += 1;
            }
        }
    }

    fn identity(&self) -> Identity {
        let pid = std::process::id();
        let host = hostname();
        let tail: String = crate::id::new_job_id().chars().take(4).collect();
        Identity {
            id: format!("{host}-{pid}-{tail}"),
            host,
            pid,
            started: unix_now(),
            dialect: self.dialect,
            retry_after: self.retry_after,
        }
    }
}

impl Drop for Beacon {
    fn drop(&mut self) {
        if self.pid != std::process::id() {
            return;
        }
        if let Ok(mut st) = self.shared.state.lock() {
            st.stop = true;
        }
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// This machine's name, as a worker id may spell it: `[A-Za-z0-9._-]` only.
fn hostname() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .unwrap_or_default();
    let clean: String = raw
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(64)
        .collect();
    if clean.is_empty() {
        "localhost".into()
    } else {
        clean
    }
}

/// The client name of a heartbeat connection (`CLIENT LIST` shows it).
pub const CLIENT_NAME: &str = "tqn-registry";

fn spawn(shared: Arc<Shared>, mut opts: ConnectionOptions, me: Identity) -> Option<JoinHandle<()>> {
    // heartbeats need no WAIT: one lost in a failover is made again at the next beat
    opts.wait = None;
    let named = opts.cluster.is_empty();
    std::thread::Builder::new()
        .name("tqn-registry".into())
        .spawn(move || {
            let Ok(mut conn) = Conn::new(opts) else { return };
            loop {
                let (queues, current, done, stop) = {
                    let Ok(mut st) = shared.state.lock() else { return };
                    if !st.stop && !st.dirty {
                        let Ok((next, _)) = shared.wake.wait_timeout_while(st, BEAT, |st| !st.stop && !st.dirty) else {
                            return;
                        };
                        st = next;
                    }
                    st.dirty = false;
                    (st.queues.iter().cloned().collect::<Vec<_>>(), st.current.clone(), st.done, st.stop)
                };
                if stop {
                    let _ = leave(&mut conn, &me, &queues);
                    return;
                }
                let _ = beat(&mut conn, &me, &queues, current.as_ref(), done, named);
            }
        })
        .ok()
}

fn beat(conn: &mut Conn, me: &Identity, queues: &[String], current: Option<&(Vec<u8>, i64)>, done: u64, named: bool) -> crate::Result<()> {
    let now = unix_now();
    let all = queues.join(",");
    let current = current.map(|(payload, since)| {
        let job = crate::job::ReservedJob::stored("", me.dialect, payload.clone());
        (job.name().unwrap_or_else(|_| crate::metrics::MALFORMED_NAME.into()), *since)
    });
    for q in queues {
        let keys = me.dialect.keys(q);
        let key = keys.worker(&me.id);
        let mut pipe = redis::pipe();
        if named {
            // named on every beat (a reconnect forgets it), in the same round trip; not on a
            // cluster, where a keyless command has no node to go to
            pipe.cmd("CLIENT").arg("SETNAME").arg(CLIENT_NAME).ignore();
        }
        let hset = pipe
            .cmd("HSET")
            .arg(&key)
            .arg("id")
            .arg(&me.id)
            .arg("host")
            .arg(&me.host)
            .arg("pid")
            .arg(me.pid)
            .arg("queues")
            .arg(&all)
            .arg("started")
            .arg(me.started)
            .arg("beat")
            .arg(now)
            .arg("done")
            .arg(done)
            .arg("retry_after")
            .arg(me.retry_after.map_or(String::new(), |s| s.to_string()));
        match &current {
            Some((job, since)) => {
                hset.arg("job").arg(job).arg("since").arg(*since).ignore();
            }
            None => {
                hset.ignore();
                pipe.cmd("HDEL").arg(&key).arg("job").arg("since").ignore();
            }
        }
        pipe.cmd("EXPIRE").arg(&key).arg(TTL).ignore();
        pipe.cmd("ZADD").arg(&keys.workers).arg(now).arg(&me.id).ignore();
        pipe.cmd("ZREMRANGEBYSCORE")
            .arg(&keys.workers)
            .arg("-inf")
            .arg(now - PRUNE_AFTER)
            .ignore();
        pipe.cmd("EXPIRE").arg(&keys.workers).arg(PRUNE_AFTER).ignore();
        conn.run_write(&keys.workers, |c| pipe.query::<()>(c))?;
    }
    Ok(())
}

fn leave(conn: &mut Conn, me: &Identity, queues: &[String]) -> crate::Result<()> {
    for q in queues {
        let keys = me.dialect.keys(q);
        let mut pipe = redis::pipe();
        pipe.cmd("DEL").arg(keys.worker(&me.id)).ignore();
        pipe.cmd("ZREM").arg(&keys.workers).arg(&me.id).ignore();
        conn.run_write(&keys.workers, |c| pipe.query::<()>(c))?;
    }
    Ok(())
}

/// One worker as its registry hash describes it (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct WorkerInfo {
    /// `<host>-<pid>-<4 letters>`
    pub id: String,
    /// the machine's name
    pub host: String,
    /// the worker's process id
    pub pid: u32,
    /// the queues it pops from (those it has popped so far)
    pub queues: Vec<String>,
    /// unix second it started
    pub started: i64,
    /// unix second of its last beat
    pub beat: i64,
    /// jobs it finished (deleted, released, buried)
    pub done: u64,
    /// its reservation time (`None`: reservations never expire)
    pub retry_after: Option<i64>,
    /// the job it runs now, if any
    pub job: Option<String>,
    /// unix second that job started
    pub since: Option<i64>,
}

impl WorkerInfo {
    /// Reads a worker hash (`HGETALL <ready>:worker:<id>`); missing or unreadable fields stay empty.
    pub fn from_hash(fields: &[(String, String)]) -> WorkerInfo {
        let mut w = WorkerInfo::default();
        for (k, v) in fields {
            match k.as_str() {
                "id" => w.id = v.clone(),
                "host" => w.host = v.clone(),
                "pid" => w.pid = v.parse().unwrap_or(0),
                "queues" => w.queues = v.split(',').filter(|q| !q.is_empty()).map(str::to_owned).collect(),
                "started" => w.started = v.parse().unwrap_or(0),
                "beat" => w.beat = v.parse().unwrap_or(0),
                "done" => w.done = v.parse().unwrap_or(0),
                "retry_after" => w.retry_after = v.parse().ok(),
                "job" => w.job = Some(v.clone()),
                "since" => w.since = v.parse().ok(),
                _ => {}
            }
        }
        w
    }

    /// Whether its current job has run longer than `retry_after`: the reservation expired, so
    /// (without leases) the job has been or will be handed to another worker too.
    pub fn overran(&self, now: i64) -> bool {
        match (self.since, self.retry_after) {
            (Some(since), Some(limit)) => self.job.is_some() && now - since > limit,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_hashes_read_back() {
        let f = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        let w = WorkerInfo::from_hash(&[
            f("id", "h-1-abcd"),
            f("pid", "1"),
            f("queues", "a,b"),
            f("retry_after", "60"),
            f("job", "J"),
            f("since", "100"),
            f("done", "x"),
        ]);
        assert_eq!((w.pid, w.queues.len(), w.done), (1, 2, 0));
        assert!(!w.overran(160) && w.overran(161));
        assert!(!WorkerInfo { job: None, ..w.clone() }.overran(1000));
        assert!(!WorkerInfo { retry_after: None, ..w }.overran(1000));
    }

    #[test]
    fn hostnames_are_safe_in_ids() {
        let h = hostname();
        assert!(!h.is_empty());
        assert!(h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')), "{h}");
    }
}

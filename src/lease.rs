//! Reservation leases: keep a running job's reservation from expiring while its worker is alive.
//!
//! Off by default (stock behaviour: a job that runs longer than `expire`/`retry_after` is handed
//! to a second worker). With [`QueueOptions::lease`](crate::QueueOptions::lease) on, every job a
//! `RedisQueue` pops is registered here, and a background thread (with its own Redis connection,
//! so it never touches the caller's socket, and never touches PHP) pushes the reservation's
//! expiry forward every third of `retry_after` with `ZADD key XX score member`: `XX` updates a
//! member only while it exists, so a job that was deleted, released or buried meanwhile is never
//! re-added. The lease ends when the job is deleted, released or buried through the same queue
//! object, when that object is dropped, and when the process dies (the thread dies with it); a
//! crashed worker's jobs therefore come back after `retry_after` as without leases.
//!
//! Trade-off: a worker that hangs (deadlock, stuck I/O) while its process stays alive keeps its
//! job reserved forever; use think-queue 3's `--timeout` (which kills the process) or a
//! supervisor with a watchdog alongside leases.
#![forbid(unsafe_code)]

use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::clock::unix_now;
use crate::config::ConnectionOptions;
use crate::connection::Conn;

struct State {
    /// (reserved ZSET key, member)
    jobs: HashSet<(String, Vec<u8>)>,
    stop: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

/// The lease thread of one `RedisQueue`.
pub(crate) struct Leases {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    /// process that started the thread: a forked child has no such thread
    pid: u32,
    retry_after: i64,
}

/// How often leases are renewed: a third of the reservation time, at least every 250 ms.
fn interval(retry_after: i64) -> Duration {
    Duration::from_millis((retry_after.max(1) as u64).saturating_mul(1000) / 3).max(Duration::from_millis(250))
}

impl Leases {
    pub(crate) fn new(retry_after: i64) -> Leases {
        Leases {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    jobs: HashSet::new(),
                    stop: false,
                }),
                wake: Condvar::new(),
            }),
            thread: None,
            pid: std::process::id(),
            retry_after,
        }
    }

    /// Starts renewing the reservation `member` of `key`.
    pub(crate) fn hold(&mut self, conn: &ConnectionOptions, key: &str, member: &[u8]) {
        if self.pid != std::process::id() {
            // forked: the parent's thread does not exist here and its lock may be held forever;
            // start afresh without touching the inherited state
            *self = Leases::new(self.retry_after);
        }
        if let Ok(mut st) = self.shared.state.lock() {
            st.jobs.insert((key.to_owned(), member.to_vec()));
        }
        if self.thread.is_none() {
            self.thread = spawn(self.shared.clone(), conn.clone(), self.retry_after);
        }
    }

    /// Stops renewing it (the job was deleted, released or buried).
    pub(crate) fn release(&mut self, key: &str, member: &[u8]) {
        if self.pid != std::process::id() {
            return;
        }
        if let Ok(mut st) = self.shared.state.lock() {
            st.jobs.remove(&(key.to_owned(), member.to_vec()));
        }
    }

    /// How many reservations are being renewed.
    pub(crate) fn held(&self) -> usize {
        self.shared.state.lock().map(|st| st.jobs.len()).unwrap_or(0)
    }
}

impl Drop for Leases {
    fn drop(&mut self) {
        if self.pid != std::process::id() {
            return; // not our thread
        }
        if let Ok(mut st) = self.shared.state.lock() {
            st.stop = true;
            st.jobs.clear();
        }
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn spawn(shared: Arc<Shared>, mut opts: ConnectionOptions, retry_after: i64) -> Option<JoinHandle<()>> {
    let every = interval(retry_after);
    // renewals need no WAIT: a renewal lost in a failover is made again at the next tick
    opts.wait = None;
    std::thread::Builder::new()
        .name("tqn-lease".into())
        .spawn(move || {
            let Ok(mut conn) = Conn::new(opts) else { return };
            loop {
                let jobs: Vec<(String, Vec<u8>)> = {
                    let Ok(st) = shared.state.lock() else { return };
                    let Ok((st, _)) = shared.wake.wait_timeout_while(st, every, |st| !st.stop) else {
                        return;
                    };
                    if st.stop {
                        return;
                    }
                    st.jobs.iter().cloned().collect()
                };
                if jobs.is_empty() {
                    continue;
                }
                // scores are whole seconds and the expiry check is `score <= now`: one spare
                // second keeps a renewal made just before a second boundary valid after it
                let until = unix_now().saturating_add(retry_after).saturating_add(1);
                let mut pipe = redis::pipe();
                for (key, member) in &jobs {
                    pipe.cmd("ZADD").arg(key).arg("XX").arg(until).arg(member).ignore();
                }
                // a failed renewal is retried at the next tick; the reservation still has
                // two thirds of its time left
                let _ = conn.run_write("lease", |c| pipe.query::<()>(c));
            }
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_interval() {
        assert_eq!(interval(60), Duration::from_secs(20));
        assert_eq!(interval(1), Duration::from_millis(333));
        assert_eq!(interval(0), Duration::from_millis(333));
    }
}

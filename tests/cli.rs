//! The `tqn` binary against real redis-servers (one per test, so queue discovery sees only the
//! test's own queues): the bytes it writes, what it reports, what it moves and deletes.

mod support;

use assert_cmd::Command;
use predicates::prelude::*;
use support::redis_server::{client, RedisServer};
use think_queue_native::{unix_now, Dialect};

fn tqn(server: &RedisServer) -> Command {
    let mut cmd = Command::cargo_bin("tqn").expect("the tqn binary");
    cmd.env_remove("TQN_REDIS_URL").arg("--url").arg(server.url());
    cmd
}

fn json(out: &[u8]) -> serde_json::Value {
    serde_json::from_slice(out).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(out)))
}

fn query<T: redis::FromRedisValue>(server: &RedisServer, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(&mut client(server.port())).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

#[test]
fn push_writes_stock_bytes_in_both_generations() {
    let server = RedisServer::start();
    // data goes through json_decode($data, true) (PHP checked by hand): {} is an (empty) PHP array,
    // "/" is escaped on the way out, 1.0 is written 1, -0.0 -0
    let data = r#"{"mobile":"13800000000","n":1,"o":{},"url":"a/b","zh":"中"}"#;
    let out = tqn(&server)
        .args(["--dialect", "v1", "--json", "push", "sms", "app\\job\\SendSms", "--data", data])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let id = json(&out)["ids"][0].as_str().unwrap_or_default().to_owned();
    let raw: String = query(&server, &["LINDEX", "queues:sms", "0"]);
    assert_eq!(
        raw,
        format!(
            r#"{{"job":"app\\job\\SendSms","data":{{"mobile":"13800000000","n":1,"o":[],"url":"a\/b","zh":"\u4e2d"}},"id":"{id}","attempts":1}}"#
        )
    );

    tqn(&server)
        .args(["--dialect", "v3", "push", "sms", "app\\job\\SendSms", "--data", "[1.0,-0.0,1e20]"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("pushed app\\job\\SendSms to {queues:sms} (v3) as "));
    let raw: String = query(&server, &["LINDEX", "{queues:sms}", "0"]);
    assert!(
        raw.starts_with(r#"{"job":"app\\job\\SendSms","maxTries":null,"timeout":null,"data":[1,-0,1.0e+20],"id":""#)
            && raw.ends_with(r#"","attempts":0}"#),
        "{raw}"
    );

    // no --data: think-queue's default ''; --delay: the delayed set, scored now + delay
    let before = unix_now();
    tqn(&server)
        .args(["--dialect", "v3", "push", "sms", "Later", "--delay", "60"])
        .assert()
        .success();
    let delayed: Vec<(String, i64)> = query(&server, &["ZRANGE", "{queues:sms}:delayed", "0", "-1", "WITHSCORES"]);
    assert!(delayed[0].0.contains(r#""data":"","id""#), "{delayed:?}");
    assert!((before + 60..=unix_now() + 60).contains(&delayed[0].1));
}

#[test]
fn push_needs_a_dialect_for_a_new_queue_and_detects_it_otherwise() {
    let server = RedisServer::start();
    tqn(&server)
        .args(["push", "fresh", "Job"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("pass --dialect v1"));
    let _: i64 = query(&server, &["RPUSH", "queues:old", "x"]);
    tqn(&server)
        .args(["push", "old", "Job"])
        .assert()
        .success()
        .stdout(predicate::str::contains("to queues:old (v1)"));
    tqn(&server)
        .args(["--dialect", "v3", "push", "x", "Job", "--data", "{bad"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--data is not valid JSON"));
}

#[test]
fn push_repeat_pushes_distinct_jobs() {
    let server = RedisServer::start();
    let out = tqn(&server)
        .args([
            "--dialect",
            "v3",
            "--json",
            "push",
            "bulk",
            "Job",
            "--data",
            "7",
            "--repeat",
            "2500",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let ids = json(&out)["ids"].as_array().cloned().unwrap_or_default();
    let distinct: std::collections::HashSet<String> = ids.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect();
    assert_eq!((ids.len(), distinct.len()), (2500, 2500));
    assert_eq!(query::<i64>(&server, &["LLEN", "{queues:bulk}"]), 2500);
}

/// A v1 queue `a` and a v3 queue `b` with jobs in every state, scores relative to now.
fn populate(server: &RedisServer, now: i64) {
    let v1 = Dialect::V1.keys("a");
    let v3 = Dialect::V3.keys("b");
    let mut r = client(server.port());
    let mut pipe = redis::pipe();
    pipe.cmd("RPUSH")
        .arg(&v1.ready)
        .arg(r#"{"job":"A","data":1,"id":"r1","attempts":1}"#)
        .arg(r#"{"job":"A","data":2,"id":"r2","attempts":1}"#)
        .cmd("ZADD")
        .arg(&v1.delayed)
        .arg(now - 30)
        .arg(r#"{"job":"A","data":3,"id":"d1","attempts":1}"#)
        .arg(now + 300)
        .arg(r#"{"job":"A","data":4,"id":"d2","attempts":1}"#)
        .cmd("ZADD")
        .arg(&v1.reserved)
        .arg(now - 100)
        .arg(r#"{"job":"A","data":5,"id":"x1","attempts":1}"#)
        .cmd("ZADD")
        .arg(&v3.reserved)
        .arg(now + 50)
        .arg(r#"{"job":"B","maxTries":null,"timeout":null,"data":6,"id":"x2","attempts":1}"#)
        .cmd("RPUSH")
        .arg(&v3.dead)
        .arg(r#"{"job":"B","maxTries":null,"timeout":null,"data":7,"id":"k1","attempts":3}"#)
        .arg("not json")
        .cmd("SET")
        .arg("queues:not-a-queue")
        .arg("a string, skipped");
    pipe.query::<()>(&mut r).expect("populate");
}

#[test]
fn stats_finds_queues_of_both_generations() {
    let server = RedisServer::start();
    let now = unix_now();
    populate(&server, now);
    let out = tqn(&server)
        .args(["stats", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let rows = json(&out);
    let rows = rows.as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let a = &rows[0];
    assert_eq!(
        (a["queue"].as_str(), a["dialect"].as_str(), a["key"].as_str()),
        (Some("a"), Some("v1"), Some("queues:a"))
    );
    let counts = |r: &serde_json::Value| {
        ["ready", "delayed", "due", "reserved", "expired", "dead"]
            .map(|k| r[k].as_u64().unwrap_or(99))
            .to_vec()
    };
    assert_eq!(counts(a), [2, 2, 1, 1, 1, 0]);
    let oldest = a["oldest_overdue"].as_i64().unwrap_or(-1);
    assert!((100..110).contains(&oldest), "the reservation expired 100 s ago: {oldest}");
    let b = &rows[1];
    assert_eq!((b["queue"].as_str(), b["dialect"].as_str()), (Some("b"), Some("v3")));
    assert_eq!(counts(b), [0, 0, 0, 1, 0, 2]);
    assert!(b["oldest_overdue"].is_null());

    // the human table, and one dialect only
    tqn(&server)
        .args(["stats"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "QUEUE  DIALECT  READY  DELAYED  DUE  RESERVED  EXPIRED  DEAD  OLDEST",
        ))
        .stdout(predicate::str::contains(
            "a      v1           2        2    1         1        1     0",
        ));
    let out = tqn(&server)
        .args(["--dialect", "v3", "--json", "stats"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(json(&out).as_array().map(Vec::len), Some(1));
    // named queues that do not exist: zero rows
    let out = tqn(&server)
        .args(["--dialect", "v3", "--json", "stats", "nope"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(json(&out)[0]["ready"].as_u64(), Some(0));
}

#[test]
fn stats_watch_refreshes() {
    let server = RedisServer::start();
    populate(&server, unix_now());
    let out = tqn(&server)
        .args(["stats", "--watch", "--json", "--interval", "0.1", "--iterations", "3"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    let frames: Vec<serde_json::Value> = text.lines().map(|l| json(l.as_bytes())).collect();
    assert_eq!(frames.len(), 3);
    assert!(frames
        .iter()
        .all(|f| f["queues"].as_array().map(Vec::len) == Some(2) && f["time"].is_i64()));
    tqn(&server)
        .args(["stats", "--watch", "--interval", "0.1", "--iterations", "1"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("\x1b[2J\x1b[H"));
}

#[test]
fn peek_shows_every_state_without_taking_anything() {
    let server = RedisServer::start();
    populate(&server, unix_now());
    let out = tqn(&server)
        .args(["--json", "peek", "a", "1"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let jobs = json(&out);
    let summary: Vec<(String, String)> = jobs
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|j| {
            (
                j["state"].as_str().unwrap_or("").to_owned(),
                j["id"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("ready".into(), "r1".into()),
            ("delayed".into(), "d1".into()),
            ("reserved".into(), "x1".into())
        ]
    );
    assert_eq!(jobs[0]["data"], serde_json::json!(1));
    let out = tqn(&server)
        .args(["--json", "peek", "b", "--state", "dead"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let dead = json(&out);
    assert_eq!(dead[1]["payload"].as_str(), Some("not json"));
    assert!(dead[1]["malformed"].as_str().is_some_and(|m| m.contains("JSON")));
    tqn(&server)
        .args(["peek", "a"])
        .assert()
        .success()
        .stdout(predicate::str::contains("expired 1m4"))
        .stdout(predicate::str::is_match("due in (4m5[0-9]|5m00)s").expect("regex"));
    assert_eq!(query::<i64>(&server, &["LLEN", "queues:a"]), 2, "nothing taken");
}

#[test]
fn retry_and_migrate_move_jobs_with_each_generations_rules() {
    let server = RedisServer::start();
    populate(&server, unix_now());
    // migrate: the due delayed job (as it is) and the expired reservation (v1: attempts + 1)
    let out = tqn(&server)
        .args(["--json", "migrate"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let moved = json(&out);
    assert_eq!((moved[0]["delayed"].as_u64(), moved[0]["reserved"].as_u64()), (Some(1), Some(1)));
    let ready: Vec<String> = query(&server, &["LRANGE", "queues:a", "0", "-1"]);
    assert_eq!(
        ready[2..],
        [
            r#"{"job":"A","data":3,"id":"d1","attempts":1}"#.to_owned(),
            r#"{"job":"A","data":5,"id":"x1","attempts":2}"#.to_owned()
        ]
    );
    // retry --dead: the dead-letter list back to the ready list, attempts reset (v3: 0), unreadable as it is
    tqn(&server)
        .args(["retry", "b", "--dead"])
        .assert()
        .success()
        .stdout(predicate::str::contains("moved back to the ready list"));
    let ready: Vec<String> = query(&server, &["LRANGE", "{queues:b}", "0", "-1"]);
    assert_eq!(
        ready,
        [
            r#"{"job":"B","maxTries":null,"timeout":null,"data":7,"id":"k1","attempts":0}"#.to_owned(),
            "not json".to_owned()
        ]
    );
    assert_eq!(query::<i64>(&server, &["EXISTS", "{queues:b}:dead"]), 0);
    // the v3 reservation has not expired: it stays
    assert_eq!(query::<i64>(&server, &["ZCARD", "{queues:b}:reserved"]), 1);
}

#[test]
fn purge_asks_unless_told_not_to() {
    let server = RedisServer::start();
    populate(&server, unix_now());
    tqn(&server)
        .args(["purge", "a"])
        .write_stdin("n\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Delete 5 jobs of v1 (2 ready, 2 delayed, 1 reserved)"))
        .stderr(predicate::str::contains("not confirmed: nothing deleted"));
    assert_eq!(query::<i64>(&server, &["LLEN", "queues:a"]), 2);
    tqn(&server).args(["purge", "a"]).write_stdin("").assert().code(1);
    tqn(&server)
        .args(["purge", "a"])
        .write_stdin("yes\n")
        .assert()
        .success()
        .stdout("purged 5 jobs of queue `a` (v1)\n");
    let exists: i64 = query(&server, &["EXISTS", "queues:a", "queues:a:delayed", "queues:a:reserved"]);
    assert_eq!(exists, 0);
    // --yes; the dead-letter list only with --dead
    tqn(&server).args(["purge", "b", "-y"]).assert().success();
    assert_eq!(query::<i64>(&server, &["LLEN", "{queues:b}:dead"]), 2);
    tqn(&server).args(["purge", "b", "--yes", "--dead"]).assert().success();
    let keys: Vec<String> = query(&server, &["KEYS", "*queues*"]);
    assert_eq!(keys, ["queues:not-a-queue"]);
}

#[test]
fn connection_settings_from_env_flags_and_url() {
    let server = RedisServer::start();
    let _: i64 = query(&server, &["RPUSH", "{queues:e}", "x"]);
    // $TQN_REDIS_URL when no --url / --config
    Command::cargo_bin("tqn")
        .expect("tqn")
        .env("TQN_REDIS_URL", server.url())
        .args(["--json", "stats"])
        .assert()
        .success()
        .stdout(predicate::str::contains(r#""key": "{queues:e}""#));
    // --port overrides the URL's; --db selects another database (empty)
    Command::cargo_bin("tqn")
        .expect("tqn")
        .env("TQN_REDIS_URL", "redis://127.0.0.1:1/0")
        .args(["--port", &server.port().to_string(), "stats"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("{queues:e}")
                .not()
                .and(predicate::str::contains("e      v3")),
        );
    tqn(&server)
        .args(["--db", "3", "stats"])
        .assert()
        .success()
        .stdout(predicate::str::contains("no think-queue queues in 127.0.0.1:"));
    // nothing listening: a clear error naming host:port, exit 1
    let mut down = RedisServer::start();
    let port = down.port();
    down.stop();
    Command::cargo_bin("tqn")
        .expect("tqn")
        .env_remove("TQN_REDIS_URL")
        .args(["--port", &port.to_string(), "stats"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!("cannot reach Redis at 127.0.0.1:{port}")));
    // usage errors are clap's (exit 2)
    tqn(&server).args(["push", "q"]).assert().code(2);
    tqn(&server).args(["--dialect", "v4", "stats"]).assert().code(2);
}

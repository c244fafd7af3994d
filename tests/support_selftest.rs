//! Tests of the test support code itself (`tests/support`): the PHP `unserialize()` reader, the
//! vector-file input helpers, and the private redis-server harness.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::php_unserialize::{base64_decode, input_bytes, unserialize, unserialize_call, MAX_DEPTH};
use support::redis_server::{client, shared, try_client, unique_queue, RedisServer};
use think_queue_native::{Key, Value};

fn s(b: &[u8]) -> Value {
    Value::Str(b.to_vec())
}

fn ks(b: &[u8]) -> Key {
    Key::Str(b.to_vec())
}

fn float(input: &str) -> f64 {
    match unserialize(input.as_bytes()) {
        Ok(Value::Float(f)) => f,
        other => panic!("{input}: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// unserialize

#[test]
fn scalars() {
    assert_eq!(unserialize(b"N;"), Ok(Value::Null));
    assert_eq!(unserialize(b"b:0;"), Ok(Value::Bool(false)));
    assert_eq!(unserialize(b"b:1;"), Ok(Value::Bool(true)));
    assert_eq!(unserialize(b"i:-12;"), Ok(Value::Int(-12)));
    assert_eq!(unserialize(b"i:0;"), Ok(Value::Int(0)));
    assert_eq!(unserialize(b"i:+7;"), Ok(Value::Int(7)));
    assert_eq!(unserialize(b"i:9223372036854775807;"), Ok(Value::Int(i64::MAX)));
    assert_eq!(unserialize(b"i:-9223372036854775808;"), Ok(Value::Int(i64::MIN)));
    assert!(unserialize(b"i:9223372036854775808;").is_err(), "i64 overflow");
    assert!(unserialize(b"b:2;").is_err());
    assert!(unserialize(b"i:1.5;").is_err());
    assert!(unserialize(b"i:;").is_err());
}

#[test]
fn floats_as_php_writes_them() {
    assert_eq!(float("d:0.1;"), 0.1);
    assert_eq!(float("d:0.30000000000000004;"), 0.1 + 0.2);
    assert_eq!(float("d:2;"), 2.0);
    assert_eq!(float("d:-1.5;"), -1.5);
    assert_eq!(float("d:1.0E+25;"), 1.0e25);
    assert_eq!(float("d:1.0E-5;"), 1.0e-5);
    assert_eq!(float("d:2.5E-5;"), 2.5e-5);
    assert_eq!(float("d:1.7976931348623157E+308;"), f64::MAX);
    assert_eq!(float("d:2.220446049250313E-16;"), f64::EPSILON);
    assert_eq!(float("d:INF;"), f64::INFINITY);
    assert_eq!(float("d:-INF;"), f64::NEG_INFINITY);
    assert!(float("d:NAN;").is_nan());

    let neg_zero = float("d:-0;");
    assert_eq!(neg_zero, 0.0);
    assert!(neg_zero.is_sign_negative(), "d:-0; must keep its sign");
    assert!(float("d:0;").is_sign_positive());

    for bad in [
        "d:;",
        "d:abc;",
        "d:1e;",
        "d:.;",
        "d:inf;",
        "d:nan;",
        "d:1.0E+2.5;",
        "d:--1;",
        "d:1x;",
    ] {
        assert!(unserialize(bad.as_bytes()).is_err(), "{bad} must be rejected");
    }
}

#[test]
fn strings_are_byte_counted_raw_bytes() {
    assert_eq!(unserialize(b"s:0:\"\";"), Ok(s(b"")));
    assert_eq!(unserialize(b"s:2:\"\";\";"), Ok(s(b"\";")), "a quote and a semicolon inside");
    assert_eq!(unserialize(b"s:5:\"a\";b\"\";"), Ok(s(b"a\";b\"")));
    assert_eq!(unserialize("s:3:\"中\";".as_bytes()), Ok(s("中".as_bytes())), "LEN counts bytes");
    assert_eq!(unserialize(b"s:3:\"a\0b\";"), Ok(s(b"a\0b")), "NUL");
    assert_eq!(unserialize(b"s:2:\"\xff\x80\";"), Ok(s(b"\xff\x80")), "invalid UTF-8");
    assert!(unserialize(b"s:4:\"abc\";").is_err(), "LEN too long");
    assert!(unserialize(b"s:2:\"abc\";").is_err(), "LEN too short");
    assert!(unserialize(b"s:-1:\"\";").is_err());
    assert!(unserialize(b"s:3:abc;").is_err(), "no quotes");
    assert!(unserialize(b"s:99999999999999999999999:\"\";").is_err(), "huge LEN");
}

#[test]
fn arrays_and_objects() {
    let input = br#"a:4:{i:0;s:7:"SendSms";s:4:"data";a:2:{s:1:"k";a:0:{}i:-5;O:8:"stdClass":2:{s:1:"x";d:-0;s:0:"";a:1:{i:0;N;}}}i:7;b:1;s:1:"0";i:3;}"#;
    let v = unserialize(input).expect("parses");
    let Value::Array(top) = &v else { panic!("{v:?}") };
    assert_eq!(
        top.len(),
        3,
        "s:1:\"0\" is the int key 0, which overwrites entry 0 in place: {top:?}"
    );
    assert_eq!(top[0], (Key::Int(0), Value::Int(3)));
    assert_eq!(top[2], (Key::Int(7), Value::Bool(true)));
    let (k, data) = &top[1];
    assert_eq!(k, &ks(b"data"));
    let Value::Array(data) = data else { panic!("{data:?}") };
    assert_eq!(data[0], (ks(b"k"), Value::Array(vec![])));
    assert_eq!(data[1].0, Key::Int(-5));
    let Value::Object(props) = &data[1].1 else { panic!("{data:?}") };
    assert_eq!(props.len(), 2);
    assert_eq!(props[0].0, b"x".to_vec());
    assert!(matches!(props[0].1, Value::Float(f) if f == 0.0 && f.is_sign_negative()));
    assert_eq!(props[1], (Vec::new(), Value::Array(vec![(Key::Int(0), Value::Null)])));

    assert_eq!(unserialize(b"O:8:\"stdClass\":0:{}"), Ok(Value::Object(vec![])));
    assert_eq!(
        unserialize(b"O:8:\"stdClass\":1:{i:5;s:1:\"v\";}"),
        Ok(Value::Object(vec![(b"5".to_vec(), s(b"v"))])),
        "an int property name becomes its decimal text"
    );
    // non-canonical numeric strings stay string keys
    assert_eq!(
        unserialize(b"a:3:{s:2:\"05\";N;s:2:\"-0\";N;s:2:\"-3\";N;}"),
        Ok(Value::Array(vec![
            (ks(b"05"), Value::Null),
            (ks(b"-0"), Value::Null),
            (Key::Int(-3), Value::Null)
        ]))
    );
    assert!(unserialize(b"O:3:\"Foo\":0:{}").is_err(), "only stdClass");
    assert!(unserialize(b"O:9:\"stdClass\":0:{}").is_err(), "wrong class name length");
    assert!(unserialize(b"a:1:{d:1;N;}").is_err(), "float key");
    assert!(unserialize(b"a:1:{N;N;}").is_err(), "null key");
    assert!(unserialize(b"a:2:{i:0;N;}").is_err(), "fewer entries than announced");
    assert!(unserialize(b"a:0:{i:0;N;}").is_err(), "more entries than announced");
    assert!(unserialize(b"a:0:{};").is_err(), "no ';' after '}}'");
    assert!(unserialize(b"C:8:\"stdClass\":0:{}").is_err());
    assert!(unserialize(b"a:1:{i:0;R:1;}").is_err(), "references are not supported");
}

#[test]
fn deep_nesting_up_to_the_limit() {
    let nest = |depth: usize| {
        let mut v = "a:1:{i:0;".repeat(depth).into_bytes();
        v.extend_from_slice(b"N;");
        v.extend(std::iter::repeat_n(b'}', depth));
        v
    };
    let v = unserialize(&nest(MAX_DEPTH)).expect("MAX_DEPTH levels");
    let mut depth = 0;
    let mut cur = &v;
    while let Value::Array(e) = cur {
        depth += 1;
        cur = &e[0].1;
    }
    assert_eq!(depth, MAX_DEPTH);
    let e = unserialize(&nest(MAX_DEPTH + 1)).expect_err("one level too deep");
    assert!(e.contains("nesting"), "{e}");
}

#[test]
fn errors_name_the_offset_and_every_truncation_fails() {
    let e = unserialize(b"i:1;x").expect_err("trailing bytes");
    assert!(e.contains("offset 4") && e.contains("trailing"), "{e}");
    let e = unserialize(b"a:1:{i:0;q:1;}").expect_err("bad tag");
    assert!(e.contains("offset 9"), "{e}");
    assert!(unserialize(b"").is_err());
    assert!(unserialize(b" N;").is_err());

    let full: &[u8] =
        br#"a:3:{i:0;s:15:"app\job\SendSms";i:1;a:3:{s:1:"a";d:-0;s:3:"o";";O:8:"stdClass":1:{s:1:"p";b:1;}i:9;i:-42;}i:2;N;}"#;
    unserialize_call(full).expect("the full input parses");
    for cut in 0..full.len() {
        assert!(
            unserialize(&full[..cut]).is_err(),
            "prefix of {cut} bytes must fail: {:?}",
            String::from_utf8_lossy(&full[..cut])
        );
    }
}

#[test]
fn unserialize_call_wants_a_three_element_list() {
    let (job, data, queue) = unserialize_call(br#"a:3:{i:0;s:3:"Job";i:1;a:0:{}i:2;s:1:"q";}"#).expect("call");
    assert_eq!(job, s(b"Job"));
    assert_eq!(data, Value::Array(vec![]));
    assert_eq!(queue, s(b"q"));
    assert!(unserialize_call(b"a:2:{i:0;N;i:1;N;}").is_err());
    assert!(unserialize_call(b"a:4:{i:0;N;i:1;N;i:2;N;i:3;N;}").is_err());
    assert!(unserialize_call(b"a:3:{i:1;N;i:0;N;i:2;N;}").is_err(), "keys out of order");
    assert!(unserialize_call(b"a:3:{i:0;N;i:1;N;s:1:\"x\";N;}").is_err());
    assert!(unserialize_call(b"N;").is_err());
    assert!(unserialize_call(b"O:8:\"stdClass\":0:{}").is_err());
}

// ---------------------------------------------------------------------------------------------
// base64 + vector inputs

#[test]
fn base64() {
    assert_eq!(base64_decode("").unwrap(), b"");
    assert_eq!(base64_decode("Zg==").unwrap(), b"f");
    assert_eq!(base64_decode("Zm8=").unwrap(), b"fo");
    assert_eq!(base64_decode("Zm9v").unwrap(), b"foo");
    assert_eq!(base64_decode("Zm9vYmFy").unwrap(), b"foobar");
    assert_eq!(base64_decode("Zm9vYg").unwrap(), b"foob", "padding is optional");
    assert_eq!(base64_decode("/+8A").unwrap(), b"\xff\xef\x00");
    let all: Vec<u8> = (0..=255).collect();
    // the 256 byte values, base64-encoded by coreutils `base64 -w0`
    let enc = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==";
    assert_eq!(base64_decode(enc).unwrap(), all);
    for bad in ["Z", "Zg=", "Zg===", "Z===", "Zh==", "Zm9=", "Zm9v!", "Zg==Zg==", "Zm 9v"] {
        assert!(base64_decode(bad).is_err(), "{bad:?} must be rejected");
    }
}

#[test]
fn input_bytes_uses_input_or_input_b64() {
    let line: serde_json::Value = serde_json::from_str(r#"{"id":"x","input":"s:3:\"\u00e9a\";"}"#).unwrap();
    assert_eq!(input_bytes(&line), "s:3:\"éa\";".as_bytes());
    let line: serde_json::Value = serde_json::from_str(r#"{"id":"y","input":null,"input_b64":"czoxOiL/Ijs="}"#).unwrap();
    assert_eq!(input_bytes(&line), b"s:1:\"\xff\";");
    assert_eq!(unserialize(&input_bytes(&line)), Ok(s(b"\xff")));
}

#[test]
fn every_vector_input_is_a_three_element_call() {
    let path = support::vectors_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading the vectors {path} (set TQN_VECTORS): {e}"));
    let mut lines = 0;
    let mut from_b64 = 0;
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let case: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{path}:{}: not JSON: {e}", i + 1));
        let id = case["id"].as_str().unwrap_or("?");
        let bytes = input_bytes(&case);
        if case["input"].is_null() {
            from_b64 += 1;
            assert!(
                std::str::from_utf8(&bytes).is_err(),
                "{id}: input_b64 is only used for non-UTF-8 bytes"
            );
        }
        let (job, _data, queue) = unserialize_call(&bytes).unwrap_or_else(|e| panic!("{path}:{} ({id}): {e}", i + 1));
        assert!(
            matches!(job, Value::Str(_) | Value::Int(_) | Value::Null | Value::Bool(_) | Value::Float(_)),
            "{id}: job {job:?}"
        );
        assert!(
            matches!(queue, Value::Str(_) | Value::Null | Value::Int(_)),
            "{id}: queue {queue:?}"
        );
        lines += 1;
    }
    assert!(lines > 0, "{path} has no cases");
    eprintln!("{path}: {lines} inputs parsed, {from_b64} of them from input_b64");
}

// ---------------------------------------------------------------------------------------------
// redis-server harness

fn ping(con: &mut redis::Connection) -> redis::RedisResult<String> {
    redis::cmd("PING").query(con)
}

/// Whether the process is gone (no `/proc/PID`, or only a zombie left for a non-reaping init).
fn process_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // "pid (comm) S ...": the state follows the last ')'
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
    }
}

fn wait_gone(pid: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if process_gone(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    process_gone(pid)
}

#[test]
fn server_start_stop_restart_drop() {
    let mut server = RedisServer::start();
    let port = server.port();
    assert_eq!(server.url(), format!("redis://127.0.0.1:{port}/"));
    let pid = server.pid().expect("running");
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    let dir = server.dir().to_path_buf();
    assert!(dir.is_dir());

    let mut r = client(port);
    assert_eq!(ping(&mut r).unwrap(), "PONG");
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut r).unwrap();
    let info: String = redis::cmd("INFO").arg("server").query(&mut r).unwrap();
    assert!(info.contains(&format!("process_id:{pid}")), "we talk to our own child");

    server.stop();
    assert!(!server.is_running());
    assert_eq!(server.pid(), None);
    assert!(process_gone(pid), "stop() kills and reaps the server");
    assert!(ping(&mut r).is_err(), "the old connection is dead");
    assert!(try_client(port).is_err(), "new connections are refused");
    server.stop(); // idempotent

    server.restart();
    assert_eq!(server.port(), port, "same port after restart");
    let pid2 = server.pid().expect("running again");
    assert_ne!(pid, pid2);
    let mut r = client(port);
    assert_eq!(ping(&mut r).unwrap(), "PONG");
    let v: Option<String> = redis::cmd("GET").arg("k").query(&mut r).unwrap();
    assert_eq!(v, None, "no persistence across a restart");
    assert!(server.log().contains("Ready to accept connections"), "{}", server.log());

    server.restart(); // restart while running = stop + start
    let pid3 = server.pid().expect("running");
    assert!(process_gone(pid2));
    assert_eq!(ping(&mut client(port)).unwrap(), "PONG");

    drop(server);
    assert!(!Path::new(&format!("/proc/{pid3}")).exists(), "drop kills and reaps the server");
    assert!(!dir.exists(), "drop removes the temp dir");
    assert!(try_client(port).is_err());
}

#[test]
fn drop_kills_the_server_while_a_test_unwinds() {
    let (tx, rx) = std::sync::mpsc::channel();
    let result = std::thread::spawn(move || {
        let server = RedisServer::start();
        tx.send(server.pid().unwrap()).unwrap();
        panic!("a failing test");
    })
    .join();
    assert!(result.is_err());
    let pid = rx.recv().unwrap();
    assert!(!Path::new(&format!("/proc/{pid}")).exists());
}

#[test]
fn servers_are_separate_and_password_servers_are_ready() {
    let a = RedisServer::start();
    let b = RedisServer::start_with(&["--requirepass", "s3cret pass"]);
    assert_ne!(a.port(), b.port());
    let err = ping(&mut client(b.port())).expect_err("auth needed");
    assert!(
        err.to_string().contains("NOAUTH") || err.to_string().contains("Authentication"),
        "{err}"
    );
    let url = format!("redis://:s3cret%20pass@127.0.0.1:{}/", b.port());
    let mut authed = redis::Client::open(url.as_str()).unwrap().get_connection().unwrap();
    assert_eq!(ping(&mut authed).unwrap(), "PONG");
    let _: () = redis::cmd("SET").arg("only-a").arg(1).query(&mut client(a.port())).unwrap();
    let n: i64 = redis::cmd("DBSIZE").query(&mut authed).unwrap();
    assert_eq!(n, 0);
}

#[test]
fn many_servers_in_parallel() {
    let servers: Vec<RedisServer> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8).map(|_| s.spawn(RedisServer::start)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut ports: Vec<u16> = servers.iter().map(|s| s.port()).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), servers.len());
    for s in &servers {
        let info: String = redis::cmd("INFO").arg("server").query(&mut client(s.port())).unwrap();
        assert!(info.contains(&format!("process_id:{}", s.pid().unwrap())));
    }
}

#[test]
fn a_bad_argument_fails_loudly_with_the_server_output() {
    let result = std::panic::catch_unwind(|| RedisServer::start_with(&["--no-such-option", "1"]));
    let payload = result.expect_err("must panic");
    let msg = payload.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("exited") && msg.contains("no-such-option"), "{msg}");
}

#[test]
fn shared_server_is_one_instance() {
    let a = shared();
    let b = shared();
    assert!(std::ptr::eq(a, b));
    assert_eq!(ping(&mut client(a.port())).unwrap(), "PONG");
}

#[test]
fn unique_queue_names() {
    let a = unique_queue("x");
    let b = unique_queue("x");
    assert_ne!(a, b);
    let pid = std::process::id();
    assert!(a.starts_with(&format!("t{pid}_")) && a.ends_with("_x"), "{a}");
    let names: std::collections::HashSet<String> = (0..1000).map(|_| unique_queue("y")).collect();
    assert_eq!(names.len(), 1000);
}

/// Environment variable that turns [`watchdog_helper`] into a real helper process.
const HELPER_ENV: &str = "TQN_SUPPORT_SELFTEST_HELPER";

/// Not a test on its own: run by `no_server_outlives_its_test_process` as a child process (this
/// test binary again), where it starts a server, prints its PID and ends the process without any
/// destructor running. Without the environment variable it does nothing.
#[test]
fn watchdog_helper() {
    let Ok(mode) = std::env::var(HELPER_ENV) else {
        return;
    };
    let (pid, dir) = match mode.as_str() {
        "shared" => (shared().pid().unwrap(), shared().dir().to_path_buf()),
        _ => {
            let server = Box::leak(Box::new(RedisServer::start()));
            (server.pid().unwrap(), server.dir().to_path_buf())
        }
    };
    println!("HELPER_SERVER_PID={pid}");
    println!("HELPER_SERVER_DIR={}", dir.display());
    use std::io::Write;
    std::io::stdout().flush().unwrap();
    if mode == "exit" {
        std::process::exit(0); // no destructors at all
    }
    // "shared": return normally; the static is never dropped
}

#[test]
fn no_server_outlives_its_test_process() {
    let exe = std::env::current_exe().unwrap();
    for mode in ["shared", "exit"] {
        let out = Command::new(&exe)
            .args(["--exact", "watchdog_helper", "--nocapture", "--test-threads=1"])
            .env(HELPER_ENV, mode)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{mode}: helper failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let field = |name: &str| {
            stdout
                .lines()
                .find_map(|l| l.split_once(name).map(|(_, value)| value.trim()))
                .unwrap_or_else(|| panic!("{mode}: no {name} in {stdout}"))
                .to_owned()
        };
        let pid: u32 = field("HELPER_SERVER_PID=").parse().unwrap();
        let dir = std::path::PathBuf::from(field("HELPER_SERVER_DIR="));
        assert!(
            wait_gone(pid, Duration::from_secs(5)),
            "{mode}: redis-server {pid} outlived its test process"
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        while dir.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(!dir.exists(), "{mode}: the watchdog removes {}", dir.display());
    }
}

#[test]
fn restart_waits_while_the_port_is_taken() {
    let mut server = RedisServer::start();
    let port = server.port();
    server.stop();
    let squatter = std::net::TcpListener::bind(("127.0.0.1", port)).expect("the freed port");
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(700));
        drop(squatter);
    });
    let started = Instant::now();
    server.restart();
    assert!(started.elapsed() >= Duration::from_millis(500), "restart had to wait for the port");
    release.join().unwrap();
    assert_eq!(server.port(), port);
    assert!(server.log().contains("Address already in use"), "{}", server.log());
    assert_eq!(ping(&mut client(port)).unwrap(), "PONG");
}

//! The README's quick start is examples/quickstart.rs, quoted verbatim; this runs it.

mod support;

include!("../examples/quickstart.rs");

#[test]
fn readme_quotes_the_quickstart_example() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md");
    let example = include_str!("../examples/quickstart.rs");
    let body = example
        .split("fn quickstart")
        .nth(1)
        .and_then(|s| s.split("\n#[allow(dead_code)]").next())
        .expect("quickstart body");
    assert!(
        readme.contains(&format!("fn quickstart{body}")),
        "README.md must quote examples/quickstart.rs's quickstart() verbatim"
    );
}

#[test]
fn quickstart_runs() {
    let server = support::redis_server::RedisServer::start();
    quickstart(&server.url()).expect("quickstart");
    let mut r = support::redis_server::client(server.port());
    let delayed: i64 = redis::cmd("ZCARD").arg("{queues:sms}:delayed").query(&mut r).expect("zcard");
    let reserved: i64 = redis::cmd("ZCARD").arg("{queues:sms}:reserved").query(&mut r).expect("zcard");
    assert_eq!((delayed, reserved), (1, 0));
}

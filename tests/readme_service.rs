//! README "Rust services and the tqn CLI" quotes examples/service.rs's produce() and consume()
//! verbatim; this checks the quote and runs them against a real redis-server.

mod support;

include!("../examples/service.rs");

fn function(source: &str, name: &str) -> String {
    let start = source
        .find(&format!("fn {name}("))
        .unwrap_or_else(|| panic!("fn {name} in examples/service.rs"));
    let end = source[start..].find("\n}\n").map(|e| start + e + 2).expect("end of function");
    source[start..end].to_owned()
}

#[test]
fn readme_quotes_the_service_example() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md");
    let example = include_str!("../examples/service.rs");
    for name in ["produce", "consume"] {
        let body = function(example, name);
        assert!(
            readme.contains(&body),
            "README.md must quote examples/service.rs's {name}() verbatim:\n{body}"
        );
    }
}

#[test]
fn the_service_example_runs() {
    let server = support::redis_server::RedisServer::start();
    let id = produce(&server.url()).expect("produce");
    let mut r = support::redis_server::client(server.port());
    let raw: String = redis::cmd("LINDEX").arg("{queues:sms}").arg(0).query(&mut r).expect("lindex");
    // byte for byte PHP's json_encode of the same array (checked with php -r by hand)
    assert_eq!(
        raw,
        format!(
            r#"{{"job":"app\\job\\SendSms","maxTries":null,"timeout":null,"data":{{"mobile":"13800000000","text":"\u9a8c\u8bc1\u7801 1234","codes":[1234]}},"id":"{id}","attempts":0}}"#
        )
    );
    assert_eq!(consume(&server.url()).expect("consume"), 1);
    assert_eq!(support::ctx::job_keys(&mut r), Vec::<String>::new());
}
